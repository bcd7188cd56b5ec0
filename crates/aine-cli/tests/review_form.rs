//! `aine review edit GATE` on a drafted spec: the review form opens in `$EDITOR` (here a shell
//! script that edits the file as a person would), problems are reported at their line with the
//! form kept for the next attempt, and a valid form is one `edit` decision whose per-item changes
//! the published spec and `aine trace` show.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{aine, drafted_project, text};

/// `aine review edit GATE --as pat` with `editor` (a shell command given the form's path as $1)
/// as $EDITOR.
fn edit_with(dir: &Path, gate: &str, editor: &str) -> Output {
    let script = dir.join("editor.sh");
    std::fs::write(&script, format!("#!/bin/sh\nset -e\n{editor}\n")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_aine"))
        .current_dir(dir)
        .args(["review", "edit", gate, "--as", "pat"])
        .env("EDITOR", format!("sh {}", script.display()))
        .env_remove("VISUAL")
        .env_remove("AINE_USER")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn the_review_form_is_checked_at_its_lines_kept_on_error_and_decides_once_valid() {
    let (project, gate) = drafted_project();
    let dir = project.path();

    // Unchanged: nothing decided.
    let out = edit_with(dir, &gate, "true");
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(text(&out).1.contains("left unchanged; nothing decided"));

    // Reject REQ-002, a text without `shall` for REQ-001, an added requirement citing a
    // sentence that does not exist: refused, each problem at its line, the form kept.
    let broken = r#"python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('id: REQ-002\n    action: accept', 'id: REQ-002\n    action: reject', 1)
s = s.replace('"The remote shall cost less than twenty five euros."', '"The remote is cheap."', 1)
s = s.replace('added:\n', 'added:\n  - text: "The remote shall beep when lost."\n    sources: [kickoff#99]\n    reason: "asked later"\n', 1)
open(p, 'w').write(s)
PY"#;
    let out = edit_with(dir, &gate, broken);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{err}");
    let kept = dir.join(format!(".aine/review/{gate}.yaml"));
    let form = std::fs::read_to_string(&kept).unwrap();
    let line_of = |needle: &str| form.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!(
            ".aine/review/{gate}.yaml:{}:5: REQ-001 text: an EARS requirement",
            line_of("The remote is cheap.")
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            ":{}:5: new-1 sources: `kickoff#99` is not a sentence",
            line_of("sources: [kickoff#99]")
        )),
        "{err}"
    );
    assert!(err.contains("nothing decided"), "{err}");
    let show = aine(dir, &["review", "show", &gate, "--json"]);
    let shown: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(shown["gate"]["status"], "open", "{shown}");

    // The next attempt opens the kept form: fix both problems, move REQ-003 to the questions.
    let fix = r#"python3 - "$1" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
assert 'action: reject' in s, 'the kept form was not reopened'
s = s.replace('"The remote is cheap."', '"The remote shall cost less than 12.50 euros to produce."', 1)
s = s.replace('kickoff#99', 'kickoff#2', 1)
s = s.replace('id: REQ-003\n    action: accept', 'id: REQ-003\n    action: to_question', 1)
s = s.replace('reason: ""\nitems:', 'reason: "reviewed in the terminal"\nitems:', 1)
open(p, 'w').write(s)
PY"#;
    let out = edit_with(dir, &gate, fix);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    assert!(!kept.exists(), "the kept form is removed once decided");

    let texts = common::requirement_texts(dir);
    assert!(
        texts.iter().any(|t| t.contains("12.50 euros to produce")),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|t| t.contains("red power button")),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("beep when lost")),
        "{texts:?}"
    );
    // The gate is decided: a second review is refused and says by whom.
    let out = edit_with(dir, &gate, "true");
    assert_eq!(out.status.code(), Some(5), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("already decided: edit by pat"),
        "{:?}",
        text(&out)
    );
    let out = aine(dir, &["--wide", "trace", "REQ-006"]);
    assert!(
        text(&out)
            .0
            .contains("(item added): asked later (decision: reviewed in the terminal)"),
        "{:?}",
        text(&out)
    );
    let out = aine(dir, &["trace", "REQ-003"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out)
            .1
            .contains("REQ-003 is not in the spec: moved to the open questions (as Q-001)"),
        "{:?}",
        text(&out)
    );
}
