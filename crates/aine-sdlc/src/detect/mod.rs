//! `requirements.detect`: candidate requirement sentences, without a generative model.
//!
//! Two detectors decide which sentences are candidates ([`Detector`]):
//! - **minilm** ([`embedded`]), used whenever the sentence-embedding model is in the user cache
//!   (`aine models pull local/all-minilm-l6-v2`): a logistic regression over each sentence's
//!   all-MiniLM-L6-v2 embedding, its neighbours' and two surface features; a sentence whose
//!   probability reaches the trained threshold (or `min_confidence` when given) is a candidate
//!   and the probability is its confidence. The cue scorer's candidates are kept as well (with
//!   the cue confidence): the classifier learnt from meeting speech only and misses half of
//!   the written requirements of PROMISE NFR, which the cues find (EVAL.md).
//! - **cues** ([`cues::score`]), the fallback when the model cannot be loaded (the output's
//!   `stats.detector` and `stats.detector_note` say so): modal, desire and constraint cues turned
//!   into a confidence (questions and very short sentences score 0); sentences at or above
//!   `min_confidence` (default [`DEFAULT_MIN_CONFIDENCE`]) become candidates.
//!
//! Either way each candidate gets the cues that fired, a [`Category`] from
//! [`category::default_classifier`] (keyword lexicons plus naive Bayes trained on PROMISE NFR)
//! and a topic label ([`topics`]).
//!
//! Evaluated (PROMISE NFR leave-one-project-out; the hand-labelled AMI meetings) by
//! `cargo run --release -p aine-sdlc --example eval_detect`.

pub mod category;
pub mod cues;
pub mod embedded;
pub mod labelled;
pub mod words;

use std::collections::{BTreeMap, HashMap, HashSet};

use aine_spec::{Candidate, Category, Sentence};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::DetectError;

/// The confidence a sentence needs by default to become a candidate: one modal cue of at least
/// `will` + system subject (0.48), one desire cue, or two constraint cues pass; `will` alone
/// (0.35) or one constraint (0.30) does not.
pub const DEFAULT_MIN_CONFIDENCE: f64 = 0.4;

/// Input of `requirements.detect`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectInput {
    /// Sentences with source refs (the `sentences` of `sources.ingest`).
    pub sentences: Vec<Sentence>,
    /// Least confidence (0 to 1) for a candidate; default 0.4 for the cue detector, the trained
    /// threshold for the embedding detector.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_confidence: Option<f64>,
    /// Which detector to use: `auto` (the default: `minilm` when its model can be loaded, else
    /// `cues`), `cues`, or `minilm` (an error when its model cannot be loaded).
    #[serde(default)]
    pub detector: DetectorChoice,
}

/// The detector a caller asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectorChoice {
    /// `minilm` when the embedding model can be loaded, else `cues`.
    #[default]
    Auto,
    /// The cue scorer.
    Cues,
    /// The embedding detector; fails when its model cannot be loaded.
    Minilm,
}

/// The detector that found the candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Modal, desire and constraint cues ([`cues::score`]).
    Cues,
    /// Logistic regression over all-MiniLM-L6-v2 embeddings ([`embedded`]).
    Minilm,
}

/// Output of `requirements.detect`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DetectOutput {
    /// Candidates in source order.
    pub candidates: Vec<Candidate>,
    pub stats: DetectStats,
}

/// Counts of a detection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DetectStats {
    /// Sentences examined.
    pub sentences: u32,
    /// Candidates found.
    pub candidates: u32,
    /// Sentences ruled out as questions.
    pub questions: u32,
    /// Candidates per category (categories with none are absent).
    pub by_category: BTreeMap<Category, u32>,
    /// The detector that found the candidates.
    pub detector: Detector,
    /// Why the cue detector was used although `auto` asked for the embedding detector when it
    /// can be loaded (e.g. the model files are missing, with the command that fetches them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detector_note: Option<String>,
}

/// Detects candidate requirements in `input.sentences` (see the module documentation for the
/// detectors).
///
/// Errors: `min_confidence` outside `[0, 1]`; `detector: minilm` when its model cannot be loaded
/// or fails; a malformed bundled model (a bug).
pub fn detect(input: &DetectInput) -> Result<DetectOutput, DetectError> {
    detect_with(input, minilm_probabilities)
}

/// [`detect`] with the embedding detector's probabilities from `minilm` (tests give one that
/// fails, as a missing model does).
fn detect_with(
    input: &DetectInput,
    minilm: impl Fn(&[Sentence]) -> Result<(Vec<f64>, f64), String>,
) -> Result<DetectOutput, DetectError> {
    if let Some(min) = input.min_confidence
        && !(0.0..=1.0).contains(&min)
    {
        return Err(DetectError::BadThreshold(min));
    }
    let (probabilities, note) = match input.detector {
        DetectorChoice::Cues => (None, None),
        DetectorChoice::Minilm => (
            Some(minilm(&input.sentences).map_err(DetectError::Embedding)?),
            None,
        ),
        DetectorChoice::Auto => match minilm(&input.sentences) {
            Ok(p) => (Some(p), None),
            Err(why) => (None, Some(why)),
        },
    };
    let classifier =
        category::default_classifier().map_err(|line| DetectError::BadModel { line })?;
    let mut candidates = Vec::new();
    let mut questions = 0;
    for (i, sentence) in input.sentences.iter().enumerate() {
        let scored = cues::score(&sentence.text);
        if scored.excluded == Some("question") {
            questions += 1;
        }
        let min = input.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE);
        let by_cues =
            scored.excluded.is_none() && scored.confidence >= min && !scored.cues.is_empty();
        let confidence = match &probabilities {
            // The classifier's candidates, and the cue scorer's too: trained on meeting speech
            // only, the classifier marks 0.52 of the written PROMISE requirements, the two
            // together 0.95, for 0.03 less strict F1 on the dev meetings (EVAL.md).
            Some((p, threshold)) => match p.get(i).copied().unwrap_or(0.0) {
                p if p >= input.min_confidence.unwrap_or(*threshold) => p,
                _ if by_cues => scored.confidence,
                _ => continue,
            },
            None if by_cues => scored.confidence,
            None => continue,
        };
        candidates.push(Candidate {
            text: sentence.text.clone(),
            category: classifier.classify(&sentence.text),
            confidence,
            cues: scored.cues,
            topic: String::new(),
            source: sentence.source.clone(),
        });
    }
    let texts: Vec<&str> = candidates.iter().map(|c| c.text.as_str()).collect();
    let labels = topics(&texts);
    for (candidate, topic) in candidates.iter_mut().zip(labels) {
        candidate.topic = topic;
    }
    let mut by_category = BTreeMap::new();
    for c in &candidates {
        *by_category.entry(c.category).or_insert(0) += 1;
    }
    Ok(DetectOutput {
        stats: DetectStats {
            sentences: u32::try_from(input.sentences.len()).unwrap_or(u32::MAX),
            candidates: u32::try_from(candidates.len()).unwrap_or(u32::MAX),
            questions,
            by_category,
            detector: if probabilities.is_some() {
                Detector::Minilm
            } else {
                Detector::Cues
            },
            detector_note: note,
        },
        candidates,
    })
}

/// The embedding detector's probability for each sentence (context: the sentence's neighbours
/// from the same `source.file`) and its trained threshold.
///
/// # Errors
/// Why the embedding model or the bundled weights cannot be used.
pub fn minilm_probabilities(sentences: &[Sentence]) -> Result<(Vec<f64>, f64), String> {
    let model = embedded::bundled()?;
    let embedder = embedded::embedder()?;
    let texts: Vec<&str> = sentences.iter().map(|s| s.text.as_str()).collect();
    let vectors = embedder.embed(&texts).map_err(|e| e.to_string())?;
    let files: Vec<&str> = sentences.iter().map(|s| s.source.file.as_str()).collect();
    let p = embedded::features(&texts, &vectors, &files)
        .iter()
        .map(|x| model.probability(x))
        .collect();
    Ok((p, model.threshold))
}

/// Words never used as topics: cue words and verbs and nouns too general to group by.
const NOT_TOPICS: &[&str] = &[
    "able",
    "add",
    "allow",
    "basically",
    "bit",
    "budget",
    "cause",
    "come",
    "cost",
    "definitely",
    "essential",
    "fact",
    "find",
    "general",
    "give",
    "go",
    "god",
    "gonna",
    "good",
    "great",
    "guess",
    "guy",
    "high",
    "idea",
    "ideally",
    "important",
    "least",
    "limit",
    "look",
    "looking",
    "make",
    "mandatory",
    "maximum",
    "minimum",
    "nice",
    "obviously",
    "people",
    "point",
    "prefer",
    "price",
    "require",
    "required",
    "start",
    "stuff",
    "take",
    "talk",
    "talking",
    "thinking",
    "time",
    "together",
    "try",
    "trying",
    "user",
    "wanna",
    "wish",
    "ye",
];

/// Whether content lemma `lemma` can name a topic: longer than two letters, not a cue word or
/// generic word ([`NOT_TOPICS`]), not a speech filler.
pub fn topic_word(lemma: &str) -> bool {
    lemma.chars().count() > 2 && !NOT_TOPICS.contains(&lemma) && !crate::ingest::is_filler(lemma)
}

/// A topic label per text, for grouping: among the text's content lemmas (no stopwords, cue words
/// or generic words, [`NOT_TOPICS`]), the one found in the most of `texts` (document frequency),
/// skipping lemmas found in more than half of them when `texts` has more than 4 (too general to
/// separate anything), and words ending in `-ing` only when nothing else is left; ties go to the
/// longer lemma, then alphabetical order. A text with no
/// content lemma gets `general`.
pub fn topics(texts: &[&str]) -> Vec<String> {
    let lemmas: Vec<Vec<String>> = texts
        .iter()
        .map(|t| {
            let mut seen = HashSet::new();
            words::content_lemmas(t)
                .into_iter()
                .filter(|l| topic_word(l))
                .filter(|l| seen.insert(l.clone()))
                .collect()
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for ls in &lemmas {
        for l in ls {
            *df.entry(l.as_str()).or_insert(0) += 1;
        }
    }
    let cap = if texts.len() > 4 {
        texts.len() / 2
    } else {
        usize::MAX
    };
    lemmas
        .iter()
        .map(|ls| {
            let pick = |allowed: &dyn Fn(usize) -> bool| {
                ls.iter()
                    .filter(|l| allowed(df.get(l.as_str()).copied().unwrap_or(0)))
                    .max_by(|a, b| {
                        let (da, db) = (df.get(a.as_str()), df.get(b.as_str()));
                        // Gerunds ("thinking", "trying") are more often verbs than topics.
                        (!a.ends_with("ing"))
                            .cmp(&!b.ends_with("ing"))
                            .then(da.cmp(&db))
                            .then(a.len().cmp(&b.len()))
                            .then(b.cmp(a))
                    })
                    .cloned()
            };
            pick(&|d| d <= cap)
                .or_else(|| pick(&|_| true))
                .unwrap_or_else(|| "general".to_owned())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use aine_spec::SourceRef;

    use super::*;

    fn input(detector: DetectorChoice) -> DetectInput {
        let sentence = |i: u32, text: &str| Sentence {
            text: text.to_owned(),
            source: SourceRef {
                id: format!("t#{i}"),
                file: "t.txt".to_owned(),
                speaker: None,
                turn: None,
                sentence: i,
                start: 0,
                end: 0,
            },
        };
        DetectInput {
            sentences: vec![
                sentence(0, "The remote must float."),
                sentence(1, "Thanks, see you all tomorrow."),
            ],
            min_confidence: None,
            detector,
        }
    }

    fn missing(_: &[Sentence]) -> Result<(Vec<f64>, f64), String> {
        Err("model file `x` does not exist; fetch it with `aine models pull local/all-minilm-l6-v2`".into())
    }

    #[test]
    fn auto_falls_back_to_the_cues_and_says_why() {
        let out = detect_with(&input(DetectorChoice::Auto), missing).unwrap();
        assert_eq!(out.stats.detector, Detector::Cues);
        let note = out.stats.detector_note.unwrap_or_default();
        assert!(
            note.contains("aine models pull local/all-minilm-l6-v2"),
            "{note}"
        );
        let texts: Vec<&str> = out.candidates.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["The remote must float."]);
        // Asked for by name, a missing model is an error.
        let err = detect_with(&input(DetectorChoice::Minilm), missing).unwrap_err();
        assert!(err.to_string().contains("aine models pull"), "{err}");
    }

    #[test]
    fn classifier_candidates_join_the_cue_candidates_with_their_probability() {
        let probabilities = |_: &[Sentence]| Ok((vec![0.2, 0.9], 0.54));
        let out = detect_with(&input(DetectorChoice::Auto), probabilities).unwrap();
        assert_eq!(out.stats.detector, Detector::Minilm);
        assert_eq!(out.stats.detector_note, None);
        let got: Vec<(&str, f64)> = out
            .candidates
            .iter()
            .map(|c| (c.text.as_str(), c.confidence))
            .collect();
        let must = cues::score("The remote must float.").confidence;
        assert_eq!(
            got,
            [
                ("The remote must float.", must),
                ("Thanks, see you all tomorrow.", 0.9)
            ]
        );
        // `min_confidence` replaces the trained threshold.
        let mut low = input(DetectorChoice::Auto);
        low.min_confidence = Some(0.1);
        assert_eq!(
            detect_with(&low, probabilities).unwrap().candidates.len(),
            2
        );
        // `cues` never asks for probabilities.
        let out = detect_with(&input(DetectorChoice::Cues), |_: &[Sentence]| {
            Err("not called".to_owned())
        })
        .unwrap();
        assert_eq!(
            (out.stats.detector, out.stats.detector_note),
            (Detector::Cues, None)
        );
    }
}
