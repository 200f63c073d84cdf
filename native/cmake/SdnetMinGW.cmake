# What upstream needs from a MinGW-w64 build (native/cmake/toolchains/windows-x86_64-mingw.cmake) that it does not set
# itself. Nothing of upstream's is patched: the gaps are filled from our side, each only when a check shows it open.

# PE/COFF objects hold at most 32767 sections; stable-diffusion.cpp's largest translation units have more (MSVC's
# /bigobj above, for the same reason).
add_compile_options(-Wa,-mbig-obj)

# ggml-cpu.c opts its threads out of Windows 11's power throttling (which otherwise parks them on a few cores) under
# _WIN32_WINNT >= 0x0602, using THREAD_POWER_THROTTLING_STATE. Older MinGW-w64 headers (Debian 12's 10.0) declare
# SetThreadInformation and ThreadPowerThrottling but not that structure. Lowering _WIN32_WINNT would compile the fix
# out; instead our header supplies the Windows SDK's declaration to every translation unit, where it is missing.
include(CheckCSourceCompiles)
check_c_source_compiles([=[
#include <windows.h>
int main(void) { THREAD_POWER_THROTTLING_STATE t; t.Version = THREAD_POWER_THROTTLING_CURRENT_VERSION; return (int)t.Version; }
]=] SDNET_MINGW_HAS_POWER_THROTTLING)
if(NOT SDNET_MINGW_HAS_POWER_THROTTLING)
  set(_compat "${CMAKE_CURRENT_LIST_DIR}/../compat/mingw/sdnet_mingw_compat.h")
  add_compile_options("SHELL:-include \"${_compat}\"")
  message(STATUS "sdnet: MinGW headers lack THREAD_POWER_THROTTLING_STATE; supplied by native/compat/mingw/sdnet_mingw_compat.h")
  unset(_compat)
endif()
