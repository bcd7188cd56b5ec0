//! Bad input through the real `aine` binary: a clear message, the documented non-zero exit
//! code, no panic, and nothing lost.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{aine, project, text};

const CONFIG: &str = "[people.alice]\n[people.bob]\n[roles]\npo = [\"alice\"]\ndev = [\"bob\"]\n";

/// Runs `aine validate` on `workflow` and checks the exit code (3) and that stderr contains
/// every `expected` fragment, and no panic.
fn check_invalid(workflow: &str, expected: &[&str]) {
    let dir = project(CONFIG, workflow);
    let out = aine(dir.path(), &["validate", "wf.workflow.yaml"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(3), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    for e in expected {
        assert!(err.contains(e), "expected {e:?} in:\n{err}");
    }
}

const HEAD: &str = "workflow: w\nversion: 1\nowners:\n  po: { role: po }\n";

#[test]
fn invalid_workflows_are_reported_with_positions_and_exit_3() {
    check_invalid(
        "workflow: w\nversion: [1\nsteps: []\n",
        &["wf.workflow.yaml:"],
    );
    check_invalid(
        &format!(
            "{HEAD}colour: red\nsteps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n"
        ),
        &["wf.workflow.yaml:5:1:", "colour"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n  - id: a\n    builtin: core.echo\n    with: {{ message: y }}\n"
        ),
        &["wf.workflow.yaml:9:", "duplicate"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: \"{{{{ steps.zz.output }}}}\" }}\n"
        ),
        &["missing step `zz`"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: \"{{{{ steps.b.output.message }}}}\" }}\n  - id: b\n    builtin: core.echo\n    with: {{ message: x }}\n"
        ),
        &["later step `b`"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    needs: [b]\n    with: {{ message: x }}\n  - id: b\n    builtin: core.echo\n    needs: [a]\n    with: {{ message: y }}\n"
        ),
        &["cycle"],
    );
    check_invalid(
        &format!(
            "{HEAD}inputs:\n  n: {{ type: 5 }}\nsteps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n"
        ),
        &["wf.workflow.yaml:6:"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: \"{{{{ oops \" }}\n"
        ),
        &["wf.workflow.yaml:8:"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n  - id: g\n    gate: {{ owner: po, when: \"steps.a.outcome ==\" }}\n"
        ),
        &["wf.workflow.yaml:10:"],
    );
    check_invalid(
        &format!("{HEAD}steps:\n  - id: a\n    builtin: core.ecko\n"),
        &["unknown builtin `core.ecko`", "core.echo"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n  - id: g\n    gate: {{ when: \"true\" }}\n"
        ),
        &["owner"],
    );
    check_invalid(
        &format!(
            "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n  - id: g\n    gate: {{ owner: nobody }}\n"
        ),
        &["nobody"],
    );
}

/// Issue 14: `when: "a }} b"` made `aine validate` panic inside minijinja (exit 101).
#[test]
fn a_condition_with_a_block_end_is_an_error_at_its_position() {
    for when in ["a }} b", "}} x", "x }}y"] {
        check_invalid(
            &format!(
                "{HEAD}steps:\n  - id: a\n    builtin: core.echo\n    with: {{ message: x }}\n  - id: g\n    gate: {{ owner: po, when: \"{when}\" }}\n"
            ),
            &["wf.workflow.yaml:10:", "unexpected `}}`"],
        );
    }
}

#[test]
fn several_errors_are_all_reported() {
    let workflow = format!(
        "{HEAD}colour: red\nsteps:\n  - id: a\n    builtin: core.ecko\n  - id: g\n    gate: {{ owner: ghost }}\n"
    );
    check_invalid(&workflow, &["colour", "core.ecko", "ghost"]);
}

const GATED: &str = "workflow: w\nversion: 1\nowners:\n  po: { role: po }\nsteps:\n  - id: a\n    builtin: core.echo\n    with: { message: hi }\n  - id: g\n    gate: { owner: po, reviews: a }\n  - id: b\n    builtin: core.echo\n    with: { message: \"{{ steps.a.output.message }}\" }\n";

/// Starts a run of GATED and returns (dir, run id, gate id).
fn waiting_run() -> (tempfile::TempDir, String, String) {
    let dir = project(CONFIG, GATED);
    let out = aine(dir.path(), &["run", "wf.workflow.yaml", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = v["summary"]["run"].as_str().unwrap().to_owned();
    let gate = v["summary"]["waiting"]["gate"].as_str().unwrap().to_owned();
    (dir, run, gate)
}

fn check_refused(dir: &Path, args: &[&str], expected: &str) {
    let out = aine(dir, args);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(5), "{args:?}: {err}");
    assert!(err.contains(expected), "expected {expected:?} in:\n{err}");
}

#[test]
fn decisions_by_the_wrong_person_or_on_a_closed_gate_are_refused() {
    let (dir, run, gate) = waiting_run();
    let d = dir.path();
    check_refused(
        d,
        &["review", "approve", &gate, "--as", "bob"],
        "belongs to role `po` (people: alice)",
    );
    check_refused(
        d,
        &["review", "approve", &gate, "--as", "mallory"],
        "`mallory` is not a person in aine.toml",
    );
    std::fs::write(d.join("bad.json"), r#"{"message": 42}"#).unwrap();
    check_refused(
        d,
        &[
            "review", "edit", &gate, "--as", "alice", "--file", "bad.json",
        ],
        "breaks the output contract of step `a`",
    );
    // Nothing was lost: the gate is still open and can be decided.
    let out = aine(
        d,
        &[
            "review", "approve", &gate, "--as", "alice", "--reason", "fine",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    check_refused(
        d,
        &["review", "approve", &gate, "--as", "alice"],
        "is not open (already decided: approve by alice)",
    );
    check_refused(
        d,
        &["resume", &run],
        "has already succeeded; nothing to resume",
    );
    check_refused(
        d,
        &["show", "run_01ARZ3NDEKTSV4RRFFQ69G5FAV"],
        "no run `run_01ARZ3NDEKTSV4RRFFQ69G5FAV`",
    );
    let out = aine(d, &["show", &gate]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out).1.contains("is not a run id"), "{:?}", text(&out));
}

#[test]
fn a_rejected_run_ends_rejected_with_exit_4() {
    let (dir, _run, gate) = waiting_run();
    let out = aine(
        dir.path(),
        &[
            "review",
            "reject",
            &gate,
            "--as",
            "alice",
            "--reason",
            "wrong audience",
        ],
    );
    assert_eq!(out.status.code(), Some(4), "{:?}", text(&out));
    assert!(text(&out).0.contains("rejected"), "{:?}", text(&out));
}

#[test]
fn a_corrupt_database_is_reported_and_left_untouched() {
    let dir = project(CONFIG, GATED);
    std::fs::create_dir_all(dir.path().join(".aine")).unwrap();
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7919 % 251) as u8).collect();
    std::fs::write(dir.path().join(".aine/aine.db"), &garbage).unwrap();
    let out = aine(dir.path(), &["run", "wf.workflow.yaml"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(
        err.contains("is not an aine database or is corrupt"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(dir.path().join(".aine/aine.db")).unwrap(),
        garbage
    );
}

#[tokio::test]
async fn a_locked_database_is_reported_after_the_busy_timeout() {
    let config = format!("{CONFIG}[storage]\nbusy_timeout_ms = 300\n");
    let dir = project(&config, GATED);
    // Create the database, then hold an exclusive lock on it from this process.
    let out = aine(dir.path(), &["runs"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let url = format!("sqlite://{}", dir.path().join(".aine/aine.db").display());
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut conn)
        .await
        .unwrap();
    let out = aine(dir.path(), &["run", "wf.workflow.yaml"]);
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("is locked by another process"), "{err}");
    sqlx::query("ROLLBACK").execute(&mut conn).await.unwrap();
    // Once the lock is gone the same command works: nothing was lost or half-written.
    let out = aine(dir.path(), &["run", "wf.workflow.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

/// A process that cannot write the database file (file mode 0444). As root, permissions do not
/// apply, so the child runs as `nobody` (uid 65534).
#[test]
fn a_read_only_database_is_reported() {
    let dir = project(CONFIG, GATED);
    let d = dir.path();
    let out = aine(d, &["run", "wf.workflow.yaml"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    // Checkpoint-free state: close cleanly, then make everything readable but not writable.
    let db = d.join(".aine/aine.db");
    for entry in std::fs::read_dir(d.join(".aine")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
    }
    std::fs::set_permissions(d.join(".aine"), std::fs::Permissions::from_mode(0o555)).unwrap();
    std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let before = std::fs::read(&db).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_aine"));
    cmd.current_dir(d)
        .args(["run", "wf.workflow.yaml"])
        .stdin(Stdio::null());
    // SAFETY-free: `uid` only sets the child's user id before exec.
    if is_root() {
        cmd.uid(65534).gid(65534);
    }
    let out = cmd.output().unwrap();
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(6), "{err}");
    assert!(err.contains("read-only"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), before, "the database changed");
}

fn is_root() -> bool {
    // A root process can open a 0444 file for writing; nobody else can.
    let probe = tempfile::NamedTempFile::new().unwrap();
    std::fs::set_permissions(probe.path(), std::fs::Permissions::from_mode(0o444)).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(probe.path())
        .is_ok()
}

#[tokio::test]
async fn an_audit_table_edited_by_hand_fails_verification() {
    let (dir, _run, gate) = waiting_run();
    let d = dir.path();
    let out = aine(
        d,
        &[
            "review", "approve", &gate, "--as", "alice", "--reason", "fine",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let url = format!("sqlite://{}", d.join(".aine/aine.db").display());
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE audit SET actor = 'mallory' WHERE kind = 'gate.decided'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    let out = aine(d, &["audit", "verify"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stdout}");
    assert!(
        stdout.contains("BROKEN at entry 3: entry 3 was changed"),
        "{stdout}"
    );
}

#[test]
fn metrics_over_an_empty_database_say_so() {
    let dir = project(CONFIG, GATED);
    let out = aine(dir.path(), &["metrics", "runs"]);
    let (stdout, err) = text(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        stdout.contains("no runs; metrics appear once workflows have run"),
        "{stdout}"
    );
    let out = aine(dir.path(), &["metrics", "runs", "--since", "last tuesday"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).1.contains("is not a date; use YYYY-MM-DD"),
        "{:?}",
        text(&out)
    );
}

#[test]
fn the_cli_identity_comes_from_as_or_the_user_config_and_must_be_a_person() {
    let (dir, _run, gate) = waiting_run();
    let d = dir.path();
    let home = tempfile::tempdir().unwrap();
    let run_as = |config: Option<&str>| {
        if let Some(c) = config {
            std::fs::create_dir_all(home.path().join("aine")).unwrap();
            std::fs::write(home.path().join("aine/config.toml"), c).unwrap();
        }
        Command::new(env!("CARGO_BIN_EXE_aine"))
            .current_dir(d)
            .args(["review", "approve", &gate])
            .env("XDG_CONFIG_HOME", home.path())
            .env_remove("AINE_USER")
            .output()
            .unwrap()
    };
    let out = run_as(None);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        text(&out).1.contains("who is deciding? pass --as PERSON"),
        "{:?}",
        text(&out)
    );
    let out = run_as(Some("user = \"zed\"\n"));
    assert_eq!(out.status.code(), Some(5), "{:?}", text(&out));
    assert!(
        text(&out).1.contains("`zed` is not a person in aine.toml"),
        "{:?}",
        text(&out)
    );
    let out = run_as(Some("user = \"alice\"\n"));
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
}

#[test]
fn a_role_with_no_people_is_named_when_its_gate_waits_and_when_someone_tries_to_decide() {
    let config = "[people.alice]\n[people.bob]\n[roles]\ndev = [\"bob\"]\n";
    let dir = project(config, GATED);
    let out = aine(dir.path(), &["--wide", "run", "wf.workflow.yaml"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout.contains("needs a decision by po (nobody: add people to this role in aine.toml)"),
        "{stdout}"
    );
    let gate = stdout
        .split_whitespace()
        .find(|w| w.starts_with("gate_"))
        .unwrap()
        .to_owned();
    check_refused(
        dir.path(),
        &["review", "approve", &gate, "--as", "bob"],
        "role `po` (which has no people",
    );
}

/// The requirements workflow on a small note (local model pointed at a missing file, so the
/// template fallback drafts), approved, then a published file is changed by hand.
#[test]
fn a_published_file_changed_after_publication_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = aine(d, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let mut config = std::fs::read_to_string(d.join("aine.toml")).unwrap();
    config.push_str(
        "\n[models.\"local/qwen2.5-coder-1.5b\"]\nprovider = \"local\"\npath = \"no-such-model.gguf\"\n",
    );
    std::fs::write(d.join("aine.toml"), config).unwrap();
    std::fs::write(
        d.join("notes.md"),
        "# Kick-off\n\nThe remote control must have a big power button.\nWe want the remote to be easy to use for older people.\n",
    )
    .unwrap();
    let out = aine(
        d,
        &[
            "run",
            "workflows/requirements.workflow.yaml",
            "--input",
            "sources=[\"notes.md\"]",
            "--json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gate = v["summary"]["waiting"]["gate"].as_str().unwrap().to_owned();
    let out = aine(
        d,
        &["review", "approve", &gate, "--as", "pat", "--reason", "ok"],
    );
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let out = aine(d, &["audit", "verify", "--files"]);
    assert_eq!(out.status.code(), Some(0), "{:?}", text(&out));
    let md = d.join("spec/requirements.md");
    let mut text_md = std::fs::read_to_string(&md).unwrap();
    text_md.push_str("\nsneaky edit\n");
    std::fs::write(&md, text_md).unwrap();
    let out = aine(d, &["audit", "verify", "--files"]);
    let (stdout, _) = text(&out);
    assert_eq!(out.status.code(), Some(7), "{stdout}");
    assert!(
        stdout.contains("spec/requirements.md (audit entry"),
        "{stdout}"
    );
    assert!(stdout.contains("CHANGED"), "{stdout}");
}

/// Issue 14: `aine run` refuses sources outside the project (absolute, `..`, a symbolic link out)
/// with exit code 3 before the run exists; `[files] allow` opens up exactly the listed directory.
#[test]
fn sources_outside_the_project_are_refused_unless_their_directory_is_allowed() {
    const INGEST: &str = "workflow: w\nversion: 1\ninputs:\n  sources: { type: array, items: { type: string } }\nsteps:\n  - id: ingest\n    builtin: sources.ingest\n    with: { sources: \"{{ inputs.sources }}\" }\n";
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("project");
    let shared = root.path().join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(
        shared.join("notes.md"),
        "The remote shall have a big button.\n",
    )
    .unwrap();
    std::fs::write(dir.join("aine.toml"), CONFIG).unwrap();
    std::fs::write(dir.join("wf.workflow.yaml"), INGEST).unwrap();
    std::os::unix::fs::symlink(shared.join("notes.md"), dir.join("leak.md")).unwrap();
    let shared_notes = shared.join("notes.md").display().to_string();
    for (source, expected) in [
        (
            "/etc/passwd",
            "`/etc/passwd` is an absolute path outside the project directory",
        ),
        (
            shared_notes.as_str(),
            "is an absolute path outside the project directory",
        ),
        (
            "../shared/notes.md",
            "climbs out of the project directory through `..`",
        ),
        ("leak.md", "leads through a symbolic link to"),
    ] {
        let input = format!("sources=[\"{source}\"]");
        let out = aine(&dir, &["run", "wf.workflow.yaml", "--input", &input]);
        let (_, err) = text(&out);
        assert_eq!(out.status.code(), Some(3), "{source}: {err}");
        assert!(
            err.contains("the inputs name files a run may not use"),
            "{err}"
        );
        assert!(err.contains(expected), "{source}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = aine(&dir, &["runs", "--json"]);
    assert_eq!(text(&out).0.trim(), "[]", "no run was created");

    std::fs::write(
        dir.join("aine.toml"),
        format!("{CONFIG}[files]\nallow = [\"../shared\"]\n"),
    )
    .unwrap();
    for source in ["../shared/notes.md", "leak.md", shared_notes.as_str()] {
        let input = format!("sources=[\"{source}\"]");
        let out = aine(&dir, &["run", "wf.workflow.yaml", "--input", &input]);
        let (out_text, err) = text(&out);
        assert_eq!(out.status.code(), Some(0), "{source}: {out_text}{err}");
    }
    let out = aine(
        &dir,
        &[
            "run",
            "wf.workflow.yaml",
            "--input",
            "sources=[\"/etc/passwd\"]",
        ],
    );
    assert_eq!(out.status.code(), Some(3));
}
