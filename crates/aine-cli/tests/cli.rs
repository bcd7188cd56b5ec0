//! The happy path through the real binary: init, validate, run to a gate, list, show, approve.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod common;

use common::{aine, text};
use serde_json::Value;

fn json(out: &std::process::Output) -> Value {
    assert_eq!(out.status.code(), Some(0), "{:?}", text(out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn init_run_review_and_show() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = aine(d, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // A second init refuses to overwrite.
    let out = aine(d, &["init"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).1.contains("already exists; nothing was written"),
        "{:?}",
        text(&out)
    );

    let out = aine(
        d,
        &["validate", "workflows/example.workflow.yaml", "--json"],
    );
    assert_eq!(json(&out)[0]["ok"], true);

    let wf = "workflows/example.workflow.yaml";
    let out = aine(d, &["run", wf, "--input", "name=Ada", "--json"]);
    let v = json(&out);
    assert_eq!(v["summary"]["status"], "waiting");
    assert_eq!(v["summary"]["waiting"]["people"][0], "alice");
    let gate = v["summary"]["waiting"]["gate"].as_str().unwrap().to_owned();
    let run = v["summary"]["run"].as_str().unwrap().to_owned();

    let runs = json(&aine(d, &["runs", "--json", "--status", "waiting"]));
    assert_eq!(runs[0]["run"], run.as_str());
    let gates = json(&aine(d, &["review", "list", "--json"]));
    assert_eq!(gates[0]["gate"], gate.as_str());
    assert_eq!(gates[0]["owner"], "release-owner");

    let out = aine(d, &["review", "show", &gate]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("\"message\": \"Hello, Ada!\""), "{stdout}");

    let out = aine(
        d,
        &[
            "review", "approve", &gate, "--as", "alice", "--reason", "ok", "--json",
        ],
    );
    let v = json(&out);
    assert_eq!(v["summary"]["status"], "succeeded");
    let announce = &v["run"]["steps"][3];
    assert_eq!(
        announce["output"]["message"],
        "Hello, Ada! (approved by alice)"
    );

    let show = json(&aine(d, &["show", &run, "--json"]));
    assert_eq!(show["status"], "succeeded");
    assert_eq!(show["steps"][2]["gate"]["decided_by"], "alice");
    let log = std::fs::read_to_string(d.join("out/greetings.log")).unwrap();
    assert_eq!(log, format!("{run}: Hello, Ada!\n"));

    let out = aine(d, &["show", &run]);
    let (stdout, _) = text(&out);
    assert!(stdout.contains("approve by alice: ok"), "{stdout}");
    assert_eq!(
        json(&aine(d, &["review", "list", "--json"])),
        Value::Array(vec![])
    );
}

#[test]
fn help_documents_exit_codes() {
    let out = aine(std::path::Path::new("."), &["--help"]);
    let (stdout, _) = text(&out);
    assert!(
        stdout.contains("Exit codes:") && stdout.contains("6  database locked"),
        "{stdout}"
    );
}
