#!/usr/bin/env bash
# Checks that a built native runtime is what the NuGet packages may ship (Linux and macOS).
#   usage: verify-runtime.sh <runtime dir: artifacts/native/<preset>/runtimes/<rid>/native> <preset>
# Linux: every library is libsdnet-*.so, RUNPATH is $ORIGIN, every SONAME starts with libsdnet-, no
#        un-prefixed ggml/stable-diffusion library is NEEDED, and ldd finds every dependency (for cuda,
#        libcuda.so.1 is exempt: only the NVIDIA driver provides it).
# macOS: every library is libsdnet-*, install names and references to siblings are @rpath/libsdnet-*,
#        LC_RPATH holds @loader_path, and nothing points into the build tree.
set -euo pipefail

dir="${1:?usage: verify-runtime.sh <runtime dir> <preset>}"
preset="${2:?usage: verify-runtime.sh <runtime dir> <preset>}"
failures=0
fail() { echo "::error::$*"; failures=$((failures + 1)); }

[[ -d "$dir" ]] || { echo "::error::runtime directory $dir does not exist"; exit 1; }
dir="$(cd "$dir" && pwd)"
echo "Verifying the '$preset' runtime in $dir"
ls -la "$dir"

shopt -s nullglob
os="$(uname -s)"
case "$os" in
  Linux) libs=("$dir"/*.so) ;;
  Darwin) libs=("$dir"/*.dylib "$dir"/*.so) ;;   # ggml's dynamically loaded backends are .so bundles
  *) echo "::error::unsupported OS $os (Windows is verified by the workflow's pwsh step)"; exit 1 ;;
esac
((${#libs[@]} > 0)) || { echo "::error::no library in $dir"; exit 1; }

# Every file in the runtime folder travels in the package: all of them must carry the prefix.
for f in "$dir"/*; do
  case "$(basename "$f")" in
    libsdnet-*) ;;
    *) fail "$(basename "$f") is not prefixed with libsdnet-" ;;
  esac
done

# What each preset must produce (file names differ only by suffix between Linux and macOS).
if [[ "$os" == Darwin ]]; then main_suffix=dylib; else main_suffix=so; fi
required=("libsdnet-stable-diffusion.$main_suffix" "libsdnet-ggml.$main_suffix" "libsdnet-ggml-base.$main_suffix")
case "$preset" in
  cuda) required+=(libsdnet-ggml-cuda.so) ;;
  vulkan) required+=(libsdnet-ggml-vulkan.so) ;;
  metal) required+=(libsdnet-ggml-metal.so) ;;
  hip) required+=(libsdnet-ggml-hip.so) ;;
esac
for r in "${required[@]}"; do
  [[ -e "$dir/$r" ]] || fail "$r is missing from the $preset runtime"
done
cpu_backends=("$dir"/libsdnet-ggml-cpu*.so)
((${#cpu_backends[@]} > 0)) || fail "no CPU backend (libsdnet-ggml-cpu*.so) in the $preset runtime"

unprefixed='(^|/)lib(ggml|stable-diffusion)[^/]*\.(so|dylib)'

if [[ "$os" == Linux ]]; then
  # Where the CUDA runtime libraries (cudart, cublas) are, for ldd; the action puts CUDA_PATH in the environment.
  if [[ -n "${CUDA_PATH:-}" && -d "$CUDA_PATH/lib64" ]]; then
    export LD_LIBRARY_PATH="$CUDA_PATH/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  # And the ROCm libraries (HIP runtime, hipBLAS, rocBLAS) for hip; the ROCm step puts ROCM_PATH in the environment.
  if [[ -n "${ROCM_PATH:-}" && -d "$ROCM_PATH/lib" ]]; then
    export LD_LIBRARY_PATH="$ROCM_PATH/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  for lib in "${libs[@]}"; do
    name="$(basename "$lib")"
    dyn="$(readelf -d "$lib")"
    echo "--- $name"
    grep -E '\((NEEDED|SONAME|RPATH|RUNPATH)\)' <<<"$dyn" || true

    runpath="$(sed -n 's/.*(RUNPATH).*\[\(.*\)\]/\1/p' <<<"$dyn")"
    [[ "$runpath" == "\$ORIGIN" ]] || fail "$name: RUNPATH is '${runpath:-<none>}', expected \$ORIGIN"

    soname="$(sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p' <<<"$dyn")"
    if [[ -n "$soname" ]]; then
      [[ "$soname" == libsdnet-* ]] || fail "$name: SONAME $soname does not start with libsdnet-"
      [[ "$soname" == "$name" ]] || fail "$name: SONAME $soname differs from the file name (NuGet copies no symlinks)"
    elif [[ "$name" =~ ^libsdnet-(stable-diffusion|ggml|ggml-base)\.so$ ]]; then
      # Only the dlopen()ed backend modules may lack a SONAME; these three are linked against.
      fail "$name: linked-against library without a SONAME"
    fi

    while read -r needed; do
      [[ -z "$needed" ]] && continue
      if [[ "$needed" =~ $unprefixed && "$needed" != libsdnet-* ]]; then
        fail "$name: NEEDs the un-prefixed $needed"
      fi
    done < <(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn")

    missing="$(ldd "$lib" | grep 'not found' || true)"
    if [[ "$preset" == cuda ]]; then
      missing="$(grep -v 'libcuda\.so\.1 ' <<<"$missing" || true)"
    fi
    [[ -z "$missing" ]] || fail "$name: ldd cannot resolve: $(tr -s ' \t\n' ' ' <<<"$missing")"
  done
else
  for lib in "${libs[@]}"; do
    name="$(basename "$lib")"
    echo "--- $name"
    otool -L "$lib"
    id="$(otool -D "$lib" | sed -n '2p')"
    if [[ "$name" == *.dylib ]]; then
      [[ "$id" == "@rpath/$name" ]] || fail "$name: install name is '${id:-<none>}', expected @rpath/$name"
    fi
    # Dependencies: skip the header line (and, for a dylib, its own install name).
    while read -r dep; do
      [[ -z "$dep" || "$dep" == "$id" ]] && continue
      if [[ "$dep" == *sdnet* || "$dep" =~ $unprefixed ]]; then
        [[ "$dep" =~ ^@rpath/libsdnet- ]] || fail "$name: references $dep instead of @rpath/libsdnet-*"
      fi
      case "$dep" in
        "$PWD"/* | */artifacts/native/* | /Users/*) fail "$name: references a build-machine path $dep" ;;
      esac
    done < <(otool -L "$lib" | tail -n +2 | awk '{print $1}')
    rpaths="$(otool -l "$lib" | awk '/cmd LC_RPATH/ {getline; getline; print $2}')"
    echo "LC_RPATH: ${rpaths:-<none>}"
    grep -qx '@loader_path' <<<"$rpaths" || fail "$name: LC_RPATH does not hold @loader_path"
  done
fi

if ((failures > 0)); then
  echo "::error::$failures problem(s) in the $preset runtime at $dir"
  exit 1
fi
echo "The $preset runtime in $dir is relocatable and prefixed (${#libs[@]} libraries)."
