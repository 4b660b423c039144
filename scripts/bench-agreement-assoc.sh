#!/usr/bin/env bash
# Agreement of the GRM-free (matrix-free) association with the exact LOCO MLMA (issue 6 point 4):
# simulate N x M genotypes (`lmmspark simulate`: 3 populations, Fst 0.05, N/20 families, h2 0.5), then on the
# same data and covariates (the simulator's qcovar: age, pc1, pc2), trait y_quant, with LOCO:
#   (mf)    lmmspark assoc --solver matrix-free --loco       (no GRM: REML, LOCO residuals and gamma by CG,
#                                                             calibrated test, genotypes read once)
#   (exact) lmmspark assoc --solver spectral --test exact --loco   (GRM + per-chromosome parts, spectral REML per
#                                                             chromosome, exact MLMA by rotation)
#   (reml)  lmmspark reml --grm (the GRM the exact run wrote)      (whole-genome spectral REML h2)
# and prints the correlation of the chi2 over the common variants (target > 0.999), the largest relative chi2
# difference, the h2 of both fits and their difference, lambda GC of both, and the wall times.
#
#   scripts/bench-agreement-assoc.sh [--samples 5000] [--variants 20000] [--work DIR]
#
# Environment: MASTER (default local[2]), MF_DRIVER_MEMORY (default 4g: the matrix-free target),
# EXACT_DRIVER_MEMORY (default 10g).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=5000
m=20000
work=/tmp/lmmspark-bench-agreement
while [ $# -gt 0 ]; do
  case "$1" in
    --samples) n=$2; shift 2 ;;
    --variants) m=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h|--help) sed -n 2,17p "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
master=${MASTER:-local[2]}
export OPENBLAS_NUM_THREADS=1
mkdir -p "$work"
prefix="$work/sim-$n-$m"
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

if [ ! -f "$prefix.bed" ]; then
  "$home/scripts/lmmspark" simulate --out "$prefix" --samples "$n" --variants "$m" --seed 7 --threads 2 > /dev/null
fi
common=(--bfile "$prefix" --pheno "$prefix.pheno" --pheno-name y_quant --qcovar "$prefix.qcovar" --loco
  --master "$master" --overwrite)

t0=$(now)
LMMSPARK_DRIVER_MEMORY=${MF_DRIVER_MEMORY:-4g} "$home/scripts/lmmspark" assoc "${common[@]}" --solver matrix-free \
  --out "$prefix.mf" > "$prefix.mf.out" 2>&1
mf_wall=$(secs "$t0" "$(now)")
echo "(mf) matrix-free LOCO: $(printf '%.1f' "$mf_wall") s wall (driver heap ${MF_DRIVER_MEMORY:-4g})"
grep -E "stage |whole-genome REML|pooled|across" "$prefix.mf.out" | sed 's/^/    /'

t0=$(now)
LMMSPARK_DRIVER_MEMORY=${EXACT_DRIVER_MEMORY:-10g} "$home/scripts/lmmspark" assoc "${common[@]}" --solver spectral \
  --test exact --out "$prefix.exact" > "$prefix.exact.out" 2>&1
exact_wall=$(secs "$t0" "$(now)")
echo "(exact) spectral exact LOCO MLMA: $(printf '%.1f' "$exact_wall") s wall"

"$home/scripts/lmmspark" reml --grm "$prefix.exact" --pheno "$prefix.pheno" --pheno-name y_quant \
  --qcovar "$prefix.qcovar" --solver spectral --out "$prefix.reml" --overwrite > "$prefix.reml.out" 2>&1

"$home/scripts/chi2-agreement.py" "$prefix.exact.assoc.tsv.gz" "$prefix.mf.assoc.tsv.gz" \
  --names exact-MLMA matrix-free
echo "(target: chi2 correlation > 0.999)"
python3 - "$prefix.mf.out" "$prefix.reml.hsq" <<'PY'
import re, sys
h2m = re.search(r'h2 = ([0-9.]+) \((?:AI )?SE ([0-9.]+)\)', open(sys.argv[1]).read())
h2mf, semf = float(h2m.group(1)), float(h2m.group(2))
m = re.search(r'V\(G\)/Vp\s+([0-9.]+)\s+([0-9.]+)', open(sys.argv[2]).read())
h2ex, seex = float(m.group(1)), float(m.group(2))
print(f"h2: matrix-free {h2mf:.4f} (SE {semf:.4f}), spectral REML {h2ex:.4f} (SE {seex:.4f}); difference "
      f"{h2mf - h2ex:+.4f} ({abs(h2mf - h2ex) / seex:.2f} SE)")
PY
