# Upstream's sd-cli, linked against the very runtime we ship, for side-by-side benchmarks only (never packaged).
# It finds its CPU backend through GGML_BACKEND_PATH (our files carry a prefix ggml's own scan does not know).
find_package(Threads REQUIRED)
set(_cli "${stable_diffusion_cpp_SOURCE_DIR}/examples")
add_executable(sd-cli
  "${_cli}/common/common.cpp" "${_cli}/common/log.cpp" "${_cli}/common/media_io.cpp"
  "${_cli}/cli/image_metadata.cpp" "${_cli}/cli/main.cpp")
target_include_directories(sd-cli PRIVATE "${_cli}" "${stable_diffusion_cpp_SOURCE_DIR}/src")
target_link_libraries(sd-cli PRIVATE stable-diffusion zip Threads::Threads)
target_compile_features(sd-cli PRIVATE cxx_std_17)
set_target_properties(sd-cli PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools"
  INSTALL_RPATH "${CMAKE_INSTALL_RPATH}/../runtimes/${SDNET_RID}/native")
unset(_cli)

# Upstream's sd-server, likewise: to send the same requests to it and to `sdnet serve` and compare the answers
# (tests/StableDiffusion.Native.Tests/Cli/Serve/SdServerComparisonTests.cs), never packaged. No web frontend.
set(_srv "${stable_diffusion_cpp_SOURCE_DIR}/examples")
add_executable(sd-server
  "${_srv}/common/common.cpp" "${_srv}/common/log.cpp" "${_srv}/common/media_io.cpp"
  "${_srv}/server/main.cpp" "${_srv}/server/runtime.cpp" "${_srv}/server/async_jobs.cpp" "${_srv}/server/routes_index.cpp"
  "${_srv}/server/routes_openai.cpp" "${_srv}/server/routes_sdapi.cpp" "${_srv}/server/routes_sdcpp.cpp")
target_include_directories(sd-server PRIVATE "${_srv}" "${_srv}/server" "${stable_diffusion_cpp_SOURCE_DIR}/src")
target_link_libraries(sd-server PRIVATE stable-diffusion zip Threads::Threads)
if(WIN32)
  target_link_libraries(sd-server PRIVATE ws2_32)
endif()
target_compile_features(sd-server PRIVATE cxx_std_17)
set_target_properties(sd-server PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}/tools"
  INSTALL_RPATH "${CMAKE_INSTALL_RPATH}/../runtimes/${SDNET_RID}/native")
unset(_srv)
