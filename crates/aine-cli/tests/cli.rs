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
    assert_eq!(runs[0]["id"], run.as_str());
    let gates = json(&aine(d, &["review", "list", "--json"]));
    assert_eq!(gates[0]["id"], gate.as_str());
    assert_eq!(gates[0]["owner_role"], "release-owner");

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

/// `GET path` on 127.0.0.1:`port` with a bearer token; the JSON body.
fn api_get(port: u16, token: &str, path: &str) -> Value {
    use std::io::{Read as _, Write as _};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}\n{body}");
    serde_json::from_str(body).expect("the API answers JSON")
}

/// The CLI's `--json` and the API give one shape for runs, gates, a gate's detail and the audit
/// status (issue 18: one query layer in the runtime for every front-end).
#[test]
fn the_cli_and_the_api_list_runs_gates_and_audit_in_one_shape() {
    let (project, gate) = common::drafted_project();
    let d = project.path();
    let token = String::from_utf8(aine(d, &["token", "create", "--as", "pat"]).stdout)
        .unwrap()
        .trim()
        .to_owned();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_aine"))
        .current_dir(d)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "aine serve did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let pairs = [
        (vec!["runs", "--json"], "/api/v1/runs".to_owned()),
        (vec!["review", "list", "--json"], "/api/v1/gates".to_owned()),
        (
            vec!["review", "show", gate.as_str(), "--json"],
            format!("/api/v1/gates/{gate}"),
        ),
        (
            vec!["audit", "verify", "--json"],
            "/api/v1/audit".to_owned(),
        ),
    ];
    for (args, path) in pairs {
        let cli = json(&aine(d, &args));
        let api = api_get(port, &token, &path);
        assert_eq!(cli, api, "aine {} and GET {path} differ", args.join(" "));
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// `aine models list` names the sentence-embedding model with whether its files are in the
/// cache (`$XDG_CACHE_HOME/aine/models/all-minilm-l6-v2`), beside the chat models.
#[test]
fn models_list_shows_the_embedding_model_and_whether_it_is_pulled() {
    let dir = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let list = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_aine"))
            .current_dir(dir.path())
            .args(["models", "list", "--json"])
            .env("XDG_CACHE_HOME", cache.path())
            .env_remove("AINE_DB")
            .output()
            .unwrap()
    };
    let embedding = |rows: &Value| {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "local/all-minilm-l6-v2")
            .cloned()
            .expect("the list names local/all-minilm-l6-v2")
    };
    let rows = json(&list());
    assert!(
        rows.as_array()
            .unwrap()
            .iter()
            .any(|r| r["name"] == "local/qwen2.5-coder-1.5b"),
        "{rows}"
    );
    let row = embedding(&rows);
    assert_eq!(row["ready"], false, "{row}");
    assert!(
        row["about"].as_str().unwrap().contains("Apache-2.0"),
        "{row}"
    );

    let folder = cache.path().join("aine/models/all-minilm-l6-v2");
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["config.json", "tokenizer.json", "model.safetensors"] {
        std::fs::write(folder.join(file), "x").unwrap();
    }
    let row = embedding(&json(&list()));
    assert_eq!(row["ready"], true, "{row}");
    assert_eq!(row["path"], folder.to_str().unwrap());
}

/// Off a terminal (a log, CI), `aine run` writes one progress line per finished step to
/// stderr, so long work is not silent; `--json` writes none.
#[test]
fn run_writes_progress_lines_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_eq!(aine(d, &["init"]).status.code(), Some(0));
    let wf = "workflows/example.workflow.yaml";
    let out = aine(d, &["run", wf, "--input", "name=Ada"]);
    let (_, stderr) = text(&out);
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with('[')).collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].contains("greet: ok in"), "{stderr}");
    assert!(lines[1].contains("record: ok in"), "{stderr}");
    let out = aine(d, &["run", wf, "--input", "name=Ada", "--json"]);
    assert!(!text(&out).1.contains("greet: ok in"), "{:?}", text(&out));
}
