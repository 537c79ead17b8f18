#!/usr/bin/env bash
# Sets up a fresh machine for building and testing Foresight. Idempotent; everything comes from
# the package registries: Debian (Chromium, ChromeDriver, Mesa's lavapipe Vulkan driver), the
# Rust wasm targets, and wasm-bindgen-cli pinned to the wasm-bindgen in Cargo.lock.
set -euo pipefail
cd "$(dirname "$0")/.."

WASM_BINDGEN_VERSION=0.2.130

apt_pkgs=()
command -v chromium >/dev/null || apt_pkgs+=(chromium)
command -v chromedriver >/dev/null || apt_pkgs+=(chromium-driver)
command -v node >/dev/null || apt_pkgs+=(nodejs npm)
ls /usr/share/vulkan/icd.d/lvp_icd.*.json >/dev/null 2>&1 || apt_pkgs+=(mesa-vulkan-drivers libvulkan1)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  echo "setup: installing ${apt_pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "setup: adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$WASM_BINDGEN_VERSION"; then
  echo "setup: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes)"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# The page's end-to-end tests drive Chromium with playwright-core (pinned in tests/e2e/package-lock.json).
if [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "setup: installing the e2e test's node packages"
  npm ci --prefix tests/e2e --no-audit --no-fund
fi
