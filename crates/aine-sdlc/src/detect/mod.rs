//! `requirements.detect`: candidate requirement sentences, without a model.
//!
//! For each sentence: [`cues::score`] finds modal, desire and constraint cues and turns them into
//! a confidence (questions and very short sentences score 0); sentences at or above
//! `min_confidence` (default [`DEFAULT_MIN_CONFIDENCE`]) become candidates. Each candidate gets a
//! [`Category`] from [`category::default_classifier`] (keyword lexicons plus naive Bayes trained
//! on PROMISE NFR) and a topic label ([`topics`]).
//!
//! Evaluated on PROMISE NFR leave-one-project-out by
//! `cargo run --release -p aine-sdlc --example eval_detect`.

pub mod category;
pub mod cues;
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
    /// Least confidence (0 to 1) for a candidate; default 0.4.
    #[serde(default)]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub min_confidence: Option<f64>,
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
}

/// Detects candidate requirements in `input.sentences`.
///
/// Errors: `min_confidence` outside `[0, 1]`; a malformed bundled model (a bug).
pub fn detect(input: &DetectInput) -> Result<DetectOutput, DetectError> {
    let min = input.min_confidence.unwrap_or(DEFAULT_MIN_CONFIDENCE);
    if !(0.0..=1.0).contains(&min) {
        return Err(DetectError::BadThreshold(min));
    }
    let classifier =
        category::default_classifier().map_err(|line| DetectError::BadModel { line })?;
    let mut candidates = Vec::new();
    let mut questions = 0;
    for sentence in &input.sentences {
        let scored = cues::score(&sentence.text);
        if scored.excluded == Some("question") {
            questions += 1;
        }
        if scored.excluded.is_some() || scored.confidence < min || scored.cues.is_empty() {
            continue;
        }
        candidates.push(Candidate {
            text: sentence.text.clone(),
            category: classifier.classify(&sentence.text),
            confidence: scored.confidence,
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
        },
        candidates,
    })
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
