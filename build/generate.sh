#!/usr/bin/env bash
# The main job: build the native runtime if none is found, fetch a model if none is given, generate an image.
#   build/generate.sh "a lighthouse on a cliff at dusk" lighthouse.png
# SDNET_MODEL=path/to/model.safetensors picks the model (default: Stable Diffusion 1.5, fp16, pulled once from the
# Hugging Face hub into models/ by `sdnet models pull`, which resumes an interrupted download and verifies it).
# build/generate.ps1 is the PowerShell twin; keep the two in step.
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

# 2. Model: the one given, else SD 1.5 in models/ (pulled when missing; a .part left by an interrupted pull resumes).
model="${SDNET_MODEL:-}"
if [ -z "$model" ]; then
  model=models/v1-5-pruned-emaonly-fp16.safetensors
  if [ ! -f "$model" ]; then
    echo "Downloading Stable Diffusion 1.5 (2.1 GB) into models/ ..." >&2
    # stdout carries only the final path: shown on stderr with the progress.
    "${cli[@]}" models pull hf:stable-diffusion-v1-5/stable-diffusion-v1-5/v1-5-pruned-emaonly-fp16.safetensors --dir models >&2
  fi
fi

# 3. Generate (any further arguments go to `sdnet generate`, e.g. --steps 30 --seed 42).
"${cli[@]}" generate -m "$model" -p "$prompt" -o "$output" "$@"
