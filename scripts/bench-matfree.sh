#!/usr/bin/env bash
# Benchmark of GRM-free (matrix-free) REML: simulate N x M genotypes with the project's simulator, then run
# `lmmspark reml-mf` on them with the embedded Spark, and print per-stage wall time, passes over the genotypes,
# Spark jobs per REML iteration and driver heap.
#
#   scripts/bench-matfree.sh [N] [M] [WORKDIR]        default 20000 20000 /tmp/lmmspark-bench-matfree
#
# Environment: LMMSPARK_DRIVER_MEMORY (default 4g here, to show the driver's bound), MASTER (default local[*]),
# PROBES (default 40), CG_TOL (default 1e-6). Do not run N = 100,000 on a shared machine.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-20000}
m=${2:-20000}
work=${3:-/tmp/lmmspark-bench-matfree}
master=${MASTER:-local[*]}
export LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-4g}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
prefix="$work/sim-$n-$m"

t0=$(date +%s.%N)
if [ ! -f "$prefix.bed" ]; then
  "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --h2 0.5 \
    --causal $(( m / 10 )) --families $(( n / 50 )) --missing-rate 0.002 >/dev/null
fi
t1=$(date +%s.%N)

/usr/bin/time -v "$home/scripts/lmmspark" reml-mf --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant \
  --qcovar "$prefix.qcovar" --out "$prefix.mf" --master "$master" \
  --probes "${PROBES:-40}" --cg-tol "${CG_TOL:-1e-6}" > "$prefix.mf.out" 2> "$prefix.mf.err" || true
t2=$(date +%s.%N)

echo "== matrix-free REML benchmark: N=$n M=$m master=$master driver heap limit $LMMSPARK_DRIVER_MEMORY"
printf 'simulate: %.1f s\n' "$(echo "$t1 - $t0" | bc)"
printf 'reml-mf (JVM start to exit): %.1f s\n' "$(echo "$t2 - $t1" | bc)"
cat "$prefix.mf.out"
grep -E 'Maximum resident set size' "$prefix.mf.err" | sed 's/^\s*/process /'
line=$(grep -E 'passes over the genotypes' "$prefix.mf.out" || true)
passes=$(echo "$line" | sed -E 's/.* ([0-9]+) passes over the genotypes.*/\1/')
jobs=$(echo "$line" | sed -E 's/.* ([0-9]+) Spark jobs.*/\1/')
iters=$(echo "$line" | sed -E 's/.* ([0-9]+) REML iterations.*/\1/')
secs=$(echo "$line" | sed -E 's/.*REML ([0-9.]+) s:.*/\1/')
if [ -n "$passes" ] && [ -n "$iters" ] && [ "$iters" -gt 0 ]; then
  echo "per REML iteration (including the start evaluation and the final log|V|): $(( passes / (iters + 2) )) passes, $(( jobs / (iters + 2) )) Spark jobs"
  printf 'seconds per pass: %.2f\n' "$(echo "$secs / $passes" | bc -l)"
fi
