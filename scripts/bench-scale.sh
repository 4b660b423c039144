#!/usr/bin/env bash
# Biobank-scale benchmark (issue 6 point 5): GRM-free REML + LOCO association end to end on N x M simulated
# genotypes (streamed to disk by `lmmspark simulate`), with the embedded Spark, on the local standalone cluster
# (driver and executor in separate JVMs, so the driver's memory is seen on its own), and BOLT-LMM-inf on the
# same files.
#
#   scripts/bench-scale.sh [--n N] [--m M] [--work DIR] [--executors E] [embedded] [cluster] [bolt] [pass]
#                                                                      (default: embedded cluster bolt)
#
# `assoc --loco` runs on the default route (no --solver: the cost model chooses, and logs why). With embedded
# and bolt in one run, the last line is the ratio of the wall (and CPU) times, ours / BOLT's (issue 17 point 6).
# Each run prints wall time, the per-stage times, passes over the genotypes and Spark jobs that AssocJob logs,
# and peak memory: the process RSS (embedded: driver and executor are one JVM) or, on the cluster, the driver
# JVM and each executor JVM separately (sampled every 2 s), with the CPU seconds of each (the fair measure on
# a shared machine) and the load average over the run. Defaults: N = 100,000, M = 50,000, DIR = bench-out/scale.
# `pass` times single genotype passes instead of the whole run (`lmmspark bench-spark-pass`: the cache, then
# LMMSPARK_PASSES (default 3) passes of 44 columns after a warm-up, each with the executors' task run and CPU
# seconds and the driver's CPU seconds; LMMSPARK_PARTITIONS cached partitions, default one per core) on the
# standalone cluster with E executors: the pass-time model of docs/scaling.md, checked with --executors 1 and 2.
# --executors E (cluster and pass, default 1): E standalone workers (scripts/local-cluster.sh start --workers E),
# so E executor JVMs of (machine cores / E) cores each (LMMSPARK_CLUSTER_CORES overrides; passed as
# --executor-cores, since conf/spark-defaults.conf asks for 2, which a 1-core worker cannot host).
# Environment: LMMSPARK_DRIVER_MEMORY (embedded: 12g), LMMSPARK_CLUSTER_DRIVER_MEMORY (cluster driver: 4g),
# LMMSPARK_CLUSTER_MEMORY (per executor; default 16g for one executor, 6g each for more: an executor holds
# its 1/E of the N·M/4-byte cache plus, per task, a decoded block and the N×k arrays, ~2 GB at 100k).
# Do not run it next to other heavy jobs: the machine has two cores.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=100000
m=50000
work="$home/bench-out/scale"
executors=1
modes=()
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n=$2; shift 2 ;;
    --m) m=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --executors) executors=$2; shift 2 ;;
    embedded|cluster|bolt|pass) modes+=("$1"); shift ;;
    -h|--help) sed -n 2,26p "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ ${#modes[@]} -gt 0 ] || modes=(embedded cluster bolt)
[[ $executors =~ ^[1-9][0-9]*$ ]] || { echo "--executors must be a positive integer" >&2; exit 2; }
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
assoc_args=(assoc --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --loco --overwrite)

# Samples every 2 s, until process $2 exits, each process whose command line matches the regex $1: prints
# one line per process "PID peak-RSS-MiB CPU-seconds" (CPU: user + system at the last sample, i.e. within
# 2 s of its end). The load average is sampled alongside when $3 names a file (one 1-min figure a line).
sample_procs() {
  local pattern=$1 pid=$2 loadfile=${3:-} tick
  local -A peak=() cpu=()
  local p rss t
  tick=$(getconf CLK_TCK)
  while kill -0 "$pid" 2>/dev/null; do
    # A process may exit between pgrep and reading /proc: never let that end the sampler (set -e).
    for p in $(pgrep -f "$pattern" || true); do
      rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$p/status" 2>/dev/null || true)
      t=$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)
      [ -n "$rss" ] && [ -n "$t" ] || continue
      [ "$rss" -gt "${peak[$p]:-0}" ] && peak[$p]=$rss
      cpu[$p]=$t
    done
    [ -n "$loadfile" ] && cut -d' ' -f1 /proc/loadavg >> "$loadfile"
    sleep 2
  done
  for p in "${!peak[@]}"; do
    echo "$p $(( peak[$p] / 1024 )) $(echo "scale=1; ${cpu[$p]} / $tick" | bc)"
  done
}

# "min–max (mean m)" of the numbers in file $1, one a line.
load_range() {
  awk 'NR == 1 || $1 < lo {lo = $1} NR == 1 || $1 > hi {hi = $1} {s += $1} END {if (NR) printf "%.1f–%.1f (mean %.1f)", lo, hi, s / NR}' "$1"
}

# User + sys CPU seconds from a `/usr/bin/time -v` report.
cpu_secs() { awk -F': ' '/User time|System time/ {s += $2} END {printf "%.1f", s}' "$1"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
declare -A wall cpu

summary() {
  local out=$1
  grep -E 'stage|passes|Spark jobs|REML|γ|gamma|heap|variants tested|λGC|h²|total' "$out" | sed 's/^/  /' | head -40
}

# Build first (scripts/lmmspark builds a stale jar; --help records no class-data archive), then time runs that
# map the assoc class-data archive rather than record it: the first run after a build dumps it at exit
# (seconds idle, minutes under load), a one-time cost per build that is not the command's.
"$home/scripts/lmmspark" --help > /dev/null
if [ ! "$home/jobs/target/cds/assoc.jsa" -nt "$home/jobs/target/lmmspark.jar" ]; then
  export LMMSPARK_CDS=0
fi

for mode in "${modes[@]}"; do
  echo "== $mode: N=$n M=$m (load $(load))"
  case "$mode" in
    embedded)
      t0=$(now)
      LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-12g} /usr/bin/time -v "$home/scripts/lmmspark" "${assoc_args[@]}" \
        --out "$prefix.embedded" > "$prefix.embedded.out" 2> "$prefix.embedded.err" || { tail "$prefix.embedded.err"; exit 1; }
      wall[embedded]=$(secs "$t0" "$(now)"); cpu[embedded]=$(cpu_secs "$prefix.embedded.err")
      printf 'embedded local[*]: %.1f s wall, %s s CPU, peak RSS %s MiB (driver and executor in one JVM), load after %s\n' \
        "${wall[embedded]}" "${cpu[embedded]}" \
        "$(( $(grep 'Maximum resident' "$prefix.embedded.err" | awk '{print $NF}') / 1024 ))" "$(load)"
      summary "$prefix.embedded.out"
      ;;
    cluster|pass)
      if [ "$executors" -eq 1 ]; then
        export LMMSPARK_CLUSTER_MEMORY=${LMMSPARK_CLUSTER_MEMORY:-16g}
      else
        export LMMSPARK_CLUSTER_MEMORY=${LMMSPARK_CLUSTER_MEMORY:-6g}
      fi
      cluster_dir=${LMMSPARK_CLUSTER_DIR:-$home/.cluster}
      cores=${LMMSPARK_CLUSTER_CORES:-$(( $(nproc) / executors > 0 ? $(nproc) / executors : 1 ))}
      tag=$mode
      [ "$executors" -eq 1 ] || tag=$mode-$executors
      master=$("$home/scripts/local-cluster.sh" start --workers "$executors" 2> "$work/$tag.start.log")
      trap '"$home/scripts/local-cluster.sh" stop > /dev/null 2>&1 || true' EXIT
      if [ "$mode" = pass ]; then
        command=(bench-spark-pass --bfile "$prefix" --passes "${LMMSPARK_PASSES:-3}" --partitions "${LMMSPARK_PARTITIONS:-0}")
        driver_pattern="org.apache.spark.deploy.SparkSubmit .*bench-spark-pass --bfile $prefix "
      else
        command=("${assoc_args[@]}" --out "$prefix.$tag")
        driver_pattern="org.apache.spark.deploy.SparkSubmit .*$prefix.$tag"
      fi
      : > "$work/$tag.load"
      t0=$(now)
      LMMSPARK_DRIVER_MEMORY=${LMMSPARK_CLUSTER_DRIVER_MEMORY:-4g} "$home/scripts/spark-submit.sh" \
        --master "$master" --executor-memory "$LMMSPARK_CLUSTER_MEMORY" --executor-cores "$cores" \
        --conf spark.executorEnv.OPENBLAS_NUM_THREADS=1 "${command[@]}" \
        > "$prefix.$tag.out" 2> "$prefix.$tag.err" &
      pid=$!
      # Only this cluster's executors (their classpath is under its SPARK_HOME) and this run's driver.
      sample_procs "$cluster_dir/spark-home/.*CoarseGrainedExecutorBackend" "$pid" > "$work/$tag.executors" &
      sampler=$!
      sample_procs "$driver_pattern" "$pid" "$work/$tag.load" > "$work/$tag.driver"
      wait "$pid" || { tail "$prefix.$tag.err"; exit 1; }
      wait "$sampler" || true
      printf 'standalone cluster (%d executor(s) of %s core(s), %s each): %.1f s wall, load %s\n' "$executors" \
        "$cores" "$LMMSPARK_CLUSTER_MEMORY" "$(secs "$t0" "$(now)")" \
        "$(load_range "$work/$tag.load")"
      awk -v lim="${LMMSPARK_CLUSTER_DRIVER_MEMORY:-4g}" '{printf "  driver: peak RSS %s MiB (heap limit %s), %s CPU-s\n", $2, lim, $3}' \
        "$work/$tag.driver"
      awk '{printf "  executor (pid %s): peak RSS %s MiB, %s CPU-s\n", $1, $2, $3}' "$work/$tag.executors"
      if [ "$mode" = pass ]; then
        grep '^bench-spark-pass' "$prefix.$tag.out" | sed 's/^bench-spark-pass: /  /'
      else
        summary "$prefix.$tag.out"
      fi
      "$home/scripts/local-cluster.sh" stop > /dev/null 2>&1 || true
      trap - EXIT
      ;;
    bolt)
      command -v bolt > /dev/null || { echo "bolt not installed (Debian bolt-lmm)"; continue; }
      t0=$(now)
      /usr/bin/time -v bolt --bfile "$prefix" --phenoFile "$prefix.pheno" --phenoCol y_quant --lmmInfOnly \
        --numThreads 2 --LDscoresUseChip --statsFile "$prefix.bolt.stats" > "$prefix.bolt.out" 2> "$prefix.bolt.err" \
        || { tail "$prefix.bolt.out"; exit 1; }
      wall[bolt]=$(secs "$t0" "$(now)"); cpu[bolt]=$(cpu_secs "$prefix.bolt.err")
      printf 'bolt --lmmInfOnly --numThreads 2: %.1f s wall, %s s CPU, peak RSS %s MiB, load after %s\n' \
        "${wall[bolt]}" "${cpu[bolt]}" \
        "$(( $(grep 'Maximum resident' "$prefix.bolt.err" | awk '{print $NF}') / 1024 ))" "$(load)"
      grep -E 'h2|Time|time' "$prefix.bolt.out" | sed 's/^/  /' | tail -12
      # Agreement with our embedded run on the same files, when there is one: χ² of the same variants.
      if [ -f "$prefix.embedded.assoc.tsv.gz" ]; then
        "$home/scripts/chi2-agreement.py" "$prefix.bolt.stats" "$prefix.embedded.assoc.tsv.gz" \
          --names BOLT-LMM-inf lmmspark | sed 's/^/  /'
      fi
      ;;
  esac
done
if [ -n "${wall[embedded]:-}" ] && [ -n "${wall[bolt]:-}" ]; then
  printf 'assoc --loco / bolt --lmmInfOnly: wall %.1f / %.1f s = %.2f, CPU %s / %s s = %.2f (N=%s M=%s)\n' \
    "${wall[embedded]}" "${wall[bolt]}" "$(echo "${wall[embedded]} / ${wall[bolt]}" | bc -l)" \
    "${cpu[embedded]}" "${cpu[bolt]}" "$(echo "${cpu[embedded]} / ${cpu[bolt]}" | bc -l)" "$n" "$m"
fi
