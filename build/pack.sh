#!/usr/bin/env bash
# Packs the NuGet packages, all at one version and pinned to one another exactly ([x.y.z]):
#   StableDiffusion.Native                  managed (net8.0, net10.0) + snupkg; depends on Runtime.Cpu
#   StableDiffusion.Native.ImageSharp       managed + snupkg; depends on StableDiffusion.Native
#   StableDiffusion.Native.SkiaSharp        managed + snupkg; depends on StableDiffusion.Native
#   StableDiffusion.Native.AI               managed + snupkg; depends on StableDiffusion.Native (and .ImageSharp)
#   StableDiffusion.Native.Runtime.Cpu      native: core libraries + CPU variants of each RID (+ Metal on osx-arm64)
#   StableDiffusion.Native.Runtime.Vulkan   native: the Vulkan backend module only; depends on Runtime.Cpu
#   StableDiffusion.Native.Runtime.Cuda12   native: the CUDA backend module only; depends on Runtime.Cpu
#   StableDiffusion.Native.Runtime.Hip      native: the HIP backend module only; depends on Runtime.Cpu
# The runtime packages come from <runtimes>/<flavor>/runtimes/<rid>/native, where <runtimes> is $SDNET_RUNTIMES_DIR when
# set (the layout the release workflow downloads its artifacts into) and this checkout's artifacts/native otherwise;
# each flavor found is packed (flavors: cpu, vulkan, cuda, hip; metal's backend joins the Cpu package on osx-arm64).
#
#   build/pack.sh [--release] [--output DIR] [version]
#
#   version      default 0.1.0-dev
#   --output     where the packages go (default artifacts/packages); older packages of the same version there are removed
#   --release    (or SDNET_RELEASE=1) a release: the version must be given, and every RID of every runtime package must
#                be present (native.yml's matrix); otherwise the pack fails, naming each missing RID of each package.
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//' >&2; exit 2; }
release="${SDNET_RELEASE:-0}"
out=artifacts/packages
version=""
while (($#)); do
  case "$1" in
    --release) release=1 ;;
    --output | -o) out="${2:?--output needs a folder}"; shift ;;
    --output=*) out="${1#--output=}" ;;
    -h | --help) usage ;;
    -*) echo "pack.sh: unknown option $1" >&2; usage ;;
    *) [[ -z "$version" ]] || { echo "pack.sh: one version only" >&2; usage; }; version="$1" ;;
  esac
  shift
done
[[ "$release" == 1 || "$release" == true ]] && release=1 || release=0
if [[ -z "$version" ]]; then
  ((release == 0)) || { echo "pack.sh: a release needs an explicit version (build/pack.sh --release 1.2.3)" >&2; exit 2; }
  version=0.1.0-dev
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$ ]] ||
  { echo "pack.sh: '$version' is not a semantic version (1.2.3 or 1.2.3-suffix)" >&2; exit 2; }

runtimes="${SDNET_RUNTIMES_DIR:-artifacts/native}"
[[ "$runtimes" = /* ]] || runtimes="$repo/$runtimes"
mkdir -p "$out"
out="$(cd "$out" && pwd)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# ------------------------------------------------------------------ which runtimes are there
package_of() {
  case "$1" in
    cpu) echo StableDiffusion.Native.Runtime.Cpu ;;
    metal) echo "StableDiffusion.Native.Runtime.Cpu (Metal backend)" ;;
    vulkan) echo StableDiffusion.Native.Runtime.Vulkan ;;
    cuda) echo StableDiffusion.Native.Runtime.Cuda12 ;;
    hip) echo StableDiffusion.Native.Runtime.Hip ;;
  esac
}
# The file that makes a RID of a flavor present: the main library for cpu, the backend module for the others.
key_file() {
  case "$1" in
    cpu) echo "sdnet-stable-diffusion" ;;
    *) echo "sdnet-ggml-$1" ;;
  esac
}
has_rid() { # flavor rid
  local dir="$runtimes/$1/runtimes/$2/native" stem ext
  stem="$(key_file "$1")"
  for ext in so dll dylib; do
    [[ -f "$dir/$stem.$ext" || -f "$dir/lib$stem.$ext" ]] && return 0
  done
  return 1
}
rids_of() { # flavor: the RIDs present, space separated
  local d found=()
  for d in "$runtimes/$1/runtimes"/*/; do
    [[ -d "$d" ]] || continue
    d="$(basename "$d")"
    if has_rid "$1" "$d"; then found+=("$d"); fi
  done
  echo "${found[*]:-}"
}

# native.yml's matrix: what a release must carry (a function, not an associative array: macOS has bash 3.2).
required_rids() {
  case "$1" in
    cpu) echo "linux-x64 linux-arm64 win-x64 osx-x64 osx-arm64" ;;
    metal) echo "osx-arm64" ;;
    vulkan) echo "linux-x64 win-x64" ;;
    cuda) echo "linux-x64 win-x64" ;;
    hip) echo "linux-x64" ;;
  esac
}
flavors=(cpu metal vulkan cuda hip)

echo "Runtimes from $runtimes:"
for f in "${flavors[@]}"; do
  present="$(rids_of "$f")"
  printf '  %-7s %s\n' "$f" "${present:-(none)}"
done

if ((release)); then
  missing=0
  for f in "${flavors[@]}"; do
    for rid in $(required_rids "$f"); do
      if ! has_rid "$f" "$rid"; then
        echo "missing: $(package_of "$f") needs $rid: no $(key_file "$f") library in $runtimes/$f/runtimes/$rid/native" >&2
        missing=$((missing + 1))
      fi
    done
  done
  if ((missing)); then
    echo "pack.sh: release $version is incomplete: $missing runtime(s) missing (see above); nothing was packed." >&2
    exit 1
  fi
fi

# ------------------------------------------------------------------ pack
rm -f "$out"/StableDiffusion.Native*."$version".nupkg "$out"/StableDiffusion.Native*."$version".snupkg

# The managed packages, in one build. SdnetReleaseBuild: the packed library records no checkout, so shipped apps
# never probe one.
dotnet pack build/packages.slnf -c Release -p:PackageOutputPath="$out/" -p:Version="$version" -p:SdnetReleaseBuild=true

# The runtime packages. A GPU package's dependency on Runtime.Cpu is restored from the Cpu package just packed, into a
# private packages folder: a dev version never lands in the user's NuGet cache, where a later restore could pick up a
# stale copy. The user's cache serves the rest read-only (a fallback folder).
restore_dir="$(mktemp -d)"
trap 'rm -rf "$restore_dir"' EXIT
global_packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
restore_args=(-p:RestorePackagesPath="$restore_dir" -p:RestoreAdditionalProjectSources="$out")
[[ -z "$global_packages" ]] || restore_args+=(-p:RestoreAdditionalProjectFallbackFolders="$global_packages")

packed_cpu=0
for f in cpu vulkan cuda hip; do
  present="$(rids_of "$f")"
  if [[ -z "$present" ]]; then
    continue
  fi
  if [[ "$f" != cpu && "$packed_cpu" == 0 ]]; then
    echo "skipped $(package_of "$f"): it depends on StableDiffusion.Native.Runtime.Cpu $version, and no cpu runtime is in $runtimes/cpu/runtimes" >&2
    continue
  fi
  args=(-c Release -p:PackageOutputPath="$out/" -p:Version="$version" -p:RuntimeFlavor="$f" -p:RuntimesRoot="$runtimes/")
  [[ "$f" == cpu ]] || args+=("${restore_args[@]}")
  dotnet pack src/StableDiffusion.Native.Runtime "${args[@]}"
  [[ "$f" != cpu ]] || packed_cpu=1
done

# No file of a GPU package may also be in the Cpu package (the project sorts them; this checks the result).
cpu_pkg="$out/StableDiffusion.Native.Runtime.Cpu.$version.nupkg"
if [[ -f "$cpu_pkg" ]] && command -v unzip >/dev/null 2>&1; then
  for gpu in "$out"/StableDiffusion.Native.Runtime.{Vulkan,Cuda12,Hip}."$version".nupkg; do
    [[ -f "$gpu" ]] || continue
    overlap="$(comm -12 <(unzip -Z1 "$cpu_pkg" 'runtimes/*' | sort) <(unzip -Z1 "$gpu" 'runtimes/*' | sort))"
    if [[ -n "$overlap" ]]; then
      echo "pack.sh: $(basename "$gpu") carries files of the Cpu package: $overlap" >&2
      exit 1
    fi
  done
fi

echo
echo "Packages ($version) in $out:"
for p in "$out"/StableDiffusion.Native*."$version".nupkg "$out"/StableDiffusion.Native*."$version".snupkg; do
  [[ -f "$p" ]] || continue
  bytes="$(wc -c <"$p" | tr -d ' ')"
  printf '  %9s  %s\n' "$(awk -v b="$bytes" 'BEGIN { if (b >= 1048576) printf "%.1f MiB", b / 1048576; else printf "%.1f KiB", b / 1024 }')" "$(basename "$p")"
done
