#!/usr/bin/env bash
# A real Spark standalone cluster on this machine: one master and one or more workers, each its own JVM,
# run from the Spark jars of the Maven build (no Spark distribution needed), bound to 127.0.0.1 only.
#
#   scripts/local-cluster.sh start [--workers W]
#                                      start master + W workers (default 1), wait until every worker is
#                                      registered, print the master URL (spark://127.0.0.1:PORT) on stdout
#   scripts/local-cluster.sh status    print the master URL and the alive workers; exit 1 if not running
#   scripts/local-cluster.sh stop      stop exactly the processes `start` started (and their executors)
#
# A standalone worker runs one executor per application (spark.executor.cores unset), so W workers give an
# application W executors, each a JVM of its own: `start --workers 2` on a 2-core machine is two 1-core
# executors, the smallest real scale-out (the pass's partials then cross JVMs, as between nodes).
#
# Then submit with scripts/spark-submit.sh --master "$(cat .cluster/master-url)" grm ...
#
# Everything lives under .cluster/ (gitignored): pids, logs, the worker's work directory (executor
# logs: .cluster/work/app-*/*/stderr) and a throw-away SPARK_HOME whose jars/ links the build's
# Spark jars (the worker builds executor command lines from $SPARK_HOME/jars/*).
#
# Environment: LMMSPARK_CLUSTER_DIR (default <project>/.cluster), LMMSPARK_CLUSTER_WORKERS (W, default 1;
# --workers overrides), LMMSPARK_CLUSTER_CORES (cores per worker, default the machine's cores / W, at
# least 1), LMMSPARK_CLUSTER_MEMORY (memory per worker for its executor, default 4g),
# LMMSPARK_CLUSTER_PORT / _UI_PORT / _WORKER_UI_PORT (default 0: a free port chosen by the JVM),
# LMMSPARK_CLUSTER_TIMEOUT (seconds to wait for each start-up step, default 120; a JVM start takes
# 5-10 s on an idle 2-core machine, much longer on a busy one).
set -euo pipefail
home=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
dir=${LMMSPARK_CLUSTER_DIR:-$home/.cluster}
jar="$home/jobs/target/lmmspark.jar"
classpath_file="$home/jobs/target/embedded-classpath.txt"
timeout=${LMMSPARK_CLUSTER_TIMEOUT:-120}

say() { echo "local-cluster: $*" >&2; }
die() { say "error: $*"; exit 1; }

# The pid in $dir/NAME.pid if that process is still alive and is the JVM we started (main class
# MAIN and our cluster dir on its command line), so a recycled pid is never signalled.
live_pid() {
  local name=$1 main=$2 pid cmd
  [ -f "$dir/$name.pid" ] || return 1
  pid=$(cat "$dir/$name.pid")
  [ -r "/proc/$pid/cmdline" ] || return 1
  cmd=$(tr '\0' ' ' < "/proc/$pid/cmdline")
  [[ $cmd == *"$main"* && $cmd == *"-Dlmmspark.cluster.dir=$dir "* ]] || return 1
  echo "$pid"
}

master_main=org.apache.spark.deploy.master.Master
worker_main=org.apache.spark.deploy.worker.Worker

# Waits until FILE contains a line matching REGEX while process PID lives; prints the line.
wait_for_log() {
  local file=$1 regex=$2 pid=$3 what=$4 deadline=$((SECONDS + timeout)) line
  while [ $SECONDS -lt $deadline ]; do
    if line=$(grep -E -m1 "$regex" "$file" 2>/dev/null); then
      echo "$line"
      return 0
    fi
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$file" >&2; die "$what exited during start-up (log: $file)"; }
    sleep 0.3
  done
  tail -n 20 "$file" >&2
  die "$what not up after ${timeout}s (log: $file); stopping what was started"
}

# Stops one daemon: SIGTERM to its process group (the JVM and the executors a worker launched),
# then SIGKILL after 15 s. Each daemon was started with setsid, so its group id is its pid.
stop_one() {
  local name=$1 main=$2 pid i
  if pid=$(live_pid "$name" "$main"); then
    say "stopping $name (pid $pid)"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
      kill -0 -- "-$pid" 2>/dev/null || break
      sleep 0.3
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      say "$name did not stop after 15 s: SIGKILL to process group $pid"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$dir/$name.pid"
}

# Pid-file names of the workers `start` recorded: worker (the first), worker-2, worker-3, ...
worker_names() {
  local f
  for f in "$dir"/worker.pid "$dir"/worker-*.pid; do
    [ -f "$f" ] && basename "$f" .pid
  done
  return 0
}

stop() {
  local w
  for w in $(worker_names); do
    stop_one "$w" "$worker_main"
  done
  stop_one master "$master_main"
  rm -f "$dir/master-url" "$dir/master-ui-url"
}

status() {
  local mpid wpid url
  mpid=$(live_pid master "$master_main") || { say "not running"; return 1; }
  url=$(cat "$dir/master-url")
  echo "$url"
  say "master pid $mpid at $url, UI $(cat "$dir/master-ui-url" 2>/dev/null)"
  local w names
  names=$(worker_names)
  [ -n "$names" ] || { say "no worker started"; return 1; }
  for w in $names; do
    if wpid=$(live_pid "$w" "$worker_main"); then
      say "$w pid $wpid"
    else
      say "$w not running"
      return 1
    fi
  done
  if command -v curl > /dev/null && [ -f "$dir/master-ui-url" ]; then
    say "master UI reports $(curl -s --max-time 5 "$(cat "$dir/master-ui-url")/json/" \
      | grep -o '"aliveworkers" *: *[0-9]*' | tr -d '" ')"
  fi
}

start() {
  local workers=${LMMSPARK_CLUSTER_WORKERS:-1} w
  while [ $# -gt 0 ]; do
    case "$1" in
      --workers) [ $# -ge 2 ] || die "--workers needs a value"; workers=$2; shift 2 ;;
      *) die "unknown start option $1 (start [--workers W])" ;;
    esac
  done
  [[ $workers =~ ^[1-9][0-9]*$ ]] || die "--workers must be a positive integer, got '$workers'"
  local cores=${LMMSPARK_CLUSTER_CORES:-$(( $(nproc) / workers > 0 ? $(nproc) / workers : 1 ))}
  local memory=${LMMSPARK_CLUSTER_MEMORY:-4g}
  if live_pid master "$master_main" > /dev/null; then
    die "already running (scripts/local-cluster.sh status / stop)"
  fi
  for w in $(worker_names); do
    live_pid "$w" "$worker_main" > /dev/null && die "already running (scripts/local-cluster.sh status / stop)"
    rm -f "$dir/$w.pid"
  done
  if [ ! -f "$jar" ] || [ ! -f "$classpath_file" ]; then
    say "building (mvn -q -B -DskipTests package) ..."
    (cd "$home" && mvn -q -B -DskipTests package) >&2
  fi
  command -v setsid > /dev/null || die "setsid (util-linux) is needed"
  mkdir -p "$dir/logs" "$dir/work"

  # A throw-away SPARK_HOME: jars/ holds what a Spark distribution would, i.e. the build's classpath
  # without our own code (lmmspark.jar carries that, as under a real spark-submit).
  local spark_home="$dir/spark-home" entry
  rm -rf "$spark_home"
  mkdir -p "$spark_home/jars" "$spark_home/conf"
  tr ":" "\n" < "$classpath_file" | while read -r entry || [ -n "$entry" ]; do
    case "$entry" in
      *lmmspark-engine*|*/picocli-*|*/jfreechart-*|"") ;;
      *.jar) ln -sf "$entry" "$spark_home/jars/$(basename "$entry")" ;;
    esac
  done
  cp "$home/conf/log4j2.properties" "$spark_home/conf/log4j2.properties"
  cat > "$spark_home/conf/log4j2-daemon.properties" <<'EOF'
# Master and worker log at INFO (start-up waits on their messages).
rootLogger.level = info
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %-5p %c{1}: %m%n
EOF

  export SPARK_HOME="$spark_home"
  export SPARK_SCALA_VERSION=2.13
  # Master, worker, executors and their UIs bind the loopback interface only.
  export SPARK_LOCAL_IP=127.0.0.1
  export SPARK_LOCAL_HOSTNAME=127.0.0.1
  export OPENBLAS_NUM_THREADS=1
  local opens cp
  opens=$(tr '\n' ' ' < "$home/conf/java17-module-options")
  cp="$spark_home/conf:$spark_home/jars/*"
  local jvm=(java -Xmx512m $opens -Dlmmspark.cluster.dir="$dir" -Dlog4j2.configurationFile="$spark_home/conf/log4j2-daemon.properties")

  : > "$dir/logs/master.log"
  # No REST submission server (its fixed port 6066 would clash between clusters; we submit over RPC).
  setsid "${jvm[@]}" -Dspark.master.rest.enabled=false -cp "$cp" "$master_main" --host 127.0.0.1 \
    --port "${LMMSPARK_CLUSTER_PORT:-0}" --webui-port "${LMMSPARK_CLUSTER_UI_PORT:-0}" \
    > "$dir/logs/master.log" 2>&1 < /dev/null &
  echo $! > "$dir/master.pid"
  local mpid=$!
  local line url ui
  line=$(wait_for_log "$dir/logs/master.log" 'Starting Spark master at spark://' "$mpid" master) || { stop; exit 1; }
  url=$(grep -oE 'spark://[0-9.]+:[0-9]+' <<< "$line")
  line=$(wait_for_log "$dir/logs/master.log" 'started at http://' "$mpid" "master UI") || { stop; exit 1; }
  ui=$(grep -oE 'http://[^ ,]+' <<< "$line" | head -n1)
  wait_for_log "$dir/logs/master.log" 'New state: ALIVE' "$mpid" master > /dev/null || { stop; exit 1; }
  echo "$url" > "$dir/master-url"
  echo "$ui" > "$dir/master-ui-url"
  say "master $url (pid $mpid, UI $ui)"

  # Each worker its own JVM and log; they share the work directory (executor ids are unique per application).
  local i name wpid
  for i in $(seq 1 "$workers"); do
    name=worker
    [ "$i" -eq 1 ] || name=worker-$i
    : > "$dir/logs/$name.log"
    setsid "${jvm[@]}" -cp "$cp" "$worker_main" "$url" --host 127.0.0.1 \
      --cores "$cores" --memory "$memory" \
      --webui-port "${LMMSPARK_CLUSTER_WORKER_UI_PORT:-0}" --work-dir "$dir/work" \
      > "$dir/logs/$name.log" 2>&1 < /dev/null &
    echo $! > "$dir/$name.pid"
    wpid=$!
    wait_for_log "$dir/logs/$name.log" 'Successfully registered with master' "$wpid" "$name" > /dev/null || { stop; exit 1; }
    say "$name registered (pid $wpid, $cores core(s), $memory)"
  done
  wait_for_log "$dir/logs/master.log" 'Registering worker' "$mpid" "worker registration" > /dev/null || { stop; exit 1; }
  say "$workers worker(s) registered; logs in $dir/logs"
  echo "$url"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start [--workers W]|stop|status" >&2; exit 2 ;;
esac
