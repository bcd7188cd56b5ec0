//! Shared test support: a runtime whose models are scripted fakes
//! (`aine_runtime::testing::ScriptedModel`), a workflow with an escalating model step and a
//! gate, and a real OTLP/HTTP collector on 127.0.0.1 that decodes what it receives with the
//! OpenTelemetry proto types.

#![allow(dead_code, reason = "each test file uses a part of the support")]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aine_models::ModelPrice;
use aine_runtime::testing::{Reply, ScriptedModel, scripted_models};
use aine_runtime::{Config, Runtime, SystemClock};
use aine_store::{Store, StoreOptions};
use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use tempfile::TempDir;

const SCHEMA: &str = r#"{"type":"object","properties":{"title":{"type":"string"}},"required":["title"],"additionalProperties":false}"#;

const CONFIG: &str = "[people.alice]\n[roles]\npo = [\"alice\"]\n";

/// `draft` (a model step: `t/small` is unsure, `t/big` answers), then a gate `review` the
/// owner always decides, then `echo` (a builtin).
pub const WORKFLOW: &str = r#"
workflow: titles
version: 1
owners:
  po: { role: po }
budget: { usd: 1.0, tokens: 10000 }
steps:
  - id: draft
    model:
      route: [t/small, t/big]
      escalate_on: [unsure, violation]
      prompt: p.j2
      output: s.json
      max_output_tokens: 50
    budget: { usd: 0.5 }
  - id: review
    gate: { owner: po, autonomy: review }
  - id: echo
    builtin: core.echo
    with: { message: "{{ steps.draft.output.title }}" }
"#;

/// A project directory with `workflow` and a runtime whose `t/small` is unsure once and whose
/// `t/big` answers `{"title": "Hello"}`, both priced at 1 USD per million tokens.
pub async fn setup(workflow: &str) -> (TempDir, Runtime) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("aine.toml"), CONFIG).unwrap();
    std::fs::write(dir.path().join("wf.workflow.yaml"), workflow).unwrap();
    std::fs::write(dir.path().join("p.j2"), "Give a title.").unwrap();
    std::fs::write(dir.path().join("s.json"), SCHEMA).unwrap();
    let config = Config::load_dir(dir.path()).unwrap();
    let store = Store::open(&config.database, &StoreOptions::default())
        .await
        .unwrap();
    let small = ScriptedModel::new(
        "t/small",
        [Reply::Text(r#"{"unsure": {"reason": "too vague"}}"#)],
    )
    .answering_as("t/small-2026-06");
    let big = ScriptedModel::new("t/big", [Reply::Text(r#"{"title": "Hello"}"#)])
        .answering_as("t/big-2026-06");
    let price: rust_decimal::Decimal = "1".parse().unwrap();
    let models = scripted_models(
        &[Arc::new(small), Arc::new(big)],
        Some(ModelPrice::flat(price, price, None)),
    );
    let rt = Runtime::new(
        store,
        Arc::new(aine_runtime::core_registry().unwrap()),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(Arc::new(models));
    (dir, rt)
}

/// How the collector behaves.
#[derive(Debug, Clone, Copy)]
pub enum Collector {
    /// Accepts every request at once.
    Healthy,
    /// Answers each request after this long.
    Slow(Duration),
}

/// A real OTLP/HTTP collector on 127.0.0.1: every span it received, decoded from protobuf.
#[derive(Debug, Clone, Default)]
pub struct Received(pub Arc<Mutex<Vec<Span>>>);

impl Received {
    pub fn spans(&self) -> Vec<Span> {
        self.0.lock().unwrap().clone()
    }
}

/// Starts a collector; returns its base URL (`http://127.0.0.1:PORT`) and what it receives.
pub async fn collector(behaviour: Collector) -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route("/v1/traces", post(accept))
        .with_state((received.clone(), behaviour));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), received)
}

async fn accept(
    State((received, behaviour)): State<(Received, Collector)>,
    body: Bytes,
) -> axum::http::StatusCode {
    if let Collector::Slow(delay) = behaviour {
        tokio::time::sleep(delay).await;
    }
    let Ok(request) = ExportTraceServiceRequest::decode(body) else {
        return axum::http::StatusCode::BAD_REQUEST;
    };
    let mut spans = received.0.lock().unwrap();
    for resource in request.resource_spans {
        for scope in resource.scope_spans {
            spans.extend(scope.spans);
        }
    }
    axum::http::StatusCode::OK
}

/// A base URL where nothing listens (a port bound and released at once).
pub fn dead_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}")
}

/// The OTLP/gRPC `TraceService` of [`grpc_collector`].
struct GrpcTraces(Received);

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceService
    for GrpcTraces
{
    async fn export(
        &self,
        request: tonic::Request<ExportTraceServiceRequest>,
    ) -> Result<
        tonic::Response<
            opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse,
        >,
        tonic::Status,
    > {
        let mut spans = self.0.0.lock().unwrap();
        for resource in request.into_inner().resource_spans {
            for scope in resource.scope_spans {
                spans.extend(scope.spans);
            }
        }
        Ok(tonic::Response::new(Default::default()))
    }
}

/// A real OTLP/gRPC collector on 127.0.0.1 (tonic serving the proto crate's generated
/// `TraceService`); returns its URL (`http://127.0.0.1:PORT`) and what it receives.
pub async fn grpc_collector() -> (String, Received) {
    use opentelemetry_proto::tonic::collector::trace::v1::trace_service_server::TraceServiceServer;
    let received = Received::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let service = TraceServiceServer::new(GrpcTraces(received.clone()));
    tokio::spawn(async move {
        tonic::transport::Server::builder()
            .serve_with_incoming(
                service,
                tonic::transport::server::TcpIncoming::from(listener),
            )
            .await
    });
    (format!("http://{addr}"), received)
}
