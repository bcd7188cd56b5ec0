//! Runs driven by the server are exported as OTLP traces when `[telemetry] otlp_endpoint` is set:
//! a real OTLP/HTTP receiver on 127.0.0.1 decodes what arrives.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests"
)]

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use serde_json::json;

use aine_server::AppState;
use common::{Project, runtime, write_project};

type Names = Arc<Mutex<Vec<String>>>;

/// An OTLP/HTTP receiver; the names of the spans it decoded.
async fn receiver() -> (SocketAddr, Names) {
    async fn accept(State(names): State<Names>, body: Bytes) -> StatusCode {
        let Ok(request) = ExportTraceServiceRequest::decode(body) else {
            return StatusCode::BAD_REQUEST;
        };
        let mut names = names.lock().unwrap();
        for resource in request.resource_spans {
            for scope in resource.scope_spans {
                names.extend(scope.spans.into_iter().map(|span| span.name));
            }
        }
        StatusCode::OK
    }
    let names = Names::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(accept))
        .with_state(names.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (addr, names)
}

// Two workers: the receiver answers while the test blocks in the exporter's shutdown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_started_and_approved_over_http_is_exported_as_a_trace() {
    let (addr, names) = receiver().await;
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let config = dir.path().join("aine.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!(
        "\n[telemetry]\notlp_endpoint = \"http://{addr}\"\n"
    ));
    std::fs::write(&config, text).unwrap();
    let state = AppState::new(runtime(dir.path()).await).unwrap();
    assert!(state.telemetry().is_some(), "telemetry is configured");
    let app = aine_server::router(state.clone());
    let p = Project { dir, state, app };

    let alice = p.token("alice").await;
    let run = p
        .start(&alice, "wf.workflow.yaml", json!({ "name": "World" }))
        .await;
    let gate = p.open_gate(&run).await;
    let (status, body) = p
        .post(
            &format!("/api/v1/gates/{gate}/decision"),
            Some(&alice),
            r#"{"decision": "approve", "reason": "ship it"}"#,
        )
        .await;
    assert!(status.is_success(), "{status} {body}");
    p.settle().await;

    // What `serve` does at shutdown: export what is queued.
    let state = p.state.clone();
    let lost = tokio::task::spawn_blocking(move || {
        let observer = state.telemetry().unwrap();
        observer.shutdown(aine_telemetry::SHUTDOWN_BOUND);
        observer.stats().failed() + observer.stats().dropped()
    })
    .await
    .unwrap();
    assert_eq!(lost, 0);
    let mut names = names.lock().unwrap().clone();
    names.sort();
    assert_eq!(
        names,
        [
            "gate approve",
            "invoke_workflow example",
            "step announce",
            "step greet"
        ],
        "spans of run {run}"
    );
}
