#!/usr/bin/env bash
# Installs the build into a temporary prefix, then configures, builds and runs
# a consumer project against it with find_package(cvm) and with pkg-config.
set -euo pipefail
build_dir=$1
source_dir=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build_dir" --prefix "$tmp/prefix" >/dev/null
test -x "$tmp/prefix/bin/cvm-run"
test -f "$tmp/prefix/include/cvm/c_api.h"
cmake -S "$source_dir/tests/install_consumer" -B "$tmp/consumer" \
  -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null
cmake --build "$tmp/consumer" >/dev/null
libdir=$(dirname "$(find "$tmp/prefix" -name 'libcvm.so' | head -n 1)")
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer_c"
LD_LIBRARY_PATH="$libdir" "$tmp/consumer/consumer_cpp" "$source_dir/examples/models/lenet_28"
# pkg-config
export PKG_CONFIG_PATH="$libdir/pkgconfig"
cc $(pkg-config --cflags cvm) "$source_dir/tests/install_consumer/consumer.c" \
  $(pkg-config --libs cvm) -o "$tmp/consumer_pc"
LD_LIBRARY_PATH="$libdir" "$tmp/consumer_pc"
# The Python package, when it was built: importable from the prefix.
if [ -f "$build_dir/python/cvm/__init__.py" ]; then
  pydir=$(dirname "$(find "$tmp/prefix" -path '*/cvm/__init__.py' | head -n 1)")
  PYTHONPATH="$(dirname "$pydir")" /usr/bin/python3 -c "
import cvm, sys
m = cvm.Model.load(sys.argv[1])
assert m.infer_bytes(open(sys.argv[1] + '/input.bin', 'rb').read()) == open(sys.argv[1] + '/output.bin', 'rb').read()
assert cvm.__file__.startswith(sys.argv[2]), cvm.__file__
" "$source_dir/examples/models/lenet_28" "$tmp/prefix"
fi
echo "install test passed"
