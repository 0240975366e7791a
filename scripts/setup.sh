#!/usr/bin/env bash
# Installs what the tests need beyond node_modules: the Python environment with PyTorch and the
# frameworks (.venv), and Debian's Chromium for the report tests. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-python.sh
bash scripts/setup-browser.sh
