//! The embedding detector: is a sentence requirement-bearing, by logistic regression over
//! all-MiniLM-L6-v2 sentence embeddings (`aine-embed`).
//!
//! Features of sentence *i* of a source ([`features`], [`FEATURES`] = 770 values):
//! 1. its embedding (384 values, unit length);
//! 2. the mean embedding of its context: the up to 2 sentences before and 2 after it in the same
//!    source file (384 values; zeros when the source has no other sentence);
//! 3. `ln(1 + words) / 3`, words counted at whitespace;
//! 4. 1 when the text ends with `?` (trailing whitespace ignored), else 0.
//!
//! The weights ([`DetectorModel`], `data/detect-minilm.json`) come from `cargo xtask train detect`:
//! L2-regularised logistic regression (C = 1, classes weighted to balance, sklearn's objective)
//! on the labelled sentences of the AMI meetings ES2002b and ES2002d (borderline sentences
//! counted as requirement-bearing); its threshold is the one with the best strict F1 when each of
//! the two meetings is scored by a model trained on the other (leave-one-meeting-out). The test
//! meetings ES2002a and ES2002c were used for nothing but the reported scores.

use std::path::Path;
use std::sync::OnceLock;

use aine_embed::{DIM, Embedder, Embedding};
use serde::{Deserialize, Serialize};

/// Features per sentence: embedding, context embedding, length, question mark.
pub const FEATURES: usize = 2 * DIM + 2;
/// Sentences on each side that make up a sentence's context.
pub const CONTEXT: usize = 2;
/// The bundled detector, as `cargo xtask train detect` writes it.
pub const BUNDLED_JSON: &str = include_str!("../../data/detect-minilm.json");

/// A trained detector: logistic regression weights over [`features`] and the threshold on its
/// probability. Serialised as `data/detect-minilm.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorModel {
    /// The embedding model the weights belong to (`local/all-minilm-l6-v2`).
    pub embedding_model: String,
    /// What each feature is, in order.
    pub features: String,
    /// How the weights and the threshold were obtained.
    pub training: String,
    /// The command that reproduces this file.
    pub command: String,
    /// Probability at or above which a sentence is a candidate.
    pub threshold: f64,
    /// The logistic regression's intercept.
    pub bias: f64,
    /// One weight per feature ([`FEATURES`]).
    pub weights: Vec<f64>,
    /// Scores on the labelled meetings when the file was written.
    pub scores: Vec<Score>,
}

/// Precision, recall and F1 of a detector on a set of meetings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// What was scored, e.g. `dev (ES2002b, ES2002d), leave-one-meeting-out`.
    pub set: String,
    /// `strict` (borderline sentences left out) or `lenient` (borderline counts as positive).
    pub mode: String,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
    pub true_positives: usize,
    pub false_positives: usize,
    pub false_negatives: usize,
}

impl DetectorModel {
    /// The probability (0 to 1) that the sentence with features `x` is requirement-bearing.
    pub fn probability(&self, x: &[f64]) -> f64 {
        let z = self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>();
        sigmoid(z)
    }
}

/// The logistic function.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The bundled detector ([`BUNDLED_JSON`]), parsed once.
///
/// # Errors
/// A message when the bundled file is malformed or has the wrong number of weights (a bug).
pub fn bundled() -> Result<&'static DetectorModel, String> {
    static MODEL: OnceLock<Result<DetectorModel, String>> = OnceLock::new();
    MODEL
        .get_or_init(|| {
            let model: DetectorModel = serde_json::from_str(BUNDLED_JSON)
                .map_err(|e| format!("data/detect-minilm.json: {e}"))?;
            if model.weights.len() == FEATURES {
                Ok(model)
            } else {
                Err(format!(
                    "data/detect-minilm.json has {} weights, expected {FEATURES}",
                    model.weights.len()
                ))
            }
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// The embedding model, loaded once per process from [`aine_embed::default_model_dir`]; the
/// error (e.g. the files are missing, naming the pull command) is kept and returned each time.
///
/// # Errors
/// Why the model could not be loaded.
pub fn embedder() -> Result<&'static Embedder, String> {
    static EMBEDDER: OnceLock<Result<Embedder, String>> = OnceLock::new();
    EMBEDDER
        .get_or_init(|| load_embedder(&aine_embed::default_model_dir()))
        .as_ref()
        .map_err(Clone::clone)
}

fn load_embedder(dir: &Path) -> Result<Embedder, String> {
    Embedder::load(dir).map_err(|e| e.to_string())
}

/// The [`FEATURES`] features of each sentence. `texts[i]` has embedding `embeddings[i]` and
/// comes from source `groups[i]`; a sentence's context is its neighbours in slice order within
/// the same source (sentences of one source need not be adjacent in the slices).
pub fn features<G: PartialEq>(
    texts: &[&str],
    embeddings: &[Embedding],
    groups: &[G],
) -> Vec<Vec<f64>> {
    // Positions of each sentence's source-mates, in order.
    let mut sources: Vec<(&G, Vec<usize>)> = Vec::new();
    for (i, g) in groups.iter().enumerate() {
        match sources.iter_mut().find(|(k, _)| *k == g) {
            Some((_, members)) => members.push(i),
            None => sources.push((g, vec![i])),
        }
    }
    let mut out = vec![Vec::new(); texts.len().min(embeddings.len()).min(groups.len())];
    for (_, members) in &sources {
        for (j, &i) in members.iter().enumerate() {
            let (Some(text), Some(own), Some(slot)) =
                (texts.get(i), embeddings.get(i), out.get_mut(i))
            else {
                continue;
            };
            let lo = j.saturating_sub(CONTEXT);
            let hi = (j + CONTEXT + 1).min(members.len());
            let neighbours: Vec<&Embedding> = (lo..hi)
                .filter(|&t| t != j)
                .filter_map(|t| members.get(t).and_then(|&k| embeddings.get(k)))
                .collect();
            let mut context = [0.0_f64; DIM];
            for n in &neighbours {
                for (c, v) in context.iter_mut().zip(n.iter()) {
                    *c += f64::from(*v);
                }
            }
            if !neighbours.is_empty() {
                let count = neighbours.len() as f64;
                context.iter_mut().for_each(|c| *c /= count);
            }
            let words = text.split_whitespace().count() as f64;
            let question = if text.trim_end().ends_with('?') {
                1.0
            } else {
                0.0
            };
            let mut x = Vec::with_capacity(FEATURES);
            x.extend(own.iter().map(|v| f64::from(*v)));
            x.extend(context);
            x.push(words.ln_1p() / 3.0);
            x.push(question);
            *slot = x;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(k: usize) -> Embedding {
        let mut e = [0.0; DIM];
        e[k] = 1.0;
        e
    }

    #[test]
    fn context_is_the_mean_of_up_to_two_neighbours_each_side_in_the_same_source() {
        let texts = ["a b c", "why?", "x", "y", "z ? "];
        let e: Vec<Embedding> = (0..5).map(unit).collect();
        // Sentence 2 is from another source: it has no neighbours.
        let groups = ["m", "m", "n", "m", "m"];
        let x = features(&texts, &e, &groups);
        assert_eq!(x.len(), 5);
        assert!(x.iter().all(|v| v.len() == FEATURES));
        // Sentence 0: neighbours 1 and 3 (the next two of source m).
        assert_eq!(x[0][DIM + 1], 0.5);
        assert_eq!(x[0][DIM + 3], 0.5);
        assert_eq!(x[0][DIM], 0.0);
        // Sentence 3: neighbours 0, 1 (before) and 4 (after).
        assert!((x[3][DIM] - 1.0 / 3.0).abs() < 1e-12);
        assert!((x[3][DIM + 4] - 1.0 / 3.0).abs() < 1e-12);
        // Alone in its source: zero context.
        assert!(x[2][DIM..2 * DIM].iter().all(|&v| v == 0.0));
        assert!((x[0][2 * DIM] - 4.0_f64.ln() / 3.0).abs() < 1e-12);
        assert_eq!(x[0][2 * DIM + 1], 0.0);
        assert_eq!(x[1][2 * DIM + 1], 1.0);
        assert_eq!(x[4][2 * DIM + 1], 1.0);
    }

    #[test]
    fn the_bundled_detector_is_well_formed() {
        let model = bundled().unwrap();
        assert_eq!(model.weights.len(), FEATURES);
        assert!((0.0..=1.0).contains(&model.threshold));
        assert_eq!(model.embedding_model, aine_embed::MODEL_NAME);
        assert!((sigmoid(0.0) - 0.5).abs() < 1e-15);
        assert!(sigmoid(-800.0) >= 0.0 && sigmoid(800.0) <= 1.0);
    }
}
