#!/usr/bin/env bash
# Benchmark of many traits together (issue 17, point 1): T traits, each with its own missing values, fitted by
# `lmmspark reml --pheno-name T1,…,TT --solver matrix-free` in one run (lock-step REML over shared genotype passes)
# against one trait alone (`--pheno-name T1`), on the same simulated genotypes with the embedded Spark. Prints both
# wall times (JVM start to exit) and REML times, passes over the genotypes and columns per pass, and the ratio
# (target: T = 20 at N = 20,000 x M = 20,000 costs at most 3x one trait).
#
#   scripts/bench-multitrait.sh [N] [M] [T] [WORKDIR]     default 20000 20000 20 /tmp/lmmspark-bench-multitrait
#
# Traits: T_t = y_quant + noise of variance 0.1·t (so each is heritable, less so as t grows), missing on a random
# 2% + t% of the samples (awk's seeded rand(): a different subset per trait). Environment: MASTER (default local[*]),
# PROBES (default 40), LMMSPARK_DRIVER_MEMORY (default 6g). Run large sizes only on an idle machine.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-20000}
m=${2:-20000}
traits=${3:-20}
work=${4:-/tmp/lmmspark-bench-multitrait}
master=${MASTER:-local[*]}
probes=${PROBES:-40}
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

run() { # label, out, pheno-name
  local t0 t1
  t0=$(date +%s.%N)
  "$home/scripts/lmmspark" reml --bfile "$prefix" --pheno "$pheno" --pheno-name "$3" --qcovar "$prefix.qcovar" \
    --out "$2" --overwrite --master "$master" --solver matrix-free --probes "$probes" > "$2.out" 2> "$2.err" \
    || { tail -5 "$2.err"; exit 1; }
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc
}

one=$(run one "$prefix.one" T1)
many=$(run many "$prefix.many" "$names")

echo "== $traits traits together vs one trait: N=$n M=$m, matrix-free REML, $probes probes, master=$master"
echo "(the 2-core machine was shared with other builds: wall times are inflated and noisy)"
printf 'one trait (T1), JVM start to exit: %.1f s\n' "$one"
grep -E 'passes over the genotypes' "$prefix.one.out" | head -1
printf '%d traits together, JVM start to exit: %.1f s\n' "$traits" "$many"
grep -E 'REML of [0-9]+ traits together' "$prefix.many.out" | head -1
grep -E 'shared passes over the genotypes \(' "$prefix.many.err" | sed 's/.*INFO MatrixFreeRemlJob: //' | head -1
printf 'ratio (wall, %d traits / one): %.2f (target <= 3 at N = M = 20,000, T = 20)\n' "$traits" "$(echo "$many / $one" | bc -l)"
rs_one=$(grep -E 'REML [0-9.]+ s:' "$prefix.one.out" | sed -E 's/.*REML ([0-9.]+) s:.*/\1/' | head -1)
rs_many=$(grep -E 'REML of [0-9]+ traits together' "$prefix.many.out" | sed -E 's/.*, ([0-9.]+) s$/\1/' | head -1)
if [ -n "$rs_one" ] && [ -n "$rs_many" ]; then
  printf 'ratio (REML only, after caching): %.1f s / %.1f s = %.2f\n' "$rs_many" "$rs_one" "$(echo "$rs_many / $rs_one" | bc -l)"
fi
echo "-- per trait (summary table):"
column -t -s $'\t' "$prefix.many.summary.tsv" | cut -c1-110
t1h2=$(grep -P '^V\(G\)/Vp\t' "$prefix.one.hsq" | cut -f2)
echo "T1 alone: h2 $t1h2 (the joint run's T1 row above should equal it up to rounding)"
