//! Shared by the integration tests: where the real model file is.

use std::path::PathBuf;

/// The real gemma-3-270m file: `$AINE_LOCAL_MODEL`, else the user cache
/// (`~/.cache/aine/models/gemma-3-270m-q4_k_m.gguf`). Fails (never skips) when it is missing.
pub fn model_path() -> PathBuf {
    let path = std::env::var_os("AINE_LOCAL_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| aine_llama::pull::model_path(&aine_llama::catalog::GEMMA_3_270M));
    assert!(
        path.is_file(),
        "the local model file {} is missing: run scripts/fetch-model.sh (or set AINE_LOCAL_MODEL \
         to a gemma-3-270m-q4_k_m.gguf)",
        path.display()
    );
    path
}
