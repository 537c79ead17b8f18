#!/usr/bin/env bash
# Sets up the machine, builds the page (scripts/build_page.sh) and serves dist/ on
# http://127.0.0.1:${PORT:-8080}/ . Pass `page` for the small optimised build (slower to build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build_page.sh "${1:-dev}"
port=${PORT:-8080}
echo "Foresight: http://127.0.0.1:$port/   (Ctrl-C stops)"
exec python3 -m http.server "$port" --bind 127.0.0.1 -d dist
