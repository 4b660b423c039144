#!/usr/bin/env bash
# PCA benchmark (issue 14 point 6): `lmmspark pca --approx` against `plink2 --pca approx`, and the exact
# route against `plink2 --pca`, on the same simulated files. A benchmark, not a test: it prints figures.
#
#   scripts/bench-pca.sh [--size 20000x100000] [--small 2000x20000] [--pcs K] [--ld-rho R] [--threads T]
#                        [--out DIR] [--skip-big] [--skip-small]
#
# Data: `lmmspark simulate --ld-rho R` (default 0.5: LD along the chromosomes; 3 populations, families;
# seed 1) into DIR/sim_NxM/, reused when present. Big size: randomized routes, lmmspark pca --approx then
# plink2 --pca K approx. Small size: exact routes, lmmspark pca --exact then plink2 --pca K. plink2 runs
# with --nonfounders (allele frequencies over all samples, as lmmspark; its default uses founders only
# when the .fam lists parents) and --threads T. Prints wall and CPU (user+sys) times, the load average,
# and the agreement of the two tools: eigenvalue relative differences and |corr| of each PC pair.
# plink2 comes from Debian (`apt-get install plink2`). On a shared machine wall times are noisy: compare
# CPU times too.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
size="20000x100000"
small="2000x20000"
pcs=10
rho=0.5
threads=2
out="$home/bench-out"
big=1
smallrun=1
while [ $# -gt 0 ]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --small) small="$2"; shift 2 ;;
    --pcs) pcs="$2"; shift 2 ;;
    --ld-rho) rho="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-big) big=0; shift ;;
    --skip-small) smallrun=0; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-pca: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v plink2 >/dev/null || { echo "bench-pca: plink2 not found (apt-get install plink2)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
lmmspark="$home/scripts/lmmspark"
mkdir -p "$out"
"$lmmspark" --version > /dev/null   # builds the jar first if sources changed, so no build is timed
# shellcheck source=bench-timing.sh
. "$home/scripts/bench-timing.sh"

simulate() {
  local n="$1" m="$2" dir="$out/sim_${1}x${2}_ld${rho}"
  if [ ! -f "$dir/sim.bed" ]; then
    echo "simulating N=$n x M=$m with --ld-rho $rho into $dir ..." >&2
    "$lmmspark" simulate --out "$dir/sim" --samples "$n" --variants "$m" --ld-rho "$rho" --seed 1 --threads "$threads" >&2
  fi
  echo "$dir/sim"
}

# agree OURS PLINK: eigenvalue relative differences and |corr| per PC (samples matched by ID).
agree() {
  python3 - "$1" "$2" <<'PY'
import sys
import numpy as np
ours, theirs = sys.argv[1], sys.argv[2]
def vec(p):
    rows = [l.split() for l in open(p + ".eigenvec") if not l.startswith("#")]
    return {(r[0], r[1]): np.array([float(x) for x in r[2:]]) for r in rows}
a, b = vec(ours), vec(theirs)
keys = sorted(a)
A = np.array([a[k] for k in keys]); B = np.array([b[k] for k in keys])
la = np.loadtxt(ours + ".eigenval"); lb = np.loadtxt(theirs + ".eigenval")
rel = (la - lb) / lb
corr = [abs(np.corrcoef(A[:, j], B[:, j])[0, 1]) for j in range(A.shape[1])]
print("  eigenvalues lmmspark:", " ".join("%.5g" % x for x in la))
print("  eigenvalues plink2:  ", " ".join("%.5g" % x for x in lb))
print("  eigenvalue rel. diff: max %.2g (per PC: %s)" % (np.max(np.abs(rel)), " ".join("%.1e" % x for x in rel)))
print("  |corr| per PC: min %.6f (%s)" % (min(corr), " ".join("%.6f" % x for x in corr)))
PY
}

run_pair() {
  local label="$1" prefix="$2" ourflag="$3" plinkmod="$4" dir
  dir=$(dirname "$prefix")
  echo "== $label: $(basename "$dir") =="
  echo "  load before: $(load)"
  timed "$dir/lmmspark_pca_$label.log" "$lmmspark" pca --bfile "$prefix" --pcs "$pcs" $ourflag --out "$dir/lmmspark_$label" --overwrite
  echo "  lmmspark pca $ourflag: wall ${WALL} s, CPU ${CPU} s (load after: $(load))"
  grep -E "route:|eigenvalues" "$dir/lmmspark_$label.log" | sed 's/^/    /'
  timed "$dir/plink2_pca_$label.log" plink2 --bfile "$prefix" --pca "$pcs" $plinkmod --nonfounders --threads "$threads" \
    --seed 1 --out "$dir/plink2_$label"
  echo "  plink2 --pca $pcs $plinkmod: wall ${WALL} s, CPU ${CPU} s (load after: $(load))"
  agree "$dir/lmmspark_$label" "$dir/plink2_$label"
}

if [ $smallrun = 1 ]; then
  prefix=$(simulate "${small%x*}" "${small#*x}")
  run_pair exact "$prefix" --exact ""
fi
if [ $big = 1 ]; then
  prefix=$(simulate "${size%x*}" "${size#*x}")
  run_pair approx "$prefix" --approx approx
fi
