#!/usr/bin/env bash
# Builds the page into dist/ as plain static files: the wasm module (page + worker), its JS glue,
# the HTML/CSS, the bundled model and the downstream data sets.
#   scripts/build_page.sh [PROFILE]   PROFILE = dev (default, fast to build) or page (small, slow to build)
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-dev}
cargo build -p foresight-web --target wasm32-unknown-unknown --profile "$profile"
dir=$([ "$profile" = dev ] && echo debug || echo "$profile")
rm -rf dist
mkdir -p dist/static/models dist/static/data
wasm-bindgen --target web --no-typescript --out-dir dist/pkg "target/wasm32-unknown-unknown/$dir/foresight_web.wasm"
cp www/index.html www/main.js www/worker.js www/style.css dist/
cp static/models/*.safetensors dist/static/models/
for s in mnist animal-mnist hiragana; do cp -r "static/data/$s" dist/static/data/; done
echo "built dist/ ($(du -sh dist/pkg/foresight_web_bg.wasm | cut -f1) wasm)"
