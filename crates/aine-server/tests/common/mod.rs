#![allow(
    dead_code,
    reason = "shared by several test binaries; each uses a subset"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use aine_runtime::{Config, Runtime, SystemClock};
use aine_server::AppState;
use aine_store::{Store, StoreOptions};
use aine_types::{PersonId, RunId};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt as _;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt as _;

/// alice owns release gates, pat product gates, ops is admin, rita only reads.
pub const CONFIG: &str = r#"
[people.alice]
name = "Alice"
[people.pat]
[people.ops]
[people.rita]
name = "Rita Reader"
[roles]
release-owner = ["alice"]
product-owner = ["pat"]
admin = ["ops"]
"#;

pub const EXAMPLE: &str = include_str!("../data/example.workflow.yaml");

/// A project with aine.toml, `wf.workflow.yaml` (EXAMPLE) and the bundled requirements
/// workflow under `workflows/`.
pub struct Project {
    pub dir: TempDir,
    pub state: AppState,
    pub app: axum::Router,
}

pub fn person(p: &str) -> PersonId {
    PersonId::new(p).unwrap()
}

/// Every builtin: core and the SDLC pack.
pub fn registry() -> aine_runtime::Registry {
    let mut registry = aine_runtime::core_registry().unwrap();
    aine_sdlc::register(&mut registry).unwrap();
    registry
}

/// A runtime over `dir`. Models are configured as `aine` configures them, but no model can be
/// built (no network in tests), so model steps fall back to their fallback builtin.
pub async fn runtime(dir: &Path) -> Runtime {
    let config = Config::load_dir(dir).unwrap();
    let store = Store::open(&config.database, &StoreOptions::default())
        .await
        .unwrap();
    let models = aine_runtime::configured_models(
        &config,
        Box::new(|c| {
            Err(aine_models::ModelError::Unavailable {
                message: format!("no model `{}` in tests", c.name),
            })
        }),
    );
    Runtime::new(
        store,
        Arc::new(registry()),
        Arc::new(config),
        Arc::new(SystemClock),
    )
    .with_models(Arc::new(models))
}

pub fn write_project(dir: &Path) {
    std::fs::write(dir.join("aine.toml"), CONFIG).unwrap();
    std::fs::write(dir.join("wf.workflow.yaml"), EXAMPLE).unwrap();
    for (name, text) in aine_sdlc::BUNDLED_WORKFLOW_FILES {
        let path = dir.join("workflows").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    std::fs::write(
        dir.join("notes.md"),
        "# Kickoff\n\nThe remote control shall be usable with one hand. \
         Users want to find the remote quickly when it is lost. \
         The battery should last at least a year. We had lunch afterwards.\n",
    )
    .unwrap();
}

pub async fn project() -> Project {
    let dir = tempfile::tempdir().unwrap();
    write_project(dir.path());
    let state = AppState::new(runtime(dir.path()).await).unwrap();
    let app = aine_server::router(state.clone());
    Project { dir, state, app }
}

impl Project {
    /// A fresh token for `who`.
    pub async fn token(&self, who: &str) -> String {
        let rt = self.state.runtime();
        aine_server::auth::create_token(rt.store(), rt.config(), &person(who), "test", 0)
            .await
            .unwrap()
    }

    /// Sends a request; returns status, headers and body bytes.
    pub async fn send(
        &self,
        request: Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
        let response = self.app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, headers, body)
    }

    /// GET `path` with `token` (if any); status and JSON body (Null when not JSON).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        let mut req = Request::get(path);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, _, body) = self.send(req.body(Body::empty()).unwrap()).await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// GET an HTML page with the session cookie of `token`.
    pub async fn page(&self, path: &str, token: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header(header::COOKIE, format!("aine_token={token}"))
            .body(Body::empty())
            .unwrap();
        let (status, _, body) = self.send(req).await;
        (status, String::from_utf8(body).unwrap())
    }

    /// POST a URL-encoded form with the session cookie of `token`.
    pub async fn form(
        &self,
        path: &str,
        token: &str,
        form: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let req = Request::post(path)
            .header(header::COOKIE, format!("aine_token={token}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form.to_owned()))
            .unwrap();
        let (status, headers, body) = self.send(req).await;
        (status, headers, String::from_utf8(body).unwrap())
    }

    /// POST `body` (raw text, sent as JSON) with `token`.
    pub async fn post(&self, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
        let mut req = Request::post(path).header(header::CONTENT_TYPE, "application/json");
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let (status, _, body) = self
            .send(req.body(Body::from(body.to_owned())).unwrap())
            .await;
        (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Waits until the runs driven in the background have stopped (finished or waiting).
    pub async fn settle(&self) {
        let tasks = self.state.tasks();
        tasks.close();
        tokio::time::timeout(Duration::from_secs(60), tasks.wait())
            .await
            .expect("background drives did not finish within 60 s");
        tasks.reopen();
    }

    /// Starts `workflow` with `inputs` as `who` and waits for it to stop; returns the run id.
    pub async fn start(&self, who_token: &str, workflow: &str, inputs: Value) -> RunId {
        let body = serde_json::json!({ "workflow": workflow, "inputs": inputs }).to_string();
        let (status, json) = self.post("/api/v1/runs", Some(who_token), &body).await;
        assert_eq!(status, StatusCode::ACCEPTED, "{json}");
        self.settle().await;
        json["run"].as_str().unwrap().parse().unwrap()
    }

    /// Approves `gate` over the API as the token's holder and waits for the run to stop.
    pub async fn approve(&self, gate: &str, token: &str) {
        let (status, body) = self
            .post(
                &format!("/api/v1/gates/{gate}/decision"),
                Some(token),
                r#"{"decision": "approve"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED, "{body}");
        self.settle().await;
    }

    /// The open gate of `run`.
    pub async fn open_gate(&self, run: &RunId) -> String {
        let record = self.state.runtime().store().run(run).await.unwrap();
        record
            .waiting_gate
            .expect("the run waits at a gate")
            .to_string()
    }
}
