#!/usr/bin/env bash
# Identical bytes at every kernel level and thread count (x86-64): runs the
# whole conformance suite (operators, hostile, postprocess, whole models;
# each output compared byte for byte with the reference's) once per kernel
# level forced with CVM_ISA=scalar|avx2|avx512 and per thread count
# (CVM_THREADS=1, 2, 8).
#
#   tools/isa_matrix.sh [--threads "1 2 8"] [--isa "scalar avx2 avx512"]
#
# Builds the test binary in $BUILD (default build-matrix: Release, no
# benchmarks) unless it is there. A level the CPU lacks, or a switch the
# runtime does not know yet, is skipped and reported as skipped; the exit
# status is non-zero only when a run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD="${BUILD:-build-matrix}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
isas="scalar avx2 avx512"
thread_counts="1 2 8"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) thread_counts="$2"; shift ;;
    --isa) isas="$2"; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "isa_matrix.sh: unknown argument '$1'" >&2; exit 64 ;;
  esac
  shift
done

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  make deps >/dev/null
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DCVM_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$BUILD" --target cvm_tests -j"$jobs" >"$BUILD/matrix_build.log" 2>&1 || {
  tail -40 "$BUILD/matrix_build.log"; exit 1; }
tests="$BUILD/tests/cvm_tests"

# Which switches this runtime reads (their names appear in the binary).
knows() { grep -aq "$1" "$tests"; }
isa_var=""
knows CVM_ISA && isa_var=CVM_ISA
threads_var=""
for v in CVM_THREADS CVM_NUM_THREADS; do
  if knows "$v"; then threads_var=$v; break; fi
done

# What the CPU has (kernels/isa.cc decides the same way; a level above the
# CPU's would silently run a lower one, so it is skipped here instead).
flags=$(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || true)
cpu_has() { for f in "$@"; do [[ " $flags " == *" $f "* ]] || return 1; done; }
level_ok() {
  case "$1" in
    scalar) return 0 ;;
    avx2) cpu_has avx2 fma ;;
    avx512) cpu_has avx512f avx512bw avx512vl avx512_vnni ;;
    *) return 1 ;;
  esac
}

notes=()
[ -n "$isa_var" ] || notes+=("the runtime reads no CVM_ISA: only its default kernels run (levels not forced)")
[ -n "$threads_var" ] || notes+=("the runtime reads no CVM_THREADS: every run uses its default thread count")

summary=()
status=0
for isa in $isas; do
  if [ -z "$isa_var" ] && [ "$isa" != "scalar" ]; then
    summary+=("$isa: skipped (no CVM_ISA switch in this build)"); continue
  fi
  if ! level_ok "$isa"; then
    summary+=("$isa: skipped (this CPU lacks it)"); continue
  fi
  level="$isa"
  [ -n "$isa_var" ] || level="default kernels"
  for t in $thread_counts; do
    if [ -z "$threads_var" ] && [ "$t" != "${thread_counts%% *}" ]; then
      summary+=("$level, $t threads: skipped (no thread-count switch in this build)"); continue
    fi
    label="$level, $t threads"
    [ -n "$threads_var" ] || label="$level, default threads"
    log="$BUILD/matrix_${isa}_${t}.log"
    env_args=()
    [ -z "$isa_var" ] || env_args+=("$isa_var=$isa")
    [ -z "$threads_var" ] || env_args+=("$threads_var=$t")
    start=$(date +%s%N)
    rc=0
    env "${env_args[@]}" "$tests" "[conformance]" >"$log" 2>&1 || rc=$?
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    counts=$(grep -oE "[0-9]+ of [0-9]+ cases pass" "$log" | awk '{p+=$1; n+=$3} END {print p " of " n}')
    line="$label: $counts conformance cases pass ($((ms / 1000)).$(printf '%03d' $((ms % 1000))) s)"
    if [ "$rc" -ne 0 ]; then line="$line; FAILED (see $log)"; status=1; fi
    summary+=("$line")
  done
done

echo "== kernel level x thread count"
printf '%s\n' "${summary[@]}"
[ ${#notes[@]} -eq 0 ] || printf 'note: %s\n' "${notes[@]}"
exit "$status"
