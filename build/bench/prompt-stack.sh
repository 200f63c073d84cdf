#!/usr/bin/env bash
# How much stack upstream's prompt parsing takes per byte of prompt, measured on sd-cli (whose main thread's stack is
# `ulimit -s`): for each kind of prompt and stack size, a binary search for the longest prompt that does not overflow.
# NativeStack.BytesPerPromptByte and ImageRequest.MaxPromptLength rest on these figures: run it again after bumping the pin.
#   build/bench/prompt-stack.sh                         # tiny SD1 test model (CLIP), stacks of 512 KiB, 1 and 2 MiB
#   MODEL_ARGS="--diffusion-model dit.safetensors --llm qwen3.safetensors --vae vae.safetensors" build/bench/prompt-stack.sh
#                                                       # another family's encoders (here Z-Image's LLM)
# Needs: cmake --preset cpu built with -DSDNET_BUILD_SD_CLI=ON (sd-cli is never shipped).
set -euo pipefail
cd "$(dirname "$0")/../.."
rid=linux-x64
cpu=artifacts/native/cpu
native="$PWD/$cpu/runtimes/$rid/native"
out=artifacts/bench/prompt-stack
mkdir -p "$out"
STACKS=${STACKS:-"512 1024 2048"}
KINDS=${KINDS:-"words one-word cjk"}
model=${MODEL:-}
if [ -z "$model" ] && [ -z "${MODEL_ARGS:-}" ]; then
  dotnet build build/Benchmarks -c Release -o artifacts/bench/Benchmarks >/dev/null
  model=$(dotnet artifacts/bench/Benchmarks/Benchmarks.dll make-model 32)
fi
# sd-cli scans only stock ggml names: hand it the CPU module our loader chooses here (the variant only changes speed).
[ -f artifacts/bench/sdnet-jit/sdnet.dll ] || dotnet build src/StableDiffusion.Native.Cli -c Release -o artifacts/bench/sdnet-jit >/dev/null
variant=${VARIANT:-$(SDNET_NATIVE_PATH="$native" dotnet artifacts/bench/sdnet-jit/sdnet.dll doctor | sed -n 's/^cpu variant: *\([^ ]*\).*/\1/p')}

# A prompt of N bytes of one kind: words ("lighthouse "), one word ('a' × N), or CJK ('灯', 3 bytes each).
prompt() {
  case "$1" in
    words) yes 'lighthouse' | tr '\n' ' ' | head -c "$2" ;;
    one-word) head -c "$2" /dev/zero | tr '\0' 'a' ;;
    cjk) yes '灯' | tr -d '\n' | head -c $(($2 - $2 % 3)) ;;   # whole characters: sd-cli aborts on a cut one
  esac
}

# 0 when sd-cli survives a prompt of N bytes on a stack of K KiB.
survives() {
  prompt "$1" "$3" > "$out/prompt.txt"
  local rc=0
  # In a shell of its own, whose report of the crash goes to /dev/null with the rest.
  bash -c 'ulimit -s "$1"; shift; exec "$@"' _ "$2" env GGML_BACKEND_PATH="$native/libsdnet-ggml-cpu-$variant.so" "$cpu/tools/sd-cli" \
    ${MODEL_ARGS:--m "$model"} --prompt-file "$out/prompt.txt" -W 64 -H 64 --steps 1 -s 1 -t 2 -o "$out/out.png" >/dev/null 2>&1 || rc=$?
  # 139/134: SIGSEGV/SIGABRT, the overflow; anything else is sd-cli's own answer.
  [ "$rc" -ne 139 ] && [ "$rc" -ne 134 ]
}

echo "model: ${MODEL_ARGS:-$model}; sd-cli with the $variant CPU module"
printf '%-9s %9s %14s %16s\n' kind stack_kib longest_ok_bytes stack_per_byte
for kind in $KINDS; do
  for kib in $STACKS; do
    # Double from 128 bytes of prompt until it overflows, then halve the gap to within 1.5 %.
    lo=0 hi=128
    while survives "$kind" "$kib" "$hi"; do lo=$hi; hi=$((hi * 2)); done
    while [ $((hi - lo)) -gt $((hi / 64 + 16)) ]; do
      mid=$(((lo + hi) / 2))
      if survives "$kind" "$kib" "$mid"; then lo=$mid; else hi=$mid; fi
    done
    printf '%-9s %9d %14d %16.1f\n' "$kind" "$kib" "$lo" "$(echo "$kib * 1024 / $lo" | bc -l)"
  done
done
