//! The models a runtime may call: configured by name, built lazily on first use (a local model
//! takes about half a second and half a gigabyte to load), shared by every run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aine_models::{ChatModel, ModelConfig, ModelError, ModelPrice};

/// Builds a model from its configuration (the CLI supplies one that knows every provider kind,
/// including the in-process local model).
pub type ModelBuilder =
    dyn Fn(&ModelConfig) -> Result<Arc<dyn ChatModel>, ModelError> + Send + Sync;

/// A configured model: how to build it and what it costs.
#[derive(Debug, Clone)]
pub struct ModelEntry {
    pub config: ModelConfig,
    /// USD per million tokens; `None` when no price is known (a USD budget then refuses the call).
    pub price: Option<ModelPrice>,
}

/// Every configured model, by route name (`openai/gpt-4.1-mini`).
pub struct Models {
    entries: BTreeMap<String, ModelEntry>,
    builder: Box<ModelBuilder>,
    built: Mutex<BTreeMap<String, Arc<dyn ChatModel>>>,
}

impl std::fmt::Debug for Models {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Models")
            .field("names", &self.entries.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl Default for Models {
    fn default() -> Self {
        Self::new(BTreeMap::new(), Box::new(aine_models::build))
    }
}

impl Models {
    /// Models from `entries`, built with `builder` when first called.
    pub fn new(entries: BTreeMap<String, ModelEntry>, builder: Box<ModelBuilder>) -> Self {
        Self {
            entries,
            builder,
            built: Mutex::new(BTreeMap::new()),
        }
    }

    /// The entry called `name`.
    pub fn entry(&self, name: &str) -> Option<&ModelEntry> {
        self.entries.get(name)
    }

    /// Every configured model.
    pub fn entries(&self) -> impl Iterator<Item = (&String, &ModelEntry)> {
        self.entries.iter()
    }

    /// The model called `name`, built on first use. Errors: not configured (`Unavailable`), or
    /// whatever building it reports (a missing model file, a missing API key variable, ...).
    pub fn get(&self, name: &str) -> Result<Arc<dyn ChatModel>, ModelError> {
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| ModelError::Unavailable {
                message: format!("model `{name}` is not configured; see `aine models list`"),
            })?;
        let mut built = self.built.lock().map_err(|_| ModelError::Unavailable {
            message: "the model cache is poisoned by an earlier panic".to_owned(),
        })?;
        if let Some(model) = built.get(name) {
            return Ok(model.clone());
        }
        let model = (self.builder)(&entry.config)?;
        built.insert(name.to_owned(), model.clone());
        Ok(model)
    }
}

/// The route name of the embedded local model, the first of the bundled workflows' routes.
pub const LOCAL_MODEL: &str = "local/qwen2.5-coder-1.5b";

/// The local models every project can route to without configuring them: (route name, file in
/// the user cache, context window in tokens). The same names and files as `aine-llama`'s
/// catalog (`aine models pull NAME` fetches them; `aine-cli`'s tests check both agree).
/// Context windows: 32K tokens for each (the Qwen2.5-Coder and Gemma 3 model cards).
pub const LOCAL_MODELS: &[(&str, &str, u64)] = &[
    (
        "local/qwen2.5-coder-1.5b",
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        32_768,
    ),
    (
        "local/qwen2.5-coder-0.5b",
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        32_768,
    ),
    ("local/gemma-3-270m", "gemma-3-270m-q4_k_m.gguf", 32_768),
];

/// Every model a project can route to: the shipped remote defaults, the local models of
/// [`LOCAL_MODELS`] (unless configured otherwise), and the `[models]` of `aine.toml`, each with
/// its price (configured override, else the bundled price table; local and replay models cost
/// 0 USD).
pub fn configured(config: &crate::Config, builder: Box<ModelBuilder>) -> Models {
    let mut configured = config.models.clone();
    for (name, file, context_window) in LOCAL_MODELS {
        configured
            .entry((*name).to_owned())
            .or_insert_with(|| local_default(name, file, *context_window));
    }
    let table = aine_models::PriceTable::bundled();
    let entries = aine_models::resolve_models(configured)
        .into_iter()
        .map(|config| {
            let price = table.price_for(&config);
            (config.name.clone(), ModelEntry { config, price })
        })
        .collect();
    Models::new(entries, builder)
}

/// A local model's default config: its file in the user cache, or for [`LOCAL_MODEL`] the
/// file `AINE_LOCAL_MODEL` names when set.
fn local_default(name: &str, file: &str, context_window: u64) -> ModelConfig {
    let path = std::env::var_os("AINE_LOCAL_MODEL")
        .filter(|_| name == LOCAL_MODEL)
        .map(std::path::PathBuf::from)
        .or_else(|| local_model_cache_path(file));
    ModelConfig {
        context_window,
        max_output_tokens: 2048,
        path,
        ..ModelConfig::new(name, aine_models::ProviderKind::Local)
    }
}

/// `$XDG_CACHE_HOME/aine/models/FILE` (else under `$HOME/.cache`): where `aine models pull`
/// puts local model files.
pub fn local_model_cache_path(file: &str) -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("aine/models").join(file))
}
