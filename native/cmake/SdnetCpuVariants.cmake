# Our own CPU variant modules beside ggml's stock ones (GGML_CPU_ALL_VARIANTS).
#
# ggml's f16 vector code uses native FP16 arithmetic when __AVX512FP16__ is defined (ggml-cpu/simd-mappings.h),
# but none of its stock x86 variants enables AVX512-FP16, not even sapphirerapids, which also needs AMX. Current
# Xeons (Sapphire, Emerald, Granite Rapids), often in VMs that hide AMX, then run the zen4 module at about 0.72x
# the speed of a native build. These variants add -mavx512fp16 to two stock feature sets:
#   sapphirerapids_fp16  the sapphirerapids set (AMX included) + AVX512-FP16
#   zen4_fp16            the zen4 set (AVX-512 with VBMI, VNNI, BF16; no AMX) + AVX512-FP16
# ggml's own score function (compiled per variant) does not know AVX512-FP16, so our loader
# (sdnet_load_backends) requires it at run time for every *_fp16 module and prefers such a module over its base
# set only where the CPU has it; see sdnet_adjust_cpu_score in native/src/sdnet_shim.cpp.
#
# The modules must be created inside ggml/src (its variant function uses paths relative to that directory), so the
# call is deferred into that directory when its CMakeLists first reads GGML_CPU_ALL_VARIANTS.

include(CheckCCompilerFlag)

option(SDNET_CPU_FP16_VARIANTS "Build our AVX512-FP16 CPU variants (x86, with GGML_CPU_ALL_VARIANTS)" ON)

function(_sdnet_add_cpu_variants)
  if(NOT GGML_CPU_ALL_VARIANTS OR NOT GGML_BACKEND_DL OR NOT SDNET_CPU_FP16_VARIANTS)
    return()
  endif()
  if(NOT GGML_SYSTEM_ARCH STREQUAL "x86")
    return()
  endif()
  if(CMAKE_C_COMPILER_ID STREQUAL "MSVC")
    message(STATUS "sdnet: AVX512-FP16 CPU variants omitted: MSVC has no -mavx512fp16")
    return()
  endif()
  check_c_compiler_flag(-mavx512fp16 SDNET_HAS_MAVX512FP16)
  if(NOT SDNET_HAS_MAVX512FP16)
    message(STATUS "sdnet: AVX512-FP16 CPU variants omitted: ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION} does not accept -mavx512fp16")
    return()
  endif()
  set(_sets
    "sapphirerapids_fp16|SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16 AMX_TILE AMX_INT8"
    "zen4_fp16|SSE42 AVX F16C FMA AVX2 BMI2 AVX512 AVX512_VBMI AVX512_VNNI AVX512_BF16")
  foreach(_set IN LISTS _sets)
    string(REPLACE "|" ";" _parts "${_set}")
    list(GET _parts 0 _name)
    list(GET _parts 1 _features)
    string(REPLACE " " ";" _features "${_features}")
    ggml_add_cpu_backend_variant(${_name} ${_features})
    if(NOT TARGET ggml-cpu-${_name})
      continue()   # refused by _sdnet_filter_variants, which said why
    endif()
    # The module's code only; its score function (the -feats object) stays free of these instructions.
    target_compile_options(ggml-cpu-${_name} PRIVATE -mavx512fp16)
    message(STATUS "sdnet: CPU variant ${_name}: ${_features} AVX512_FP16")
  endforeach()
endfunction()

# Variants the compiler cannot build are left out (configure says which and why), so one bad feature set never fails the
# whole runtime; the CPUs they target get the next best module. ggml defines ggml_add_cpu_backend_variant before it
# first reads GGML_CPU_ALL_VARIANTS, so it can be wrapped here.
# - ggml's linux-arm64 list ends with two SME variants (armv9.2_1, armv9.2_2) that need -march=armv9.2-a+sme, which GCC
#   accepts from version 14 only (Debian 12's cross GCC 12 and Ubuntu 24.04's GCC 13 refuse it). SME machines then get
#   armv8.6_2.
# - x86 AMX (sapphirerapids and our sapphirerapids_fp16): GCC 12's <amxtileintrin.h> passes the tile stride as a
#   `long`, which is 32 bits on Windows, so MinGW-w64 GCC 12 emits `(%rax,%edi,1)` addressing that the assembler
#   refuses (ggml-cpu/amx/mmq.cpp). Those CPUs then get zen4 / zen4_fp16, the same feature set without AMX tiles.
function(_sdnet_filter_variants)
  if(CMAKE_C_COMPILER_ID STREQUAL "MSVC")
    return()
  endif()
  set(_refused "")
  set(_why "")
  if(GGML_SYSTEM_ARCH STREQUAL "ARM")
    check_c_compiler_flag("-march=armv9.2-a+dotprod+fp16+sve+i8mm+sme" SDNET_HAS_ARMV9_2_SME)
    if(NOT SDNET_HAS_ARMV9_2_SME)
      set(_refused SME)
      set(_why "does not accept -march=armv9.2-a+sme")
    endif()
  elseif(GGML_SYSTEM_ARCH STREQUAL "x86")
    include(CheckCSourceCompiles)
    set(CMAKE_REQUIRED_FLAGS "-mamx-tile")
    check_c_source_compiles([=[
#include <immintrin.h>
void load(const void* p, int stride) { _tile_loadd(0, p, stride); }
int main(void) { return 0; }
]=] SDNET_CAN_BUILD_AMX_TILE_LOADS)
    unset(CMAKE_REQUIRED_FLAGS)
    if(NOT SDNET_CAN_BUILD_AMX_TILE_LOADS)
      set(_refused AMX_TILE)
      set(_why "cannot assemble its own AMX tile loads (_tile_loadd)")
    endif()
  endif()
  if(_refused STREQUAL "")
    return()
  endif()
  set_property(GLOBAL PROPERTY SDNET_REFUSED_CPU_FEATURE "${_refused}")
  set_property(GLOBAL PROPERTY SDNET_REFUSED_CPU_WHY "${_why}")
  function(ggml_add_cpu_backend_variant tag_name)
    get_property(_feature GLOBAL PROPERTY SDNET_REFUSED_CPU_FEATURE)
    get_property(_reason GLOBAL PROPERTY SDNET_REFUSED_CPU_WHY)
    if("${_feature}" IN_LIST ARGN)
      message(STATUS "sdnet: CPU variant ${tag_name} omitted: ${CMAKE_C_COMPILER_ID} ${CMAKE_C_COMPILER_VERSION} ${_reason}")
      return()
    endif()
    _ggml_add_cpu_backend_variant(${tag_name} ${ARGN})
  endfunction()
endfunction()

function(_sdnet_watch_cpu_variants variable access value list_file stack)
  get_property(_scheduled GLOBAL PROPERTY SDNET_CPU_VARIANTS_SCHEDULED)
  if(_scheduled OR NOT access STREQUAL "READ_ACCESS")
    return()
  endif()
  # ggml/src/CMakeLists.txt is the directory whose variant list this extends.
  if(list_file MATCHES "[/\\\\]ggml[/\\\\]src[/\\\\]CMakeLists\\.txt$")
    set_property(GLOBAL PROPERTY SDNET_CPU_VARIANTS_SCHEDULED ON)
    _sdnet_filter_variants()
    cmake_language(DEFER CALL _sdnet_add_cpu_variants)
  endif()
endfunction()

variable_watch(GGML_CPU_ALL_VARIANTS _sdnet_watch_cpu_variants)
