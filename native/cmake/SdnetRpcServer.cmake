# sdnet-rpc-server: ggml's RPC server (ggml_backend_rpc_start_server in the RPC backend module) behind a small
# launcher of ours, since the pinned ggml carries the server function but not a program around it. Shipped in
# tools/ beside the runtime (and in the user cache), for GeneratorOptions.RpcServers on other machines.
find_package(Threads REQUIRED)
add_executable(sdnet-rpc-server "${CMAKE_CURRENT_SOURCE_DIR}/native/tools/sdnet_rpc_server.cpp")
target_compile_features(sdnet-rpc-server PRIVATE cxx_std_17)
set_target_properties(sdnet-rpc-server PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools")
if(WIN32)
  # Windows has no rpath: the tool loads the runtime from ../runtimes/<rid>/native itself (see the source), so it
  # links none of the runtime's DLLs, only their headers; the DLLs are still built first.
  target_include_directories(sdnet-rpc-server PRIVATE $<TARGET_PROPERTY:ggml,INTERFACE_INCLUDE_DIRECTORIES>)
  target_compile_definitions(sdnet-rpc-server PRIVATE
    SDNET_RID_W=L"${SDNET_RID}" SDNET_FILE_PREFIX_W=L"${SDNET_FILE_PREFIX}" SDNET_FILE_PREFIX="${SDNET_FILE_PREFIX}")
  target_link_libraries(sdnet-rpc-server PRIVATE Threads::Threads ws2_32)
  add_dependencies(sdnet-rpc-server stable-diffusion ggml ggml-base)
else()
  # The shim's loader lives in the stable-diffusion library; ggml-base holds the registry and the device API.
  target_link_libraries(sdnet-rpc-server PRIVATE stable-diffusion ggml ggml-base Threads::Threads ${CMAKE_DL_LIBS})
endif()
if(APPLE)
  set_target_properties(sdnet-rpc-server PROPERTIES INSTALL_RPATH "@executable_path/../runtimes/${SDNET_RID}/native"
    BUILD_WITH_INSTALL_RPATH ON)
elseif(UNIX)
  set_target_properties(sdnet-rpc-server PROPERTIES INSTALL_RPATH "$ORIGIN/../runtimes/${SDNET_RID}/native"
    BUILD_WITH_INSTALL_RPATH ON)
endif()
