//! Anthropic Messages API.
//!
//! Wire format: `POST {base_url}/v1/messages` with headers `x-api-key` and
//! `anthropic-version: 2023-06-01`, body `{model, max_tokens, temperature, system?, messages}`.
//! Structured output goes through one tool whose `input_schema` is the output schema, forced
//! with `tool_choice: {type: "tool", name}`; the answer text is that tool call's `input` as JSON.
//! Usage: `input_tokens` (uncached only), `cache_read_input_tokens`,
//! `cache_creation_input_tokens`, `output_tokens` (Anthropic API reference, "Messages").

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::ModelConfig;
use crate::http::{self, missing_field};
use crate::openai::count;
use crate::secrets::{self, Secrets};
use crate::{ChatModel, ChatRequest, ChatResponse, ModelError, Role, Usage};

/// The `anthropic-version` header value this provider speaks.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// Name of the single tool that carries a structured answer.
pub const ANSWER_TOOL: &str = "answer";

/// An Anthropic Messages API model. The key is read from the configured environment variable on
/// every call and never stored, printed or returned.
pub struct Anthropic {
    name: String,
    provider: String,
    model: String,
    url: String,
    api_key_env: String,
    headers: Vec<(String, String)>,
    context_window: u64,
    timeout: Duration,
    secrets: Arc<dyn Secrets>,
    client: reqwest::Client,
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Anthropic")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("url", &self.url)
            .field("api_key_env", &self.api_key_env)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Anthropic {
    /// A provider for `config` (kind `anthropic`). `base_url` defaults to
    /// `https://api.anthropic.com`, `api_key_env` to `ANTHROPIC_API_KEY`.
    pub fn new(config: &ModelConfig, secrets: Arc<dyn Secrets>) -> Result<Self, ModelError> {
        let base_url = config
            .base_url
            .as_deref()
            .unwrap_or("https://api.anthropic.com");
        Ok(Self {
            name: config.name.clone(),
            provider: config.provider_name().to_owned(),
            model: config.model.clone(),
            url: http::join_url(base_url, "v1/messages"),
            api_key_env: config
                .api_key_env
                .clone()
                .unwrap_or_else(|| "ANTHROPIC_API_KEY".to_owned()),
            headers: config.headers.clone().into_iter().collect(),
            context_window: config.context_window,
            timeout: Duration::from_millis(config.timeout_ms),
            secrets,
            client: http::client()?,
        })
    }

    /// The JSON request body for `request` (public for inspection and tests). System messages
    /// are joined (blank line between) into `system`.
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let system: Vec<&str> = request
            .messages
            .iter()
            .filter(|m| m.role == Role::System)
            .map(|m| m.content.as_str())
            .collect();
        let messages: Vec<Value> = request
            .messages
            .iter()
            .filter_map(|m| match m.role {
                Role::System => None,
                Role::User => Some(json!({ "role": "user", "content": m.content })),
                Role::Assistant => Some(json!({ "role": "assistant", "content": m.content })),
            })
            .collect();
        let mut body = json!({
            "model": self.model,
            "max_tokens": request.max_output_tokens,
            "temperature": request.temperature,
            "messages": messages,
        });
        if !system.is_empty() {
            body["system"] = json!(system.join("\n\n"));
        }
        if let Some(schema) = &request.output_schema {
            body["tools"] = json!([{
                "name": ANSWER_TOOL,
                "description": "Give the answer. Its input is the answer, in the required JSON shape.",
                "input_schema": object_schema(schema),
            }]);
            body["tool_choice"] = json!({ "type": "tool", "name": ANSWER_TOOL });
        }
        body
    }
}

/// Anthropic requires `input_schema` to have `"type": "object"` at the top; a schema without a
/// `type` (e.g. a top-level `oneOf` of objects, such as answer-or-`unsure`) gets it added.
fn object_schema(schema: &Value) -> Value {
    let mut schema = schema.clone();
    if let Some(object) = schema.as_object_mut() {
        object.entry("type").or_insert_with(|| json!("object"));
    }
    schema
}

/// Text (the answer tool's input as JSON, else the text blocks joined), usage, model and stop
/// reason of a Messages API response.
fn parse_response(body: &Value) -> Result<ChatResponse, ModelError> {
    let content = body
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| missing_field("content"))?;
    let tool_input = content.iter().find_map(|block| {
        (block.get("type").and_then(Value::as_str) == Some("tool_use")
            && block.get("name").and_then(Value::as_str) == Some(ANSWER_TOOL))
        .then(|| block.get("input"))
        .flatten()
    });
    let text = match tool_input {
        Some(input) => input.to_string(),
        None => content
            .iter()
            .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
            .filter_map(|b| b.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
    };
    let usage = body
        .get("usage")
        .filter(|u| u.is_object())
        .ok_or_else(|| missing_field("usage"))?;
    let cache_read = count(usage, &["cache_read_input_tokens"]);
    Ok(ChatResponse {
        text,
        usage: Usage {
            input_tokens: count(usage, &["input_tokens"])
                + cache_read
                + count(usage, &["cache_creation_input_tokens"]),
            output_tokens: count(usage, &["output_tokens"]),
            cached_input_tokens: cache_read,
        },
        response_model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason: body
            .get("stop_reason")
            .and_then(Value::as_str)
            .map(str::to_owned),
    })
}

#[async_trait::async_trait]
impl ChatModel for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }
    fn provider(&self) -> &str {
        &self.provider
    }
    fn context_window(&self) -> u64 {
        self.context_window
    }
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
        let key = secrets::api_key(self.secrets.as_ref(), &self.api_key_env)?;
        let mut builder = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .header("x-api-key", secrets::header_value(&key, &self.api_key_env)?)
            .header("anthropic-version", ANTHROPIC_VERSION)
            .json(&self.request_body(request));
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        let result = match http::send_json(builder, self.timeout).await {
            Ok(body) => parse_response(&body),
            Err(e) => Err(e),
        };
        http::scrub(result, Some(&key))
    }
}
