#!/usr/bin/env bash
# LD-score benchmark (issue 14 point 6): lmmspark ldscore on one chromosome with a window of W variants.
# A benchmark, not a test: it prints figures.
#
#   scripts/bench-ldscore.sh [--samples N] [--variants M] [--window W] [--missing-rate Q] [--tiles T]
#                            [--repeats R] [--out DIR]
#
# Defaults: N = 5,000 x M = 200,000, --ld-wind-snps 1000, no missing calls (a phased reference panel; with
# missing calls the kernel takes its double-precision route, about twice the flops' time). Simulates
# N x M/T variants with `lmmspark simulate` (seed 1) and writes the panel as T copies of them one after the
# other (default T = 40: the simulator costs far more than the LD scores; copies are M/T variants apart,
# beyond the window, and the LD-score cost depends on the window, not on the genotypes), all on chromosome
# 1 at 1 kb spacing, into DIR/ldsim_NxM_missQ/ (reused when present); runs
# `lmmspark ldscore --ld-wind-snps W` R times and prints wall and CPU time, the pairs counted, and GFLOP/s
# (2·N flops per pair: one multiply-add per sample). Reference: ldsc 1.0.1 (python ldsc.py --l2) took 134 s
# wall for exactly this shape on this machine kind (issue 14). On a shared machine wall times are noisy:
# CPU times and the load average are printed beside them.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=5000
m=200000
window=1000
missing_rate=0
tiles=40
repeats=1
out="$home/bench-out"
while [ $# -gt 0 ]; do
  case "$1" in
    --samples) n="$2"; shift 2 ;;
    --variants) m="$2"; shift 2 ;;
    --window) window="$2"; shift 2 ;;
    --missing-rate) missing_rate="$2"; shift 2 ;;
    --tiles) tiles="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    -h|--help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-ldscore: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export OPENBLAS_NUM_THREADS=1
lmmspark="$home/scripts/lmmspark"
dir="$out/ldsim_${n}x${m}_miss${missing_rate}"
mkdir -p "$dir"
# shellcheck source=bench-timing.sh
. "$home/scripts/bench-timing.sh"

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ ! -f "$dir/g.bed" ]; then
  part=$((m / tiles))
  timed "$dir/simulate.log" "$lmmspark" simulate --out "$dir/part" --samples "$n" --variants "$part" --seed 1 \
    --missing-rate "$missing_rate" --monomorphic 1
  echo "== simulated N=$n x M=$part (missing rate $missing_rate) in $WALL s wall, $CPU s CPU; writing $tiles copies"
  python3 - "$dir" "$tiles" <<'PY'
import sys
d, tiles = sys.argv[1], int(sys.argv[2])
body = open(d + "/part.bed", "rb").read()[3:]
with open(d + "/g.bed", "wb") as f:
    f.write(bytes([0x6c, 0x1b, 0x01]))
    for _ in range(tiles):
        f.write(body)
lines = [l.split() for l in open(d + "/part.bim")]
with open(d + "/g.bim", "w") as f:
    k = 0
    for t in range(tiles):
        for l in lines:
            k += 1
            f.write("1\t%s_t%d\t0\t%d\t%s\t%s\n" % (l[1], t, k * 1000, l[4], l[5]))
PY
  cp "$dir/part.fam" "$dir/g.fam"
else
  echo "== reusing $dir/g.bed"
fi

for r in $(seq 1 "$repeats"); do
  l=$(load)
  timed "$dir/ldscore.$r.log" "$lmmspark" ldscore --bfile "$dir/g" --ld-wind-snps "$window" --out "$dir/ld" --overwrite
  job=$(grep -m1 -E 'task\(s\)[^,]*, [0-9.]+ s,' "$dir/ldscore.$r.log" | sed -E 's/.*task\(s\)[^,]*, ([0-9.]+) s,.*/\1/')
  kept=$(grep -m1 '^chromosome 1:' "$dir/ldscore.$r.log" | sed -E 's/chromosome 1: ([0-9]+) variants.*/\1/')
  # Pairs counted once: each variant with the (up to) W kept variants before it.
  pairs=$(awk -v m="$kept" -v w="$window" 'BEGIN { printf "%.0f", (m > w ? w * (m - w) + w * (w - 1) / 2 : m * (m - 1) / 2) }')
  echo "== lmmspark ldscore run $r (load before: $l): command $WALL s wall, $CPU s CPU; LD-score job $job s"
  grep -m1 -E '^(small input|running on Spark)' "$dir/ldscore.$r.log" | sed 's/^/   /' || true
  grep -m1 '^times:' "$dir/ldscore.$r.log" | sed 's/^/   /' || true
  echo "   $kept variants kept, $pairs pairs within --ld-wind-snps $window:" \
    "$(awk -v p="$pairs" -v n="$n" -v t="$job" 'BEGIN { printf "%.1f", 2 * n * p / t / 1e9 }') GFLOP/s over the job" \
    "(2·N·pairs = $(awk -v p="$pairs" -v n="$n" 'BEGIN { printf "%.2e", 2 * n * p }') flops)"
  grep -m1 'chromosome 1:' "$dir/ldscore.$r.log" | sed 's/^/   /'
done
echo "== reference: ldsc 1.0.1 --l2 on this shape: 134 s wall (issue 14); target <= 27 s"
