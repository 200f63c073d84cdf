# The user-level cache of built runtimes: <root>/<pin>/<flavor>-<rid>-<shim hash>/runtimes/<rid>/native.
# Tests and the CLI find a runtime there when the checkout has no build of its own. The key holds the
# upstream pin, the preset's flavor, the target RID and a hash of our shim sources, so a stale runtime is never reused
# and a cross build (win-x64, linux-arm64) never replaces this machine's own runtime of the same flavor.
set(SDNET_RUNTIME_FLAVOR "custom" CACHE STRING "Name of this runtime's flavor (the preset: cpu, cuda, vulkan, metal, ...)")

if(DEFINED ENV{SDNET_NATIVE_CACHE} AND NOT "$ENV{SDNET_NATIVE_CACHE}" STREQUAL "")
  set(_root "$ENV{SDNET_NATIVE_CACHE}")
elseif(CMAKE_HOST_WIN32)
  # The cache is the build machine's (a cross build's runtime lands in the builder's cache), so the host decides.
  set(_root "$ENV{LOCALAPPDATA}/stable-diffusion-native/cache")
elseif(CMAKE_HOST_APPLE)
  set(_root "$ENV{HOME}/Library/Caches/stable-diffusion-native")
elseif(DEFINED ENV{XDG_CACHE_HOME} AND NOT "$ENV{XDG_CACHE_HOME}" STREQUAL "")
  set(_root "$ENV{XDG_CACHE_HOME}/stable-diffusion-native")
else()
  set(_root "$ENV{HOME}/.cache/stable-diffusion-native")
endif()
file(TO_CMAKE_PATH "${_root}" _root)
set(SDNET_CACHE_ROOT "${_root}" CACHE PATH "User-level cache of built native runtimes")

# Editing the shim re-runs configuration, so the cache key always follows its content.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${SDNET_SHIM_SOURCES})
set(_shim "")
foreach(_f IN LISTS SDNET_SHIM_SOURCES)
  file(READ "${_f}" _content)
  string(APPEND _shim "${_content}")
endforeach()
string(SHA256 _hash "${_shim}")
string(SUBSTRING "${_hash}" 0 12 SDNET_SHIM_HASH)

set(SDNET_CACHE_DIR "${SDNET_CACHE_ROOT}/${SDNET_SD_COMMIT}/${SDNET_RUNTIME_FLAVOR}-${SDNET_RID}-${SDNET_SHIM_HASH}")
set(_manifest "${CMAKE_BINARY_DIR}/sdnet-runtime.json")
file(WRITE "${_manifest}" "{\n  \"sdCommit\": \"${SDNET_SD_COMMIT}\",\n  \"ggmlCommit\": \"${SDNET_GGML_COMMIT}\",\n  \"flavor\": \"${SDNET_RUNTIME_FLAVOR}\",\n  \"shim\": \"${SDNET_SHIM_HASH}\",\n  \"rid\": \"${SDNET_RID}\"\n}\n")

# The managed loader refuses native code from cache folders other accounts can write, so the folders are made
# private (0700) on Unix; Windows keeps the per-user ACLs of %LOCALAPPDATA%.
set(_private "")
if(CMAKE_HOST_UNIX)
  # go-w on everything below too: under umask 002 the copied folders and files would be group-writable.
  set(_private COMMAND chmod -R go-w "${SDNET_CACHE_DIR}"
               COMMAND chmod 700 "${SDNET_CACHE_ROOT}" "${SDNET_CACHE_ROOT}/${SDNET_SD_COMMIT}" "${SDNET_CACHE_DIR}")
endif()

# The RPC server goes along (tools/, as beside the build), so a machine with only the cache can serve its devices.
set(_tools "")
set(_tool_targets "")
if(TARGET sdnet-rpc-server)
  set(_tools COMMAND "${CMAKE_COMMAND}" -E make_directory "${SDNET_CACHE_DIR}/tools"
             COMMAND "${CMAKE_COMMAND}" -E copy "$<TARGET_FILE:sdnet-rpc-server>" "${SDNET_CACHE_DIR}/tools/")
  set(_tool_targets sdnet-rpc-server)
endif()
# sd-cli and sd-server (benchmarks, the Windows check and the sd-server comparison only, never packaged) too when this build has them, so a fresh clone can run
# the side-by-side checks against the cache.
if(TARGET sd-cli)
  list(APPEND _tools COMMAND "${CMAKE_COMMAND}" -E make_directory "${SDNET_CACHE_DIR}/tools"
                     COMMAND "${CMAKE_COMMAND}" -E copy "$<TARGET_FILE:sd-cli>" "${SDNET_CACHE_DIR}/tools/")
  list(APPEND _tool_targets sd-cli)
endif()
if(TARGET sd-server)
  list(APPEND _tools COMMAND "${CMAKE_COMMAND}" -E copy "$<TARGET_FILE:sd-server>" "${SDNET_CACHE_DIR}/tools/")
  list(APPEND _tool_targets sd-server)
endif()

add_custom_target(sdnet-cache
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${SDNET_CACHE_ROOT}/${SDNET_SD_COMMIT}"
  COMMAND "${CMAKE_COMMAND}" -E rm -rf "${SDNET_CACHE_DIR}"
  COMMAND "${CMAKE_COMMAND}" -E make_directory "${SDNET_CACHE_DIR}/runtimes/${SDNET_RID}"
  COMMAND "${CMAKE_COMMAND}" -E copy_directory "${SDNET_RUNTIME_DIR}" "${SDNET_CACHE_DIR}/runtimes/${SDNET_RID}/native"
  COMMAND "${CMAKE_COMMAND}" -E copy "${_manifest}" "${SDNET_CACHE_DIR}/sdnet-runtime.json"
  ${_tools}
  ${_private}
  DEPENDS ${SDNET_RUNTIME_TARGETS} ${_tool_targets}
  COMMENT "Caching the ${SDNET_RUNTIME_FLAVOR} runtime in ${SDNET_CACHE_DIR}"
  VERBATIM)
unset(_root)
unset(_private)
unset(_tools)
unset(_tool_targets)
unset(_shim)
unset(_hash)
unset(_content)
