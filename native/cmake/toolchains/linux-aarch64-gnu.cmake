# Cross-compiles the linux-arm64 runtime on an x86_64 Linux host with the GNU aarch64 toolchain
# (Debian/Ubuntu: g++-aarch64-linux-gnu). The result runs on arm64 Linux, or here under qemu-user:
#   cmake --preset cpu -B artifacts/native/cpu-arm64 -DCMAKE_TOOLCHAIN_FILE=native/cmake/toolchains/linux-aarch64-gnu.cmake
#   qemu-aarch64 -L /usr/aarch64-linux-gnu artifacts/native/cpu-arm64/tools/sd-cli ...
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# Build-time helpers that must run on the host (ggml's vulkan-shaders-gen) are found on the host.
set(CMAKE_CROSSCOMPILING_EMULATOR "qemu-aarch64;-L;/usr/aarch64-linux-gnu" CACHE STRING "Runs target binaries (tests) under qemu-user")
