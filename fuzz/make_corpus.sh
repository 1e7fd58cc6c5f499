#!/usr/bin/env bash
# Seed corpora for the fuzz targets, from the recorded conformance cases and
# the bundled LeNet model:
#   OUT/graph   every symbol.json                      (fuzz_graph)
#   OUT/params  every params.bin                       (fuzz_params)
#   OUT/model   symbol.json SEP params.bin SEP input   (fuzz_model)
# where SEP is the line "#CVM#" (fuzz/fuzz_model.cc). Seeds larger than
# MAX_LEN bytes (default 65536) are left out: they would be cut by -max_len.
# Usage: fuzz/make_corpus.sh OUT [MAX_LEN]
set -euo pipefail
src="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:?usage: make_corpus.sh OUT [MAX_LEN]}"
max_len="${2:-65536}"
mkdir -p "$out/graph" "$out/params" "$out/model"

size() { stat -c %s "$1"; }
n=0
for dir in "$src"/tests/data/ops/*/* "$src"/tests/data/hostile/* "$src"/tests/data/postprocess/* \
           "$src"/tests/data/regressions/* "$src"/examples/models/lenet_28; do
  [ -f "$dir/symbol.json" ] || continue
  name="$(basename "$(dirname "$dir")")_$(basename "$dir")"
  if [ "$(size "$dir/symbol.json")" -le "$max_len" ]; then
    cp "$dir/symbol.json" "$out/graph/$name"
  fi
  if [ -f "$dir/params.bin" ] && [ "$(size "$dir/params.bin")" -le "$max_len" ]; then
    cp "$dir/params.bin" "$out/params/$name"
  fi
  seed="$out/model/$name"
  {
    cat "$dir/symbol.json"
    printf '\n#CVM#\n'
    [ -f "$dir/params.bin" ] && cat "$dir/params.bin"
    printf '\n#CVM#\n'
    [ -f "$dir/input.bin" ] && head -c 256 "$dir/input.bin"
  } > "$seed"
  if [ "$(size "$seed")" -gt "$max_len" ]; then rm -f "$seed"; fi
  n=$((n + 1))
done
echo "seeds from $n cases: $(ls "$out/graph" | wc -l) graph, $(ls "$out/params" | wc -l) params, $(ls "$out/model" | wc -l) model"
