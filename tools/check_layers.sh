#!/bin/sh
# Checks that every project include points down the layer order (README,
# "Architecture"):
#   cvm/error.h, cvm/isa.hpp   public leaf headers
#   base/                      shapes, attributes, errors, integer rules
#   ops/, kernels/             operators; fast kernels (neither sees the other)
#   graph/                     parsing and verifying a model
#   runtime/                   planning and running; the public API's code
#   runtime/cli/, tests, ...   anything
# Usage: tools/check_layers.sh [SOURCE_DIR]. Prints each include that points
# up or sideways and exits 1 if there is any.
set -eu
cd "${1:-$(dirname "$0")/..}"

# The include prefixes files under a folder may use (besides the system's).
allowed() {
  case "$1" in
    include/cvm/*) echo "cvm/" ;;
    base/*) echo "base/ cvm/error.h cvm/isa.hpp" ;;
    kernels/*) echo "kernels/ base/ cvm/error.h cvm/isa.hpp" ;;
    ops/*) echo "ops/ base/ cvm/error.h" ;;
    graph/*) echo "graph/ ops/ base/ cvm/error.h" ;;
    runtime/cli/*) echo "*" ;;
    runtime/*) echo "runtime/ graph/ ops/ kernels/ base/ cvm/" ;;
  esac
}

bad=0
for file in $(find include base kernels ops graph runtime -type f \
                \( -name '*.h' -o -name '*.hpp' -o -name '*.cc' \) | sort); do
  ok=$(allowed "$file")
  [ "$ok" = "*" ] && continue
  for inc in $(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$file"); do
    pass=0
    for prefix in $ok; do
      case "$inc" in "$prefix"*) pass=1 ;; esac
    done
    if [ "$pass" = 0 ]; then
      echo "$file includes \"$inc\": not below its layer"
      bad=1
    fi
  done
done
[ "$bad" = 0 ] && echo "layers: every include points down"
exit "$bad"
