//! OpenAI chat completions, as spoken by OpenAI, Azure OpenAI, vLLM, Ollama, llama.cpp server,
//! LM Studio, OpenRouter, Groq, Together, DeepSeek and Mistral.
//!
//! Wire format: `POST {base_url}/chat/completions` with `{model, messages, max_tokens |
//! max_completion_tokens, temperature, response_format?}`; the answer is
//! `choices[0].message.content`, usage is `usage.prompt_tokens`, `usage.completion_tokens` and
//! `usage.prompt_tokens_details.cached_tokens` (OpenAI API reference, "Create chat completion").

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::config::{ModelConfig, StructuredOutput, TokenLimitField};
use crate::http::{self, missing_field};
use crate::secrets::{self, Secrets};
use crate::{ChatModel, ChatRequest, ChatResponse, ModelError, Role, Usage, estimate_tokens};

/// An OpenAI-compatible chat completions endpoint.
///
/// The API key is read from the configured environment variable on every call (so a rotated key
/// is picked up), sent as `Authorization: Bearer KEY` or in `api_key_header`, and never stored
/// in this struct, its `Debug` output or any error.
pub struct OpenAiCompatible {
    name: String,
    provider: String,
    model: String,
    url: String,
    api_key_env: Option<String>,
    api_key_header: Option<String>,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    context_window: u64,
    structured_output: StructuredOutput,
    strict_schema: bool,
    token_limit_field: TokenLimitField,
    timeout: Duration,
    secrets: Arc<dyn Secrets>,
    client: reqwest::Client,
}

impl fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiCompatible")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("url", &self.url)
            .field("api_key_env", &self.api_key_env)
            .field("structured_output", &self.structured_output)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl OpenAiCompatible {
    /// A provider for `config` (kind `openai_compatible`); keys come from `secrets`.
    /// Errors: no `base_url` → [`ModelError::Unavailable`].
    pub fn new(config: &ModelConfig, secrets: Arc<dyn Secrets>) -> Result<Self, ModelError> {
        let base_url = config
            .base_url
            .as_deref()
            .ok_or_else(|| ModelError::Unavailable {
                message: format!("model `{}` has no base_url", config.name),
            })?;
        Ok(Self {
            name: config.name.clone(),
            provider: config.provider_name().to_owned(),
            model: config.model.clone(),
            url: http::join_url(base_url, "chat/completions"),
            api_key_env: config.api_key_env.clone(),
            api_key_header: config.api_key_header.clone(),
            headers: config.headers.clone().into_iter().collect(),
            query: config.query.clone().into_iter().collect(),
            context_window: config.context_window,
            structured_output: config.structured_output,
            strict_schema: config.strict_schema,
            token_limit_field: config.token_limit_field,
            timeout: Duration::from_millis(config.timeout_ms),
            secrets,
            client: http::client()?,
        })
    }

    /// The JSON request body for `request` (public for inspection and tests).
    pub fn request_body(&self, request: &ChatRequest) -> Value {
        let mut messages: Vec<Value> = request
            .messages
            .iter()
            .map(|m| json!({ "role": role(m.role), "content": m.content }))
            .collect();
        let mut body = json!({ "model": self.model, "temperature": request.temperature });
        let limit = match self.token_limit_field {
            TokenLimitField::MaxTokens => "max_tokens",
            TokenLimitField::MaxCompletionTokens => "max_completion_tokens",
        };
        body[limit] = json!(request.max_output_tokens);
        if let Some(schema) = &request.output_schema {
            match self.structured_output {
                StructuredOutput::JsonSchema => {
                    body["response_format"] = json!({
                        "type": "json_schema",
                        "json_schema": { "name": "output", "schema": schema, "strict": self.strict_schema },
                    });
                }
                StructuredOutput::JsonObject => {
                    messages.push(schema_instruction(schema));
                    body["response_format"] = json!({ "type": "json_object" });
                }
                StructuredOutput::None => messages.push(schema_instruction(schema)),
            }
        }
        body["messages"] = Value::Array(messages);
        body
    }

    async fn call(
        &self,
        request: &ChatRequest,
        key: Option<(&str, &str)>,
    ) -> Result<ChatResponse, ModelError> {
        let mut builder = self
            .client
            .post(&self.url)
            .timeout(self.timeout)
            .query(&self.query)
            .json(&self.request_body(request));
        for (name, value) in &self.headers {
            builder = builder.header(name, value);
        }
        if let Some((variable, key)) = key {
            builder = match &self.api_key_header {
                Some(header) => builder.header(header, secrets::header_value(key, variable)?),
                None => builder.header(
                    reqwest::header::AUTHORIZATION,
                    secrets::header_value(&format!("Bearer {key}"), variable)?,
                ),
            };
        }
        let body = http::send_json(builder, self.timeout).await?;
        parse_response(&body, request)
    }
}

fn role(role: Role) -> &'static str {
    match role {
        Role::System => "system",
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// A system message carrying the schema, for endpoints without `json_schema` support.
fn schema_instruction(schema: &Value) -> Value {
    json!({
        "role": "system",
        "content": format!("Answer with a single JSON object that satisfies this JSON Schema, and nothing else:\n{schema}"),
    })
}

/// Text, usage, model and finish reason of a chat completion. A refusal
/// (`message.refusal`, content null) is returned as the text with finish reason `refusal`.
/// Servers that omit `usage` get an estimate ([`estimate_tokens`]).
fn parse_response(body: &Value, request: &ChatRequest) -> Result<ChatResponse, ModelError> {
    let choice = body
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or_else(|| missing_field("choices[0]"))?;
    let message = choice
        .get("message")
        .ok_or_else(|| missing_field("choices[0].message"))?;
    let mut finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let text = match (
        message.get("content").and_then(Value::as_str),
        message.get("refusal").and_then(Value::as_str),
    ) {
        (Some(content), _) => content.to_owned(),
        (None, Some(refusal)) => {
            finish_reason = Some("refusal".to_owned());
            refusal.to_owned()
        }
        (None, None) => return Err(missing_field("choices[0].message.content")),
    };
    let usage = match body.get("usage").filter(|u| u.is_object()) {
        Some(u) => Usage {
            input_tokens: count(u, &["prompt_tokens"]),
            output_tokens: count(u, &["completion_tokens"]),
            cached_input_tokens: count(u, &["prompt_tokens_details", "cached_tokens"]),
        },
        None => Usage {
            input_tokens: request
                .messages
                .iter()
                .map(|m| estimate_tokens(&m.content))
                .sum(),
            output_tokens: estimate_tokens(&text),
            cached_input_tokens: 0,
        },
    };
    Ok(ChatResponse {
        text,
        usage,
        response_model: body.get("model").and_then(Value::as_str).map(str::to_owned),
        finish_reason,
    })
}

/// A token count at `path`; absent or null counts as 0.
pub(crate) fn count(value: &Value, path: &[&str]) -> u64 {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

#[async_trait::async_trait]
impl ChatModel for OpenAiCompatible {
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
        let key = match &self.api_key_env {
            Some(variable) => Some((
                variable.as_str(),
                secrets::api_key(self.secrets.as_ref(), variable)?,
            )),
            None => None,
        };
        let result = self
            .call(request, key.as_ref().map(|(v, k)| (*v, k.as_str())))
            .await;
        http::scrub(result, key.as_ref().map(|(_, k)| k.as_str()))
    }
}
