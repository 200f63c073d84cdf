#!/usr/bin/env bash
# Packaging check: the packages as a new user gets them. Packs everything with build/pack.sh as 0.0.0-local into a
# private feed, then builds tests/Packaging/Consumer (package references only, nothing of this repository's build
# settings) once per mode, restoring from that feed (StableDiffusion.Native.* only from there, the rest from nuget.org)
# into a private packages folder, so a stale 0.0.0-local never leaks in from the user's NuGet cache. Each app
# generates a 64x64 image from the tests' random-weight SD1 model and must load the runtime from its own folder.
#
#   tests/Packaging/run.sh [mode...]        default: every host mode, and the Windows modes where they can run
#
#   run             dotnet run
#   publish-rid     dotnet publish -r <rid>, framework-dependent; the published app runs
#   self-contained  dotnet publish -r <rid> --self-contained
#   single-file     dotnet publish -r <rid> --self-contained -p:PublishSingleFile=true
#   aot             dotnet publish -r <rid> -p:PublishAot=true (and no AOT/trim warning)
#   whisper         Whisper.net 1.9.1 (+ Whisper.net.Runtime) loaded first in the same process, then generation
#   llama           LLamaSharp 0.30.0 (+ LLamaSharp.Backend.Cpu) loaded first in the same process, then generation
#
# Windows modes, on a Linux x64 host with Wine (part of the default where Wine and a win-x64 runtime are found; named,
# they must run or the check skips). The Cpu package
# is packed with the win-x64 runtime of the MinGW cross build (cmake --workflow --preset cpu-win-x64-mingw, found in
# $SDNET_WIN_RUNTIME, artifacts/native/cpu-win-x64-mingw or the user cache) for this check only; releases carry the
# MSVC build.
#   win-self-contained  dotnet publish -r win-x64 --self-contained, run under Wine
#   win-single-file     the same with -p:PublishSingleFile=true
#   win-publish-rid     dotnet publish -r win-x64, framework-dependent, run under Wine by a Windows .NET runtime
#                       assembled from the NuGet runtime pack (DOTNET_ROOT)
#
# Where a GPU runtime package was packed with a file for this RID (Vulkan, Cuda12, Hip), the run and publish-rid apps
# reference it too, and its backend module must sit beside the core libraries and be seen by the loader (it need not
# load: the GPU's driver stack may be missing here).
#
# Prints exactly one line per mode on stdout, "<mode>: ok" or "<mode>: FAIL <reason>", and exits 1 if any mode failed.
# Without a CPU runtime for a requested RID where build/pack.sh looks ($SDNET_RUNTIMES_DIR/cpu/runtimes, else
# artifacts/native, else the user cache), or without Wine for a Windows mode, it prints "skipped: <reason>" and exits 0. The work folder (logs, apps) is removed
# unless a mode failed or SDNET_PACKAGING_KEEP=1; SDNET_PACKAGING_VERBOSE=1 prints what each app's
# NativeRuntime.Describe() reported to stderr.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
repo="$(pwd)"
host_modes=(run publish-rid self-contained single-file aot whisper llama)
win_modes=(win-self-contained win-single-file win-publish-rid)
all_modes=("${host_modes[@]}" "${win_modes[@]}")
version=0.0.0-local

modes=("$@")
default_modes=0
((${#modes[@]})) || { modes=("${host_modes[@]}"); default_modes=1; }
for m in "${modes[@]}"; do
  case " ${all_modes[*]} " in
    *" $m "*) ;;
    *) echo "usage: tests/Packaging/run.sh [${all_modes[*]}]... (unknown mode '$m')" >&2; exit 2 ;;
  esac
done

need_host=0 need_win=0
for m in "${modes[@]}"; do case "$m" in win-*) need_win=1 ;; *) need_host=1 ;; esac; done

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) rid=linux-arm64 ;;
  Darwin-x86_64) rid=osx-x64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  *) echo "skipped: no packaging check for $(uname -s) $(uname -m) (Linux and macOS only)"; exit 0 ;;
esac
case "$rid" in osx-*) lib=libsdnet-stable-diffusion.dylib ;; *) lib=libsdnet-stable-diffusion.so ;; esac
winlib=sdnet-stable-diffusion.dll
source tests/Windows/wine.sh
wine="$(wine_command)"
if ((need_win)); then
  [[ "$rid" == linux-x64 ]] || { echo "skipped: the Windows modes need a Linux x64 host (Wine), not $rid"; exit 0; }
  [[ -n "$wine" ]] || { echo "skipped: the Windows modes need Wine (apt-get install wine64), which is not installed"; exit 0; }
fi

# Where each RID's cpu runtime is: $SDNET_RUNTIMES_DIR/cpu when set (the layout the release workflow downloads), else
# this checkout's preset build, else the user cache that `cmake --workflow --preset <preset>` fills, keyed by the pin
# (its newest cpu-<rid>-<shim> folder; a stale one would fail the apps' ABI check loudly, never pass silently).
pin="$(sed -n 's/.*SDNET_SD_COMMIT[^0-9a-f]*\([0-9a-f]\{40\}\).*/\1/p' native/cmake/SdnetPin.cmake | head -n 1)"
case "$rid" in osx-*) cache_root="${SDNET_NATIVE_CACHE:-$HOME/Library/Caches/stable-diffusion-native}" ;;
  *) cache_root="${SDNET_NATIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stable-diffusion-native}" ;; esac
tree_of() { # rid library preset: the folder holding runtimes/<rid>/native/<library>, or nothing
  local r="$1" l="$2" preset="$3" d
  if [[ "$r" == win-x64 && -n "${SDNET_WIN_RUNTIME:-}" ]]; then
    [[ -f "$SDNET_WIN_RUNTIME/runtimes/$r/native/$l" ]] && echo "$SDNET_WIN_RUNTIME"
    return 0
  fi
  if [[ -n "${SDNET_RUNTIMES_DIR:-}" ]]; then
    d="$SDNET_RUNTIMES_DIR"; [[ "$d" = /* ]] || d="$repo/$d"
    [[ -f "$d/cpu/runtimes/$r/native/$l" ]] && echo "$d/cpu"
    return 0
  fi
  if [[ -f "artifacts/native/$preset/runtimes/$r/native/$l" ]]; then echo "$repo/artifacts/native/$preset"; return 0; fi
  [[ -n "$pin" ]] || return 0
  for d in $(ls -1dt "$cache_root/$pin"/cpu-* 2>/dev/null); do
    case "$(basename "$d")" in cpu-native*) continue ;; esac
    if [[ -f "$d/runtimes/$r/native/$l" ]]; then echo "$d"; return 0; fi
  done
}
host_tree="" win_tree=""
# The default adds the Windows modes where they can run, packed with the host's runtime in one go: run apart, each set
# would pack everything again.
if ((default_modes)) && [[ "$rid" == linux-x64 ]]; then
  if [[ -z "$wine" ]]; then
    echo "packaging: the Windows modes need Wine, which is not installed" >&2
  elif [[ -z "$(tree_of win-x64 "$winlib" cpu-win-x64-mingw)" ]]; then
    echo "packaging: no win-x64 runtime for the Windows modes (cmake --workflow --preset cpu-win-x64-mingw)" >&2
  else
    modes+=("${win_modes[@]}")
    need_win=1
  fi
fi
if ((need_host)); then
  host_tree="$(tree_of "$rid" "$lib" cpu)"
  if [[ -z "$host_tree" ]]; then
    echo "skipped: no CPU runtime for $rid to pack (no runtimes/$rid/native/$lib in ${SDNET_RUNTIMES_DIR:-artifacts/native/cpu or the user cache}; build it with 'cmake --workflow --preset cpu' or set SDNET_RUNTIMES_DIR)"
    exit 0
  fi
fi
if ((need_win)); then
  win_tree="$(tree_of win-x64 "$winlib" cpu-win-x64-mingw)"
  if [[ -z "$win_tree" ]]; then
    echo "skipped: no win-x64 runtime to pack (no runtimes/win-x64/native/$winlib in ${SDNET_RUNTIMES_DIR:-artifacts/native/cpu-win-x64-mingw or the user cache}; build it with 'cmake --workflow --preset cpu-win-x64-mingw')"
    exit 0
  fi
fi
# build/pack.sh packs <runtimes>/<flavor>/runtimes/<rid>/native for every flavor and RID there. The host's own modes
# pack the runtimes folder the cpu tree was found in (GPU flavors built beside it included); otherwise a folder of
# links puts the cpu trees found above side by side.
base="${SDNET_RUNTIMES_DIR:-artifacts/native}"
[[ "$base" = /* ]] || base="$repo/$base"
cache_link=""
if ((!need_win)) && [[ "$host_tree" == "$base/cpu" ]]; then
  runtimes="$base"
else
  cache_link="$(mktemp -d "${TMPDIR:-/tmp}/sdnet-runtimes.XXXXXX")"
  mkdir -p "$cache_link/cpu/runtimes"
  [[ -z "$host_tree" ]] || ln -s "$host_tree/runtimes/$rid" "$cache_link/cpu/runtimes/$rid"
  [[ -z "$win_tree" ]] || ln -s "$win_tree/runtimes/win-x64" "$cache_link/cpu/runtimes/win-x64"
  runtimes="$cache_link"
fi
for t in "$host_tree" "$win_tree"; do [[ -z "$t" ]] || echo "packaging: packing the cpu runtime from $t" >&2; done
if ! command -v dotnet >/dev/null 2>&1; then
  echo "skipped: dotnet is not on PATH"
  exit 0
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
work="$(mktemp -d "${TMPDIR:-/tmp}/sdnet-packaging.XXXXXX")"
failed=0
own_wineserver=0
cleanup() {
  ((!own_wineserver)) || wineserver -k >/dev/null 2>&1 || true
  if ((failed)) || [[ "${SDNET_PACKAGING_KEEP:-0}" == 1 ]]; then
    echo "packaging: logs and apps kept in $work" >&2
  else
    rm -rf "$work"
  fi
  [[ -z "$cache_link" ]] || rm -rf "$cache_link"
}
trap cleanup EXIT
say() { [[ "${SDNET_PACKAGING_VERBOSE:-0}" != 1 ]] || echo "  $*" >&2; }
fail_all() { # reason: every mode fails with it
  local m
  failed=1
  for m in "${modes[@]}"; do echo "$m: FAIL $1"; done
  exit 1
}
first_error() { # log: its first error line, trimmed
  grep -m 1 -E '(error|Error|ERROR)[ :]' "$1" | sed -E 's/^[[:space:]]+//; s/ \[[^]]*\]$//' | cut -c 1-300
}

# ------------------------------------------------------------------ the packages, the model, the feed
global_packages="$(dotnet nuget locals global-packages --list 2>/dev/null | sed -n 's/^global-packages: //p')"
if ! SDNET_RUNTIMES_DIR="$runtimes" build/pack.sh --output "$work/feed" "$version" >"$work/pack.log" 2>&1; then
  fail_all "build/pack.sh failed: $(first_error "$work/pack.log")"
fi

# The tests' random-weight SD1 checkpoint: reused from their cache when it is there, written by ModelTool otherwise.
model_cache="${SDNET_TEST_MODELS:-${TMPDIR:-/tmp}}"
[[ -n "${SDNET_TEST_MODELS:-}" ]] || model_cache="${model_cache%/}/sdnet-test-models"
model="$(find "$model_cache" -maxdepth 1 -name 'sd1-c32-d32-in4-F16-s1-v*.safetensors' 2>/dev/null | sort | tail -n 1)"
if [[ -z "$model" ]]; then
  if ! dotnet run --project tests/Packaging/ModelTool -c Release >"$work/model.log" 2>&1; then
    fail_all "the test model could not be written: $(first_error "$work/model.log")"
  fi
  model="$(tail -n 1 "$work/model.log")"
fi
[[ -f "$model" ]] || fail_all "no test model at '$model'"

# The GPU packages with a backend module for this RID: "<package id>:<file name>".
gpu_packages=()
for id in Vulkan Cuda12 Hip; do
  nupkg="$work/feed/StableDiffusion.Native.Runtime.$id.$version.nupkg"
  [[ -f "$nupkg" ]] || continue
  if ! command -v unzip >/dev/null 2>&1; then
    echo "packaging: unzip is not installed; the apps do not reference $(basename "$nupkg")" >&2
    continue
  fi
  file="$(unzip -Z1 "$nupkg" "runtimes/$rid/native/*" 2>/dev/null | head -n 1)"
  [[ -z "$file" ]] || gpu_packages+=("StableDiffusion.Native.Runtime.$id:${file##*/}")
done
gpu_ids="$(for g in ${gpu_packages[@]+"${gpu_packages[@]}"}; do printf '%s,' "${g%%:*}"; done)"
gpu_ids="${gpu_ids%,}"

# Sources: the feed for StableDiffusion.Native.*, nuget.org for everything else. Packages land in a folder of this run;
# the user's NuGet cache may serve nuget.org packages read-only (a fallback folder), unless it holds a 0.0.0-local of
# ours, which must never stand in for the packages just packed.
fallback=""
if [[ -n "$global_packages" && -d "$global_packages" ]]; then
  if compgen -G "${global_packages%/}/stablediffusion.native*/$version" >/dev/null; then
    echo "packaging: $global_packages holds StableDiffusion.Native* $version; not using it as a fallback folder" >&2
  else
    fallback="    <add key=\"user-cache\" value=\"$global_packages\" />"
  fi
fi
cat >"$work/nuget.config" <<EOF
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <clear />
    <add key="local" value="$work/feed" />
    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" protocolVersion="3" />
  </packageSources>
  <packageSourceMapping>
    <clear />
    <packageSource key="local">
      <package pattern="StableDiffusion.Native" />
      <package pattern="StableDiffusion.Native.*" />
    </packageSource>
    <packageSource key="nuget.org">
      <package pattern="*" />
    </packageSource>
  </packageSourceMapping>
  <fallbackPackageFolders>
    <clear />
$fallback
  </fallbackPackageFolders>
</configuration>
EOF
export NUGET_PACKAGES="$work/packages"
mkdir -p "$work/no-cache"

# ------------------------------------------------------------------ one mode
png_size() { # file: "WxH" from the IHDR chunk, or nothing when it is not a PNG
  local sig w h
  sig="$(od -An -tx1 -N8 "$1" 2>/dev/null | tr -d ' \n')"
  [[ "$sig" == 89504e470d0a1a0a ]] || return 0
  read -r w h < <(od -An -tu1 -j16 -N8 "$1" | awk '{ print ($1 * 16777216 + $2 * 65536 + $3 * 256 + $4), ($5 * 16777216 + $6 * 65536 + $7 * 256 + $8) }')
  echo "${w}x${h}"
}

# Under Wine: a private prefix (unless the caller gives one), and Windows paths for the app's arguments.
win_path() { echo "Z:$(realpath -m "$1" | tr / '\\')"; }
unix_path() { sed -E 's/^[Zz]://; s#\\#/#g' <<<"$1"; }
if ((need_win)); then
  export WINEDEBUG=-all
  if [[ -z "${WINEPREFIX:-}" ]]; then
    export WINEPREFIX="$work/wine-prefix"
    own_wineserver=1
    why="$(start_wine_prefix "$wine" "$work")" || fail_all "$why"
  fi
fi

# A Windows .NET for the framework-dependent app: hostfxr and the shared framework, from the win-x64 runtime pack that
# the self-contained publishes restore (the highest 10.0 version in this run's packages or the user's NuGet cache).
win_dotnet_root() {
  local pack ver root="$work/dotnet-win"
  pack="$(ls -1d "$work/packages/microsoft.netcore.app.runtime.win-x64"/10.0.* "${global_packages%/}/microsoft.netcore.app.runtime.win-x64"/10.0.* 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$pack" ]] || return 1
  ver="$(basename "$pack")"
  if [[ ! -f "$root/host/fxr/$ver/hostfxr.dll" ]]; then
    mkdir -p "$root/host/fxr/$ver" "$root/shared/Microsoft.NETCore.App/$ver"
    cp "$pack/runtimes/win-x64/native/hostfxr.dll" "$root/host/fxr/$ver/" || return 1
    cp "$pack/runtimes/win-x64/lib/net10.0/"* "$pack/runtimes/win-x64/native/"* "$root/shared/Microsoft.NETCore.App/$ver/" || return 1
  fi
  echo "$root"
}

check_mode() { # mode: prints its line, returns 1 on failure
  local mode="$1" dir="$work/$1" variant=plain app rc mrid="$rid"
  [[ "$mode" != win-* ]] || mrid=win-x64
  local -a build=(dotnet publish -c Release -r "$mrid" -o "$dir/app" -p:SdnetVersion="$version")
  mkdir -p "$dir"
  cp tests/Packaging/Consumer/Consumer.csproj tests/Packaging/Consumer/Program.cs tests/Packaging/Consumer/Directory.* "$dir/"
  local gpu=""
  [[ "$mode" != run && "$mode" != publish-rid ]] || gpu="$gpu_ids"
  case "$mode" in
    run) build=() ;;
    publish-rid) build+=(--self-contained false -p:SdnetRuntimePackages="$gpu") ;;
    self-contained) build+=(--self-contained true) ;;
    single-file) build+=(--self-contained true -p:PublishSingleFile=true) ;;
    aot) build+=(-p:PublishAot=true) ;;
    whisper | llama) variant="$mode"; build=() ;;
    win-self-contained) build+=(--self-contained true) ;;
    # Wine 8 cannot map a bundle's assemblies in place (a plain hello-world single-file app fails there the same way:
    # "Failed to load System.Private.CoreLib.dll ... E_INVALIDARG"), so under Wine the bundle extracts its content to a
    # folder of this run, and that folder is the app's own.
    win-single-file) build+=(--self-contained true -p:PublishSingleFile=true -p:IncludeAllContentForSelfExtract=true) ;;
    win-publish-rid) build+=(--self-contained false) ;;
  esac

  local -a run limit=()
  ! command -v timeout >/dev/null 2>&1 || limit=(timeout 900)
  if ((${#build[@]})); then
    (cd "$dir" && ${limit[@]+"${limit[@]}"} "${build[@]}") >"$dir/build.log" 2>&1 ||
      { echo "$mode: FAIL dotnet publish failed: $(first_error "$dir/build.log")"; return 1; }
    app="$dir/app"
    run=("$app/Consumer")
    [[ "$mode" != win-* ]] || run=("$wine" "$app/Consumer.exe")
  else
    # dotnet run restores, builds and starts the app in one go, as a user types it.
    app="$dir/bin/Release/net10.0"
    run=(dotnet run -c Release -p:SdnetVersion="$version" -p:SdnetConsumer="$variant" -p:SdnetRuntimePackages="$gpu" --)
  fi
  if [[ "$mode" == aot ]] && grep -q -E 'warning IL[0-9]+' "$dir/build.log"; then
    echo "$mode: FAIL NativeAOT warnings: $(grep -m 1 -E -o 'warning IL[0-9]+:[^[]*' "$dir/build.log" | cut -c 1-200)"
    return 1
  fi
  if [[ "$mode" == *single-file && -f "$app/Consumer.dll" ]]; then
    echo "$mode: FAIL the publish folder holds Consumer.dll: not a single-file app"
    return 1
  fi

  # Run it as a user would, with nothing pointing at this checkout or the user-level runtime cache.
  local -a args=("$model" "$dir/out.png") extra=()
  if [[ "$mode" == win-* ]]; then
    args=("$(win_path "$model")" "$(win_path "$dir/out.png")")
    extra=(SDNET_NATIVE_CACHE='C:\sdnet-no-cache')
    [[ "$mode" != win-single-file ]] || extra+=(DOTNET_BUNDLE_EXTRACT_BASE_DIR="$(win_path "$dir/extract")")
    if [[ "$mode" == win-publish-rid ]]; then
      local root
      root="$(win_dotnet_root)" || { echo "$mode: FAIL no win-x64 .NET runtime pack in the NuGet folders to run a framework-dependent app with"; return 1; }
      extra+=(DOTNET_ROOT="$(win_path "$root")")
    fi
  fi
  (cd "$dir" && env -u SDNET_NATIVE_PATH -u SDNET_DEV_CHECKOUT SDNET_NATIVE_CACHE="$work/no-cache" ${extra[@]+"${extra[@]}"} \
    ${limit[@]+"${limit[@]}"} "${run[@]}" "${args[@]}") >"$dir/run.log" 2>&1
  rc=$?
  if ((rc != 0)); then
    if [[ "${run[0]}" == dotnet && -n "$(first_error "$dir/run.log")" && ! -f "$app/Consumer.dll" ]]; then
      echo "$mode: FAIL dotnet run failed: $(first_error "$dir/run.log")"
    else
      echo "$mode: FAIL the app exited with $rc: $(grep -v '^[[:space:]]*$' "$dir/run.log" | tail -n 1 | cut -c 1-300)"
    fi
    return 1
  fi

  local loaded variant_line backends seed size real_app
  loaded="$(sed -n 's/^runtime: //p' "$dir/run.log" | tr -d '\r')"
  [[ "$mode" != win-* || -z "$loaded" ]] || loaded="$(unix_path "$loaded")"
  variant_line="$(sed -n 's/^cpu variant: //p' "$dir/run.log" | tr -d '\r')"
  backends="$(sed -n 's/^backends: //p' "$dir/run.log" | tr -d '\r')"
  seed="$(tr -d '\r' <"$dir/run.log" | sed -n -E 's/^seed: ([0-9]+)$/\1/p')"
  say "$mode: runtime $loaded; cpu variant ${variant_line:-?}; backends ${backends:-?}"
  real_app="$(cd "$app" && pwd -P)"
  [[ "$mode" != win-single-file ]] || real_app="$(cd "$dir/extract" 2>/dev/null && pwd -P)"
  [[ -n "$loaded" ]] || { echo "$mode: FAIL the app printed no runtime line"; return 1; }
  case "$(cd "$(dirname "$loaded")" 2>/dev/null && pwd -P)/" in
    "$real_app"/*) ;;
    *) echo "$mode: FAIL the runtime loaded from $loaded, not from the app folder $app"; return 1 ;;
  esac
  [[ "$backends" == *CPU* ]] || { echo "$mode: FAIL no CPU backend registered (backends: ${backends:-none})"; return 1; }
  [[ -n "$variant_line" && "$variant_line" != "(none)" ]] || { echo "$mode: FAIL no CPU variant was chosen"; return 1; }
  size="$(png_size "$dir/out.png")"
  [[ -n "$size" ]] || { echo "$mode: FAIL no PNG was written"; return 1; }
  [[ "$size" == 64x64 ]] || { echo "$mode: FAIL the PNG is $size, not 64x64"; return 1; }
  [[ -n "$seed" ]] || { echo "$mode: FAIL the app printed no seed line"; return 1; }

  # GPU packages: their backend module beside the core libraries, and seen by the loader.
  local g id file
  if [[ -n "$gpu" ]]; then
    for g in "${gpu_packages[@]}"; do
      id="${g%%:*}" file="${g#*:}"
      [[ -f "$(dirname "$loaded")/$file" ]] || { echo "$mode: FAIL $id's $file is not beside the runtime in $(dirname "$loaded")"; return 1; }
      grep -q -E "^module: [a-z0-9]+ $file " "$dir/run.log" || { echo "$mode: FAIL the loader did not see $id's $file"; return 1; }
      say "$mode: $(grep -m 1 -E "^module: [a-z0-9]+ $file " "$dir/run.log")"
    done
  fi

  # whisper/llama: their ggml and ours, both mapped into the one process (read from /proc/self/maps on Linux).
  if [[ "$variant" != plain ]]; then
    grep -q "^$variant: " "$dir/run.log" || { echo "$mode: FAIL the app did not report $variant's native library"; return 1; }
  fi
  if [[ "$variant" != plain && "$rid" == linux-* ]]; then
    grep -q -E '^mapped: .*/libsdnet-ggml-base\.(so|dylib)$' "$dir/run.log" || { echo "$mode: FAIL libsdnet-ggml-base is not mapped"; return 1; }
    grep -E '^mapped: ' "$dir/run.log" | grep -v '/libsdnet-' | grep -q 'ggml' ||
      { echo "$mode: FAIL $variant's own ggml is not mapped beside ours"; return 1; }
  fi
  echo "$mode: ok"
}

for m in "${modes[@]}"; do
  check_mode "$m" || failed=1
done
exit "$failed"
