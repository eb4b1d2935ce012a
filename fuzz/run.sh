#!/usr/bin/env bash
# Runs each cargo-fuzz target for a given time, one after another, on one core.
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET…]     (default: 600 s; every target)
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). Corpora are seeded
# from samples/ and tests/fixtures/host into fuzz/corpus/ (gitignored); crashes land in
# fuzz/artifacts/<target>/; logs in fuzz/target/fuzz-logs/. Prints the executions per target.
set -euo pipefail
cd "$(dirname "$0")"
SECS="${1:-600}"
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(host_decode event_parse sse_parse core per_event redact chunk_scan tail_usage escaped_event)
python3 seed.py
mkdir -p target/fuzz-logs
for t in "${TARGETS[@]}"; do cargo +nightly fuzz build "$t"; done
status=0
for t in "${TARGETS[@]}"; do
  log="target/fuzz-logs/$t.log"
  echo "fuzz: $t for ${SECS}s (log: fuzz/$log)"
  if cargo +nightly fuzz run "$t" -- -max_total_time="$SECS" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -print_final_stats=1 >"$log" 2>&1; then
    result="ok"
  else
    result="FAILED (see fuzz/$log and fuzz/artifacts/$t/)"
    status=1
  fi
  runs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' | tail -n 1)
  echo "fuzz: $t: ${runs:-?} executions in ${SECS}s: $result" | tee -a target/fuzz-logs/summary.txt
done
exit $status
