#!/usr/bin/env bash
# Identical bytes on other machines: cross-builds the test binary for 64-bit
# Arm (aarch64, little-endian), IBM Z (s390x, big-endian) and 32-bit x86
# (i686: a size_t of 32 bits, scalar kernels only) with Debian's cross
# compilers and runs it under qemu-user: the unit tests and every
# conformance case (operators, hostile, postprocess, whole models), each
# compared byte for byte with the reference's recorded output.
#
#   tools/cross_check.sh [options] [aarch64|s390x|i686|all]   (default: all)
#     --ci        unit tests and conformance only (no CLI tests)
#     --no-models skip the whole-model conformance cases
#     --jobs N    build parallelism (default: $JOBS, else nproc)
#
# Installs what is missing with apt-get (sudo when not root). Builds go to
# build-cross/<arch>: only the test binary and cvm-run, no benchmarks, the
# library at -O2 and the test code at -O0 (it only drives the library).
# Exit status is non-zero when any target fails.
set -euo pipefail
cd "$(dirname "$0")/.."

targets=()
ci=0
models=1
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
while [ $# -gt 0 ]; do
  case "$1" in
    aarch64|s390x|i686) targets+=("$1") ;;
    all) targets+=(aarch64 s390x i686) ;;
    --ci) ci=1 ;;
    --no-models) models=0 ;;
    --jobs) jobs="$2"; shift ;;
    --jobs=*) jobs="${1#--jobs=}" ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cross_check.sh: unknown argument '$1'" >&2; exit 64 ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=(aarch64 s390x i686)

triple_of() { echo "$1-linux-gnu"; }
# qemu-user names the 32-bit x86 emulator after i386.
qemu_of() { case "$1" in i686) echo qemu-i386 ;; *) echo "qemu-$1" ;; esac; }

# Packages: host build tools, the header-only dependencies, and per target
# the cross compiler (its libstdc++ and libc come with it) and qemu-user.
packages=(cmake make nlohmann-json3-dev catch2 libxsimd-dev libstb-dev qemu-user)
for t in "${targets[@]}"; do packages+=("g++-$(triple_of "$t")"); done
tools/install_missing.sh "${packages[@]}"

# Catch2 test spec (terms in one argument are ANDed); empty runs everything.
filter=""
[ "$ci" -eq 0 ] || filter="~[cli]"
# Without models, also skip the CLI test that runs them through cvm-run.
[ "$models" -eq 1 ] || filter="${filter}~[models]~*shared model*"

summary=()
status=0
for t in "${targets[@]}"; do
  triple=$(triple_of "$t")
  target_filter="$filter"
  # Debian's qemu-i386 (7.2) never returns from pthread_create of an i686
  # glibc program (a bare std::thread hangs the same way), so the tests that
  # start threads are left out there; the runtime's scalar path starts none.
  [ "$t" != i686 ] || target_filter="${target_filter}~[load]~[concurrency]~[threads]"
  # CI: the two tests of the cost of rejecting huge JSON texts ([slow]) take
  # minutes under qemu-i386, which runs this code several times slower than
  # qemu-aarch64 does.
  [ "$t" != i686 ] || [ "$ci" -eq 0 ] || target_filter="${target_filter}~[slow]"
  dir="build-cross/$t"
  echo "== $t: build ($dir, -j$jobs)"
  start=$(date +%s)
  cmake -S . -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$PWD/cmake/toolchain-$t.cmake" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELEASE="-O2 -DNDEBUG" -DCVM_TESTS_COMPILE_OPTIONS=-O0 \
    -DCVM_BUILD_BENCH=OFF -DCVM_BUILD_TESTS=ON >/dev/null
  cmake --build "$dir" --target cvm_tests -j"$jobs" >"$dir/build.log" 2>&1 || {
    tail -40 "$dir/build.log"
    summary+=("$t: BUILD FAILED (see $dir/build.log)")
    status=1
    continue
  }
  built=$(date +%s)
  qemu=$(qemu_of "$t")
  echo "== $t: run under $qemu ${target_filter:+(filter $target_filter)}"
  log="$dir/test.log"
  rc=0
  QEMU_LD_PREFIX="/usr/$triple" "$qemu" -L "/usr/$triple" "$dir/tests/cvm_tests" \
    ${target_filter:+"$target_filter"} -d yes >"$log" 2>&1 || rc=$?
  done_at=$(date +%s)
  grep -E "cases pass|^test cases:|^assertions:|^All tests passed|FAILED|^[0-9.]+ s: conformance" "$log" | sed "s/^/   /" || true
  counts=$(grep -oE "[0-9]+ of [0-9]+ cases pass" "$log" | awk '{p+=$1; n+=$3} END {print p " of " n}')
  line="$t: conformance ${counts} cases pass; build $((built - start)) s, tests $((done_at - built)) s"
  if [ "$rc" -ne 0 ]; then
    line="$line; FAILED (see $log)"
    status=1
  else
    line="$line; all tests passed ($(grep -oE "[0-9]+ assertions in [0-9]+ test cases" "$log" | tail -1))"
  fi
  summary+=("$line")
done

echo "== summary"
printf '%s\n' "${summary[@]}"
exit "$status"
