#!/usr/bin/env bash
# Every test: sets the machine up (scripts/setup.sh), then
#   1. native tests on burn's CPU backend and on wgpu (Vulkan via Mesa lavapipe);
#   2. the engine compiled to wasm32, in headless Chromium, on the CPU backend and on WebGPU;
#   3. the page end to end in headless Chromium (scripts/e2e.sh): a full run on the CPU backend
#      compared with the native CLI built in step 1 and, bit for bit, with the CLI's score code
#      as built into the page's module (run under Node); the same run on WebGPU (SwiftShader) at
#      a smaller size, its masks compared with the CLI's; fine-tuning, sweeps, exports, links,
#      benchmark mode; bad input, a lost WebGPU device, the CSP.
# Each step prints the minutes since the start (CI allows 90).
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"; }
step "setup"
bash scripts/setup.sh
# wgpu/Vulkan looks for a runtime directory; give it one so its logs stay quiet.
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp/xdg-runtime-$(id -u)}
mkdir -p "$XDG_RUNTIME_DIR" && chmod 700 "$XDG_RUNTIME_DIR"

step "native tests (CPU and wgpu/lavapipe)"
cargo test --features wgpu

step "wasm tests in headless Chromium (CPU and WebGPU)"
export CHROMEDRIVER=/usr/bin/chromedriver
export WASM_BINDGEN_TEST_TIMEOUT=600
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner
cargo test --target wasm32-unknown-unknown -p foresight-web --test web

step "the page end to end in headless Chromium"
bash scripts/e2e.sh
step "all passed"
