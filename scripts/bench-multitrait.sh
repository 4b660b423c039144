#!/usr/bin/env bash
# Benchmark of many traits together (issue 17, point 1): T traits, each with its own missing values, fitted by
# `lmmspark reml --pheno-name T1,…,TT --solver matrix-free` in one run (lock-step REML over shared genotype passes),
# or with CMD=assoc tested by `lmmspark assoc --pheno-name T1,…,TT --solver matrix-free --loco` (one cache, lock-step
# REML, shared LOCO solves, one test pass), against one trait alone (`--pheno-name T1`), on the same simulated
# genotypes with the embedded Spark. Prints wall and CPU times (JVM start to exit; one trait run before and after
# the T traits), the load average, passes or stages, and the ratios (target: T = 20 at N = 20,000 x M = 20,000
# costs at most 3x one trait).
#
#   scripts/bench-multitrait.sh [N] [M] [T] [WORKDIR]     default 20000 20000 20 /tmp/lmmspark-bench-multitrait
#
# Traits: T_t = y_quant + noise of variance 0.1·t (so each is heritable, less so as t grows), missing on a random
# 2% + t% of the samples (awk's seeded rand(): a different subset per trait). Environment: MASTER (default local[*]),
# PROBES (default 40 for reml; assoc's own default, 15, for assoc), LMMSPARK_DRIVER_MEMORY (default 6g), CMD (reml or
# assoc, default reml), ROUNDS (default 1): the T traits' run that many times, each between two runs of one trait
# (T1, T, T1, T, …, T1: 2·ROUNDS + 1 runs), each round's ratio against the mean of its two neighbours, then the
# median and the largest. This machine's speed drifts by ~15% within an hour, so one round's ratio can be off by
# about as much; the rounds show the spread. Run large sizes only on an idle machine.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-20000}
m=${2:-20000}
traits=${3:-20}
work=${4:-/tmp/lmmspark-bench-multitrait}
master=${MASTER:-local[*]}
command=${CMD:-reml}
probes=${PROBES:-}
[ -z "$probes" ] && [ "$command" = reml ] && probes=40
export LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-6g}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
prefix="$work/sim-$n-$m"

if [ ! -f "$prefix.bed" ]; then
  "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --h2 0.5 \
    --causal $(( m / 10 )) --families $(( n / 50 )) --missing-rate 0.002 >/dev/null
fi
pheno="$prefix.t$traits.pheno"
awk -v T="$traits" 'BEGIN { srand(17); OFS = "\t" }
  NR == 1 { for (c = 1; c <= NF; c++) if ($c == "y_quant") q = c; printf "FID\tIID"; for (t = 1; t <= T; t++) printf "\tT%d", t; print ""; next }
  { printf "%s\t%s", $1, $2
    for (t = 1; t <= T; t++) {
      # Box-Muller noise of variance 0.1 t; missing with probability 0.02 + t/100.
      u1 = rand(); u2 = rand(); z = sqrt(-2 * log(u1 + 1e-300)) * cos(6.283185307 * u2)
      if (rand() < 0.02 + t / 100 || $q == "NA") printf "\tNA"; else printf "\t%.6f", $q + z * sqrt(0.1 * t)
    }
    print "" }' "$prefix.pheno" > "$pheno"
names=$(seq -s, 1 "$traits" | sed 's/\([0-9]\+\)/T\1/g')

extra=()
[ "$command" = assoc ] && extra=(--loco)
[ -n "$probes" ] && extra+=(--probes "$probes")
run() { # out, pheno-name; prints "wall cpu" (seconds; cpu = user + sys of the JVM and its children)
  /usr/bin/time -f '%e %U %S' -o "$1.time" "$home/scripts/lmmspark" "$command" --bfile "$prefix" --pheno "$pheno" \
    --pheno-name "$2" --qcovar "$prefix.qcovar" --out "$1" --overwrite --master "$master" --solver matrix-free \
    "${extra[@]}" > "$1.out" 2> "$1.err" || { echo "$command $2 failed:" >&2; tail -5 "$1.err" >&2; exit 1; }
  awk '{ printf "%.1f %.1f", $1, $2 + $3 }' "$1.time"
}

if [ ! "$home/jobs/target/cds/$command.jsa" -nt "$home/jobs/target/lmmspark.jar" ]; then
  # The first run after a build records the class-data sharing archive (scripts/lmmspark; an archive older than the
  # jar is recorded again): not timed.
  run "$prefix.$command.warmup" T1 > /dev/null
fi
rounds=${ROUNDS:-1}
load0=$(cut -d' ' -f1-3 /proc/loadavg)
# One trait before and after the T traits, the ratio against their mean: this machine's speed drifts (one trait's
# CPU varied 1.5x within an hour), and a drift between two runs would otherwise read as a ratio.
times=$(run "$prefix.$command.one" T1) || exit 1
read -r one_b one_b_cpu <<< "$times"
ratios=()
for ((round = 1; round <= rounds; round++)); do
  one_a=$one_b
  one_a_cpu=$one_b_cpu
  times=$(run "$prefix.$command.many" "$names") || exit 1
  read -r many many_cpu <<< "$times"
  times=$(run "$prefix.$command.one" T1) || exit 1
  read -r one_b one_b_cpu <<< "$times"
  one=$(echo "($one_a + $one_b) / 2" | bc -l)
  one_cpu=$(echo "($one_a_cpu + $one_b_cpu) / 2" | bc -l)
  ratio_wall=$(echo "$many / $one" | bc -l)
  ratio_cpu=$(echo "$many_cpu / $one_cpu" | bc -l)
  ratios+=("$ratio_cpu")
  if [ "$rounds" -gt 1 ]; then
    printf 'round %d: %d traits %.1f s wall, %.1f s CPU; one trait %.1f / %.1f s CPU before / after; ratio wall %.2f, CPU %.2f\n' \
      "$round" "$traits" "$many" "$many_cpu" "$one_a_cpu" "$one_b_cpu" "$ratio_wall" "$ratio_cpu"
  fi
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)

echo "== $traits traits together vs one trait: lmmspark $command, N=$n M=$m, matrix-free, ${probes:-15 (default)} probes, master=$master"
echo "(the 2-core machine was shared with other builds: load average $load0 before, $load1 after; times are inflated and noisy)"
printf 'one trait (T1), JVM start to exit: %.1f s wall, %.1f s CPU (before the %d traits %.1f s, %.1f s CPU; after %.1f s, %.1f s CPU)\n' \
  "$one" "$one_cpu" "$traits" "$one_a" "$one_a_cpu" "$one_b" "$one_b_cpu"
printf '%d traits together, JVM start to exit: %.1f s wall, %.1f s CPU\n' "$traits" "$many" "$many_cpu"
printf 'ratio %d traits / one (the mean of the two): wall %.2f, CPU %.2f (target <= 3 at N = M = 20,000, T = 20)\n' "$traits" \
  "$ratio_wall" "$ratio_cpu"
if [ "$rounds" -gt 1 ]; then
  printf '%s\n' "${ratios[@]}" | sort -g | awk -v r="$rounds" '{ v[NR] = $1 } END {
    printf "CPU ratio over %d rounds: median %.2f, largest %.2f, smallest %.2f (the lines above: the last round)\n", r,
      (r % 2 ? v[(r + 1) / 2] : (v[r / 2] + v[r / 2 + 1]) / 2), v[r], v[1] }'
fi
if [ "$command" = reml ]; then
  grep -E 'passes over the genotypes' "$prefix.reml.one.out" | head -1
  grep -E 'REML of [0-9]+ traits together' "$prefix.reml.many.out" | head -1
  grep -E 'shared passes over the genotypes \(' "$prefix.reml.many.err" | sed 's/.*INFO MatrixFreeRemlJob: //' | head -1
  t1h2=$(grep -P '^V\(G\)/Vp\t' "$prefix.reml.one.hsq" | cut -f2)
else
  echo "-- stages, one trait:"
  grep -E 'stage ' "$prefix.assoc.one.out" | sed 's/^/   /'
  echo "-- stages, $traits traits together:"
  grep -E 'shared passes over the genotypes \(' "$prefix.assoc.many.err" | sed 's/.*INFO MatrixFreeRemlJob: /   /' | head -1
  grep -E 'matrix-free, [0-9]+ traits together' "$prefix.assoc.many.log" | sed 's/; /\n   /g' | grep -v '^ *outputs:'
  printf '   outputs of all traits: %.1f s\n' "$(grep -E 'matrix-free, [0-9]+ traits together' "$prefix.assoc.many.log" \
    | sed 's/; /\n/g' | awk '$1 == "outputs:" { s += $2 } END { print s + 0 }')"
  t1h2=$(grep -P '^V\(G\)/Vp\t' "$prefix.assoc.one.hsq" | cut -f2)
fi
echo "-- per trait (summary table):"
column -t -s $'\t' "$prefix.$command.many.summary.tsv" | cut -c1-110
echo "T1 alone: h2 $t1h2 (the joint run's T1 row above within Monte Carlo error of it: the probes' runs shared as control variates)"
