#!/usr/bin/env bash
# spark-submit for lmmspark without a Spark installation: runs Spark's own SparkSubmit from the
# build's Spark jars with the thin jar jobs/target/lmmspark.jar, in client mode (the driver runs here).
#
#   scripts/spark-submit.sh [spark-submit options] <lmmspark command> [command options]
#   e.g. scripts/spark-submit.sh --master spark://127.0.0.1:7077 grm --bfile sample-data/sim --out out/sim
#
# Spark-submit options (--master, --conf k=v, --executor-memory, --properties-file, ...) go before
# the command; the wrapper adds --class org.lmmspark.jobs.cli.Lmmspark and the jar. Without
# --properties-file it uses conf/spark-defaults.conf. Where Spark is installed, use
# $SPARK_HOME/bin/spark-submit with the same arguments plus
# --class org.lmmspark.jobs.cli.Lmmspark jobs/target/lmmspark.jar (see docs/cluster.md).
#
# Environment: LMMSPARK_DRIVER_MEMORY (driver heap; default --driver-memory, else spark.driver.memory
# of the properties file, else 4g), LMMSPARK_NO_BUILD=1 (never run Maven), SPARK_LOCAL_IP (default
# 127.0.0.1 for local[...] and spark://127.0.0.1 / localhost masters).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jar="$home/jobs/target/lmmspark.jar"
classpath_file="$home/jobs/target/embedded-classpath.txt"

if [ ! -f "$jar" ] || [ ! -f "$classpath_file" ]; then
  [ -z "${LMMSPARK_NO_BUILD:-}" ] || { echo "spark-submit.sh: $jar missing (run mvn -DskipTests package)" >&2; exit 1; }
  echo "spark-submit.sh: building (mvn -q -B -DskipTests package) ..." >&2
  (cd "$home" && mvn -q -B -DskipTests package) >&2
fi

# Split the arguments: spark-submit options first, then the lmmspark command and its options.
submit=()
master=""
props=""
driver_memory=""
while [ $# -gt 0 ]; do
  case "$1" in
    --verbose|-v|--supervise) submit+=("$1"); shift ;;
    --*=*)
      case "$1" in
        --master=*) master=${1#*=} ;;
        --properties-file=*) props=${1#*=} ;;
        --driver-memory=*) driver_memory=${1#*=} ;;
      esac
      submit+=("$1"); shift ;;
    --class) echo "spark-submit.sh: the wrapper sets --class org.lmmspark.jobs.cli.Lmmspark itself" >&2; exit 2 ;;
    --help|-h) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*)
      [ $# -ge 2 ] || { echo "spark-submit.sh: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --master) master=$2 ;;
        --properties-file) props=$2 ;;
        --driver-memory) driver_memory=$2 ;;
      esac
      submit+=("$1" "$2"); shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [spark-submit options] <lmmspark command> [options]   (e.g. grm --help)" >&2; exit 2; }
if [ -z "$props" ]; then
  props="$home/conf/spark-defaults.conf"
  submit+=(--properties-file "$props")
fi
[ -f "$props" ] || { echo "spark-submit.sh: properties file not found: $props" >&2; exit 2; }

# In client mode the driver is this JVM, so its heap is set here (as spark-submit's launcher does).
if [ -z "$driver_memory" ]; then
  driver_memory=${LMMSPARK_DRIVER_MEMORY:-$(awk '$1 == "spark.driver.memory" { print $2 }' "$props" | tail -n1)}
fi
driver_memory=${driver_memory:-4g}

case "$master" in
  local|local\[*|spark://127.0.0.1:*|spark://localhost:*)
    # A cluster on this machine: the driver binds and advertises loopback only.
    export SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}"
    export SPARK_LOCAL_HOSTNAME="${SPARK_LOCAL_HOSTNAME:-$SPARK_LOCAL_IP}" ;;
esac
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"

# Spark's jars without our code: lmmspark.jar carries that, exactly as under a real spark-submit.
cp=$(tr ':' '\n' < "$classpath_file" | grep -v -e 'lmmspark-engine' -e '/picocli-' -e '/jfreechart-' | paste -sd: -)
opens=$(tr '\n' ' ' < "$home/conf/java17-module-options")
# shellcheck disable=SC2086
exec java -Xmx"$driver_memory" $opens ${LMMSPARK_JAVA_OPTS:-} \
  -Dlmmspark.home="$home" -Dlog4j2.configurationFile="$home/conf/log4j2.properties" \
  -Djava.util.logging.config.file="$home/conf/jul-logging.properties" \
  -cp "$cp" org.apache.spark.deploy.SparkSubmit "${submit[@]}" \
  --class org.lmmspark.jobs.cli.Lmmspark "$jar" "$@"
