//! `requirements.topics`: the detected candidates grouped by topic, in time order, so that the
//! draft step (a `for_each` over the topics) makes one small model call per topic instead of
//! one call over a whole meeting.
//!
//! - The strongest candidates are kept, at most `max_topics × max_sentences` (by confidence;
//!   the rest are counted in `stats.left_out` and listed in `left_out`).
//! - Each kept candidate is a TF-IDF vector over its content lemmas (stop words, speech fillers
//!   and the generic words of [`crate::detect::topic_word`] removed), so that two sentences
//!   about the `battery` meet even when said in different meetings.
//! - Agglomerative clustering (average linkage by centroid cosine, Manning et al.,
//!   *Introduction to Information Retrieval*, §17.3): the closest two groups merge while there
//!   are more than `max_topics` groups and the merged group holds at most `max_sentences`.
//!   Sentences said close together in the same meeting (within [`NEAR`] sentences) are a
//!   little closer ([`NEAR_BONUS`]): a conversation stays on one subject for a while.
//! - Within a topic, sentences are in time order (input order of the candidates, which is the
//!   order of the sources and of their sentences); topics are ordered by their first sentence,
//!   so that a later decision reaches the drafter after the earlier one.
//!
//! Deterministic, no model: the same candidates always give the same topics.

use std::collections::{HashMap, HashSet};

use aine_spec::Candidate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::detect::{topic_word, words};

/// Sentences of one meeting at most this far apart count as said together.
pub const NEAR: u32 = 8;
/// What being said together adds to the cosine similarity of two groups (0 to 1).
pub const NEAR_BONUS: f64 = 0.1;
/// Default for `max_topics`: ten topics of eight sentences, for a model that drafts a group of
/// sentences well. The bundled workflow sets `max_topics: 80, max_sentences: 1` instead: the
/// 1.5B local model reads one sentence per call reliably, not eight (EVAL.md).
pub const DEFAULT_MAX_TOPICS: usize = 10;
/// Default for `max_sentences`.
pub const DEFAULT_MAX_SENTENCES: usize = 8;

/// Input of `requirements.topics`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicsInput {
    /// The detected candidates, in time order (as `requirements.detect` gives them).
    pub candidates: Vec<Candidate>,
    /// At most this many topics (default 10).
    #[serde(default)]
    pub max_topics: Option<usize>,
    /// At most this many sentences per topic (default 8).
    #[serde(default)]
    pub max_sentences: Option<usize>,
}

/// One topic: a drafting unit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Topic {
    /// `T01`, `T02`, ... in time order.
    pub id: String,
    /// The topic's three heaviest lemmas, e.g. `battery, power, charge`.
    pub label: String,
    /// The topic's candidates, in time order.
    pub sentences: Vec<Candidate>,
}

/// Counts of `requirements.topics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TopicsStats {
    pub candidates: usize,
    pub grouped: usize,
    pub left_out: usize,
    pub topics: usize,
}

/// Output of `requirements.topics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct TopicsOutput {
    pub topics: Vec<Topic>,
    /// The source ref ids of every grouped candidate, in time order (the merge step uses it to
    /// let the later of two contradicting decisions win).
    pub order: Vec<String>,
    /// Source ref ids of the candidates left out (the weakest, beyond the topics' capacity).
    pub left_out: Vec<String>,
    pub stats: TopicsStats,
}

/// A group being built: member indices (into the kept candidates) and its TF-IDF centroid sum.
struct Group {
    members: Vec<usize>,
    weights: HashMap<String, f64>,
}

/// Groups `input.candidates` into topics (see the module docs).
pub fn topics(input: &TopicsInput) -> TopicsOutput {
    let max_topics = input.max_topics.unwrap_or(DEFAULT_MAX_TOPICS).max(1);
    let max_sentences = input.max_sentences.unwrap_or(DEFAULT_MAX_SENTENCES).max(1);
    let capacity = max_topics.saturating_mul(max_sentences);

    // The strongest candidates, then back in time order.
    let mut ranked: Vec<usize> = (0..input.candidates.len()).collect();
    ranked.sort_by(|&a, &b| {
        input.candidates[b]
            .confidence
            .total_cmp(&input.candidates[a].confidence)
            .then(a.cmp(&b))
    });
    let mut kept: Vec<usize> = ranked.iter().copied().take(capacity).collect();
    let mut dropped: Vec<usize> = ranked.iter().copied().skip(capacity).collect();
    kept.sort_unstable();
    dropped.sort_unstable();
    let kept: Vec<&Candidate> = kept.iter().map(|&i| &input.candidates[i]).collect();

    let vectors = tf_idf(&kept);
    let mut groups: Vec<Group> = vectors
        .into_iter()
        .enumerate()
        .map(|(i, weights)| Group {
            members: vec![i],
            weights,
        })
        .collect();
    while groups.len() > max_topics {
        let Some((a, b)) = closest_pair(&groups, &kept, max_sentences) else {
            break; // every merge would overfill a topic
        };
        let merged = groups.swap_remove(b);
        let into = &mut groups[a];
        into.members.extend(merged.members);
        for (lemma, w) in merged.weights {
            *into.weights.entry(lemma).or_insert(0.0) += w;
        }
    }
    for g in &mut groups {
        g.members.sort_unstable();
    }
    groups.sort_by_key(|g| g.members.first().copied());

    let topics: Vec<Topic> = groups
        .iter()
        .enumerate()
        .map(|(n, g)| Topic {
            id: format!("T{:02}", n + 1),
            label: label(&g.weights),
            sentences: g.members.iter().map(|&i| kept[i].clone()).collect(),
        })
        .collect();
    TopicsOutput {
        order: kept.iter().map(|c| c.source.id.clone()).collect(),
        left_out: dropped
            .iter()
            .map(|&i| input.candidates[i].source.id.clone())
            .collect(),
        stats: TopicsStats {
            candidates: input.candidates.len(),
            grouped: kept.len(),
            left_out: dropped.len(),
            topics: topics.len(),
        },
        topics,
    }
}

/// One TF-IDF vector per candidate over its distinct topic lemmas (idf = ln(N / df)).
fn tf_idf(candidates: &[&Candidate]) -> Vec<HashMap<String, f64>> {
    let lemmas: Vec<Vec<String>> = candidates
        .iter()
        .map(|c| {
            let mut seen = HashSet::new();
            words::content_lemmas(&c.text)
                .into_iter()
                .filter(|l| topic_word(l) && seen.insert(l.clone()))
                .collect()
        })
        .collect();
    let mut df: HashMap<&str, usize> = HashMap::new();
    for ls in &lemmas {
        for l in ls {
            *df.entry(l.as_str()).or_insert(0) += 1;
        }
    }
    let n = candidates.len().max(1) as f64;
    lemmas
        .iter()
        .map(|ls| {
            ls.iter()
                .map(|l| {
                    let d = df.get(l.as_str()).copied().unwrap_or(1) as f64;
                    (l.clone(), (n / d).ln().max(0.0) + 0.01)
                })
                .collect()
        })
        .collect()
}

/// The two groups to merge next: the most similar pair whose union fits `max_sentences`
/// (ties: the earliest pair), as (lower index, higher index).
fn closest_pair(
    groups: &[Group],
    kept: &[&Candidate],
    max_sentences: usize,
) -> Option<(usize, usize)> {
    let mut best: Option<(f64, usize, usize)> = None;
    for a in 0..groups.len() {
        for b in a + 1..groups.len() {
            if groups[a].members.len() + groups[b].members.len() > max_sentences {
                continue;
            }
            let s = similarity(&groups[a], &groups[b], kept);
            if best.is_none_or(|(bs, _, _)| s > bs) {
                best = Some((s, a, b));
            }
        }
    }
    best.map(|(_, a, b)| (a, b))
}

/// Cosine of the two groups' centroids, plus [`NEAR_BONUS`] when they hold sentences said
/// together.
fn similarity(a: &Group, b: &Group, kept: &[&Candidate]) -> f64 {
    let norm = |w: &HashMap<String, f64>| w.values().map(|x| x * x).sum::<f64>().sqrt();
    let (na, nb) = (norm(&a.weights), norm(&b.weights));
    let cosine = if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        a.weights
            .iter()
            .filter_map(|(l, x)| b.weights.get(l).map(|y| x * y))
            .sum::<f64>()
            / (na * nb)
    };
    let near = a.members.iter().any(|&i| {
        b.members.iter().any(|&j| {
            let (x, y) = (&kept[i].source, &kept[j].source);
            x.file == y.file && x.sentence.abs_diff(y.sentence) <= NEAR
        })
    });
    cosine + if near { NEAR_BONUS } else { 0.0 }
}

/// The three heaviest lemmas of a group (ties alphabetical), or `general`.
fn label(weights: &HashMap<String, f64>) -> String {
    let mut by_weight: Vec<(&String, &f64)> = weights.iter().collect();
    by_weight.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<&str> = by_weight.iter().take(3).map(|(l, _)| l.as_str()).collect();
    if top.is_empty() {
        "general".to_owned()
    } else {
        top.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aine_spec::{Category, SourceRef};

    fn candidate(file: &str, n: u32, confidence: f64, text: &str) -> Candidate {
        Candidate {
            text: text.to_owned(),
            category: Category::Functional,
            confidence,
            cues: Vec::new(),
            topic: String::new(),
            source: SourceRef {
                id: format!("{file}#{n}"),
                file: format!("{file}.json"),
                speaker: None,
                turn: None,
                sentence: n,
                start: 0,
                end: 1,
            },
        }
    }

    #[test]
    fn sentences_on_one_subject_meet_across_meetings_and_stay_in_time_order() {
        let input = TopicsInput {
            candidates: vec![
                candidate("a", 10, 0.9, "The battery should last a long time."),
                candidate("a", 40, 0.8, "The buttons should glow in the dark."),
                candidate("b", 5, 0.7, "A rechargeable battery would cost too much."),
                candidate("b", 90, 0.6, "Big buttons help people who cannot see well."),
                candidate("b", 200, 0.1, "Something weak."),
            ],
            max_topics: Some(2),
            max_sentences: Some(2),
        };
        let out = topics(&input);
        let got: Vec<Vec<&str>> = out
            .topics
            .iter()
            .map(|t| t.sentences.iter().map(|c| c.source.id.as_str()).collect())
            .collect();
        assert_eq!(got, [vec!["a#10", "b#5"], vec!["a#40", "b#90"]]);
        assert!(
            out.topics[0].label.contains("battery"),
            "{}",
            out.topics[0].label
        );
        assert_eq!(out.left_out, ["b#200"]);
        assert_eq!(out.order, ["a#10", "a#40", "b#5", "b#90"]);
        assert_eq!(out.stats.topics, 2);
    }

    #[test]
    fn no_candidates_give_no_topics() {
        let out = topics(&TopicsInput {
            candidates: Vec::new(),
            max_topics: None,
            max_sentences: None,
        });
        assert!(out.topics.is_empty());
        assert_eq!(out.stats.candidates, 0);
    }
}
