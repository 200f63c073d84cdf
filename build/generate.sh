#!/usr/bin/env bash
# The main job: build the native runtime if none is found, fetch a model if none is given, generate an image.
#   build/generate.sh "a lighthouse on a cliff at dusk" lighthouse.png
# SDNET_MODEL=path/to/model.safetensors picks the model (default: Stable Diffusion 1.5, fp16, downloaded once).
set -euo pipefail
cd "$(dirname "$0")/.."

prompt="${1:-a lighthouse on a cliff at dusk, oil painting}"
output="${2:-output.png}"
shift $(( $# > 2 ? 2 : $# )) || true
cli=(dotnet run --project src/StableDiffusion.Native.Cli -c Release --)

# 1. Native runtime: this checkout's build or the user cache; otherwise build the portable CPU preset.
if ! "${cli[@]}" doctor >/dev/null 2>&1; then
  echo "No native runtime found; building it (cmake --workflow --preset cpu, a few minutes)..." >&2
  cmake --workflow --preset cpu >&2
fi

# 2. Model.
model="${SDNET_MODEL:-models/v1-5-pruned-emaonly-fp16.safetensors}"
if [ ! -f "$model" ]; then
  url="https://huggingface.co/stable-diffusion-v1-5/stable-diffusion-v1-5/resolve/main/v1-5-pruned-emaonly-fp16.safetensors"
  echo "Downloading Stable Diffusion 1.5 (2.1 GB) to $model ..." >&2
  mkdir -p "$(dirname "$model")"
  curl -fL --retry 3 -o "$model.part" "$url"
  mv "$model.part" "$model"
fi

# 3. Generate (any further arguments go to `sdnet generate`, e.g. --steps 30 --seed 42).
"${cli[@]}" generate -m "$model" -p "$prompt" -o "$output" "$@"
