#!/usr/bin/env bash
# The main job on the bundled example, with the embedded defaults (SQLite under .aine/):
# build aine, scaffold a project, run its example workflow until it stops at the review gate,
# approve it as the example's owner, and show the finished run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== building aine (release)"
cargo build --release --locked -p aine-cli
AINE="$PWD/target/release/aine"

demo="target/quickstart"
rm -rf "$demo"
mkdir -p "$demo"
echo "== aine init $demo"
"$AINE" -C "$demo" init

echo "== aine validate"
"$AINE" -C "$demo" validate workflows/example.workflow.yaml

echo "== aine run (stops at the review gate)"
"$AINE" -C "$demo" run workflows/example.workflow.yaml --input name=World

gate=$("$AINE" -C "$demo" review list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["gate"])')
echo "== approving $gate as alice, the example's release owner"
"$AINE" -C "$demo" review approve "$gate" --as alice --reason "greeting checked"

echo "== aine runs"
"$AINE" -C "$demo" runs
