//! Models as data: the `[models."NAME"]` tables of `aine.toml`, the shipped defaults, and
//! [`build`], which turns a config into a ready [`ChatModel`].
//!
//! ```toml
//! [models."openai/gpt-4.1-mini"]
//! provider = "openai_compatible"
//! base_url = "https://api.openai.com/v1"
//! api_key_env = "OPENAI_API_KEY"          # the variable's NAME, never the key
//! context_window = 1047576
//! max_output_tokens = 32768
//! structured_output = "json_schema"       # json_schema | json_object | none
//!
//! [models."azure/gpt-4o"]
//! provider = "openai_compatible"
//! provider_name = "azure.ai.openai"
//! base_url = "https://my-resource.openai.azure.com/openai/deployments/gpt-4o"
//! api_key_env = "AZURE_OPENAI_API_KEY"
//! api_key_header = "api-key"
//! query = { "api-version" = "2024-10-21" }
//!
//! [models."replay/mixtral-8x7b"]
//! provider = "replay"
//! path = "data/routellm/gsm8k_responses.csv"
//! model = "mistralai/Mixtral-8x7B-Instruct-v0.1"
//! price = { input = "0.9", output = "0.9" }   # USD per million tokens
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::prices::ModelPrice;
use crate::secrets::{ProcessEnv, Secrets};
use crate::{Anthropic, ChatModel, ModelError, OpenAiCompatible, Replay};

/// Which wire protocol (or in-process engine) serves a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI chat completions and the many servers that speak it.
    OpenaiCompatible,
    /// Anthropic Messages API.
    Anthropic,
    /// Recorded answers ([`Replay`]).
    Replay,
    /// A GGUF file run in-process; built by `aine-llama`, not here.
    Local,
}

/// How an OpenAI-compatible endpoint is asked for JSON that fits the output schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StructuredOutput {
    /// `response_format: {type: "json_schema", json_schema: {name, schema, strict}}` (OpenAI,
    /// Azure, vLLM, Ollama, llama.cpp server, OpenRouter…).
    #[default]
    JsonSchema,
    /// `response_format: {type: "json_object"}` plus the schema in a system message.
    JsonObject,
    /// No `response_format`; the schema goes in a system message only.
    None,
}

/// Which request field caps the answer length on an OpenAI-compatible endpoint.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenLimitField {
    /// `max_tokens`: understood by every compatible server.
    #[default]
    MaxTokens,
    /// `max_completion_tokens`: OpenAI's current name, required by its reasoning models.
    MaxCompletionTokens,
}

/// One configured model. Deserialized from a `[models."NAME"]` table; `name` comes from the
/// table key (see [`resolve_models`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Route name, e.g. `openai/gpt-4.1-mini` (the table key).
    #[serde(default, skip_serializing)]
    pub name: String,
    pub provider: ProviderKind,
    /// The vendor's model id (`gpt-4.1-mini`); defaults to the route name after its first `/`.
    /// For replay, the recorded model's column name.
    #[serde(default)]
    pub model: String,
    /// OpenTelemetry `gen_ai.provider.name`, also the first key tried in the price table;
    /// defaults by kind: `openai`, `anthropic`, `replay`, `llama.cpp`.
    #[serde(default)]
    pub provider_name: Option<String>,
    /// Endpoint root: `https://api.openai.com/v1` (chat completions is appended) or
    /// `https://api.anthropic.com` (`/v1/messages` is appended).
    #[serde(default)]
    pub base_url: Option<String>,
    /// NAME of the environment variable holding the API key; `None` for keyless local servers.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Header carrying the raw key instead of `Authorization: Bearer` (Azure: `api-key`).
    #[serde(default)]
    pub api_key_header: Option<String>,
    /// Extra request headers (not secrets).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Extra query parameters (Azure: `api-version`).
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    /// Context window in tokens.
    #[serde(default = "default_context_window")]
    pub context_window: u64,
    /// The most output tokens the model may produce per call.
    #[serde(default = "default_max_output_tokens")]
    pub max_output_tokens: u32,
    #[serde(default)]
    pub structured_output: StructuredOutput,
    /// `strict` of OpenAI's `json_schema` (needs `additionalProperties: false` everywhere).
    #[serde(default)]
    pub strict_schema: bool,
    #[serde(default)]
    pub token_limit_field: TokenLimitField,
    /// Total time allowed per HTTP call, in milliseconds.
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u64,
    /// Price override, USD per million tokens; replaces the bundled price table's entry.
    #[serde(default)]
    pub price: Option<ModelPrice>,
    /// Replay: the recorded responses file. Local: the GGUF file.
    #[serde(default)]
    pub path: Option<PathBuf>,
}

fn default_context_window() -> u64 {
    8192
}
fn default_max_output_tokens() -> u32 {
    4096
}
fn default_timeout_ms() -> u64 {
    120_000
}

impl ModelConfig {
    /// A config of `kind` for route `name` with every optional field at its default.
    pub fn new(name: &str, kind: ProviderKind) -> Self {
        Self {
            name: name.to_owned(),
            provider: kind,
            model: String::new(),
            provider_name: None,
            base_url: None,
            api_key_env: None,
            api_key_header: None,
            headers: BTreeMap::new(),
            query: BTreeMap::new(),
            context_window: default_context_window(),
            max_output_tokens: default_max_output_tokens(),
            structured_output: StructuredOutput::default(),
            strict_schema: false,
            token_limit_field: TokenLimitField::default(),
            timeout_ms: default_timeout_ms(),
            price: None,
            path: None,
        }
        .named(name)
    }

    /// Sets the route name (and the model id from it, when unset).
    pub fn named(mut self, name: &str) -> Self {
        name.clone_into(&mut self.name);
        if self.model.is_empty() {
            self.model = name.split_once('/').map_or(name, |(_, m)| m).to_owned();
        }
        self
    }

    /// `gen_ai.provider.name`: the configured one, else the kind's default.
    pub fn provider_name(&self) -> &str {
        self.provider_name
            .as_deref()
            .unwrap_or(match self.provider {
                ProviderKind::OpenaiCompatible => "openai",
                ProviderKind::Anthropic => "anthropic",
                ProviderKind::Replay => "replay",
                ProviderKind::Local => "llama.cpp",
            })
    }
}

/// The shipped remote models, so `aine models list` has something to show with no config.
/// Prices come from the bundled table; keys from the named environment variables.
pub fn default_models() -> Vec<ModelConfig> {
    let openai = |name: &str, context_window, max_output_tokens| ModelConfig {
        base_url: Some("https://api.openai.com/v1".into()),
        api_key_env: Some("OPENAI_API_KEY".into()),
        context_window,
        max_output_tokens,
        token_limit_field: TokenLimitField::MaxCompletionTokens,
        ..ModelConfig::new(name, ProviderKind::OpenaiCompatible)
    };
    let anthropic = |name: &str, context_window, max_output_tokens| ModelConfig {
        base_url: Some("https://api.anthropic.com".into()),
        api_key_env: Some("ANTHROPIC_API_KEY".into()),
        context_window,
        max_output_tokens,
        ..ModelConfig::new(name, ProviderKind::Anthropic)
    };
    // Context windows and output limits from each vendor's model pages (OpenAI "GPT-4.1"
    // 2025-04-14: 1,047,576 / 32,768; Anthropic "Models overview": 200K / 64K).
    vec![
        openai("openai/gpt-4.1-mini", 1_047_576, 32_768),
        openai("openai/gpt-4.1", 1_047_576, 32_768),
        openai("openai/gpt-4o-mini", 128_000, 16_384),
        anthropic("anthropic/claude-sonnet-4-5", 200_000, 64_000),
        anthropic("anthropic/claude-haiku-4-5", 200_000, 64_000),
    ]
}

/// The models of `aine.toml` (table key → config) over the shipped defaults: each entry gets
/// its name from its key, and replaces a default of the same name. Sorted by name.
pub fn resolve_models(configured: BTreeMap<String, ModelConfig>) -> Vec<ModelConfig> {
    let mut all: BTreeMap<String, ModelConfig> = default_models()
        .into_iter()
        .map(|m| (m.name.clone(), m))
        .collect();
    for (name, config) in configured {
        let config = config.named(&name);
        all.insert(name, config);
    }
    all.into_values().collect()
}

/// Builds the model `config` describes, reading API keys from the process environment at call
/// time. See [`build_with_secrets`].
pub fn build(config: &ModelConfig) -> Result<Arc<dyn ChatModel>, ModelError> {
    build_with_secrets(config, Arc::new(ProcessEnv))
}

/// Builds the model `config` describes with keys from `secrets`.
///
/// Errors: [`ModelError::Unavailable`] for `local` (built by `aine-llama`), a missing
/// `base_url`, or a replay file that cannot be read. A missing key is *not* an error here; it
/// is reported by the first call, naming the variable.
pub fn build_with_secrets(
    config: &ModelConfig,
    secrets: Arc<dyn Secrets>,
) -> Result<Arc<dyn ChatModel>, ModelError> {
    Ok(match config.provider {
        ProviderKind::OpenaiCompatible => Arc::new(OpenAiCompatible::new(config, secrets)?),
        ProviderKind::Anthropic => Arc::new(Anthropic::new(config, secrets)?),
        ProviderKind::Replay => Arc::new(Replay::from_config(config)?),
        ProviderKind::Local => {
            return Err(ModelError::Unavailable {
                message: format!(
                    "model `{}` is a local gguf model; local models are built by aine-llama, not aine_models::build",
                    config.name
                ),
            });
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_tables() {
        #[derive(Deserialize)]
        struct File {
            models: BTreeMap<String, ModelConfig>,
        }
        let file: File = toml::from_str(
            r#"
            [models."azure/gpt-4o"]
            provider = "openai_compatible"
            provider_name = "azure.ai.openai"
            base_url = "https://r.openai.azure.com/openai/deployments/gpt-4o"
            api_key_env = "AZURE_OPENAI_API_KEY"
            api_key_header = "api-key"
            query = { "api-version" = "2024-10-21" }
            structured_output = "json_object"
            price = { input = "2.5", output = 10, cached_input = "1.25" }

            [models."openai/gpt-4.1-mini"]
            provider = "openai_compatible"
            base_url = "http://localhost:1234/v1"
            "#,
        )
        .unwrap();
        let models = resolve_models(file.models);
        let azure = models.iter().find(|m| m.name == "azure/gpt-4o").unwrap();
        assert_eq!(azure.model, "gpt-4o");
        assert_eq!(azure.provider_name(), "azure.ai.openai");
        assert_eq!(azure.query["api-version"], "2024-10-21");
        assert_eq!(azure.structured_output, StructuredOutput::JsonObject);
        assert_eq!(azure.price.as_ref().unwrap().output.to_string(), "10");
        let mini = models
            .iter()
            .find(|m| m.name == "openai/gpt-4.1-mini")
            .unwrap();
        assert_eq!(
            mini.base_url.as_deref(),
            Some("http://localhost:1234/v1"),
            "config replaces the default"
        );
        assert_eq!(mini.api_key_env, None);
        assert!(
            models
                .iter()
                .any(|m| m.name == "anthropic/claude-sonnet-4-5")
        );

        let typo =
            toml::from_str::<File>("[models.x]\nprovider = \"anthropic\"\nbase_ulr = \"x\"\n");
        assert!(typo.is_err());
    }

    #[test]
    fn local_is_built_elsewhere() {
        let err = build(&ModelConfig::new("local/gemma-3-270m", ProviderKind::Local)).unwrap_err();
        assert!(err.to_string().contains("aine-llama"), "{err}");
    }
}
