#![allow(
    dead_code,
    reason = "shared by several test binaries; each uses a subset"
)]
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "test helpers")]

use std::path::Path;
use std::process::{Command, Output, Stdio};

use tempfile::TempDir;

/// A temporary project with `aine.toml` and `wf.workflow.yaml`.
pub fn project(config: &str, workflow: &str) -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aine.toml"), config).unwrap();
    std::fs::write(dir.path().join("wf.workflow.yaml"), workflow).unwrap();
    dir
}

/// Runs `aine ARGS` in `dir` and returns its output.
pub fn aine(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_aine"))
        .current_dir(dir)
        .args(args)
        .env_remove("AINE_USER")
        .env_remove("AINE_DB")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// stdout and stderr of `out`, as text.
pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Serves `app` on 127.0.0.1 (a free port) from a thread of its own with its own runtime, so it
/// keeps answering while a test blocks on an `aine` child process. Returns its address.
pub fn serve_http(app: axum::Router) -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    addr
}

/// An `aine init` project whose requirements run waits at its review gate, and that gate's id:
/// a short note, every model of the route refused (their endpoint is a port nothing listens
/// on), so the fallback drafts one requirement per clean sentence (REQ-001 to REQ-005).
pub fn drafted_project() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = aine(d, &["init"]);
    assert!(out.status.success(), "{:?}", text(&out));
    let mut config = std::fs::read_to_string(d.join("aine.toml")).unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for model in [
        "local/qwen2.5-coder-1.5b",
        "openai/gpt-4.1-mini",
        "anthropic/claude-sonnet-4-5",
    ] {
        config.push_str(&format!(
            "\n[models.\"{model}\"]\nprovider = \"openai_compatible\"\nmodel = \"x\"\nbase_url = \"http://127.0.0.1:{closed}/v1\"\n"
        ));
    }
    std::fs::write(d.join("aine.toml"), config).unwrap();
    std::fs::write(
        d.join("kickoff.txt"),
        "Pat: Okay, let us start.\n\
         Sam: The remote must cost less than twenty five euros.\n\
         Kim: The remote shall have a red power button.\n\
         Sam: The remote should have a long battery life.\n\
         Kim: The buttons must be big enough to press easily.\n\
         Pat: The remote must not provide teletext.\n",
    )
    .unwrap();
    let out = aine(
        d,
        &[
            "run",
            "workflows/requirements.workflow.yaml",
            "--input",
            "sources=[\"kickoff.txt\"]",
            "--json",
        ],
    );
    assert!(out.status.success(), "{:?}", text(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let gate = summary["summary"]["waiting"]["gate"]
        .as_str()
        .expect("the run stops at its review gate")
        .to_owned();
    (dir, gate)
}

/// The texts of the requirements in the project's published `spec/requirements.json`.
pub fn requirement_texts(dir: &Path) -> Vec<String> {
    let spec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("spec/requirements.json")).unwrap())
            .unwrap();
    spec["requirements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap().to_owned())
        .collect()
}
