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
