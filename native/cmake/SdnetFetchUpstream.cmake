# Brings the pinned stable-diffusion.cpp (with its ggml submodule only) and adds it to the build.
# Offline: -DFETCHCONTENT_SOURCE_DIR_STABLE_DIFFUSION_CPP=<a checkout of SDNET_SD_COMMIT with ggml inside>.
FetchContent_Declare(stable_diffusion_cpp
  GIT_REPOSITORY "${SDNET_SD_REPOSITORY}"
  GIT_TAG        "${SDNET_SD_COMMIT}"
  GIT_SUBMODULES "ggml"            # webp/webm and the web UI are not needed
  GIT_PROGRESS   ON)

set(_sdnet_override_hint
  "Pass -DFETCHCONTENT_SOURCE_DIR_STABLE_DIFFUSION_CPP=<dir> pointing at a checkout of "
  "stable-diffusion.cpp ${SDNET_SD_COMMIT} whose ggml/ holds ggml ${SDNET_GGML_COMMIT} "
  "(git clone --recurse-submodules, then git checkout ${SDNET_SD_COMMIT} && git submodule update ggml).")

if(FETCHCONTENT_SOURCE_DIR_STABLE_DIFFUSION_CPP)
  set(_src "${FETCHCONTENT_SOURCE_DIR_STABLE_DIFFUSION_CPP}")
  if(NOT EXISTS "${_src}/include/stable-diffusion.h")
    message(FATAL_ERROR "FETCHCONTENT_SOURCE_DIR_STABLE_DIFFUSION_CPP=${_src} holds no include/stable-diffusion.h. "
      ${_sdnet_override_hint})
  endif()
elseif(NOT FETCHCONTENT_FULLY_DISCONNECTED)
  # Fail with one clear message instead of a git error deep inside FetchContent.
  find_package(Git QUIET)
  if(NOT GIT_FOUND)
    message(FATAL_ERROR "git is needed to fetch stable-diffusion.cpp ${SDNET_SD_COMMIT}, and no source override is set. "
      ${_sdnet_override_hint})
  endif()
  execute_process(COMMAND "${GIT_EXECUTABLE}" ls-remote --exit-code "${SDNET_SD_REPOSITORY}" HEAD
    RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET TIMEOUT 60)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "Cannot reach ${SDNET_SD_REPOSITORY} to fetch the pinned stable-diffusion.cpp ${SDNET_SD_COMMIT}. "
      ${_sdnet_override_hint})
  endif()
endif()

FetchContent_MakeAvailable(stable_diffusion_cpp)

if(NOT EXISTS "${stable_diffusion_cpp_SOURCE_DIR}/ggml/CMakeLists.txt" OR NOT TARGET ggml)
  message(FATAL_ERROR "stable-diffusion.cpp at ${stable_diffusion_cpp_SOURCE_DIR} has no ggml submodule. "
    ${_sdnet_override_hint})
endif()
unset(_src)
unset(_rc)
