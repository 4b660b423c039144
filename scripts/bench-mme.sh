#!/usr/bin/env bash
# Benchmark: the pedigreemm-milk animal model (3,397 lactations of 1,359 cows, 57 herds, a 6,547-animal
# pedigree; ../shared/refdata/pedigreemm-milk) by `lmmspark reml` on the sparse mixed-model equations
# (--solver sparse) and on the dense route (--solver dense: Cholesky of the 3,397 x 3,397 V per
# iteration), same model and starting values:
#
#   sdMilk ~ lact + log(dim) + (1 | id: pedigree A) + (1 | herd)      (pedigreemm / lme4)
#
#   scripts/bench-mme.sh [--refdata DIR] [--dir bench-out/mme] [--routes "sparse dense"]
#
# Prints per route: the fit as the solver logs it (wall seconds), the whole command (JVM start, reading
# and writing included) as wall and user CPU seconds, the variances and logL. On a shared machine wall
# times follow the load; the user CPU column is the steadier figure.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
refdata="$home/../shared/refdata"
dir="$home/bench-out/mme"
routes="sparse dense"
while [ $# -gt 0 ]; do
  case "$1" in
    --refdata) refdata="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --routes) routes="$2"; shift 2 ;;
    *) echo "usage: $0 [--refdata DIR] [--dir DIR] [--routes \"sparse dense\"]" >&2; exit 2 ;;
  esac
done
milk="$refdata/pedigreemm-milk"
[ -f "$milk/milk.csv" ] || { echo "reference case pedigreemm-milk not found under $refdata" >&2; exit 2; }
mkdir -p "$dir"
# One line per lactation: FID IID sdMilk lact logdim herd, milk scaled by its SD as in EXPECTED.md.
awk -F, 'NR > 1 { printf "cow %s %.17g %s %.17g %s\n", $1, $6 / 4472.22435638118, $2, log($5), $3 }
         BEGIN { print "FID IID sdMilk lact logdim herd" }' "$milk/milk.csv" > "$dir/milk.txt"
printf '%-7s %10s %10s %10s %10s %10s %10s %11s\n' route fit_s wall_s user_s 'V(A)' 'V(herd)' 'V(e)' logL
for route in $routes; do
  out="$dir/$route"
  /usr/bin/time -f '%e %U' -o "$out.time" "$home/scripts/lmmspark" reml --pedigree "$milk/pedCowsR.csv" \
      --pheno "$dir/milk.txt" --pheno-name sdMilk --repeated-records --qcovar-names lact,logdim --group herd \
      --solver "$route" --out "$out" --overwrite > "$out.stdout" 2>&1
  fit=$(grep -oE '^solver [a-z-]+: .*\(([0-9.]+) s\)$' "$out.log" | grep -oE '[0-9.]+ s\)$' | tr -d ' s)')
  read -r wall user < "$out.time"
  printf '%-7s %10s %10s %10s %10s %10s %10s %11s\n' "$route" "$fit" "$wall" "$user" \
      "$(awk '$1=="V(A)"{print $2}' "$out.hsq")" "$(awk '$1=="V(herd)"{print $2}' "$out.hsq")" \
      "$(awk '$1=="V(e)"{print $2}' "$out.hsq")" "$(awk '$1=="logL"{print $2}' "$out.hsq")"
done
echo "pedigreemm 0.3-5 (EXPECTED.md): V(A) 0.278035, V(herd) 0.207845, V(e) 0.483251"
