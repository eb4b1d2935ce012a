# shellcheck shell=bash
# Timing helpers shared by benches/run-replay.sh and benches/run-streams.sh (sourced; $R is the
# results folder). With PIN set (an array, e.g. PIN=(taskset -c 1)) every timed run is pinned.

# timed NAME CMD…: wall seconds and peak RSS (KB) of one whole process, stdout discarded.
timed() {
  local name="$1"; shift
  /usr/bin/time -o "$R/$name.time" -f "%e %M %U %S" ${PIN[@]+"${PIN[@]}"} "$@" >/dev/null 2>"$R/$name.err"
  echo "$name: $(cat "$R/$name.time") (s, KB)" >&2
}

# keep_fastest NAME: copies the fastest of NAME.try*.time to NAME.time.
keep_fastest() {
  local f keep=""
  for f in "$R/$1".try*.time; do
    # KEY=cpu compares user + system CPU seconds (fields 3 and 4), else wall seconds (field 1).
    if [ -z "$keep" ] || awk -v key="${KEY:-wall}" -v fa="$(cat "$f")" -v fb="$(cat "$keep")" 'BEGIN {
        split(fa, a, " "); split(fb, b, " ")
        if (key == "cpu") exit !(a[3] + a[4] < b[3] + b[4]); else exit !(a[1] < b[1]) }'; then
      keep="$f"
    fi
  done
  cp "$keep" "$R/$1.time"
}

# pair NAME_A NAME_B: runs "${CMD_A[@]}" and "${CMD_B[@]}" alternately, REPEAT times each (default 3),
# and keeps the fastest run of each. This machine is shared and its noise comes in bursts:
# alternating puts both sides of a ratio through the same bursts, and the fastest run of each
# is the one least disturbed.
pair() {
  local i
  for i in $(seq "${REPEAT:-3}"); do
    timed "$1.try$i" "${CMD_A[@]}"
    timed "$2.try$i" "${CMD_B[@]}"
  done
  keep_fastest "$1"
  keep_fastest "$2"
}
