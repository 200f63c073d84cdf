#!/usr/bin/env bash
# Packs StableDiffusion.Native, its ImageSharp and SkiaSharp adapters, its Microsoft.Extensions.AI image generator, and
# the native runtime packages of every flavor built in this checkout (artifacts/native/<flavor>/runtimes) into
# artifacts/packages.
#   build/pack.sh [version]
set -euo pipefail
cd "$(dirname "$0")/.."
version="${1:-0.1.0-dev}"
out=artifacts/packages
# SdnetReleaseBuild: the packed library records no checkout, so shipped apps never probe one.
dotnet pack src/StableDiffusion.Native -c Release -o "$out" -p:Version="$version" -p:SdnetReleaseBuild=true
# The image-library adapters: managed only, versioned with the library they depend on.
for adapter in ImageSharp SkiaSharp; do
  dotnet pack "src/StableDiffusion.Native.$adapter" -c Release -o "$out" -p:Version="$version" -p:SdnetReleaseBuild=true
done
# The Microsoft.Extensions.AI image generator: managed only, versioned with the library too.
dotnet pack src/StableDiffusion.Native.AI -c Release -o "$out" -p:Version="$version" -p:SdnetReleaseBuild=true
for flavor in cpu cuda vulkan metal; do
  if [ -d "artifacts/native/$flavor/runtimes" ]; then
    dotnet pack src/StableDiffusion.Native.Runtime -c Release -o "$out" -p:Version="$version" -p:RuntimeFlavor="$flavor"
  fi
done
ls -l "$out"
