# Sourced by the benchmark scripts: timing helpers.
#
# timed LOG CMD...: runs CMD with its output to LOG; sets WALL (seconds) and CPU (user+sys seconds of the
# command and its children; "?" without /usr/bin/time). load: the 1, 5 and 15 minute load averages.
timed() {
  local log="$1"; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "%e %U %S" -o "$log.time" "$@" > "$log" 2>&1 || { echo "$(basename "$0"): failed, see $log" >&2; return 1; }
    local user sys
    read -r WALL user sys < "$log.time"
    CPU=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }')
  else
    local t0; t0=$(date +%s.%N)
    "$@" > "$log" 2>&1 || { echo "$(basename "$0"): failed, see $log" >&2; return 1; }
    WALL=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }'); CPU="?"
  fi
}
load() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo "?"; }
