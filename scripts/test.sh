#!/usr/bin/env bash
# Every test: sets the machine up (scripts/setup.sh), then
#   1. native tests on burn's CPU backend and on wgpu (Vulkan via Mesa lavapipe);
#   2. the engine compiled to wasm32, in headless Chromium, on the CPU backend and on WebGPU;
#   3. the page end to end in headless Chromium (scripts/e2e.sh): a full run on the CPU backend
#      compared with the native CLI built in step 1 and, bit for bit, with the CLI compiled to
#      wasm32-wasip1 (run under Node's WASI); the same run on WebGPU (SwiftShader) at a smaller
#      size, its masks compared with the CLI's; bad input, a lost WebGPU device, the CSP.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# wgpu/Vulkan looks for a runtime directory; give it one so its logs stay quiet.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

echo "== native tests (CPU and wgpu/lavapipe)"
cargo test --features wgpu

echo "== wasm tests in headless Chromium (CPU and WebGPU)"
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=600
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --target wasm32-unknown-unknown -p foresight-web --test web

echo "== the command line compiled to wasm32-wasip1 (the page's scores are compared with it bit for bit)"
cargo build --target wasm32-wasip1 --bin foresight

echo "== the page end to end in headless Chromium"
bash scripts/e2e.sh
