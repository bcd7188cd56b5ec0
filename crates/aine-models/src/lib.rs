//! Models behind one small trait.
//!
//! [`ChatModel`] is the single seam between the runtime and a model provider: a request of
//! messages, an optional output JSON Schema, max output tokens and a temperature; a response of
//! text plus [`Usage`] in tokens. Providers: [`OpenAiCompatible`] (OpenAI, Azure OpenAI, vLLM,
//! Ollama, llama.cpp server, OpenRouter, Groq, …), [`Anthropic`] (Messages API) and [`Replay`]
//! (recorded real answers, for offline evaluation). The local GGUF provider lives in `aine-llama`
//! and implements the same trait.
//!
//! Shared wire code lives once: [`http`] maps HTTP statuses and error bodies to [`ModelError`],
//! [`retry`] retries with backoff honouring `Retry-After`. [`prices`] holds the bundled price
//! table and exact decimal cost; [`extract`] pulls a JSON value out of a model's text.

mod anthropic;
pub mod config;
pub mod extract;
pub mod http;
mod openai;
pub mod prices;
mod replay;
pub mod retry;
mod secrets;
mod tokens;

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use anthropic::{ANSWER_TOOL, ANTHROPIC_VERSION, Anthropic};
pub use config::{
    ModelConfig, ProviderKind, StructuredOutput, TokenLimitField, build, build_with_secrets,
    default_models, resolve_models,
};
pub use extract::{ExtractError, extract_json};
pub use openai::OpenAiCompatible;
pub use prices::{ModelPrice, PriceEntry, PriceError, PriceTable, PriceTier, cost};
pub use replay::{Gsm8kModel, Gsm8kRecord, Replay, load_gsm8k};
pub use retry::{AttemptRecord, RetryPolicy, Sleeper, TokioSleeper, with_retries};
pub use secrets::{ProcessEnv, Secrets, StaticSecrets};
pub use tokens::estimate_tokens;

/// A chat model: one provider's model behind a route name.
///
/// Implementations must be cheap to share (`Arc<dyn ChatModel>`) and must never put an API key
/// in an error, a `Debug` string or a returned text.
#[async_trait::async_trait]
pub trait ChatModel: Send + Sync + std::fmt::Debug {
    /// The route name, e.g. `openai/gpt-4.1-mini`, `local/gemma-3-270m`.
    fn name(&self) -> &str;
    /// Provider name as in OpenTelemetry GenAI `gen_ai.provider.name` (`openai`, `anthropic`,
    /// `llama.cpp`, `replay`...).
    fn provider(&self) -> &str;
    /// Context window in tokens.
    fn context_window(&self) -> u64;
    /// Token count of `text` for this model: the model's tokenizer where available, else a
    /// documented conservative estimate ([`estimate_tokens`]).
    fn count_tokens(&self, text: &str) -> u64 {
        estimate_tokens(text)
    }
    /// One completion. Errors are classified for retry and fallback, see
    /// [`ModelError::is_retryable`].
    async fn complete(&self, request: &ChatRequest) -> Result<ChatResponse, ModelError>;
}

/// What to ask a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// The conversation, oldest first. System messages may appear anywhere; providers that take
    /// the system prompt separately (Anthropic) join them in order.
    pub messages: Vec<Message>,
    /// A JSON Schema (2020-12) the answer must satisfy; providers pass it on as structured
    /// output where the endpoint supports it. The answer text is then the JSON document.
    pub output_schema: Option<serde_json::Value>,
    /// Upper bound on generated tokens.
    pub max_output_tokens: u32,
    /// Sampling temperature (0 = greedy).
    pub temperature: f32,
}

impl ChatRequest {
    /// The content of the last user message, if any.
    pub fn last_user_message(&self) -> Option<&str> {
        self.messages
            .iter()
            .rev()
            .find(|m| m.role == Role::User)
            .map(|m| m.content.as_str())
    }
}

/// One message of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub content: String,
}

impl Message {
    /// A system message.
    pub fn system(content: impl Into<String>) -> Self {
        Self {
            role: Role::System,
            content: content.into(),
        }
    }
    /// A user message.
    pub fn user(content: impl Into<String>) -> Self {
        Self {
            role: Role::User,
            content: content.into(),
        }
    }
    /// An assistant message.
    pub fn assistant(content: impl Into<String>) -> Self {
        Self {
            role: Role::Assistant,
            content: content.into(),
        }
    }
}

/// Who wrote a message (serialized lower case, as every vendor spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    System,
    User,
    Assistant,
}

/// What a model answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer; with an output schema, the JSON document as text.
    pub text: String,
    /// Tokens used, as the provider reported them (or estimated where it reports none).
    pub usage: Usage,
    /// The model id the provider says answered (`gen_ai.response.model`).
    pub response_model: Option<String>,
    /// Why generation stopped, in the provider's words (`stop`, `length`, `end_turn`, `tool_use`…).
    pub finish_reason: Option<String>,
}

/// Tokens used by one call.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// All prompt tokens, cached ones included (OpenAI `prompt_tokens`; for Anthropic,
    /// `input_tokens + cache_read_input_tokens + cache_creation_input_tokens`).
    pub input_tokens: u64,
    /// Generated tokens.
    pub output_tokens: u64,
    /// The part of `input_tokens` served from the provider's prompt cache.
    pub cached_input_tokens: u64,
}

impl Usage {
    /// Input plus output tokens.
    pub fn total_tokens(&self) -> u64 {
        self.input_tokens.saturating_add(self.output_tokens)
    }
}

/// Why a model call failed. Messages never contain an API key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The environment variable that should hold the API key is not set (or empty).
    #[error("environment variable `{variable}` is not set; export it with your API key")]
    MissingApiKey { variable: String },
    /// HTTP 429.
    #[error("rate limited{}: {message}", fmt_retry_after(*retry_after))]
    RateLimited {
        retry_after: Option<Duration>,
        message: String,
    },
    /// HTTP 5xx.
    #[error("provider server error (http {status}): {message}")]
    Server { status: u16, message: String },
    /// HTTP 4xx other than 401, 403 and 429: the request was wrong.
    #[error("provider rejected the request (http {status}): {message}")]
    Client { status: u16, message: String },
    /// HTTP 401 or 403.
    #[error("provider refused the credentials (http {status}): {message}; check the API key")]
    Auth { status: u16, message: String },
    /// No complete answer within the configured timeout.
    #[error("no answer within {} ms", after.as_millis())]
    Timeout { after: Duration },
    /// The body was cut off or its JSON ends early.
    #[error("truncated response: {message}")]
    Truncated { message: String },
    /// Not the JSON the vendor documents: an HTML page, other text, or missing fields.
    #[error("invalid response: {message}")]
    InvalidResponse { message: String },
    /// The model cannot be used at all (e.g. a local model file is missing, a kind is not built
    /// here).
    #[error("model unavailable: {message}")]
    Unavailable { message: String },
    /// Connection refused, reset, DNS, TLS.
    #[error("transport error: {message}")]
    Transport { message: String },
}

fn fmt_retry_after(retry_after: Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(" (retry after {} ms)", d.as_millis()),
        None => String::new(),
    }
}

impl ModelError {
    /// Whether the same call may succeed if repeated: rate limits, 5xx, timeouts, truncated
    /// bodies and transport errors (DESIGN.md "Run semantics"). Everything else should fall
    /// back along the route instead.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Timeout { .. }
                | Self::Truncated { .. }
                | Self::Transport { .. }
        )
    }

    /// The delay the provider asked for (`Retry-After`), if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// A short, stable, lower-case kind for journals and traces (`rate_limited`, `server_error`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MissingApiKey { .. } => "missing_api_key",
            Self::RateLimited { .. } => "rate_limited",
            Self::Server { .. } => "server_error",
            Self::Client { .. } => "client_error",
            Self::Auth { .. } => "auth",
            Self::Timeout { .. } => "timeout",
            Self::Truncated { .. } => "truncated",
            Self::InvalidResponse { .. } => "invalid_response",
            Self::Unavailable { .. } => "unavailable",
            Self::Transport { .. } => "transport",
        }
    }
}
