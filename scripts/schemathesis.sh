#!/usr/bin/env bash
# The HTTP API against its own OpenAPI document: schemathesis (PyPI, pinned) generates requests
# from /api/v1/openapi.json, with every check (status codes and content types as documented,
# response schemas, no 5xx, schema-invalid input rejected, schema-valid input accepted,
# authentication enforced) and a fixed seed, against `aine serve` on a free 127.0.0.1 port in a
# fresh project. Fails on any failure. Needs target/debug/aine (built by `cargo test`).
#
# Usage: scripts/schemathesis.sh [AINE_BINARY]
# Env:   ST_EXAMPLES (default 50 cases per operation), ST_SEED (default 7).
set -euo pipefail
cd "$(dirname "$0")/.."
AINE="${1:-$PWD/target/debug/aine}"
VERSION=4.32.5
VENV="$PWD/target/schemathesis-venv"
if ! "$VENV/bin/schemathesis" --version 2>/dev/null | grep -q "$VERSION"; then
  echo "schemathesis.sh: installing schemathesis $VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$VERSION"
fi

work="$(mktemp -d)"
server=""
cleanup() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$AINE" -C "$work" init >/dev/null
token="$("$AINE" -C "$work" token create --as ops | grep -o 'aine_[0-9a-f]\{64\}' | head -1)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$AINE" -C "$work" serve --bind "127.0.0.1:$port" >"$work/serve.log" 2>&1 &
server=$!

"$VENV/bin/schemathesis" run "http://127.0.0.1:$port/api/v1/openapi.json" \
  --wait-for-schema 30 --checks all --workers 1 --no-color \
  --seed "${ST_SEED:-7}" --max-examples "${ST_EXAMPLES:-50}" --generation-database none \
  -H "Authorization: Bearer $token" | tee "$work/st.log" | tail -n 25
# schemathesis exits non-zero on a failure (pipefail); the counts, as one line:
python3 - "$work/st.log" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"(\d+) generated, (?:(\d+) found \d+ unique failures|(\d+) passed)", text)
if not m or m.group(2):
    sys.exit("schemathesis.sh: failures, or no summary line, in the schemathesis output")
print(f"schemathesis: {m.group(3)} passed, 0 failed")
PY
