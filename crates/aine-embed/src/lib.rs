//! Sentence embeddings: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) on the CPU.
//!
//! [`Embedder::load`] reads the three files `aine models pull local/all-minilm-l6-v2` puts in
//! [`default_model_dir`] (`config.json`, `tokenizer.json`, `model.safetensors`);
//! [`Embedder::embed`] turns sentences into unit vectors of [`DIM`] `f32`s the way
//! sentence-transformers does for this model: WordPiece tokens (truncated to [`MAX_TOKENS`]),
//! the 6-layer BERT encoder (candle's `models::bert::BertModel`), the mean of the last hidden
//! states over the real (unpadded) tokens, L2 normalisation. Sentences are encoded in batches of
//! [`BATCH`], grouped by token count so little padding is computed; padding never changes a
//! vector (the attention mask hides it), so a sentence's vector does not depend on its batch
//! beyond float rounding (below 1e-6).
//!
//! Reference: Reimers & Gurevych, "Sentence-BERT", EMNLP 2019; the model card of
//! `sentence-transformers/all-MiniLM-L6-v2` (mean pooling, `max_seq_length` 256, normalised).

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config};
use tokenizers::{Tokenizer, TruncationParams};

/// Dimensions of an embedding (the model's hidden size).
pub const DIM: usize = 384;
/// Tokens per sentence, special tokens included; longer sentences are truncated (the model's
/// `max_seq_length` in sentence-transformers).
pub const MAX_TOKENS: usize = 256;
/// Sentences per forward pass.
pub const BATCH: usize = 32;
/// The catalog name that fetches the model files.
pub const MODEL_NAME: &str = "local/all-minilm-l6-v2";
/// The folder in the model cache that holds the model files.
pub const MODEL_DIR: &str = "all-minilm-l6-v2";
/// The files [`Embedder::load`] reads from the model folder.
pub const MODEL_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];

/// One sentence embedding: [`DIM`] components, Euclidean norm 1 (so a dot product is the cosine).
pub type Embedding = [f32; DIM];

/// Why the model could not be loaded or a text not embedded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmbedError {
    /// A model file is not there.
    #[error("embedding model file `{}` does not exist; fetch it with `aine models pull {MODEL_NAME}`", path.display())]
    Missing { path: PathBuf },
    /// A model file could not be read.
    #[error("cannot read embedding model file `{}`: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A model file was read but is not what this crate expects.
    #[error("embedding model file `{}` is not usable: {message}; fetch it again with `aine models pull {MODEL_NAME}`", path.display())]
    BadModel { path: PathBuf, message: String },
    /// The tokenizer failed on a text.
    #[error("cannot tokenize a text: {0}")]
    Tokenize(String),
    /// A tensor operation failed (a bug, or out of memory).
    #[error("embedding computation failed: {0}")]
    Compute(#[from] candle_core::Error),
}

/// Result type of this crate.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;

/// Where `aine models pull local/all-minilm-l6-v2` puts the model files:
/// `$XDG_CACHE_HOME/aine/models/all-minilm-l6-v2` (else `~/.cache/aine/models/...`) on Linux,
/// the platform cache directory elsewhere (the `directories` crate's rules, as for the GGUF
/// models), `<temp dir>/aine/models/...` when no home directory is known.
pub fn default_model_dir() -> PathBuf {
    let models = match directories::ProjectDirs::from("", "", "aine") {
        Some(dirs) => dirs.cache_dir().join("models"),
        None => std::env::temp_dir().join("aine").join("models"),
    };
    models.join(MODEL_DIR)
}

/// all-MiniLM-L6-v2, loaded, on the CPU. Immutable: [`Embedder::embed`] takes `&self`, so one
/// `Embedder` serves every thread.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder").finish_non_exhaustive()
    }
}

impl Embedder {
    /// Loads the model from `dir` (the folder holding [`MODEL_FILES`]; usually
    /// [`default_model_dir`]). Reads about 91 MB.
    ///
    /// # Errors
    /// [`EmbedError::Missing`] (naming the pull command) when a file is absent,
    /// [`EmbedError::Io`] when one cannot be read, [`EmbedError::BadModel`] when one is not a
    /// BERT config / tokenizer / safetensors file of hidden size [`DIM`].
    pub fn load(dir: &Path) -> Result<Self> {
        let [config_path, tokenizer_path, weights_path] = MODEL_FILES.map(|f| dir.join(f));
        for path in [&config_path, &tokenizer_path, &weights_path] {
            if !path.is_file() {
                return Err(EmbedError::Missing { path: path.clone() });
            }
        }
        let bad = |path: &Path, message: String| EmbedError::BadModel {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(&config_path).map_err(|source| EmbedError::Io {
            path: config_path.clone(),
            source,
        })?;
        let config: Config =
            serde_json::from_str(&text).map_err(|e| bad(&config_path, e.to_string()))?;
        if config.hidden_size != DIM {
            return Err(bad(
                &config_path,
                format!("hidden size {}, expected {DIM}", config.hidden_size),
            ));
        }
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| bad(&tokenizer_path, e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS,
                ..TruncationParams::default()
            }))
            .map_err(|e| bad(&tokenizer_path, e.to_string()))?;
        tokenizer.with_padding(None);
        let device = Device::Cpu;
        let weights = std::fs::read(&weights_path).map_err(|source| EmbedError::Io {
            path: weights_path.clone(),
            source,
        })?;
        let vb = VarBuilder::from_buffered_safetensors(weights, DType::F32, &device)
            .map_err(|e| bad(&weights_path, e.to_string()))?;
        let model = BertModel::load(vb, &config).map_err(|e| bad(&weights_path, e.to_string()))?;
        Ok(Self {
            model,
            tokenizer,
            device,
        })
    }

    /// The embeddings of `texts`, in the same order: unit vectors of [`DIM`] components.
    /// An empty slice gives an empty vector. Deterministic: the same texts give the same vectors.
    ///
    /// # Errors
    /// [`EmbedError::Tokenize`] or [`EmbedError::Compute`].
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Embedding>> {
        let ids = texts
            .iter()
            .map(|t| {
                self.tokenizer
                    .encode(*t, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| EmbedError::Tokenize(e.to_string()))
            })
            .collect::<Result<Vec<Vec<u32>>>>()?;
        // Batches of sentences with similar token counts (stable: ties keep input order).
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| ids.get(i).map_or(0, Vec::len));
        let mut out = vec![[0.0_f32; DIM]; texts.len()];
        for batch in order.chunks(BATCH) {
            let rows: Vec<&[u32]> = batch
                .iter()
                .map(|&i| ids.get(i).map_or(&[][..], Vec::as_slice))
                .collect();
            let vectors = self.forward(&rows)?;
            for (&i, v) in batch.iter().zip(vectors) {
                if let Some(slot) = out.get_mut(i) {
                    *slot = v;
                }
            }
        }
        Ok(out)
    }

    /// One forward pass over token id rows of any lengths: padded with 0 (`[PAD]`), masked,
    /// mean-pooled over the real tokens, L2-normalised.
    fn forward(&self, rows: &[&[u32]]) -> Result<Vec<Embedding>> {
        let len = rows.iter().map(|r| r.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(rows.len() * len);
        let mut mask = Vec::with_capacity(rows.len() * len);
        for row in rows {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(0, len - row.len()));
            mask.extend(std::iter::repeat_n(1_u32, row.len()));
            mask.extend(std::iter::repeat_n(0_u32, len - row.len()));
        }
        let shape = (rows.len(), len);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?; // (batch, len, DIM)
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?; // (batch, len, 1)
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?; // (batch, DIM)
        let counts = mask.sum(1)?.clamp(1e-9, f64::INFINITY)?; // (batch, 1)
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::INFINITY)?;
        let unit = mean.broadcast_div(&norms)?;
        unit.to_vec2::<f32>()?
            .into_iter()
            .map(|v| {
                <Embedding>::try_from(v).map_err(|v| {
                    EmbedError::Compute(candle_core::Error::Msg(format!(
                        "an embedding has {} components, expected {DIM}",
                        v.len()
                    )))
                })
            })
            .collect()
    }
}

/// The dot product of two embeddings: their cosine similarity (both are unit vectors).
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
