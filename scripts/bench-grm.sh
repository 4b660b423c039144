#!/usr/bin/env bash
# GRM benchmark (issue 3 point 8): lmmspark grm against this machine's BLAS peak and, where installed,
# plink1.9 / plink2 --make-grm-bin on the same simulated files. A benchmark, not a test: it prints figures.
#
#   scripts/bench-grm.sh [--sizes "2000x20000 10000x100000"] [--repeats R] [--threads T] [--no-plink]
#                        [--install-plink] [--missing-rate Q] [--out DIR] [--blas-size N] [--small]
#
# For each size NxM: simulates N samples x M variants with `lmmspark simulate` (seed 1) into
# DIR/sim_NxM/ (reused when present), then R times: `lmmspark grm`, plink2 and plink1.9 one after the
# other, printing wall and CPU times, GFLOP/s, the ratio lmmspark/plink of each repeat and their medians,
# and the agreement of the GRMs. One untimed `lmmspark grm` first records the launcher's class-data
# archive. --small: the fixed-cost case of issue 17 (2000x20000, 3 repeats, no BLAS peak run). Flop convention: N^2*M flops
# for a whole GRM (one multiply-add = 2 flops, over the lower triangle: N(N+1)/2*M multiply-adds), with
# M the variants used (monomorphic variants excluded) -- the convention of the issue's
# "plink2 151 s ~ 66 GFLOP/s" at N=10,000, M=100,000. Peaks come from `lmmspark bench-blas` (SGEMM and
# DGEMM, T threads with one BLAS thread each, as Spark tasks run). On a shared machine wall times are
# noisy: CPU times (user+sys) are printed beside them; the load average is printed with each run.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="2000x20000 10000x100000"
repeats=1
threads=2
plink=1
install_plink=0
missing_rate=""
out="$home/bench-out"
blas_size=3000
small=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --repeats) repeats="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --no-plink) plink=0; shift ;;
    --install-plink) install_plink=1; shift ;;
    --missing-rate) missing_rate="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --blas-size) blas_size="$2"; shift 2 ;;
    --small) small=1; sizes="2000x20000"; repeats=3; shift ;;
    -h|--help) sed -n '2,19p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-grm: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export OPENBLAS_NUM_THREADS=1
lmmspark="$home/scripts/lmmspark"
mkdir -p "$out"
# shellcheck source=bench-timing.sh
. "$home/scripts/bench-timing.sh"
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

if [ $plink = 1 ] && { ! command -v plink1.9 >/dev/null || ! command -v plink2 >/dev/null; }; then
  if [ $install_plink = 1 ] && [ "$(id -u)" = 0 ]; then
    apt-get install -y plink1.9 plink2 >&2
  else
    echo "bench-grm: plink1.9/plink2 missing; Debian/Ubuntu: apt-get install -y plink1.9 plink2 (or run this as root with --install-plink)" >&2
  fi
fi

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'),"\
  "$(grep -o -w -m1 avx512f /proc/cpuinfo || grep -o -w -m1 avx2 /proc/cpuinfo || echo no-avx2); $(date -u +%Y-%m-%dT%H:%MZ)"
if [ $small = 1 ]; then
  echo "== BLAS peak: not measured with --small (the fixed cost is what is measured)"
else
  echo "== BLAS peak: lmmspark bench-blas --size $blas_size --threads 1,$threads (load $(load))"
  "$lmmspark" bench-blas --size "$blas_size" --threads "1,$threads" --routines SGEMM,DGEMM | tee "$out/bench-blas.txt"
fi
peak() { # routine threads field(wall|cpu)
  awk -v r="$1" -v t="$2 thread(s):" -v f="$3" '$2 == r && index($0, t) {
      split($0, a, "thread\\(s\\): *"); split(a[2], b, " "); print (f == "wall" ? b[1] : b[4]); exit }' "$out/bench-blas.txt"
}
if [ $small = 0 ]; then
  dgemm_wall=$(peak DGEMM "$threads" wall); dgemm_cpu=$(peak DGEMM "$threads" cpu)
  sgemm_wall=$(peak SGEMM "$threads" wall); sgemm_cpu=$(peak SGEMM "$threads" cpu)
  echo "   peaks on $threads threads: DGEMM $dgemm_wall GFLOP/s wall ($dgemm_cpu per CPU time), SGEMM $sgemm_wall ($sgemm_cpu)"
fi

# compare OURS THEIRS: max |ours - theirs| over .grm.bin, raw and with ours rescaled to their counts
# (plink counts monomorphic variants in M_jk, lmmspark skips them as GCTA does).
compare() {
  python3 - "$1" "$2" <<'EOF' 2>/dev/null || echo "(comparison skipped: needs python3 with numpy)"
import sys, numpy as np
o, t = sys.argv[1], sys.argv[2]
a = np.fromfile(o + ".grm.bin", "<f4").astype(np.float64); b = np.fromfile(t + ".grm.bin", "<f4").astype(np.float64)
na = np.fromfile(o + ".grm.N.bin", "<f4").astype(np.float64)
try:
    nb = np.fromfile(t + ".grm.N.bin", "<f4").astype(np.float64)
except OSError:
    nb = None
msg = "max |diff| %.2e" % np.abs(a - b).max()
if nb is not None and nb.shape == na.shape:
    msg += ", %.2e after rescaling ours to their M_jk (their M_jk - ours: %d..%d, monomorphic variants)" % (
        np.abs(a * na / nb - b).max(), (nb - na).min(), (nb - na).max())
print(msg)
EOF
}

for size in $sizes; do
  n=${size%x*}; m=${size#*x}
  dir="$out/sim_${n}x${m}${missing_rate:+_miss$missing_rate}"
  mkdir -p "$dir"
  echo
  echo "== N=$n x M=$m ($dir)"
  if [ ! -f "$dir/g.bed" ]; then
    timed "$dir/simulate.log" "$lmmspark" simulate --out "$dir/g" --samples "$n" --variants "$m" --seed 1 \
      ${missing_rate:+--missing-rate "$missing_rate"}
    echo "   simulated in $WALL s: $(grep -m1 'variants .* on' "$dir/simulate.log" | sed 's/^ *//')"
  else
    echo "   reusing $dir/g.bed"
  fi
  # Untimed: builds the jar if needed and records the launcher's class-data archive for grm.
  "$lmmspark" grm --bfile "$dir/g" --out "$dir/ours" --overwrite > "$dir/warmup.log" 2>&1
  ratios=""
  for r in $(seq 1 "$repeats"); do
    l=$(load)
    timed "$dir/ours.$r.log" "$lmmspark" grm --bfile "$dir/g" --out "$dir/ours" --overwrite
    log="$dir/ours.$r.log"
    used=$(grep -m1 '^kernel .*N = ' "$log" | sed -E 's/.*M = ([0-9]+) of.*/\1/')
    route=$(grep -m1 -E 'Spark task\(s\),|in-process on' "$log" | sed -E 's/, BLAS=.*//')
    job=$(echo "$route" | sed -E 's/.*tile\(s\), ([0-9.]+) s.*/\1/')
    kernel=$(grep -m1 'GRM kernel, summed' "$log" | sed 's/.*variants): //')
    stages=$(grep -m1 -E 'GRM job:|GRM in-process:' "$log" | sed 's/.*GrmJob: //')
    driver=$(grep -m1 'driver waited' "$log" | sed 's/.*grm.bin: //')
    blas_thread=$(echo "$kernel" | sed -E 's/.*BLAS [0-9.]+ s \(([0-9.]+) GFLOP\/s per thread, ([0-9.]+) per CPU-s\).*/\1 \2/')
    flops=$(calc "%.6e" "$n*$n*$used")
    echo "   repeat $r: lmmspark grm (load before: $l): command $WALL s wall, $CPU s CPU; job $job s ($route)"
    set -- $blas_thread
    if [ $small = 1 ]; then
      echo "     N^2*M = $flops flops (M=$used used): $(calc %.1f "$flops/$job/1e9") GFLOP/s over the job;" \
        "inside the block kernel $1 GFLOP/s per thread wall, $2 per CPU-s"
    else
      echo "     N^2*M = $flops flops (M=$used used): $(calc %.1f "$flops/$job/1e9") GFLOP/s over the job," \
        "$(calc %.0f "100*$flops/$job/1e9/$dgemm_wall")% of DGEMM ${threads}-thread peak," \
        "$(calc %.0f "100*$flops/$job/1e9/$sgemm_wall")% of SGEMM; over the whole command $(calc %.1f "$flops/$WALL/1e9") GFLOP/s"
      echo "     inside the block kernel: $1 GFLOP/s per thread wall, $2 per CPU-s;" \
        "x$threads threads = $(calc %.0f "100*$threads*$1/$dgemm_wall")% of DGEMM peak (wall), $(calc %.0f "100*$threads*$2/$dgemm_cpu")% per CPU time;" \
        "$(calc %.0f "100*$threads*$2/$sgemm_cpu")% of SGEMM per CPU time"
    fi
    echo "     kernel: $kernel"
    echo "     $stages${driver:+; driver: $driver}"
    ours_wall=$WALL; ours_cpu=$CPU; ours_job=$job
    [ $plink = 1 ] || continue
    mem=$(awk '/MemTotal/ { printf "%d", $2 / 1024 / 2 }' /proc/meminfo)
    for tool in plink2 plink1.9; do
      command -v "$tool" >/dev/null || { echo "     $tool: not installed"; continue; }
      p="$dir/$tool"
      l=$(load)
      timed "$p.out" "$tool" --bfile "$dir/g" --make-grm-bin --nonfounders --threads "$threads" --memory "$mem" --out "$p"
      echo "     $tool --make-grm-bin --nonfounders --threads $threads (load before: $l): $WALL s wall, $CPU s CPU;" \
        "$(calc %.1f "$flops/$WALL/1e9") GFLOP/s (same convention); lmmspark/$tool wall: job $(calc %.2f "$ours_job/$WALL")," \
        "command $(calc %.2f "$ours_wall/$WALL"); CPU $(calc %.2f "$ours_cpu/$CPU")"
      ratios="$ratios $tool $(calc %.3f "$ours_wall/$WALL") $(calc %.3f "$ours_cpu/$CPU")"
      [ "$r" = 1 ] && echo "     agreement with lmmspark: $(compare "$dir/ours" "$p")"
    done
  done
  if [ -n "$ratios" ]; then
    echo "$ratios" | awk '{ for (i = 1; i <= NF; i += 3) { w[$i] = w[$i] " " $(i + 1); c[$i] = c[$i] " " $(i + 2) } }
      function median(list,  a, k, i, j, x) { k = split(list, a, " ")
        for (i = 2; i <= k; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
        return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2 }
      END { for (t in w) printf "   median over repeats, lmmspark/%s: wall %.2f, CPU %.2f (wall ratios:%s)\n", t, median(w[t]), median(c[t]), w[t] }'
  fi
done
