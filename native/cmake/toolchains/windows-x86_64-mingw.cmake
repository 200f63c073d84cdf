# Cross-compiles the win-x64 runtime on a Linux host with MinGW-w64 (Debian/Ubuntu: g++-mingw-w64-x86-64-posix, the
# POSIX-threads flavour that libstdc++'s std::thread and std::mutex need). The result runs on Windows, or here under Wine:
#   cmake --preset cpu-win-x64-mingw && cmake --build --preset cpu-win-x64-mingw
#   wine artifacts/native/cpu-win-x64-mingw/tools/sd-cli.exe ...
# Releases are built with MSVC by the workflow; this build exists so every Windows code path can be executed here.
set(CMAKE_SYSTEM_NAME Windows)
set(CMAKE_SYSTEM_PROCESSOR x86_64)
set(CMAKE_C_COMPILER x86_64-w64-mingw32-gcc-posix)
set(CMAKE_CXX_COMPILER x86_64-w64-mingw32-g++-posix)
set(CMAKE_RC_COMPILER x86_64-w64-mingw32-windres)
set(CMAKE_FIND_ROOT_PATH /usr/x86_64-w64-mingw32)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# The MinGW runtime (libstdc++, libgcc, winpthread) is linked into each DLL and program, so the runtime folder carries
# only our files and Windows' own DLLs are its only other imports (the MSVC build needs the VC++ redistributable
# instead). -static makes the linker prefer libwinpthread.a over its import library.
# --exclude-libs,ALL: a DLL must not re-export what it took from those archives (ggml-base would export libgcc's
# _Unwind_Resume, and every module linking it would then see two definitions).
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++ -Wl,--exclude-libs,ALL")
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++ -Wl,--exclude-libs,ALL")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-static -static-libgcc -static-libstdc++")
set(CMAKE_CROSSCOMPILING_EMULATOR "wine" CACHE STRING "Runs target programs under Wine")
