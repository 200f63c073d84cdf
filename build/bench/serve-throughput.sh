#!/usr/bin/env bash
# Throughput of `sdnet serve` against the library in one process: a queue of identical jobs (default 8) sent at once to
# the server over loopback (A1111 txt2img, PNG in base64 back), and the same jobs back to back on one Generator in the
# benchmark's own process (each encoded to PNG). Both stay up through every round after one warm-up job each (a server
# runs for days; its steady state is what a queue meets), and the model load is not timed. Rounds alternate the
# contenders; prints each round, the median wall times, and serve/library throughput: the median of the rounds' ratios
# (the contenders of a round run seconds apart, so the machine's drift between rounds cancels), target >= 0.99.
#   build/bench/serve-throughput.sh                     # full-size SD1 shapes (random weights), 64x64, 2 steps, 8 jobs, 9 rounds
#   RUNS=15 JOBS=8 SIZE=256 STEPS=4 build/bench/serve-throughput.sh
#   MODEL=sd15.safetensors build/bench/serve-throughput.sh
#   SIDE_BY_SIDE=1 build/bench/serve-throughput.sh      # both at once, one core each (THREADS defaults to 1), swapping cores
#                                                       # every round: both always run under the same drift of the machine
#   LIBRARY_PREVIEW=1 / LIBRARY_LOGGER=1                # the library also takes a preview every step / a Warning logger,
#                                                       # as the server does: to tell the server's costs apart
# Needs a native runtime (cmake --preset cpu, or SDNET_NATIVE_PATH / the user cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-9} JOBS=${JOBS:-8} SIZE=${SIZE:-64} STEPS=${STEPS:-2} PORT=${PORT:-7877}
if [ "${SIDE_BY_SIDE:-}" = 1 ]; then THREADS=${THREADS:-1}; else THREADS=${THREADS:-2}; fi
out=artifacts/bench/serve-throughput
mkdir -p "$out"
dotnet build build/Benchmarks -c Release -o "$out/Benchmarks" >/dev/null
dotnet build src/StableDiffusion.Native.Cli -c Release -o "$out/sdnet" >/dev/null
model=${MODEL:-$(dotnet "$out/Benchmarks/Benchmarks.dll" make-model)}
echo "model: $model"
exec dotnet "$out/Benchmarks/Benchmarks.dll" serve-throughput "$out/sdnet/sdnet.dll" "$model" "$SIZE" "$STEPS" "$THREADS" "$JOBS" "$RUNS" "$PORT"
