#!/usr/bin/env bash
# Benchmark: single-GRM REML (null model: band reduction + λ's bound + REML) from a precomputed GRM, against
# GEMMA's null fit on the same matrix (Debian package gemma) where it is installed.
#
#   scripts/bench-reml.sh [--sizes "5000 10000"] [--variants M] [--dir bench-out/reml]
#
# For each N: simulate N samples x M variants (lmmspark simulate), compute the GRM (lmmspark grm),
# then time `lmmspark reml --grm` (whole command, JVM start included, and the solver alone as it
# logs) and `gemma -bfile <10 variants> -k <the same GRM as text> -lmm 1` (GEMMA always eigendecomposes
# K and fits the null REML before testing; 10 variants make the tests negligible; its time includes
# reading the text kinship, which is how GEMMA takes a GRM). Prints h2 from both and the time ratio.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="5000 10000"
variants=20000
dir="$home/bench-out/reml"
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --variants) variants="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--sizes \"5000 10000\"] [--variants M] [--dir DIR]" >&2; exit 2 ;;
  esac
done
lmm="$home/scripts/lmmspark"
mkdir -p "$dir"
now() { date +%s.%N; }
# CPU seconds (user + system) of a command's children, and the one-minute load average when it starts:
# the machine may be shared, and wall times then say more about the others than about us.
TIMEFORMAT='%U %S'
cpu_of() { { time "$@" ; } 2>&1 >/dev/null | tail -1 | awk '{printf "%.1f", $1 + $2}'; }
load() { cut -d' ' -f1 /proc/loadavg; }
printf '%-7s %-8s %12s %9s %12s %11s %8s %12s %9s %8s %9s %9s %6s\n' N threads lmmspark_s cpu_s solver_s reduction_s bound_s \
  gemma_s cpu_s ratio h2_ours pve_gemma load
for n in $sizes; do
  d="$dir/n$n"
  mkdir -p "$d"
  [ -f "$d/sim.bed" ] || "$lmm" simulate --out "$d/sim" --samples "$n" --variants "$variants" --seed 11 \
      --families $((n / 25)) >/dev/null
  [ -f "$d/grm.grm.bin" ] || "$lmm" grm --bfile "$d/sim" --out "$d/grm" --overwrite >/dev/null 2>&1
  # The first run of a command after a build records its class-data sharing archive (scripts/lmmspark: jobs/target/
  # cds/reml.jsa, a few seconds at exit, once); every later run maps it. Time the steady state, as GEMMA's installed
  # binary is: if the archive is missing or older than the jar, record it first on 200 of the samples (untimed).
  jar="$home/jobs/target/lmmspark.jar"
  if [ "${LMMSPARK_CDS:-1}" != 0 ] && { [ ! -f "$jar" ] || [ ! -f "$home/jobs/target/cds/reml.jsa" ] \
      || [ ! "$home/jobs/target/cds/reml.jsa" -nt "$jar" ]; }; then
    head -200 "$d/grm.grm.id" > "$d/warmup.keep"
    "$lmm" reml --grm "$d/grm" --keep "$d/warmup.keep" --pheno "$d/sim.pheno" --pheno-name y_quant --solver spectral \
      --out "$d/warmup" --overwrite >/dev/null 2>&1 || true
  fi
  load0=$(load)
  t0=$(now)
  ours_cpu=$(cpu_of bash -c '"$@" > "$0" 2>&1' "$d/reml.stdout" "$lmm" reml --grm "$d/grm" --pheno "$d/sim.pheno" \
    --pheno-name y_quant --solver spectral --out "$d/reml" --overwrite)
  t1=$(now)
  ours=$(echo "$t1 - $t0" | bc)
  solver=$(grep -oE 'solver spectral.*\(([0-9.]+) s\)' "$d/reml.stdout" | grep -oE '[0-9.]+ s\)$' | tr -d ' s)')
  # "reduction 24.1 s on 2 thread(s), λ bound 0.21 s": the driver's threads, the O(N³) stage and λ's upper bound.
  reduction=$(grep -oE 'reduction [0-9.]+ s on [0-9]+ thread' "$d/reml.log" | awk '{print $2}')
  threads=$(grep -oE 'reduction [0-9.]+ s on [0-9]+ thread' "$d/reml.log" | awk '{print $5}')
  bound=$(grep -oE 'bound [0-9.]+ s' "$d/reml.log" | awk '{print $2}')
  h2=$(awk '$1=="V(G)/Vp"{print $2}' "$d/reml.hsq")
  gemma_s=NA; gemma_cpu=NA; pve=NA; ratio=NA
  if command -v gemma >/dev/null && command -v python3 >/dev/null && python3 -c 'import numpy' 2>/dev/null; then
    if [ ! -f "$d/K.txt" ]; then
      python3 - "$d/grm" "$d/K.txt" "$n" <<'PY'
import sys, numpy as np
prefix, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tri = np.fromfile(prefix + ".grm.bin", dtype="<f4")
k = np.zeros((n, n)); k[np.tril_indices(n)] = tri; k = k + np.tril(k, -1).T
np.savetxt(out, k, fmt="%.7g", delimiter="\t")
PY
    fi
    if [ ! -f "$d/ten.fam" ]; then
      # GEMMA takes the phenotype from .fam column 6: copy y_quant there (NA where missing).
      head -11 "$d/sim.bim" | awk '{print $2}' > "$d/ten.txt"
      plink=$(command -v plink1.9 || command -v plink2)
      "$plink" --bfile "$d/sim" --extract "$d/ten.txt" --make-bed --out "$d/ten" >/dev/null
      awk 'NR==FNR{if(FNR>1)y[$1" "$2]=$3;next}{v=y[$1" "$2]; if(v==""||v=="NA")v="NA"; $6=v; print}' \
        "$d/sim.pheno" "$d/ten.fam" > "$d/ten.fam.new" && mv "$d/ten.fam.new" "$d/ten.fam"
    fi
    t0=$(now)
    gemma_cpu=$(cd "$d" && cpu_of bash -c 'gemma -bfile ten -k K.txt -lmm 1 -o gemma > gemma.stdout 2>&1')
    t1=$(now)
    gemma_s=$(echo "$t1 - $t0" | bc)
    pve=$(grep -m1 'pve estimate in the null model' "$d/output/gemma.log.txt" | awk '{print $NF}')
    ratio=$(echo "scale=2; $gemma_s / $ours" | bc)
  fi
  printf '%-7s %-8s %12.1f %9s %12s %11s %8s %12s %9s %8s %9s %9s %6s\n' "$n" "${threads:-?}" "$ours" "$ours_cpu" \
    "${solver:-?}" "${reduction:-?}" "${bound:-?}" "$gemma_s" "$gemma_cpu" "${ratio}x" "$h2" "$pve" "$load0"
done
echo "ratio = GEMMA time / lmmspark time (>1: lmmspark faster); cpu_s = user + system CPU seconds; load = one-minute"
echo "threads = the driver's threads of the band reduction (Blas.driverThreads: -Dlmmspark.driver.threads via"
echo "LMMSPARK_JAVA_OPTS, else the JVM's cores); reduction_s / bound_s = the band reduction and λ's upper bound (K's smallest"
echo "eigenvalue, beside the rotation) as logged."
echo "load average when our run started. h2_ours = V(G)/Vp; GEMMA's pve scales vg by tr(K)/n."
