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

/// The route name of the embedded local model.
pub const LOCAL_MODEL: &str = "local/gemma-3-270m";

/// Every model a project can route to: the shipped remote defaults, the embedded local model
/// (unless configured otherwise), and the `[models]` of `aine.toml`, each with its price
/// (configured override, else the bundled price table; local and replay models cost 0 USD).
pub fn configured(config: &crate::Config, builder: Box<ModelBuilder>) -> Models {
    let mut configured = config.models.clone();
    configured
        .entry(LOCAL_MODEL.to_owned())
        .or_insert_with(|| local_default(&config.project_dir));
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

/// The embedded local model's default config: gemma-3-270m Q4_K_M from the user cache
/// (`aine models pull local/gemma-3-270m`), or `AINE_LOCAL_MODEL` when set.
fn local_default(_project_dir: &std::path::Path) -> ModelConfig {
    let path = std::env::var_os("AINE_LOCAL_MODEL")
        .map(std::path::PathBuf::from)
        .or_else(local_model_cache_path);
    ModelConfig {
        // gemma-3-270m's context window is 32K tokens (Gemma 3 model card).
        context_window: 32_768,
        max_output_tokens: 2048,
        path,
        ..ModelConfig::new(LOCAL_MODEL, aine_models::ProviderKind::Local)
    }
}

/// `$XDG_CACHE_HOME/aine/models/gemma-3-270m-q4_k_m.gguf` (else under `$HOME/.cache`).
pub fn local_model_cache_path() -> Option<std::path::PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(std::path::PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))?;
    Some(base.join("aine/models/gemma-3-270m-q4_k_m.gguf"))
}
