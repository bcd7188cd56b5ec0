#!/usr/bin/env bash
# Installs what building and testing aine needs on a fresh Debian machine with a Rust toolchain
# and Python: a C toolchain, cmake + clang + libclang for llama.cpp (built from source by the
# llama-cpp-2 crate for the embedded local model), and chromium + chromium-driver for the web UI's
# end-to-end test. Safe to run repeatedly.
set -euo pipefail

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo not found; install a Rust toolchain (https://rustup.rs) and run again" >&2
  exit 1
fi

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(gcc)
command -v c++ >/dev/null 2>&1 || need_apt+=(g++)
command -v cmake >/dev/null 2>&1 || need_apt+=(cmake)
command -v clang >/dev/null 2>&1 || need_apt+=(clang)
dpkg -s libclang-dev >/dev/null 2>&1 || need_apt+=(libclang-dev)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
# The web UI's end-to-end test (crates/aine-cli/tests/web_e2e.rs) drives a headless Chromium
# through chromedriver; it fails, rather than skips, without them.
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
# scripts/schemathesis.sh installs schemathesis into a virtual environment under target/.
python3 -c 'import ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
[ -x /usr/bin/chromedriver ] || need_apt+=(chromium-driver)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "setup: installing ${need_apt[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi
