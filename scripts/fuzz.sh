#!/usr/bin/env bash
# Coverage-guided fuzzing of aine's parsers (issue 14): the workflow parser and validator, every
# ingest format, the linter's readers (aine's spec JSON and Markdown included) and the review
# form, with cargo fuzz (libFuzzer) on the nightly toolchain.
#
#   bash scripts/fuzz.sh            # 30 s per target (what CI runs)
#   bash scripts/fuzz.sh 3600       # the long run: an hour per target
#   bash scripts/fuzz.sh 60 lint    # one target
#
# The corpora (fuzz/corpus/TARGET) are seeded from ../shared/data, the bundled workflows and
# the linter's fixtures; a crash, hang (10 s) or allocation over 2 GB fails the run and leaves
# the input in fuzz/artifacts/TARGET. Prints the executions per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(workflow ingest lint review_form)

if ! cargo +nightly --version >/dev/null 2>&1; then
    echo "fuzz: the nightly toolchain is missing: rustup toolchain install nightly" >&2
    exit 1
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 1
fi

python3 - <<'PY'
import glob, os, pathlib
root = pathlib.Path("fuzz/corpus")
shared = pathlib.Path("../shared/data")

def seed(target, name, data):
    d = root / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)

def files(pattern):
    return sorted(glob.glob(pattern, recursive=True))

# workflow: the bundled workflows and test workflows
for f in files("crates/**/*.workflow.yaml"):
    seed("workflow", os.path.basename(f), open(f, "rb").read())

# ingest: selector byte = index of the extension in fuzz_targets/ingest.rs EXTENSIONS
ext = ["json", "vtt", "srt", "eml", "md", "txt", "log"]
for f in files(str(shared / "meetings/*.json")):
    seed("ingest", "json-" + os.path.basename(f), bytes([ext.index("json")]) + open(f, "rb").read()[:20000])
for f in files(str(shared / "user-stories/*.txt"))[:5]:
    seed("ingest", "txt-" + os.path.basename(f), bytes([ext.index("txt")]) + open(f, "rb").read()[:20000])
seed("ingest", "vtt", bytes([ext.index("vtt")]) + b"WEBVTT\n\n00:00:01.000 --> 00:00:04.000\n<v Sam>The remote must be cheap.\n\n00:00:05.000 --> 00:00:07.000\n<v Kim>No teletext, please.\n")
seed("ingest", "srt", bytes([ext.index("srt")]) + b"1\n00:00:01,000 --> 00:00:04,000\nSam: The remote must be cheap.\n\n2\n00:00:05,000 --> 00:00:07,000\nKim: No teletext.\n")
seed("ingest", "eml", bytes([ext.index("eml")]) + b"From: pat@example.com\nTo: team@example.com\nSubject: remote\nContent-Type: text/plain; charset=utf-8\n\nThe remote must have a red power button.\n\n> quoted reply\n")
seed("ingest", "md", bytes([ext.index("md")]) + b"---\ntitle: notes\n---\n# Kickoff\n\n- The remote must cost less than 25 euros.\n- We want it yellow.\n\n```\ncode\n```\n")
seed("ingest", "lines", bytes([ext.index("log")]) + b"Pat: Okay, let us start.\nSam: The remote must cost less than twenty five euros.\n")

# lint: selector byte = index of the format in aine_lint::InputFormat::ALL
formats = ["aine-spec", "requirement-lines", "story-lines", "spec-kit", "open-spec", "kiro", "aine-markdown"]
fixtures = "crates/aine-lint/tests/fixtures/"
for fmt, path in [("aine-spec", "requirements.json"), ("requirement-lines", "requirements.txt"),
                  ("story-lines", "stories.txt"), ("spec-kit", "speckit/spec.md"),
                  ("open-spec", "openspec/spec.md"), ("kiro", "kiro/requirements.md")]:
    seed("lint", fmt, bytes([formats.index(fmt)]) + open(fixtures + path, "rb").read())
seed("lint", "aine-markdown", bytes([formats.index("aine-markdown")]) + (
    "# Requirements\n\nSpec format 1.0.\n\n## Requirements (EARS)\n\n"
    "- **REQ-001** (Ubiquitous, Functional): The remote shall not provide teletext.\n"
    "  - sources: `m#1` (Sam): \"No teletext, please.\"; `m#9`\n\n## User stories\n\n"
    "### US-001: As a viewer, I want a red button, so that I find it.\n\n"
    "- Given the TV is on, when I press it, then the TV sleeps.\n\nSources: `m#2` (Kim): \"A red one.\"\n\n"
    "## Ambiguity flags\n\nNone.\n\n## Open questions for stakeholders\n\n- **Q-001** Which colour? (`m#3`)\n").encode())
for f in files(str(shared / "user-stories/*.txt"))[:3]:
    seed("lint", "stories-" + os.path.basename(f), bytes([formats.index("story-lines")]) + open(f, "rb").read()[:20000])

# review_form: a filled-in form
seed("review_form", "form.yaml", b'''# Review
reason: "checked"
items:
  - id: REQ-001
    action: edit
    text: "The remote shall not offer teletext."
    reason: "wording"
  - id: Q-001
    action: accept
added:
  - text: "The remote shall be yellow."
    sources: [m#2]
    reason: "asked"
''')
PY

status=0
for target in "${targets[@]}"; do
    log="fuzz/$target.log"
    mkdir -p "fuzz/artifacts/$target"
    if (cd fuzz && cargo +nightly fuzz run "$target" "corpus/$target" -- \
            -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 \
            -artifact_prefix="artifacts/$target/" -print_final_stats=1) >"$log" 2>&1; then
        runs=$(grep -oE 'Done [0-9]+ runs' "$log" | grep -oE '[0-9]+' | tail -1)
        echo "fuzz: $target: ${runs:-?} executions in ${seconds} s, no crash, hang or oversized allocation"
    else
        echo "fuzz: $target FAILED; the input is in fuzz/artifacts/$target/, the log in $log:" >&2
        tail -30 "$log" >&2
        status=1
    fi
done
exit $status
