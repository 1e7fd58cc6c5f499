#!/usr/bin/env bash
# Serves the example page, loads it in headless Chromium (Debian
# `chromium`), saves a screenshot and checks the page's verdict (its title:
# "cvm: ok" when the output bytes are the recorded ones). Not part of CI.
#
#   examples/web/screenshot.sh [out.png]      (default build-wasm/web.png)
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-build-wasm/web.png}"
mkdir -p "$(dirname "$out")"
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
[ -f js/dist/cvm_wasm.wasm ] || tools/wasm_build.sh --no-test
port=$((8100 + RANDOM % 800))
node examples/web/serve.mjs "$port" >/dev/null &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
sleep 1
url="http://localhost:$port/examples/web/"
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=800,700
       --virtual-time-budget=10000)
chromium "${flags[@]}" --screenshot="$PWD/$out" "$url" >/dev/null 2>&1
title=$(chromium "${flags[@]}" --dump-dom "$url" 2>/dev/null | grep -o '<title>[^<]*</title>' || true)
echo "screenshot: $out; page title: $title"
[ "$title" = "<title>cvm: ok</title>" ]
