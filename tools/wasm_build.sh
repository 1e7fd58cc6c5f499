#!/usr/bin/env bash
# WebAssembly: builds the library and its C ABI (js/src/cvm_js.cc) with
# Emscripten into build-wasm/, copies the module into the JavaScript
# package (js/dist/), then runs the package's tests under Node
# (node --test js/test/): every conformance case of tests/data, and the
# whole models of ../shared/conformance/models when present.
#
#   tools/wasm_build.sh [--no-test] [--no-models] [--simd] [--build-dir DIR] [--jobs N]
#     --no-test    build only
#     --no-models  skip the whole-model cases (CVM_JS_NO_MODELS=1)
#     --build-dir  where to build (default build-wasm)
#     --simd       SIMD128: the compiler vectorises the scalar kernels
#
# Installs emscripten and nodejs with apt-get when missing (sudo when not
# root). Scalar kernels (vectorised by the compiler with --simd), threads off.
set -euo pipefail
cd "$(dirname "$0")/.."

run_tests=1
dir=build-wasm
simd=OFF
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
while [ $# -gt 0 ]; do
  case "$1" in
    --no-test) run_tests=0 ;;
    --no-models) export CVM_JS_NO_MODELS=1 ;;
    --build-dir) dir="$2"; shift ;;
    --simd) simd=ON ;;
    --jobs) jobs="$2"; shift ;;
    --jobs=*) jobs="${1#--jobs=}" ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "wasm_build.sh: unknown argument '$1'" >&2; exit 64 ;;
  esac
  shift
done

tools/install_missing.sh emscripten nodejs cmake make nlohmann-json3-dev
# Debian's emscripten runs its JavaScript tools with node and finds their
# modules (acorn) in /usr/share/nodejs, which a node not from Debian does
# not search by itself.
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"

start=$(date +%s)
emcmake cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release -DCVM_BUILD_TESTS=OFF \
  -DCVM_BUILD_BENCH=OFF -DCVM_WASM_SIMD="$simd" >/dev/null
cmake --build "$dir" --target cvm_wasm -j"$jobs" >"$dir/build.log" 2>&1 || {
  tail -40 "$dir/build.log"
  echo "wasm: BUILD FAILED (see $dir/build.log)" >&2
  exit 1
}
mkdir -p js/dist
cp "$dir/cvm_wasm.mjs" "$dir/cvm_wasm.wasm" js/dist/
built=$(date +%s)
echo "wasm: built in $((built - start)) s ($(stat -c %s js/dist/cvm_wasm.wasm) bytes of wasm)"
[ "$run_tests" -eq 1 ] || exit 0
node --test js/test/
echo "wasm: tests $(($(date +%s) - built)) s"
