#!/usr/bin/env bash
# Side-by-side timing of the same job (full-size SD1 shapes, random weights) run by upstream's sd-cli and by
# us, all on the same native build, alternating contenders each round. Prints medians and ratios.
#   build/bench/compare.sh                # 128x128, 1 step, f16, 2 threads, 3 rounds
#   RUNS=5 SIZE=256 build/bench/compare.sh
# Needs: cmake --preset cpu and cpu-native built with -DSDNET_BUILD_SD_CLI=ON (sd-cli is never shipped).
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS=${RUNS:-3} SIZE=${SIZE:-128} STEPS=${STEPS:-1} THREADS=${THREADS:-2}
rid=linux-x64
cpu=artifacts/native/cpu
native=artifacts/native/cpu-native
out=artifacts/bench
mkdir -p "$out"

dotnet build build/Benchmarks -c Release -o "$out/Benchmarks" >/dev/null
[ -x "$out/sdnet/sdnet" ] || dotnet publish src/StableDiffusion.Native.Cli -c Release -r $rid -p:PublishAot=true -o "$out/sdnet" >/dev/null
[ -x "$out/bench-aot/Benchmarks" ] || dotnet publish build/Benchmarks -c Release -r $rid -p:PublishAot=true -o "$out/bench-aot" >/dev/null
model=${MODEL:-$(dotnet "$out/Benchmarks/Benchmarks.dll" make-model)}
export SDNET_NATIVE_PATH="$PWD/$cpu/runtimes/$rid/native"
variant=$("$out/sdnet/sdnet" doctor | sed -n 's/^cpu variant: *\([^ ]*\).*/\1/p')
echo "model: $model"
echo "job: ${SIZE}x${SIZE}, $STEPS step(s), $THREADS threads; runtime $SDNET_NATIVE_PATH (CPU variant $variant); $RUNS rounds"

args=(-p "a lighthouse" -W "$SIZE" -H "$SIZE" --steps "$STEPS" -s 42 -t "$THREADS" --sampling-method euler_a --cfg-scale 7)
declare -A cmd
# sd-cli scans only stock ggml names, so hand it the CPU module our loader chose.
cmd[sd-cli]="env GGML_BACKEND_PATH=$SDNET_NATIVE_PATH/libsdnet-ggml-cpu-$variant.so $cpu/tools/sd-cli -m $model ${args[*]@Q} -o $out/sd-cli.png"
cmd[sdnet]="$out/sdnet/sdnet generate -m $model ${args[*]@Q} -o $out/sdnet.png"
# The library in a NativeAOT host (as an app would ship it), and in a JIT host (dotnet app.dll), whose
# difference is the runtime's start-up, paid once per process.
cmd[library]="$out/bench-aot/Benchmarks library $model $SIZE $STEPS $THREADS $out/library.png"
cmd[library-jit]="dotnet $out/Benchmarks/Benchmarks.dll library $model $SIZE $STEPS $THREADS $out/library-jit.png"
[ -x "$native/tools/sd-cli" ] && cmd[sd-cli-native]="$native/tools/sd-cli -m $model ${args[*]@Q} -o $out/sd-cli-native.png"
order=(sd-cli sdnet library library-jit); [ -n "${cmd[sd-cli-native]:-}" ] && order+=(sd-cli-native)

declare -A walls rss
for ((r = 1; r <= RUNS; r++)); do
  for name in "${order[@]}"; do
    # time(1) writes its line last on the same stderr as the contender's log.
    /usr/bin/time -f "%e %M" bash -c "${cmd[$name]}" >/dev/null 2>"$out/$name.err" || true
    m=$(tail -n 1 "$out/$name.err")
    walls[$name]+="${m% *} "; rss[$name]+="${m#* } "
    echo "round $r $name: wall ${m% *} s, peak RSS ${m#* } KiB"
  done
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo
printf '%-14s %10s %14s\n' contender "wall (s)" "peak RSS (MiB)"
declare -A mw mr
for name in "${order[@]}"; do
  mw[$name]=$(echo "${walls[$name]}" | median); mr[$name]=$(echo "${rss[$name]}" | median)
  printf '%-14s %10.3f %14.1f\n' "$name" "${mw[$name]}" "$(echo "${mr[$name]} / 1024" | bc -l)"
done
echo
ratio() { echo "scale=4; $1 / $2" | bc -l; }
echo "sdnet / sd-cli:   wall $(ratio "${mw[sdnet]}" "${mw[sd-cli]}"), RSS $(ratio "${mr[sdnet]}" "${mr[sd-cli]}")"
echo "library / sd-cli: wall $(ratio "${mw[library]}" "${mw[sd-cli]}"), RSS $(ratio "${mr[library]}" "${mr[sd-cli]}")"
echo "library (JIT host) / sd-cli: wall $(ratio "${mw[library-jit]}" "${mw[sd-cli]}"), RSS $(ratio "${mr[library-jit]}" "${mr[sd-cli]}")"
if [ -n "${mw[sd-cli-native]:-}" ]; then
  echo "portable cpu / cpu-native (speed = native wall / portable wall): $(ratio "${mw[sd-cli-native]}" "${mw[sd-cli]}")"
fi
for name in sdnet library library-jit; do
  echo "$name vs sd-cli: $(dotnet "$out/Benchmarks/Benchmarks.dll" same-pixels "$out/sd-cli.png" "$out/$name.png" || true)"
done
