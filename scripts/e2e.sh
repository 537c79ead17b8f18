#!/usr/bin/env bash
# End-to-end tests of the page in headless Chromium: builds the page (dev profile, sharing the
# wasm build of the engine test), then runs tests/e2e/page.test.mjs (node --test, playwright-core
# driving Debian's Chromium). Screenshots go to $SHOTS (default: target/e2e).
#   scripts/e2e.sh                       the full run on the CPU backend; a small one on WebGPU
#   BACKENDS=webgpu,cpu scripts/e2e.sh   the full run on WebGPU too (slow on a software adapter)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build_page.sh dev
export SHOTS=${SHOTS:-$PWD/target/e2e}
mkdir -p "$SHOTS"
node --test --test-concurrency=1 tests/e2e/
echo "screenshots in $SHOTS"
