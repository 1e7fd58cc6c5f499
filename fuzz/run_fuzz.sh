#!/usr/bin/env bash
# Runs one fuzz target for a fixed time, one job on one worker, and prints its
# execution count. Fails when the run found a crash, a leak, a timeout or an
# out-of-memory (the input is kept in ARTIFACTS).
# Usage: fuzz/run_fuzz.sh FUZZ_BUILD_DIR TARGET SECONDS CORPUS_DIR [ARTIFACTS]
#   TARGET: fuzz_graph, fuzz_params or fuzz_model
set -uo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
build="$1"; target="$2"; seconds="$3"; corpus="$4"; artifacts="${5:-$corpus/../artifacts}"
case "$target" in
  fuzz_graph|fuzz_params) max_len=16384 ;;
  fuzz_model) max_len=65536 ;;
  *) echo "unknown target $target" >&2; exit 64 ;;
esac
mkdir -p "$corpus" "$artifacts"
build="$(cd "$build" && pwd)"; corpus="$(cd "$corpus" && pwd)"; artifacts="$(cd "$artifacts" && pwd)"
log="$(mktemp -d)"
( cd "$log" && "$build/fuzz/$target" -dict="$src/fuzz/cvm.dict" -max_len="$max_len" \
    -rss_limit_mb=2048 -timeout=10 -jobs=1 -workers=1 -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$artifacts/$target-" \
    "$corpus" > driver.log 2>&1 )
rc=$?
execs=$(grep -h "stat::number_of_executed_units" "$log"/fuzz-*.log 2>/dev/null | awk '{s += $2} END {print s + 0}')
echo "$target: $execs executions in ${seconds}s, exit $rc"
if [ "$rc" -ne 0 ] || grep -qE "ERROR: (libFuzzer|AddressSanitizer|UndefinedBehaviorSanitizer)|runtime error:|SUMMARY:" "$log"/fuzz-*.log; then
  grep -hE -A30 "ERROR:|runtime error:" "$log"/fuzz-*.log | head -60
  echo "$target: FINDING (log in $log)"
  exit 1
fi
rm -rf "$log"
