#!/usr/bin/env bash
# Binary-trait association benchmark (issue 15 point 7): simulate N x M genotypes with the project's simulator
# (its y_binary: liability threshold, prevalence K), compute the GRM once, then on the same files
#   (a) our binary association pass, null model fitted from the given GRM:
#       `lmmspark assoc --family binomial --grm PRECOMPUTED --score-variance ratio` (SAIGE's O(N) variance),
#       and with --exact-scan also `--score-variance exact` (x'Px, 2N^2 flops per variant),
#   (b) `plink2 --glm firth-fallback --1 --threads 2` (Debian plink2: logistic regression without a random effect,
#       Firth where it separates: the fastest peer that runs here),
# and prints wall times, CPU times (user + sys of the whole process tree, by /usr/bin/time: the machine may be
# shared), the scan seconds our job logs, variants/second, ratios and the load average.
#
#   scripts/bench-binary-assoc.sh [--sizes 1000,10000] [--variants 100000] [--prevalence 0.1] [--work DIR] [--exact-scan]
#                                 [--null dense|matrix-free]
#
# The issue's target size is N = 10,000 x M = 100,000 (the defaults); on a shared 2-core machine run it small,
# e.g. --sizes 1000 --variants 10000. Environment: MASTER (default local[2]), LMMSPARK_DRIVER_MEMORY (default 12g).
# Results are appended to WORK/results.tsv (one row per size and tool). The scan kernel alone (no null fit, no Spark;
# the null without random effect plink2 fits): scripts/BinaryScanKernel.java (see its header).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes=10000
m=100000
prevalence=0.1
work=/tmp/lmmspark-bench-binary-assoc
exact_scan=0
null_route=dense
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --variants) m=$2; shift 2 ;;
    --prevalence) prevalence=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --exact-scan) exact_scan=1; shift ;;
    --null) null_route=$2; shift 2 ;;
    -h|--help) sed -n 2,20p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
command -v plink2 > /dev/null || { echo "plink2 not found (apt-get install plink2)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time not found (apt-get install time)" >&2; exit 2; }
master=${MASTER:-local[2]}
export LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-12g}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
results="$work/results.tsv"
[ -f "$results" ] || printf 'N\tM\trun\twall_s\tscan_s\tvariants_per_s\tload\tnote\n' > "$results"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# Value of "scan X s" / "null model(s) X s" in a run log line.
# user + sys seconds from a `/usr/bin/time -f '%U %S' -o FILE` record (its last line).
cpu_of() { tail -1 "$1" | awk '{ printf "%.1f", $1 + $2 }'; }
logged() { grep -oE "$1 [0-9.]+ s" "$2" | tail -1 | grep -oE '[0-9.]+' || echo NA; }

for n in ${sizes//,/ }; do
  prefix="$work/sim-$n-$m-$prevalence"
  echo "== N=$n M=$m prevalence $prevalence (master $master, load $(load))"
  if [ ! -f "$prefix.bed" ]; then
    t0=$(now)
    "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --causal 1000 \
      --prevalence "$prevalence" --threads 2 > /dev/null
    printf 'simulate: %.1f s\n' "$(secs "$t0" "$(now)")"
  fi
  grm="$work/grm-$n-$m-$prevalence"
  if [ "$null_route" = dense ] && [ ! -f "$grm.grm.bin" ]; then
    t0=$(now)
    "$home/scripts/lmmspark" grm --bfile "$prefix" --out "$grm" --master "$master" > "$grm.out" 2>&1
    printf 'GRM (once, not counted below): %.1f s\n' "$(secs "$t0" "$(now)")"
  fi

  routes=ratio
  [ "$exact_scan" = 1 ] && routes="ratio exact"
  null_args=(--grm "$grm")
  [ "$null_route" = matrix-free ] && null_args=(--solver matrix-free)
  for route in $routes; do
    out="$work/ours-$n-$m-$prevalence-$route-$null_route"
    l=$(load)
    t0=$(now)
    /usr/bin/time -f '%U %S' -o "$out.cpu" "$home/scripts/lmmspark" assoc --family binomial --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_binary \
      "${null_args[@]}" --score-variance "$route" --out "$out" --overwrite --master "$master" > "$out.out" 2>&1
    wall=$(secs "$t0" "$(now)")
    cpu=$(cpu_of "$out.cpu")
    scan=$(logged scan "$out.out"); nullS=$(logged "null model\(s\)" "$out.out")
    tested=$(grep -oE 'over [0-9]+ variants' "$out.out" | tail -1 | grep -oE '[0-9]+')
    methods=$(grep -oE 'p by normal [0-9]+, SPA [0-9]+, Firth [0-9]+' "$out.out" | tail -1)
    lambda=$(grep -oE 'lambda GC = [0-9.]+' "$out.out" | tail -1)
    printf '(a) ours, --score-variance %s: scan %s s (%s variants, %.0f variants/s), null fit %s s, JVM wall %.1f s, CPU %s s; %s; %s; load %s\n' \
      "$route" "$scan" "$tested" "$(echo "$tested / $scan" | bc -l)" "$nullS" "$wall" "$cpu" "$methods" "$lambda" "$l"
    printf '%s\t%s\tours-%s\t%.1f\t%s\t%.0f\t%s\tnull %s s; CPU %s s; %s; %s\n' "$n" "$m" "$route" "$wall" "$scan" \
      "$(echo "$tested / $scan" | bc -l)" "$l" "$nullS" "$cpu" "$methods" "$lambda" >> "$results"
    eval "ours_wall_$route=$wall; ours_scan_$route=$scan"
  done

  l=$(load)
  t0=$(now)
  /usr/bin/time -f '%U %S' -o "$work/plink2-$n-$m-$prevalence.cpu" plink2 --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_binary --1 --glm firth-fallback allow-no-covars \
    --threads 2 --out "$work/plink2-$n-$m-$prevalence" > "$work/plink2-$n-$m-$prevalence.out" 2>&1
  p2=$(secs "$t0" "$(now)")
  p2cpu=$(cpu_of "$work/plink2-$n-$m-$prevalence.cpu")
  printf '(b) plink2 --glm firth-fallback --threads 2: %.1f s wall (%.0f variants/s), CPU %s s; load %s\n' "$p2" \
    "$(echo "$m / $p2" | bc -l)" "$p2cpu" "$l"
  printf '%s\t%s\tplink2-glm-firth-fallback\t%.1f\t\t%.0f\t%s\tCPU %s s\n' "$n" "$m" "$p2" "$(echo "$m / $p2" | bc -l)" \
    "$l" "$p2cpu" >> "$results"
  printf 'ratios (plink2 wall / ours; > 1: ours faster): scan %.2f, whole JVM run with the null fit %.2f\n' \
    "$(echo "$p2 / $ours_scan_ratio" | bc -l)" "$(echo "$p2 / $ours_wall_ratio" | bc -l)"
done
echo "results: $results"
