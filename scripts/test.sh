#!/usr/bin/env bash
# Sets up and runs every test of the workspace (no network, no API key, no GPU needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo test --workspace --locked
