//! A real HTTP server on 127.0.0.1:0 that answers like OpenAI or Anthropic, one scenario per
//! path prefix (`/{scenario}/...`), and records every request it receives.
#![allow(clippy::unwrap_used, reason = "test helpers")]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use serde_json::{Value, json};

/// The canary API key: it must never appear in an error, a Debug string or a returned text.
pub const CANARY: &str = "sk-canary-7d1f0c5e9a2b4e6f8c3d";
/// The environment-variable name the fixtures configure (served by `StaticSecrets`).
pub const KEY_VAR: &str = "AINE_TEST_CANARY_KEY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    OpenAi,
    Anthropic,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub scenario: String,
    pub uri: Uri,
    pub headers: HeaderMap,
    pub body: Value,
}

struct Shared {
    flavor: Flavor,
    requests: Mutex<Vec<Recorded>>,
    flaky_calls: AtomicUsize,
}

#[derive(Clone)]
pub struct VendorServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

impl VendorServer {
    pub async fn start(flavor: Flavor) -> Self {
        let shared = Arc::new(Shared {
            flavor,
            requests: Mutex::new(Vec::new()),
            flaky_calls: AtomicUsize::new(0),
        });
        let app = Router::new()
            .route("/{scenario}/{*rest}", axum::routing::post(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, shared }
    }

    /// Base URL for `scenario`, in the vendor's SDK convention (OpenAI's includes `/v1`).
    pub fn base_url(&self, scenario: &str) -> String {
        match self.shared.flavor {
            Flavor::OpenAi => format!("http://{}/{scenario}/v1", self.addr),
            Flavor::Anthropic => format!("http://{}/{scenario}", self.addr),
        }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().unwrap().clone()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((scenario, _rest)): Path<(String, String)>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    shared.requests.lock().unwrap().push(Recorded {
        scenario: scenario.clone(),
        uri,
        headers: headers.clone(),
        body: body.clone(),
    });
    let flavor = shared.flavor;
    let sent_key = headers
        .get("x-api-key")
        .or_else(|| headers.get("api-key"))
        .or_else(|| headers.get("authorization"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .trim_start_matches("Bearer ")
        .to_owned();
    match scenario.as_str() {
        "ok" => json_response(200, success(flavor, &body, None)),
        "prose" => json_response(
            200,
            success(flavor, &body, Some("I think the answer is forty-two.")),
        ),
        "echo_key" => json_response(
            200,
            success(flavor, &body, Some(&format!("your key is {sent_key}"))),
        ),
        "bad_request" => json_response(
            400,
            error_body(
                flavor,
                "invalid_request_error",
                "max_tokens: must be positive",
            ),
        ),
        // Real vendors mask the key; this one echoes it whole to prove redaction.
        "unauthorized" => json_response(
            401,
            error_body(
                flavor,
                "authentication_error",
                &format!("invalid x-api-key {sent_key}"),
            ),
        ),
        "forbidden" => json_response(403, error_body(flavor, "permission_error", "not allowed")),
        "rate_limited" => {
            let mut r = json_response(429, error_body(flavor, "rate_limit_error", "slow down"));
            r.headers_mut().insert("retry-after", "7".parse().unwrap());
            r
        }
        "server_error" => match flavor {
            Flavor::OpenAi => json_response(
                500,
                error_body(flavor, "server_error", "the server had an error"),
            ),
            Flavor::Anthropic => {
                json_response(529, error_body(flavor, "overloaded_error", "Overloaded"))
            }
        },
        "flaky" => {
            if shared.flaky_calls.fetch_add(1, Ordering::SeqCst) % 2 == 0 {
                json_response(503, error_body(flavor, "api_error", "try again"))
            } else {
                json_response(200, success(flavor, &body, None))
            }
        }
        "timeout" => {
            tokio::time::sleep(Duration::from_secs(10)).await;
            json_response(200, success(flavor, &body, None))
        }
        "truncated" => {
            // Starts a chunked body, then drops the connection mid-way.
            let full = success(flavor, &body, None).to_string();
            let half = Bytes::from(full.as_bytes()[..full.len() / 2].to_vec());
            let stream = futures_util::stream::unfold(0u8, move |step| {
                let half = half.clone();
                async move {
                    match step {
                        0 => Some((Ok::<Bytes, std::io::Error>(half), 1)),
                        1 => {
                            tokio::time::sleep(Duration::from_millis(50)).await;
                            Some((Err(std::io::Error::other("connection dropped")), 2))
                        }
                        _ => None,
                    }
                }
            });
            raw_response(200, "application/json", Body::from_stream(stream))
        }
        "truncated_json" => {
            let full = success(flavor, &body, None).to_string();
            raw_response(
                200,
                "application/json",
                Body::from(full[..full.len() / 2].to_owned()),
            )
        }
        "html" => raw_response(
            200,
            "text/html",
            Body::from(
                "<!DOCTYPE html><html><head><title>Sign in - Corporate Proxy</title></head><body>Please sign in</body></html>",
            ),
        ),
        "html_502" => raw_response(
            502,
            "text/html",
            Body::from(
                "<html><head><title>502 Bad Gateway</title></head><body><center>nginx</center></body></html>",
            ),
        ),
        "not_json" => raw_response(200, "text/plain", Body::from("OK")),
        "missing_fields" => json_response(200, json!({ "id": "x", "object": "unknown" })),
        other => json_response(
            404,
            error_body(flavor, "not_found_error", &format!("no scenario {other}")),
        ),
    }
}

fn json_response(status: u16, body: Value) -> Response {
    raw_response(status, "application/json", Body::from(body.to_string()))
}

fn raw_response(status: u16, content_type: &str, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::from_u16(status).unwrap();
    response
        .headers_mut()
        .insert("content-type", content_type.parse().unwrap());
    response
}

/// The structured answer every fixture returns when asked for JSON.
pub fn structured_answer() -> Value {
    json!({ "answer": 42, "unit": "eggs" })
}

pub const PLAIN_ANSWER: &str = "Forty-two.";

/// A documented success body: JSON when the request asked for it (response_format / tools).
fn success(flavor: Flavor, request: &Value, text: Option<&str>) -> Value {
    match flavor {
        Flavor::OpenAi => {
            let wants_json = request.get("response_format").is_some();
            let content = match (text, wants_json) {
                (Some(t), _) => t.to_owned(),
                (None, true) => structured_answer().to_string(),
                (None, false) => PLAIN_ANSWER.to_owned(),
            };
            json!({
                "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
                "model": "gpt-4.1-mini-2025-04-14",
                "choices": [{ "index": 0, "message": { "role": "assistant", "content": content, "refusal": null }, "finish_reason": "stop" }],
                "usage": { "prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
                           "prompt_tokens_details": { "cached_tokens": 64 } }
            })
        }
        Flavor::Anthropic => {
            let tool = request
                .get("tool_choice")
                .and_then(|c| c.get("name"))
                .and_then(Value::as_str);
            let content = match (text, tool) {
                (Some(t), _) => json!([{ "type": "text", "text": t }]),
                (None, Some(name)) => {
                    json!([{ "type": "tool_use", "id": "toolu_1", "name": name, "input": structured_answer() }])
                }
                (None, None) => json!([{ "type": "text", "text": PLAIN_ANSWER }]),
            };
            json!({
                "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
                "content": content, "stop_reason": if tool.is_some() && text.is_none() { "tool_use" } else { "end_turn" },
                "stop_sequence": null,
                "usage": { "input_tokens": 56, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 64, "output_tokens": 30 }
            })
        }
    }
}

fn error_body(flavor: Flavor, kind: &str, message: &str) -> Value {
    match flavor {
        Flavor::OpenAi => {
            json!({ "error": { "message": message, "type": kind, "param": null, "code": null } })
        }
        Flavor::Anthropic => {
            json!({ "type": "error", "error": { "type": kind, "message": message }, "request_id": "req_1" })
        }
    }
}
