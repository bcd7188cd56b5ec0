//! Secrets never reach anything aine writes or prints: an API key (the value of a configured
//! `api_key_env` variable) and a configured `[secrets]` pattern are planted as canaries in a run's
//! input, in a hostile provider's error body and in a model's answer, and in a reviewer's reason;
//! then every output is searched: stdout and stderr of every command, `aine show`, `aine review
//! show`, listings, `aine audit export`, `aine metrics`, every byte of every file in the project
//! (the SQLite database and its WAL, files the run wrote), and every byte of the OTLP traces
//! exported with content capture on (prompts and answers on spans).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

const KEY: &str = "canary-key-7f3a9c2e5b1d";
const TICKET: &str = "INTERNAL-123456";

/// What the fake vendor saw: the Authorization header of each request.
type Seen = Arc<Mutex<Vec<String>>>;

/// What the OTLP/HTTP collector received: each request's body (protobuf, uncompressed).
type Traces = Arc<Mutex<Vec<Vec<u8>>>>;

async fn traces(State(traces): State<Traces>, body: axum::body::Bytes) -> StatusCode {
    traces.lock().unwrap().push(body.to_vec());
    StatusCode::OK
}

/// An OpenAI-compatible endpoint: model `leaky-a` fails with a 401 whose body echoes the key it
/// was sent (as some gateways do); model `leaky-b` answers with the key and the ticket number in
/// its content.
async fn chat(State(seen): State<Seen>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    seen.lock().unwrap().push(auth.clone());
    if body["model"] == "leaky-a" {
        let message = format!("Incorrect API key provided: {auth}");
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": {"message": message, "type": "invalid_request_error"}})),
        )
            .into_response();
    }
    let content = json!({ "summary": format!("remote uses key {KEY} for ticket {TICKET}") });
    Json(json!({
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "leaky-b",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content.to_string()},
            "finish_reason": "stop"
        }],
        "usage": {"prompt_tokens": 40, "completion_tokens": 20, "total_tokens": 60}
    }))
    .into_response()
}

/// The fake vendor at `/v1/chat/completions` and an OTLP/HTTP collector at `/v1/traces`.
fn serve() -> (SocketAddr, Seen, Traces) {
    let seen: Seen = Arc::default();
    let received: Traces = Arc::default();
    let app = axum::Router::new()
        .route("/v1/chat/completions", post(chat))
        .with_state(seen.clone())
        .merge(
            axum::Router::new()
                .route("/v1/traces", post(traces))
                .with_state(received.clone()),
        );
    (common::serve_http(app), seen, received)
}

fn aine(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aine"))
        .current_dir(dir)
        .args(args)
        .env("AINE_CANARY_KEY", KEY)
        .env_remove("AINE_USER")
        .env_remove("AINE_DB")
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        .env_remove("OTEL_EXPORTER_OTLP_COMPRESSION")
        .env_remove("OTEL_SDK_DISABLED")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Every file under `dir`, recursively, with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[test]
fn api_keys_and_secret_patterns_reach_no_output() {
    let (addr, seen, received) = serve();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let config = format!(
        r#"
[people.pat]
name = "Pat"

[roles]
approver = ["pat"]

[secrets]
patterns = ["INTERNAL-[0-9]{{6}}"]

[telemetry]
otlp_endpoint = "http://{addr}"
capture_content = true

[models."canary/a"]
provider = "openai_compatible"
model = "leaky-a"
base_url = "http://{addr}/v1"
api_key_env = "AINE_CANARY_KEY"
structured_output = "json_object"
price = {{ input = "1", output = "1" }}

[models."canary/b"]
provider = "openai_compatible"
model = "leaky-b"
base_url = "http://{addr}/v1"
api_key_env = "AINE_CANARY_KEY"
structured_output = "json_object"
price = {{ input = "1", output = "1" }}
"#
    );
    std::fs::write(d.join("aine.toml"), config).unwrap();
    std::fs::write(
        d.join("leak.workflow.yaml"),
        r#"workflow: leak
version: 1
owners:
  approver: { role: approver }
inputs:
  note: { type: string }
steps:
  - id: summarize
    model:
      route: [canary/a, canary/b]
      prompt: prompt.j2
      output: out.schema.json
      max_output_tokens: 100
  - id: review
    gate: { owner: approver, reviews: summarize }
  - id: save
    builtin: file.append
    with: { path: "out.txt", line: "{{ steps.summarize.output.summary }} / {{ inputs.note }}" }
"#,
    )
    .unwrap();
    std::fs::write(d.join("prompt.j2"), "Summarize: {{ inputs.note }}").unwrap();
    std::fs::write(
        d.join("out.schema.json"),
        r#"{"type":"object","properties":{"summary":{"type":"string"}},"required":["summary"]}"#,
    )
    .unwrap();

    let mut printed: Vec<(String, Output)> = Vec::new();
    let note = format!("note=see {TICKET}, key {KEY}");
    let out = aine(
        d,
        &["run", "leak.workflow.yaml", "--input", &note, "--json"],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = v["summary"]["run"].as_str().unwrap().to_owned();
    let gate = v["summary"]["waiting"]["gate"].as_str().unwrap().to_owned();
    printed.push(("run".into(), out));
    printed.push(("review show".into(), aine(d, &["review", "show", &gate])));
    let reason = format!("fine, but rotate {KEY} ({TICKET})");
    let out = aine(
        d,
        &[
            "review", "approve", &gate, "--as", "pat", "--reason", &reason,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed.push(("approve".into(), out));
    for args in [
        vec!["show", run.as_str(), "--json"],
        vec!["show", run.as_str()],
        vec!["runs", "--json"],
        vec!["review", "list", "--all", "--json"],
        vec!["audit", "export", "--jsonl"],
        vec!["audit", "verify"],
        vec!["metrics", "runs", "--json"],
    ] {
        let out = aine(d, &args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {out:?}");
        printed.push((args.join(" "), out));
    }

    // The key really was used, and the canaries really went through the run: without
    // redaction they would be in the outputs searched below.
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "one call per model: {seen:?}");
    assert!(
        seen.iter().all(|h| h == &format!("Bearer {KEY}")),
        "{seen:?}"
    );
    let show = String::from_utf8_lossy(&printed[3].1.stdout).into_owned();
    assert!(show.contains("[REDACTED:api-key]"), "{show}");
    assert!(show.contains("[REDACTED:pattern-1]"), "{show}");
    assert!(show.contains("\"succeeded\""), "{show}");

    for (what, out) in &printed {
        for canary in [KEY, TICKET] {
            assert!(
                !contains(&out.stdout, canary),
                "`aine {what}` printed {canary} on stdout"
            );
            assert!(
                !contains(&out.stderr, canary),
                "`aine {what}` printed {canary} on stderr"
            );
        }
    }
    let all = files(d);
    assert!(
        all.iter().any(|(p, _)| p.ends_with("out.txt")),
        "the run wrote its file"
    );
    assert!(
        all.iter().any(|(p, _)| p.ends_with("aine.db")),
        "the database is there"
    );
    // The CLI flushes spans before it exits: the prompt and the answer are on them, redacted.
    let received = received.lock().unwrap().concat();
    assert!(
        contains(&received, "Summarize: see [REDACTED:pattern-1]"),
        "the prompt was exported"
    );
    assert!(
        contains(&received, "for ticket [REDACTED:pattern-1]"),
        "the answer was exported"
    );
    for canary in [KEY, TICKET] {
        assert!(!contains(&received, canary), "a span holds {canary}");
    }
    for (path, bytes) in &all {
        for canary in [KEY, TICKET] {
            assert!(
                !contains(bytes, canary),
                "{} holds {canary}",
                path.display()
            );
        }
    }
}
