#!/usr/bin/env bash
# Benchmark: `lmmspark fit` against R's lme4::lmer (Debian r-cran-lme4) on the same simulated
# longitudinal data with a correlated random intercept and slope,
#   y = 10 + 2 t + a_s + b_s t + e,  (a, b) ~ N(0, [[4, 0.5], [0.5, 1]]),  e ~ N(0, 2),  t = 0..9,
# fitted as `y ~ t + (t | s)` by REML.
#
#   scripts/bench-fit.sh [--sizes "5000:500 50000:5000"] [--dir bench-out/fit] [--solver auto|sparse|dense] [--drop F]
#
# For each RECORDS:SUBJECTS: simulate (seeded, python3), then time
#   - `lmmspark fit` as a command (JVM start included) and its numerics alone, wall and CPU (the "fitted in" line
#     of its log: model frame, optimizer, cAIC, BLUPs);
#   - `Rscript` running lmer (R start and library(lme4) included) and lmer alone (system.time).
# --drop F leaves out each record with probability F (seeded): unbalanced data, subjects with different days,
# where fit's start (per-subject least squares) is no longer the optimum as it is on the balanced default.
# `fit --solver auto` takes the sparse mixed-model equations here (one grouping factor); `--solver dense`
# times the blocks-of-V route instead. The load average is printed with each row: on a shared machine
# wall times follow the load, CPU times less so. fit puts independent work on a second thread when the driver
# has two threads or more by the settings (Blas.driverThreads: -Dlmmspark.driver.threads, else spark.driver.cores,
# else the cores the JVM sees; not the load of the moment), its CPU in ours_cpu; to time one way or the other:
# LMMSPARK_JAVA_OPTS=-Dlmmspark.fit.threads=1 (or =2) scripts/bench-fit.sh.
# Prints the wall times, the ratios (lmer / lmmspark: above 1 means faster than lmer) and the largest
# relative difference between the two sets of estimates (β, Σ entries, σ², REML criterion).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sizes="5000:500 50000:5000"
dir="$home/bench-out/fit"
solver=auto
drop=0
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    --solver) solver="$2"; shift 2 ;;
    --drop) drop="$2"; shift 2 ;;
    *) echo "usage: $0 [--sizes \"5000:500 50000:5000\"] [--dir DIR] [--solver auto|sparse|dense] [--drop F]" >&2; exit 2 ;;
  esac
done
command -v Rscript >/dev/null || { echo "Rscript not found: apt-get install r-cran-lme4" >&2; exit 2; }
Rscript -e 'suppressMessages(library(lme4))' >/dev/null 2>&1 || { echo "lme4 missing: apt-get install r-cran-lme4" >&2; exit 2; }
lmm="$home/scripts/lmmspark"
mkdir -p "$dir"
now() { date +%s.%N; }
printf '%-8s %-8s %9s %9s %9s %9s %9s %9s %9s %7s %7s %7s %7s %10s\n' records subjects ours_s ours_fit ours_cpu cpu_nocaic lmer_s lmer_fit lmer_cpu ratio ratio_f ratio_c ratio_n max_rel_diff
for size in $sizes; do
  n=${size%%:*}
  subjects=${size##*:}
  d="$dir/n$n"
  [ "$drop" = 0 ] || d="$d-drop$drop"
  mkdir -p "$d"
  python3 - "$n" "$subjects" "$d/sim.csv" "$drop" <<'EOF'
import math, random, sys
n, subjects, path, drop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
rnd = random.Random(12)
keep = random.Random(13)
per = n // subjects
with open(path, "w") as f:
    f.write("s,t,y\n")
    for s in range(subjects):
        a = rnd.gauss(0, 2)
        b = 0.25 * a + math.sqrt(1 - 0.0625 * 4) * rnd.gauss(0, 1)
        for k in range(per):
            t = k % 10
            y = 10 + 2 * t + a + b * t + rnd.gauss(0, math.sqrt(2))
            if keep.random() < drop:
                continue
            f.write("S%d,%d,%.10g\n" % (s, t, y))
EOF
  rm -f "$d"/ours.*   # a rerun replaces the previous outputs (fit refuses to overwrite without --overwrite)
  t0=$(now)
  echo "load average before n = $n: $(cut -d' ' -f1-3 /proc/loadavg)"
  "$lmm" fit --data "$d/sim.csv" --formula 'y ~ t + (t | s)' --solver "$solver" --out "$d/ours" > "$d/ours.stdout" 2>&1
  grep -m1 'route:' "$d/ours.log" | sed 's/^/  /' || true
  t1=$(now)
  ours=$(echo "$t1 - $t0" | bc)
  ours_fit=$(grep -oE 'fitted in [0-9.]+ s' "$d/ours.log" | grep -oE '[0-9.]+')
  ours_cpu=$(grep -oE '\([0-9.]+ s CPU' "$d/ours.log" | grep -oE '[0-9.]+')
  caic_cpu=$(grep -oE 'of which cAIC [0-9.]+ s CPU' "$d/ours.log" | grep -oE '[0-9.]+')
  # Like for like with lmer(), which computes no conditional AIC: the fitting thread's CPU without the cAIC's.
  ours_nocaic=$(echo "$ours_cpu - $caic_cpu" | bc -l)
  cat > "$d/lmer.R" <<EOF
suppressMessages(library(lme4))
d <- read.csv("$d/sim.csv"); d\$s <- factor(d\$s)
st <- system.time(m <- lmer(y ~ t + (t | s), data = d, REML = TRUE))
tm <- st[["elapsed"]]
vc <- as.data.frame(VarCorr(m))
out <- c(fixef(m), vc\$vcov[1], vc\$vcov[3], vc\$vcov[2], vc\$vcov[4], REMLcrit(m))
cat("lmer_seconds", tm, "\n")
cat("lmer_cpu", st[["user.self"]] + st[["sys.self"]], "\n")
cat("estimates", formatC(out, digits = 12, format = "g"), "\n")
EOF
  t0=$(now)
  Rscript "$d/lmer.R" > "$d/lmer.stdout" 2>&1
  t1=$(now)
  lmer=$(echo "$t1 - $t0" | bc)
  lmer_fit=$(awk '$1=="lmer_seconds"{print $2}' "$d/lmer.stdout")
  lmer_cpu=$(awk '$1=="lmer_cpu"{print $2}' "$d/lmer.stdout")
  diff=$(python3 - "$d/ours.json" "$d/lmer.stdout" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
ours = [e["estimate"] for e in f["fixed_effects"]] + [p["estimate"] for p in f["variance_parameters"]] + [f["reml_criterion"]]
theirs = [float(x) for x in open(sys.argv[2]).read().split("estimates")[1].split()]
print("%.2e" % max(abs(a - b) / abs(b) for a, b in zip(ours, theirs)))
EOF
)
  printf '%-8s %-8s %9.2f %9.3f %9.3f %9.3f %9.2f %9.3f %9.3f %7.2f %7.2f %7.2f %7.2f %10s\n' "$n" "$subjects" "$ours" \
    "$ours_fit" "$ours_cpu" "$ours_nocaic" "$lmer" "$lmer_fit" "$lmer_cpu" "$(echo "$lmer / $ours" | bc -l)" \
    "$(echo "$lmer_fit / $ours_fit" | bc -l)" "$(echo "$lmer_cpu / $ours_cpu" | bc -l)" \
    "$(echo "$lmer_cpu / $ours_nocaic" | bc -l)" "$diff"
done
echo "(ours_s: lmmspark fit, JVM start included; ours_fit / ours_cpu: model frame + fit + cAIC + BLUPs, wall / CPU of"
echo " the fitting thread; cpu_nocaic: ours_cpu without the conditional AIC's CPU (lmer computes none), ratio_n its ratio;"
echo " lmer_s: Rscript with library(lme4) and read.csv; lmer_fit / lmer_cpu: lmer() alone, wall / CPU;"
echo " ratios = lmer / ours, above 1 = faster than lmer; max_rel_diff over beta, Sigma (var, cov, var), sigma^2, REML criterion)"
