#!/usr/bin/env bash
# Association benchmark (issue 5 point 7): simulate N x M genotypes with the project's simulator, then for each N
#   (a) our association pass alone, null model given: `lmmspark assoc --grm PRECOMPUTED --test calibrated`
#       (the scan seconds AssocJob logs; with --exact-scan also the exact MLMA scan),
#   (b) our whole run from genotypes: `lmmspark assoc` without --grm (GRM + REML null + calibration + scan),
#   (c) `bolt --lmmInfOnly --numThreads 2` (Debian bolt-lmm), whole run,
#   (d) `gemma -gk 1` + `gemma -lmm 1` (Debian gemma), only at sizes up to GEMMA_MAX_N (default 2000),
# and prints wall times, variants/second and ratios. No LOCO on our side (BOLT does LOCO: say so when quoting).
#
#   scripts/bench-assoc.sh [--sizes 2000,5000,10000] [--variants 100000] [--work DIR] [--exact-scan]
#
# Environment: MASTER (default local[2]), LMMSPARK_DRIVER_MEMORY (default 12g), GEMMA_MAX_N (default 2000).
# Results are appended to WORK/results.tsv (one row per size and tool).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes=2000,5000,10000
m=100000
work=/tmp/lmmspark-bench-assoc
exact_scan=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes=$2; shift 2 ;;
    --variants) m=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --exact-scan) exact_scan=1; shift ;;
    -h|--help) sed -n 2,14p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
master=${MASTER:-local[2]}
export LMMSPARK_DRIVER_MEMORY=${LMMSPARK_DRIVER_MEMORY:-12g}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
results="$work/results.tsv"
[ -f "$results" ] || printf 'N\tM\trun\twall_s\tscan_s\tvariants_per_s\tnote\n' > "$results"

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }
# Value of "scan X s" / "GRM X s" / "total X s" in an AssocJob run log line.
logged() { grep -oE "$1 [0-9.]+ s" "$2" | tail -1 | grep -oE '[0-9.]+' || echo NA; }

for n in ${sizes//,/ }; do
  prefix="$work/sim-$n-$m"
  echo "== N=$n M=$m (master $master, load $(cut -d' ' -f1-3 /proc/loadavg))"
  if [ ! -f "$prefix.bed" ]; then
    t0=$(now)
    "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --causal 1000 \
      --threads 2 > /dev/null
    printf 'simulate: %.1f s\n' "$(secs "$t0" "$(now)")"
  fi
  # The GRM once (for (a)); its time is part of (b), which recomputes it.
  if [ ! -f "$prefix.grm.bin" ]; then
    t0=$(now)
    "$home/scripts/lmmspark" grm --bfile "$prefix" --out "$prefix" --master "$master" --overwrite > "$prefix.grm.out" 2>&1
    printf 'GRM: %.1f s\n' "$(secs "$t0" "$(now)")"
  fi

  # (a) association pass, null model given (GRM precomputed): calibrated.
  t0=$(now)
  "$home/scripts/lmmspark" assoc --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --grm "$prefix" \
    --test calibrated --out "$prefix.cal" --master "$master" --overwrite > "$prefix.cal.out" 2>&1
  wall=$(secs "$t0" "$(now)")
  scan=$(logged scan "$prefix.cal.out"); nullS=$(logged "null model\(s\)" "$prefix.cal.out")
  tested=$(grep -oE 'over [0-9]+ variants' "$prefix.cal.out" | tail -1 | grep -oE '[0-9]+')
  gamma=$(grep -oE 'γ = [^)]*\)' "$prefix.cal.out" | head -1)
  lambda=$(grep -oE 'lambda GC = [0-9.]+' "$prefix.cal.out" | tail -1)
  printf '(a) calibrated scan (null given): scan %s s (%s variants, %.0f variants/s); null fit %s s; JVM wall %.1f s; %s; %s\n' \
    "$scan" "$tested" "$(echo "$tested / $scan" | bc -l)" "$nullS" "$wall" "$gamma" "$lambda"
  printf '%s\t%s\tours-scan-calibrated\t%.1f\t%s\t%.0f\t%s; %s\n' "$n" "$m" "$wall" "$scan" \
    "$(echo "$tested / $scan" | bc -l)" "$gamma" "$lambda" >> "$results"
  if [ "$exact_scan" = 1 ]; then
    t0=$(now)
    "$home/scripts/lmmspark" assoc --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --grm "$prefix" \
      --test exact --out "$prefix.exact" --master "$master" --overwrite > "$prefix.exact.out" 2>&1
    wall=$(secs "$t0" "$(now)")
    escan=$(logged scan "$prefix.exact.out")
    printf '(a) exact MLMA scan (null given): scan %s s (%.0f variants/s); JVM wall %.1f s\n' "$escan" \
      "$(echo "$tested / $escan" | bc -l)" "$wall"
    printf '%s\t%s\tours-scan-exact\t%.1f\t%s\t%.0f\t\n' "$n" "$m" "$wall" "$escan" "$(echo "$tested / $escan" | bc -l)" >> "$results"
    "$home/scripts/chi2-agreement.py" "$prefix.exact.assoc.tsv.gz" "$prefix.cal.assoc.tsv.gz" \
      --names exact calibrated || true
  fi

  # (b) whole run from genotypes: GRM + null + calibration + scan.
  t0=$(now)
  "$home/scripts/lmmspark" assoc --bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --test calibrated \
    --out "$prefix.whole" --master "$master" --overwrite > "$prefix.whole.out" 2>&1
  whole=$(secs "$t0" "$(now)")
  printf '(b) whole run (GRM %s s, null %s s, scan %s s): %.1f s wall (%.0f variants/s)\n' "$(logged GRM "$prefix.whole.out")" \
    "$(logged "null model\(s\)" "$prefix.whole.out")" "$(logged scan "$prefix.whole.out")" "$whole" "$(echo "$tested / $whole" | bc -l)"
  printf '%s\t%s\tours-whole\t%.1f\t%s\t%.0f\tGRM %s s\n' "$n" "$m" "$whole" "$(logged scan "$prefix.whole.out")" \
    "$(echo "$tested / $whole" | bc -l)" "$(logged GRM "$prefix.whole.out")" >> "$results"

  # (c) BOLT-LMM-inf, whole run.
  bolt_s=NA
  if command -v bolt > /dev/null; then
    t0=$(now)
    if bolt --bfile "$prefix" --phenoFile "$prefix.pheno" --phenoCol y_quant --lmmInfOnly --numThreads 2 \
      --LDscoresUseChip --statsFile "$prefix.bolt.stats" > "$prefix.bolt.out" 2>&1; then
      bolt_s=$(secs "$t0" "$(now)")
      printf '(c) bolt --lmmInfOnly --numThreads 2: %.1f s (%.0f variants/s)\n' "$bolt_s" "$(echo "$tested / $bolt_s" | bc -l)"
      printf '%s\t%s\tbolt-lmmInfOnly-2threads\t%.1f\t\t%.0f\t\n' "$n" "$m" "$bolt_s" "$(echo "$tested / $bolt_s" | bc -l)" >> "$results"
    else
      echo "(c) bolt failed: see $prefix.bolt.out"; tail -3 "$prefix.bolt.out"
    fi
  fi

  # (d) GEMMA -lmm 1 (single-threaded per-variant loop): small sizes only.
  gemma_s=NA
  if command -v gemma > /dev/null && [ "$n" -le "${GEMMA_MAX_N:-2000}" ]; then
    # GEMMA reads the phenotype from the .fam 6th column: a copy of the fileset with y_quant there.
    g="$work/gemma-$n-$m"
    ln -sf "$prefix.bed" "$g.bed"; ln -sf "$prefix.bim" "$g.bim"
    awk 'NR==FNR { if (FNR > 1) y[$1" "$2] = ($3 == "NA" ? "NA" : $3); next }
         { k = $1" "$2; $6 = (k in y ? y[k] : "NA"); print }' "$prefix.pheno" "$prefix.fam" > "$g.fam"
    t0=$(now)
    (cd "$work" && gemma -bfile "$g" -gk 1 -o "gemma-$n-$m" > "$g.gk.out" 2>&1 \
      && gemma -bfile "$g" -k "output/gemma-$n-$m.cXX.txt" -lmm 1 -o "gemma-$n-$m" > "$g.lmm.out" 2>&1) \
      && gemma_s=$(secs "$t0" "$(now)")
    if [ "$gemma_s" != NA ]; then
      printf '(d) gemma -gk 1 + -lmm 1: %.1f s (%.0f variants/s)\n' "$gemma_s" "$(echo "$tested / $gemma_s" | bc -l)"
      printf '%s\t%s\tgemma-gk1+lmm1\t%.1f\t\t%.0f\t\n' "$n" "$m" "$gemma_s" "$(echo "$tested / $gemma_s" | bc -l)" >> "$results"
    else
      echo "(d) gemma failed: see $g.*.out"
    fi
  fi

  if [ "$bolt_s" != NA ]; then
    printf 'ratios vs BOLT-LMM-inf whole run: scan %.1fx faster, whole run %.2fx\n' "$(echo "$bolt_s / $scan" | bc -l)" \
      "$(echo "$bolt_s / $whole" | bc -l)"
  fi
  if [ "$gemma_s" != NA ]; then
    printf 'ratios vs GEMMA: scan %.1fx faster, whole run %.1fx faster\n' "$(echo "$gemma_s / $scan" | bc -l)" \
      "$(echo "$gemma_s / $whole" | bc -l)"
  fi
done
echo "results: $results"
