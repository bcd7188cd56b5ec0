//! `aine lint` through the binary: text, JSON and SARIF output, exit codes, bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

mod common;

use common::{aine, text};

#[test]
fn lint_reports_findings_with_positions_and_exit_8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("reqs.txt"),
        "The system shall respond quickly.\nWhen a user logs in, the system shall show the dashboard within 2 seconds.\n",
    )
    .unwrap();
    // Warnings are reported; only `--fail-on warning` turns them into exit 8.
    let out = aine(d, &["lint", "reqs.txt"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = aine(d, &["lint", "reqs.txt", "--fail-on", "warning"]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(8), "{stdout}{stderr}");
    assert!(stdout.contains("reqs.txt:1:"), "{stdout}");
    assert!(stdout.contains("smell.ambiguous"), "{stdout}");
    assert!(
        !stdout.contains("reqs.txt:2:"),
        "the second line is clean: {stdout}"
    );

    let out = aine(
        d,
        &[
            "lint",
            "reqs.txt",
            "--format",
            "sarif",
            "--fail-on",
            "never",
        ],
    );
    assert_eq!(out.status.code(), Some(0));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert!(!sarif["runs"][0]["results"].as_array().unwrap().is_empty());

    let out = aine(
        d,
        &[
            "lint",
            "reqs.txt",
            "--format",
            "json",
            "--disable",
            "smell.ambiguous",
            "--fail-on",
            "warning",
        ],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(json["by_rule"].get("smell.ambiguous").is_none(), "{json}");
}

#[test]
fn lint_refuses_binary_and_unknown_rules_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("blob.bin"), [0u8, 159, 146, 150, 0, 1, 2]).unwrap();
    let out = aine(d, &["lint", "blob.bin"]);
    let (_, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("blob.bin"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    std::fs::write(d.join("r.txt"), "The system shall work.\n").unwrap();
    let out = aine(d, &["lint", "r.txt", "--disable", "smell.nope"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).1.contains("RULES.md"), "{:?}", text(&out));
}
