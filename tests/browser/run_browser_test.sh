#!/usr/bin/env bash
# ctest's entry to the browser test: skips (exit 77, with a message) without
# chromium or node, installs playwright-core (no browser download) into the
# build tree on first use, then runs dashboard_test.mjs.
#   run_browser_test.sh <dashboard_service binary> <output dir>
set -euo pipefail
service=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)

chromium=${FLUID_CHROMIUM:-$(command -v chromium || true)}
if [[ -z "$chromium" ]]; then
  echo "browser test skipped: chromium not found (apt-get install chromium)"
  exit 77
fi
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "browser test skipped: node or npm not found (apt-get install nodejs npm)"
  exit 77
fi
mkdir -p "$out"
if [[ ! -d "$out/node_modules/playwright-core" ]]; then
  echo "installing playwright-core into $out"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix "$out" playwright-core >/dev/null
fi
exec node "$here/dashboard_test.mjs" "$service" "$out" "$chromium"
