#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and runs
# a consumer project against it with find_package(cvm) (shared and static
# library) and with pkg-config, and runs the installed cvm-run: all without
# LD_LIBRARY_PATH (RPATH in the installed programs, -Wl,-rpath from
# pkg-config).
set -euo pipefail
build_dir=$1
source_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unset LD_LIBRARY_PATH
prefix="$tmp/prefix"
cmake --install "$build_dir" --prefix "$prefix" >/dev/null
test -x "$prefix/bin/cvm-run"
test -f "$prefix/include/cvm/c_api.h"
test -f "$prefix/share/doc/cvm/README.md"
test -f "$prefix/share/doc/cvm/LICENSE"
libdir=$(dirname "$(find "$prefix" -name 'libcvm.so' | head -n 1)")
test -f "$libdir/libcvm.a"
model="$source_dir/examples/models/lenet_28"

# The installed cvm-run, from another directory, with the system's paths only.
(cd "$tmp" && "$prefix/bin/cvm-run" --model "$model" --input "$model/input.bin" --output "$tmp/out.bin")
cmp "$tmp/out.bin" "$model/output.bin"
"$prefix/bin/cvm-run" --version | grep -q '^cvm-run '

cmake -S "$source_dir/tests/install_consumer" -B "$tmp/consumer" \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
"$tmp/consumer/consumer_c"
"$tmp/consumer/consumer_cpp" "$model"
"$tmp/consumer/consumer_static" "$model"
if command -v readelf >/dev/null && readelf -d "$tmp/consumer/consumer_static" | grep -q 'libcvm\.so'; then
  echo "consumer_static needs libcvm.so" >&2
  exit 1
fi
# pkg-config: its Libs carry -Wl,-rpath, so the program runs as built.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc $(pkg-config --cflags cvm) "$source_dir/tests/install_consumer/consumer.c" \
  $(pkg-config --libs cvm) -o "$tmp/consumer_pc"
"$tmp/consumer_pc"
# The Python package, when it was built: importable from the prefix.
if [ -f "$build_dir/python/cvm/__init__.py" ]; then
  pydir=$(dirname "$(find "$prefix" -path '*/cvm/__init__.py' | head -n 1)")
  PYTHONPATH="$(dirname "$pydir")" /usr/bin/python3 -c "
import cvm, sys
m = cvm.Model.load(sys.argv[1])
assert m.infer_bytes(open(sys.argv[1] + '/input.bin', 'rb').read()) == open(sys.argv[1] + '/output.bin', 'rb').read()
assert cvm.__file__.startswith(sys.argv[2]), cvm.__file__
" "$model" "$prefix"
fi
# The install tree moved elsewhere still works (relative RPATH and .pc file).
mv "$prefix" "$tmp/moved"
"$tmp/moved/bin/cvm-run" --model "$model" --input "$model/input.bin" --output "$tmp/out2.bin"
cmp "$tmp/out2.bin" "$model/output.bin"
echo "install test passed"
