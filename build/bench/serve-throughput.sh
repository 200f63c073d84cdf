#!/usr/bin/env bash
# Throughput of `sdnet serve` against the library in one process: a queue of identical jobs (default 8) sent at once to
# the server over loopback (A1111 txt2img, PNG in base64 back), and the same jobs back to back on one Generator (each
# encoded to PNG), after one warm-up job each and excluding the model load. Rounds alternate the contenders; prints the
# median wall times, and serve/library throughput: the median of each round's ratio (the contenders of a round run back
# to back, so the machine's drift between rounds cancels), target >= 0.99.
#   build/bench/serve-throughput.sh                     # full-size SD1 shapes (random weights), 64x64, 2 steps, 8 jobs, 5 rounds
#   RUNS=5 JOBS=8 SIZE=256 STEPS=4 build/bench/serve-throughput.sh
#   MODEL=sd15.safetensors build/bench/serve-throughput.sh
#   LIBRARY_PREVIEW=1 / LIBRARY_LOGGER=1                # the library also takes a preview every step / a Warning logger,
#                                                       # as the server does: to tell the server's costs apart
# Needs a native runtime (cmake --preset cpu, or SDNET_NATIVE_PATH / the user cache).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-5} JOBS=${JOBS:-8} SIZE=${SIZE:-64} STEPS=${STEPS:-2} THREADS=${THREADS:-2} PORT=${PORT:-7877}
out=artifacts/bench/serve-throughput
mkdir -p "$out"
dotnet build build/Benchmarks -c Release -o "$out/Benchmarks" >/dev/null
dotnet build src/StableDiffusion.Native.Cli -c Release -o "$out/sdnet" >/dev/null
model=${MODEL:-$(dotnet "$out/Benchmarks/Benchmarks.dll" make-model)}
echo "model: $model"
echo "job: ${SIZE}x${SIZE}, $STEPS step(s), euler_a, $THREADS threads; $JOBS jobs per round; $RUNS rounds"

server=""
stop_server() { if [ -n "$server" ]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi; }
trap stop_server EXIT

serve_round() {
  dotnet "$out/sdnet/sdnet.dll" serve -m "$model" --port "$PORT" -t "$THREADS" --queue "$JOBS" >"$out/serve.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do
    grep -q '^serving ' "$out/serve.log" && break
    kill -0 "$server" 2>/dev/null || { cat "$out/serve.log" >&2; exit 1; }
    sleep 0.2
  done
  dotnet "$out/Benchmarks/Benchmarks.dll" serve-queue "http://127.0.0.1:$PORT/" "$SIZE" "$STEPS" "$JOBS"
  stop_server
}

library_round() {
  dotnet "$out/Benchmarks/Benchmarks.dll" library-queue "$model" "$SIZE" "$STEPS" "$THREADS" "$JOBS"
}

seconds() { sed -n 's/^[0-9]* jobs in \([0-9.]*\) s.*/\1/p'; }
serve_times="" library_times="" ratios=""
for ((r = 1; r <= RUNS; r++)); do
  # Alternate which goes first, so neither always runs on a cooler or warmer machine.
  if ((r % 2)); then order="serve library"; else order="library serve"; fi
  for who in $order; do
    line=$("${who}_round" | tail -n 1)
    t=$(seconds <<<"$line")
    [ -n "$t" ] || { echo "round $r $who: no timing in '$line'" >&2; exit 1; }
    echo "round $r $who: $line"
    if [ "$who" = serve ]; then serve_times+="$t "; st=$t; else library_times+="$t "; lt=$t; fi
  done
  ratio=$(echo "scale=4; $lt / $st" | bc -l)
  ratios+="$ratio "
  echo "round $r serve / library throughput: $ratio"
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
s=$(median <<<"$serve_times"); l=$(median <<<"$library_times")
echo
printf '%-8s %12s %14s\n' contender "wall (s)" "jobs per s"
printf '%-8s %12.3f %14.4f\n' serve "$s" "$(echo "$JOBS / $s" | bc -l)"
printf '%-8s %12.3f %14.4f\n' library "$l" "$(echo "$JOBS / $l" | bc -l)"
echo "serve / library throughput: $(median <<<"$ratios") (median of rounds: $ratios)"
