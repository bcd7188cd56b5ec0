//! Text output fits 100 columns (issue 13): every `aine` command line of the README's command
//! listing that prints a listing or a view (not the ones that decide, pull, export or scaffold)
//! runs on a project with a decided requirements run, and no line of its output is wider than
//! 100 columns. `--wide` turns the wrapping off.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use common::{aine, drafted_project, text};

/// The command lines of the README's first block of `aine` commands, comments removed.
fn readme_commands() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```sh\n")
        .find(|b| b.starts_with("aine init"))
        .expect("the README lists the commands in a ```sh block starting with `aine init`");
    let block = block.split("```").next().unwrap_or_default();
    let mut commands = Vec::new();
    let mut current = String::new();
    for line in block.lines() {
        let code = line.split("  #").next().unwrap_or_default().trim();
        current.push_str(code.trim_end_matches('\\'));
        current.push(' ');
        if !code.ends_with('\\') {
            commands.push(current.split_whitespace().collect::<Vec<_>>().join(" "));
            current.clear();
        }
    }
    commands.retain(|c| c.starts_with("aine "));
    commands
}

#[test]
fn every_listing_of_the_readme_fits_100_columns() {
    let (project, gate) = drafted_project();
    let dir = project.path();
    let out = aine(
        dir,
        &[
            "review",
            "approve",
            &gate,
            "--as",
            "pat",
            "--reason",
            "checked in the width test",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let runs: serde_json::Value =
        serde_json::from_slice(&aine(dir, &["runs", "--json"]).stdout).unwrap();
    let run = runs[0]["id"].as_str().unwrap().to_owned();

    // Commands that decide, scaffold, pull, export or start work are not listings.
    let skipped = [
        "aine init",
        "aine run ",
        "aine review approve",
        "aine review reject",
        "aine review edit",
        "aine resume",
        "aine audit export",
        "aine models pull",
        "aine trace --matrix --csv",
    ];
    let mut checked = 0;
    let extra = [
        "aine trace --matrix",
        "aine review list --all",
        "aine --help",
    ]
    .map(str::to_owned);
    for command in readme_commands().into_iter().chain(extra) {
        if skipped.iter().any(|s| command.starts_with(s)) {
            continue;
        }
        let command = command
            .replace("RUN", &run)
            .replace("GATE", &gate)
            .replace("REQ-003", "REQ-001")
            .replace(
                "workflows/*.workflow.yaml",
                "workflows/requirements.workflow.yaml",
            )
            .replace(
                "aine lint spec.md --format sarif",
                "aine lint spec/requirements.md",
            );
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let out = aine(dir, &args);
        let (stdout, stderr) = text(&out);
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 8),
            "{command}: {stderr}"
        );
        assert!(!stdout.trim().is_empty(), "{command} printed nothing");
        for line in stdout.lines() {
            assert!(
                line.chars().count() <= 100,
                "{command}: a line of {} columns:\n{line}",
                line.chars().count()
            );
        }
        checked += 1;
    }
    assert!(checked >= 10, "only {checked} listings found in the README");

    // --wide keeps long lines whole.
    let wide = aine(dir, &["--wide", "show", &run]);
    assert!(
        text(&wide).0.lines().any(|l| l.chars().count() > 100),
        "`aine --wide show` has a line longer than 100 columns"
    );
}
