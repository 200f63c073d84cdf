# Gives every library of the runtime our prefix (file name and SONAME/install name) and writes them all,
# flat, into SDNET_RUNTIME_DIR, which is what runtimes/<rid>/native holds in the NuGet package.

function(_sdnet_collect_targets dir out)
  get_property(_targets DIRECTORY "${dir}" PROPERTY BUILDSYSTEM_TARGETS)
  get_property(_subdirs DIRECTORY "${dir}" PROPERTY SUBDIRECTORIES)
  foreach(_sub IN LISTS _subdirs)
    _sdnet_collect_targets("${_sub}" _more)
    list(APPEND _targets ${_more})
  endforeach()
  set(${out} ${_targets} PARENT_SCOPE)
endfunction()

function(sdnet_relocate_runtime)
  _sdnet_collect_targets("${stable_diffusion_cpp_SOURCE_DIR}" _all)
  set(_libs)
  foreach(_t IN LISTS _all)
    get_target_property(_type ${_t} TYPE)
    if(_type STREQUAL "SHARED_LIBRARY" OR _type STREQUAL "MODULE_LIBRARY")
      list(APPEND _libs ${_t})
    endif()
  endforeach()
  foreach(_t IN LISTS _libs)
    get_target_property(_name ${_t} OUTPUT_NAME)
    if(NOT _name)
      set(_name ${_t})
    endif()
    set_target_properties(${_t} PROPERTIES
      OUTPUT_NAME "${SDNET_FILE_PREFIX}${_name}"
      LIBRARY_OUTPUT_DIRECTORY "${SDNET_RUNTIME_DIR}"
      RUNTIME_OUTPUT_DIRECTORY "${SDNET_RUNTIME_DIR}"
      ARCHIVE_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/lib")
    # No versioned names or symlinks: NuGet flattens runtimes/<rid>/native and copies no links, and a
    # SONAME of lib<prefix><name>.so keeps the loader from ever matching a stock libggml*.so.
    set_property(TARGET ${_t} PROPERTY VERSION)
    set_property(TARGET ${_t} PROPERTY SOVERSION)
    if(WIN32)
      # MinGW names DLLs lib<name>.dll by default; the MSVC build, the shim's module scan and the managed loader all
      # expect sdnet-<name>.dll. The import library (.dll.a) goes to lib/ with the static ones.
      set_target_properties(${_t} PROPERTIES PREFIX "" IMPORT_PREFIX "")
    endif()
    foreach(_cfg DEBUG RELEASE RELWITHDEBINFO MINSIZEREL)
      set_target_properties(${_t} PROPERTIES
        LIBRARY_OUTPUT_DIRECTORY_${_cfg} "${SDNET_RUNTIME_DIR}"
        RUNTIME_OUTPUT_DIRECTORY_${_cfg} "${SDNET_RUNTIME_DIR}")
    endforeach()
    if(APPLE)
      set_target_properties(${_t} PROPERTIES INSTALL_NAME_DIR "@rpath" BUILD_WITH_INSTALL_NAME_DIR ON
        BUILD_RPATH "@loader_path" INSTALL_RPATH "@loader_path")
    endif()
  endforeach()
  list(JOIN _libs ", " _pretty)
  message(STATUS "sdnet: runtime ${SDNET_RID} -> ${SDNET_RUNTIME_DIR} (${_pretty})")
  set(SDNET_RUNTIME_TARGETS ${_libs} PARENT_SCOPE)
endfunction()
