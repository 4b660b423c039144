#!/usr/bin/env bash
# Genotype formats benchmark (issue 13 point 7): lmmspark grm and assoc on the same genotypes as .bed,
# as BGEN (8-bit, zstd: plink2 --export bgen-1.3 bits=8), as bgzipped VCF (plink2 --export vcf bgz) and,
# when bcftools is installed, as BCF 2.2 (bcftools view -Ob of that VCF, bcftools index), and plink2 --make-grm-bin reading the same BGEN. A benchmark, not a test: it prints figures.
#
#   scripts/bench-formats.sh [--n N] [--m M] [--threads T] [--out DIR] [--skip-vcf]
#
# Defaults N = 5000, M = 100000 (the issue's size). Simulates N x M with `lmmspark simulate` (seed 1)
# into DIR/sim_NxM/ (reused when present), writes the BGEN and VCF copies with plink2, then times
#   lmmspark grm   --bfile | --bgen --sample | --vcf X.vcf.gz | --vcf X.bcf   (the whole GRM, GCTA definition)
#   lmmspark assoc --bfile | --bgen --sample | --vcf --grm G  (the test pass over the genotypes; the null
#                                                             model from the .bed GRM G -- for the VCF its own
#                                                             GRM, whose sample IDs are the VCF's, with
#                                                             --iid-only -- so that only the reading and
#                                                             decoding differ)
#   plink2 --bgen X.bgen ref-first --sample X.sample --make-grm-bin --threads T
# and prints wall and CPU seconds per format, the ratio BGEN / .bed, the ratio lmmspark / plink2 on the
# BGEN, and the largest GRM difference between formats (the same genotypes: float rounding only).
# plink2 is the Debian package plink2 (apt-get install plink2). On a shared machine wall times are noisy:
# CPU times and the load average are printed beside them.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=5000
m=100000
threads=2
vcf=1
out="$home/bench-out"
while [ $# -gt 0 ]; do
  case "$1" in
    --n) n="$2"; shift 2 ;;
    --m) m="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --skip-vcf) vcf=0; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-formats: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
command -v plink2 >/dev/null || { echo "bench-formats: plink2 missing (Debian: apt-get install -y plink2)" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1
lmmspark="$home/scripts/lmmspark"
dir="$out/formats_${n}x${m}"
mkdir -p "$dir"
have_time=0; [ -x /usr/bin/time ] && have_time=1
timed() { # LOG CMD...: sets WALL and CPU (user+sys seconds)
  local log="$1"; shift
  if [ $have_time = 1 ]; then
    /usr/bin/time -f "%e %U %S" -o "$log.time" "$@" > "$log" 2>&1 || { echo "bench-formats: failed, see $log" >&2; return 1; }
    read -r WALL user sys < "$log.time"
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  else
    local t0; t0=$(date +%s.%N)
    "$@" > "$log" 2>&1 || { echo "bench-formats: failed, see $log" >&2; return 1; }
    WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'); CPU="?"
  fi
}
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }

sim="$dir/sim"
if [ ! -f "$sim.bed" ]; then
  echo "== simulating $n x $m into $sim"
  "$lmmspark" simulate --out "$sim" --samples "$n" --variants "$m" --seed 1 > "$dir/simulate.log"
fi
if [ ! -f "$sim.bgen" ]; then
  echo "== plink2 --export bgen-1.3 bits=8 (zstd) and vcf bgz"
  plink2 --bfile "$sim" --export bgen-1.3 bits=8 --threads "$threads" --out "$sim" > "$dir/export-bgen.log" 2>&1
fi
if [ $vcf = 1 ] && [ ! -f "$sim.vcf.gz" ]; then
  # Sample names = IIDs (a VCF has no FID): its runs key the tables by IID (--iid-only).
  plink2 --bfile "$sim" --export vcf bgz id-paste=iid --threads "$threads" --out "$sim" > "$dir/export-vcf.log" 2>&1
fi
if [ $vcf = 1 ] && [ ! -f "$sim.vcf.gz.tbi" ]; then
  # The tabix index plans the VCF's listing tasks; without it lmmspark lists the VCF in one task (and says so).
  if command -v tabix >/dev/null; then tabix -p vcf "$sim.vcf.gz"; else echo "   (no tabix: the VCF is listed in one task; Debian: apt-get install -y tabix)"; fi
fi
bcf=0
if [ $vcf = 1 ] && command -v bcftools >/dev/null; then
  bcf=1
  if [ ! -f "$sim.bcf.csi" ]; then
    echo "== bcftools view -Ob (BCF 2.2) and bcftools index"
    bcftools view --threads "$threads" -Ob -o "$sim.bcf" "$sim.vcf.gz" && bcftools index -f "$sim.bcf"
  fi
fi
files=("$sim.bed" "$sim.bgen"); [ $vcf = 1 ] && files+=("$sim.vcf.gz"); [ $bcf = 1 ] && files+=("$sim.bcf")
ls -l "${files[@]}" | awk '{ printf "   %s %.1f MB\n", $9, $5 / 1e6 }'

formats="bed bgen"; [ $vcf = 1 ] && formats="bed bgen vcf"; [ $bcf = 1 ] && formats="$formats bcf"
input() {
  case "$1" in
    bed) echo "--bfile $sim" ;;
    bgen) echo "--bgen $sim.bgen --sample $sim.sample" ;;
    vcf) echo "--vcf $sim.vcf.gz" ;;
    bcf) echo "--vcf $sim.bcf" ;;
  esac
}
declare -A grm_wall grm_cpu grm_decode assoc_wall assoc_cpu assoc_scan
for f in $formats; do
  echo "== lmmspark grm $(input "$f") (load $(load))"
  # shellcheck disable=SC2046
  timed "$dir/run-grm-$f.txt" "$lmmspark" grm $(input "$f") --out "$dir/grm-$f" --master "local[$threads]" --overwrite
  grm_wall[$f]=$WALL; grm_cpu[$f]=$CPU
  # The kernel's own split (summed over tasks): decoding vs BLAS, without JVM and Spark start-up.
  grm_decode[$f]=$(grep -m1 -o 'decode [0-9.]* s' "$dir/run-grm-$f.txt" | awk '{ print $2 }' || true)
  echo "   $WALL s wall, $CPU s CPU; $(grep -m1 -o 'BLAS [0-9.]* s.*decode [0-9.]* s' "$dir/run-grm-$f.txt" || true)"
done
for f in $formats; do
  grm="$dir/grm-bed"; ids=""
  [ "$f" = vcf ] || [ "$f" = bcf ] && { grm="$dir/grm-vcf"; ids="--iid-only"; }
  echo "== lmmspark assoc $(input "$f") --grm $grm $ids (load $(load))"
  # shellcheck disable=SC2046,SC2086
  timed "$dir/run-assoc-$f.txt" "$lmmspark" assoc $(input "$f") --grm "$grm" $ids --pheno "$sim.pheno" \
    --pheno-name y_quant --qcovar "$sim.qcovar" --out "$dir/assoc-$f" --master "local[$threads]" --overwrite
  assoc_wall[$f]=$WALL; assoc_cpu[$f]=$CPU
  assoc_scan[$f]=$(grep -m1 -o 'scan [0-9.]* s' "$dir/assoc-$f.log" | awk '{ print $2 }' || true)
  echo "   $WALL s wall, $CPU s CPU; test pass (scan) ${assoc_scan[$f]} s wall"
done
echo "== plink2 --bgen $sim.bgen ref-first --sample $sim.sample --make-grm-bin --threads $threads (load $(load))"
timed "$dir/run-plink2-grm.txt" plink2 --bgen "$sim.bgen" ref-first --sample "$sim.sample" --make-grm-bin \
  --threads "$threads" --out "$dir/plink2-bgen"
plink_wall=$WALL; plink_cpu=$CPU
echo "   $WALL s wall, $CPU s CPU"

# Largest |difference| between the GRMs of two formats (float32 lower triangles).
grmdiff() {
  python3 - "$1" "$2" <<'PY'
import sys, array
a = array.array('f'); b = array.array('f')
a.frombytes(open(sys.argv[1] + '.grm.bin', 'rb').read()); b.frombytes(open(sys.argv[2] + '.grm.bin', 'rb').read())
print('%.2g' % max(abs(x - y) for x, y in zip(a, b)) if len(a) == len(b) else 'sizes differ')
PY
}
echo
echo "== N = $n, M = $m, local[$threads]; $(nproc) cores, load $(load) (a shared machine: wall times are noisy)"
printf "%-6s %11s %10s %15s %13s %12s %14s %22s\n" format "grm wall s" "grm CPU s" "grm decode s(*)" "assoc wall s" "assoc CPU s" "test pass s(+)" "max |GRM - bed GRM|"
for f in $formats; do
  d="0"; [ "$f" != bed ] && d=$(grmdiff "$dir/grm-$f" "$dir/grm-bed")
  printf "%-6s %11s %10s %15s %13s %12s %14s %22s\n" "$f" "${grm_wall[$f]}" "${grm_cpu[$f]}" "${grm_decode[$f]:-?}" \
    "${assoc_wall[$f]}" "${assoc_cpu[$f]}" "${assoc_scan[$f]:-?}" "$d"
done
printf "%-6s %11s %10s\n" plink2 "$plink_wall" "$plink_cpu"
echo "(*) thread seconds in the GRM tasks' decoding, summed over tasks; (+) wall seconds of the association test pass"
awk -v a="${grm_wall[bgen]}" -v b="${grm_wall[bed]}" -v ac="${grm_cpu[bgen]}" -v bc="${grm_cpu[bed]}" \
  -v c="${assoc_wall[bgen]}" -v d="${assoc_wall[bed]}" -v cc="${assoc_cpu[bgen]}" -v dc="${assoc_cpu[bed]}" \
  -v p="$plink_wall" -v pc="$plink_cpu" \
  'BEGIN { printf "BGEN / .bed: grm %.2fx wall, %.2fx CPU; assoc %.2fx wall, %.2fx CPU (target <= 1.5x)\n", a / b, ac / bc, c / d, cc / dc;
           printf "lmmspark grm on BGEN / plink2 on BGEN: %.2fx wall, %.2fx CPU (target < 1)\n", a / p, ac / pc }'
echo "plink2 GRM vs lmmspark BGEN GRM: max |diff| $(grmdiff "$dir/plink2-bgen" "$dir/grm-bgen")"
