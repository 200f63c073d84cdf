#!/usr/bin/env bash
# Windows check: the win-x64 runtime cross-built with MinGW-w64 (cmake --workflow --preset cpu-win-x64-mingw), upstream's
# sd-cli.exe, a self-contained win-x64 sdnet.exe and the packages, all executed under Wine on a Linux x64 host.
#
#   tests/Windows/run.sh [case|driver|packaging...]        default: every case
#
# Cases (tests/Windows/WineCheck runs the first thirteen; tests/Packaging/run.sh the three win-* modes):
#   sd-cli-generate           sd-cli.exe: 64x64 from the tiny test model, the same pixels twice for one seed
#   sdnet-doctor              doctor -v: the runtime from the app's runtimes\win-x64\native, a CPU variant, every probe
#   sdnet-generate            generate: 64x64, the same pixels for one seed, others for another
#   sdnet-inspect-bad-files   inspect on crafted files: one error line each, exit code 1, never a crash
#   sdnet-pull-resume         models pull from a loopback hub: a dropped connection resumes with a Range request
#   sdnet-pull-corrupt        models pull: a sha256 mismatch is refused and leaves no file
#   sdnet-pull-reserved-name  models pull: CON, NUL, COM1 and a trailing dot are refused before any request
#   sdnet-models-by-name      the default models folder and quantization cache under C:\users\Zoë\AppData\Local, a model
#                             used by a name in another case, converted once and reused
#   sdnet-serve               serve: one A1111 txt2img and one OpenAI images/generations request
#   rpc-server                tools\sdnet-rpc-server.exe serves; sdnet.exe generating through it gives the local pixels
#   path-spaces-non-ascii     a model and an output under C:\users\Zoë\モデル\my models\
#   path-other-drive          a model on D:
#   path-long                 a model and an output whose paths are longer than 260 characters
#   win-self-contained, win-single-file, win-publish-rid   the packaging check's Windows modes
# "driver" names the first thirteen, "packaging" the last three (.ci/run names "driver": its packaging check's default
# already runs the Windows modes, from the packages it packs once).
#
# Prints one line per case on stdout, "<case>: ok" or "<case>: FAIL <reason>", and exits 1 if any failed. Without Wine
# or a win-x64 runtime it prints "skipped: <reason>" and exits 0. The runtime is taken from $SDNET_WIN_RUNTIME (a
# folder holding runtimes/win-x64/native and tools/), else artifacts/native/cpu-win-x64-mingw, else the newest
# cpu-win-x64-* folder of the user cache. The work folder is removed unless a case failed or SDNET_WINDOWS_KEEP=1.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
repo="$(pwd)"

driver_cases=(sd-cli-generate sdnet-doctor sdnet-generate sdnet-inspect-bad-files sdnet-pull-resume sdnet-pull-corrupt
  sdnet-pull-reserved-name sdnet-models-by-name sdnet-serve rpc-server path-spaces-non-ascii path-other-drive path-long)
packaging_cases=(win-self-contained win-single-file win-publish-rid)
cases=()
for c in "$@"; do
  case "$c" in
    driver) cases+=("${driver_cases[@]}") ;;
    packaging) cases+=("${packaging_cases[@]}") ;;
    *) cases+=("$c") ;;
  esac
done
((${#cases[@]})) || cases=("${driver_cases[@]}" "${packaging_cases[@]}")
run_driver=() run_packaging=()
for c in "${cases[@]}"; do
  case " ${driver_cases[*]} " in *" $c "*) run_driver+=("$c"); continue ;; esac
  case " ${packaging_cases[*]} " in *" $c "*) run_packaging+=("$c"); continue ;; esac
  echo "usage: tests/Windows/run.sh [${driver_cases[*]} ${packaging_cases[*]}]... (unknown case '$c')" >&2
  exit 2
done

[[ "$(uname -s)-$(uname -m)" == Linux-x86_64 ]] || { echo "skipped: the Windows check runs on a Linux x64 host with Wine"; exit 0; }
source tests/Windows/wine.sh
wine="$(wine_command)"
[[ -n "$wine" ]] || { echo "skipped: Wine is not installed (apt-get install wine64)"; exit 0; }
command -v dotnet >/dev/null 2>&1 || { echo "skipped: dotnet is not on PATH"; exit 0; }

lib=runtimes/win-x64/native/sdnet-stable-diffusion.dll
tree="${SDNET_WIN_RUNTIME:-}"
if [[ -z "$tree" && -f "artifacts/native/cpu-win-x64-mingw/$lib" ]]; then tree="$repo/artifacts/native/cpu-win-x64-mingw"; fi
if [[ -z "$tree" ]]; then
  pin="$(sed -n 's/.*SDNET_SD_COMMIT[^0-9a-f]*\([0-9a-f]\{40\}\).*/\1/p' native/cmake/SdnetPin.cmake | head -n 1)"
  cache_root="${SDNET_NATIVE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stable-diffusion-native}"
  tree="$(ls -1dt "$cache_root/$pin"/cpu-win-x64-* 2>/dev/null | head -n 1)"
fi
if [[ -z "$tree" || ! -f "$tree/$lib" ]]; then
  echo "skipped: no win-x64 runtime (${tree:-artifacts/native/cpu-win-x64-mingw or the user cache} has no $lib; build it with 'cmake --workflow --preset cpu-win-x64-mingw' (MinGW-w64: apt-get install g++-mingw-w64-x86-64-posix) or set SDNET_WIN_RUNTIME)"
  exit 0
fi
echo "windows: runtime $tree, $("$wine" --version 2>/dev/null)" >&2

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 WINEDEBUG=-all
work="$(mktemp -d "${TMPDIR:-/tmp}/sdnet-windows.XXXXXX")"
failed=0
cleanup() {
  wineserver -k >/dev/null 2>&1 || true
  if ((failed)) || [[ "${SDNET_WINDOWS_KEEP:-0}" == 1 ]]; then echo "windows: logs and files kept in $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail_all() { # reason: every requested case fails with it
  local c
  failed=1
  for c in "${cases[@]}"; do echo "$c: FAIL $1"; done
  exit 1
}

# One Wine prefix for the run (a fresh one: nothing of an earlier run's C: drive or registry leaks in). Wine names the
# Windows profile after $USER: "Zoë" puts %USERPROFILE% and %LOCALAPPDATA% (the models folder, the caches) under a
# non-ASCII path, as many Windows users have it.
export WINEPREFIX="$work/prefix" USER=Zoë LOGNAME=Zoë
why="$(start_wine_prefix "$wine" "$work")" || fail_all "$why"

if ((${#run_driver[@]})); then
  # sdnet.exe as a Windows user gets it: a self-contained win-x64 publish, the runtime in its runtimes\win-x64\native.
  if ! dotnet publish src/StableDiffusion.Native.Cli -c Release -r win-x64 --self-contained -p:PackAsTool=false \
      -o "$work/sdnet" >"$work/publish.log" 2>&1; then
    fail_all "dotnet publish -r win-x64 of sdnet failed: $(grep -m 1 -E 'error' "$work/publish.log" | cut -c 1-300)"
  fi
  mkdir -p "$work/sdnet/runtimes/win-x64"
  cp -r "$tree/runtimes/win-x64/native" "$work/sdnet/runtimes/win-x64/"
  dotnet build tests/Windows/WineCheck -c Release -o "$work/driver" >"$work/driver-build.log" 2>&1 ||
    fail_all "the driver did not build: $(grep -m 1 -E 'error' "$work/driver-build.log" | cut -c 1-300)"
  dotnet "$work/driver/WineCheck.dll" --wine "$wine" --prefix "$WINEPREFIX" --sdnet "$work/sdnet" --tools "$tree/tools" \
    --work "$work/cases" "${run_driver[@]}" | tee "$work/driver.out"
  status=${PIPESTATUS[0]}
  lines=$(grep -c -E '^[a-z0-9-]+: (ok|FAIL)' "$work/driver.out")
  if ((status != 0)) || ((lines != ${#run_driver[@]})); then failed=1; fi
  if ((lines != ${#run_driver[@]})); then echo "windows-driver: FAIL it printed $lines of ${#run_driver[@]} case lines (exit $status)"; fi
fi

if ((${#run_packaging[@]})); then
  SDNET_WIN_RUNTIME="$tree" tests/Packaging/run.sh "${run_packaging[@]}" | tee "$work/packaging.out"
  status=${PIPESTATUS[0]}
  if ((status != 0)) || grep -q '^skipped: ' "$work/packaging.out"; then failed=1; fi
  if grep -q '^skipped: ' "$work/packaging.out"; then
    for c in "${run_packaging[@]}"; do echo "$c: FAIL the packaging check skipped: $(sed -n 's/^skipped: //p' "$work/packaging.out")"; done
  fi
fi
exit "$failed"
