#!/usr/bin/env bash
# Biobank-scale benchmark (issue 6 point 5): GRM-free REML + LOCO association end to end on N x M simulated
# genotypes (streamed to disk by `lmmspark simulate`), with the embedded Spark, on the local standalone cluster
# (driver and executor in separate JVMs, so the driver's memory is seen on its own), and BOLT-LMM-inf on the
# same files.
#
#   scripts/bench-scale.sh [--n N] [--m M] [--work DIR] [embedded] [cluster] [bolt]     (default: all three)
#
# Each run prints wall time, the per-stage times, passes over the genotypes and Spark jobs that AssocJob logs,
# and peak memory: the process RSS (embedded: driver and executor are one JVM) or, on the cluster, the driver
# JVM and the executor JVM separately (sampled every 2 s). Defaults: N = 100,000, M = 50,000, DIR = bench-out/scale.
# Environment: LMMSPARK_DRIVER_MEMORY (embedded: 12g, cluster driver: 4g), LMMSPARK_CLUSTER_MEMORY (executor,
# default 16g). Do not run it next to other heavy jobs: the machine has two cores.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=100000
m=50000
work="$home/bench-out/scale"
modes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --m) m=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    embedded|cluster|bolt) modes+=("$1"); shift ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#modes[@]} -gt 0 ] || modes=(embedded cluster bolt)
mkdir -p "$work"
prefix="$work/sim-$n-$m"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

if [ ! -f "$prefix.bed" ]; then
  t0=$(now)
  "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --h2 0.5 \
    --causal $(( m / 10 )) --families $(( n / 50 )) --missing-rate 0.002 > /dev/null
  printf 'simulate (streamed to disk): %.1f s\n' "$(secs "$t0" "$(now)")"
fi
assoc_args=(assoc --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --loco --solver matrix-free --overwrite)

# Peak RSS (MiB) of the processes whose command line matches $1, sampled every 2 s until $2 exits.
peak_rss() {
  local pattern=$1 pid=$2 peak=0 rss
  while kill -0 "$pid" 2>/dev/null; do
    # The process may exit between pgrep and ps: never let that end the sampler (set -e, pipefail).
    rss=$(pgrep -f "$pattern" | xargs -r ps -o rss= -p 2>/dev/null | awk '{s+=$1} END {print s+0}' || true)
    rss=${rss:-0}
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 2
  done
  echo $(( peak / 1024 ))
}

summary() {
  local out=$1
  grep -E 'stage|passes|Spark jobs|REML|γ|gamma|heap|variants tested|λGC|h²|total' "$out" | sed 's/^/  /' | head -40
}

for mode in "${modes[@]}"; do
  echo "== $mode: N=$n M=$m (load $(cut -d' ' -f1-3 /proc/loadavg))"
  case "$mode" in
    embedded)
      t0=$(now)
      LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-12g} /usr/bin/time -v "$home/scripts/lmmspark" "${assoc_args[@]}" \
        --out "$prefix.embedded" > "$prefix.embedded.out" 2> "$prefix.embedded.err" || { tail "$prefix.embedded.err"; exit 1; }
      printf 'embedded local[*]: %.1f s wall, peak RSS %s MiB (driver and executor in one JVM)\n' "$(secs "$t0" "$(now)")" \
        "$(( $(grep 'Maximum resident' "$prefix.embedded.err" | awk '{print $NF}') / 1024 ))"
      summary "$prefix.embedded.out"
      ;;
    cluster)
      export LMMSPARK_CLUSTER_MEMORY=${LMMSPARK_CLUSTER_MEMORY:-16g}
      master=$("$home/scripts/local-cluster.sh" start 2> "$work/cluster.start.log")
      trap '"$home/scripts/local-cluster.sh" stop > /dev/null 2>&1 || true' EXIT
      t0=$(now)
      LMMSPARK_DRIVER_MEMORY=${LMMSPARK_CLUSTER_DRIVER_MEMORY:-4g} "$home/scripts/spark-submit.sh" \
        --master "$master" --executor-memory "$LMMSPARK_CLUSTER_MEMORY" \
        --conf spark.executorEnv.OPENBLAS_NUM_THREADS=1 "${assoc_args[@]}" --out "$prefix.cluster" \
        > "$prefix.cluster.out" 2> "$prefix.cluster.err" &
      pid=$!
      peak_rss CoarseGrainedExecutorBackend "$pid" > "$work/executor.peak" &
      sampler=$!
      driver_peak=$(peak_rss 'org.apache.spark.deploy.SparkSubmit' "$pid")
      wait "$pid" || { tail "$prefix.cluster.err"; exit 1; }
      wait "$sampler" || true
      printf 'standalone cluster (1 worker, 2 cores): %.1f s wall, peak RSS driver %s MiB (heap limit %s), executor %s MiB\n' \
        "$(secs "$t0" "$(now)")" "$driver_peak" "${LMMSPARK_CLUSTER_DRIVER_MEMORY:-4g}" "$(cat "$work/executor.peak")"
      summary "$prefix.cluster.out"
      "$home/scripts/local-cluster.sh" stop > /dev/null 2>&1 || true
      trap - EXIT
      ;;
    bolt)
      command -v bolt > /dev/null || { echo "bolt not installed (Debian bolt-lmm)"; continue; }
      t0=$(now)
      /usr/bin/time -v bolt --bfile "$prefix" --phenoFile "$prefix.pheno" --phenoCol y_quant --lmmInfOnly \
        --numThreads 2 --LDscoresUseChip --statsFile "$prefix.bolt.stats" > "$prefix.bolt.out" 2> "$prefix.bolt.err" \
        || { tail "$prefix.bolt.out"; exit 1; }
      printf 'bolt --lmmInfOnly --numThreads 2: %.1f s wall, peak RSS %s MiB\n' "$(secs "$t0" "$(now)")" \
        "$(( $(grep 'Maximum resident' "$prefix.bolt.err" | awk '{print $NF}') / 1024 ))"
      grep -E 'h2|Time|time' "$prefix.bolt.out" | sed 's/^/  /' | tail -12
      # Agreement with our embedded run on the same files, when there is one: χ² of the same variants.
      if [ -f "$prefix.embedded.assoc.tsv.gz" ]; then
        "$home/scripts/chi2-agreement.py" "$prefix.bolt.stats" "$prefix.embedded.assoc.tsv.gz" \
          --names BOLT-LMM-inf lmmspark | sed 's/^/  /'
      fi
      ;;
  esac
done
