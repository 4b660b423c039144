#!/usr/bin/env bash
# Benchmark: the GLMM null fit of `lmmspark fit --family binomial` against R's lme4::glmer (Debian
# r-cran-lme4) on the same simulated grouping-factor logistic data,
#   logit P(y = 1) = −1 + 0.5 x + 0.3 s + b_g,  b_g ~ N(0, 0.8),  x ~ N(0, 1),  s ∈ {0, 1},
# fitted as `y ~ x + s + (1 | g)`.
#
#   scripts/bench-glmm.sh [--sizes "5000:500 50000:5000"] [--dir bench-out/glmm]
#
# For each RECORDS:GROUPS: simulate (seeded, python3), then time
#   - `lmmspark fit --glmm pql` (PQL, AI-REML on the working model, dispersion fixed at 1: the GMMAT/SAIGE
#     null fit) and `lmmspark fit --glmm laplace` (the estimator glmer computes), each as a command (JVM start
#     included) and its numerics alone, wall and CPU of the fitting thread (the "fitted in" line of the log);
#   - `Rscript` running glmer (Laplace, its defaults; R start and library(lme4) included) and glmer alone
#     (system.time, wall and CPU).
# Prints the wall and CPU times, the ratios (glmer / lmmspark: above 1 means faster than glmer) and the
# largest relative difference of the estimates (β and the variance of g) from glmer's: for PQL that is the
# difference between two estimators (PQL's variance is known to be lower than Laplace's), for Laplace it is
# agreement on one estimator.
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="5000:500 50000:5000"
dir="$home/bench-out/glmm"
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "usage: $0 [--sizes \"5000:500 50000:5000\"] [--dir DIR]" >&2; exit 2 ;;
  esac
done
command -v Rscript >/dev/null || { echo "Rscript not found: apt-get install r-cran-lme4" >&2; exit 2; }
Rscript -e 'suppressMessages(library(lme4))' >/dev/null 2>&1 || { echo "lme4 missing: apt-get install r-cran-lme4" >&2; exit 2; }
lmm="$home/scripts/lmmspark"
mkdir -p "$dir"
now() { date +%s.%N; }
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
printf '%-8s %-7s %-8s %9s %9s %9s %9s %9s %9s %7s %7s %7s %10s\n' records groups method ours_s ours_fit ours_cpu \
  glmer_s glmer_fit glmer_cpu ratio ratio_f ratio_c max_rel_diff
for size in $sizes; do
  n=${size%%:*}
  groups=${size##*:}
  d="$dir/n$n"
  mkdir -p "$d"
  python3 - "$n" "$groups" "$d/sim.csv" <<'EOF'
import math, random, sys
n, groups, path = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
rnd = random.Random(15)
per = n // groups
with open(path, "w") as f:
    f.write("g,x,s,y\n")
    for g in range(groups):
        b = rnd.gauss(0, math.sqrt(0.8))
        for k in range(per):
            x = rnd.gauss(0, 1)
            s = k % 2
            eta = -1 + 0.5 * x + 0.3 * s + b
            y = 1 if rnd.random() < 1 / (1 + math.exp(-eta)) else 0
            f.write("G%d,%.10g,%d,%d\n" % (g, x, s, y))
EOF
  cat > "$d/glmer.R" <<EOF
suppressMessages(library(lme4))
d <- read.csv("$d/sim.csv"); d\$g <- factor(d\$g)
st <- system.time(m <- glmer(y ~ x + s + (1 | g), data = d, family = binomial))
vc <- as.data.frame(VarCorr(m))
cat("glmer_seconds", st[["elapsed"]], "\n")
cat("glmer_cpu", st[["user.self"]] + st[["sys.self"]], "\n")
cat("estimates", formatC(c(fixef(m), vc\$vcov[1]), digits = 12, format = "g"), "\n")
EOF
  t0=$(now)
  Rscript "$d/glmer.R" > "$d/glmer.stdout" 2>&1
  t1=$(now)
  glmer=$(echo "$t1 - $t0" | bc)
  glmer_fit=$(awk '$1=="glmer_seconds"{print $2}' "$d/glmer.stdout")
  glmer_cpu=$(awk '$1=="glmer_cpu"{print $2}' "$d/glmer.stdout")
  for method in pql laplace; do
    t0=$(now)
    "$lmm" fit --data "$d/sim.csv" --formula 'y ~ x + s + (1 | g)' --family binomial --glmm "$method" \
      --out "$d/$method" --overwrite > "$d/$method.stdout" 2>&1
    t1=$(now)
    ours=$(echo "$t1 - $t0" | bc)
    ours_fit=$(grep -oE 'fitted in [0-9.]+ s' "$d/$method.log" | grep -oE '[0-9.]+')
    ours_cpu=$(grep -oE '\([0-9.]+ s CPU' "$d/$method.log" | grep -oE '[0-9.]+')
    diff=$(python3 - "$d/$method.json" "$d/glmer.stdout" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
ours = [e["estimate"] for e in f["fixed"]] + [f["random"][0]["value"]]
theirs = [float(x) for x in open(sys.argv[2]).read().split("estimates")[1].split()]
print("%.2e" % max(abs(a - b) / abs(b) for a, b in zip(ours, theirs)))
EOF
)
    printf '%-8s %-7s %-8s %9.2f %9.3f %9.3f %9.2f %9.3f %9.3f %7.2f %7.2f %7.2f %10s\n' "$n" "$groups" "$method" \
      "$ours" "$ours_fit" "$ours_cpu" "$glmer" "$glmer_fit" "$glmer_cpu" "$(echo "$glmer / $ours" | bc -l)" \
      "$(echo "$glmer_fit / $ours_fit" | bc -l)" "$(echo "$glmer_cpu / $ours_cpu" | bc -l)" "$diff"
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "(ours_s: lmmspark fit, JVM start included; ours_fit / ours_cpu: model frame + GLMM fit, wall / CPU of the fitting"
echo " thread; glmer_s: Rscript with library(lme4) and read.csv; glmer_fit / glmer_cpu: glmer() alone, wall / CPU;"
echo " ratios = glmer / ours, above 1 = faster than glmer; max_rel_diff over beta and the variance of g, against glmer's"
echo " Laplace estimates: PQL is another estimator, Laplace the same one)"
