//! `requirements.merge`: the drafts of the topics (the elements of the `for_each` draft step)
//! become one spec.
//!
//! - Items keep the topics' order; ids are renumbered `REQ-001`, `US-001`, `Q-001` across the
//!   spec, and an open question's `items` follow its items' new ids.
//! - Two requirements that say the same are one requirement citing the sources of both. They
//!   say the same when they have the same content words apart from `not` and the product's
//!   name (Jaccard at least [`SAME`]); or rest on exactly the same sentences and share at least
//!   [`SAME_SOURCE_WORDS`] such words (a small model writes three "button grid" requirements
//!   from one sentence); or, when the sentence-embedding model is pulled, their predicates
//!   ([`predicate`]: "have channel skip buttons", "have buttons to skip straight to a
//!   channel") have all-MiniLM-L6-v2 embeddings with a cosine of at least [`SAME_MEANING`].
//! - Of two requirements that say the same, the one whose latest source was said later wins
//!   the text: a decision that changed (`shall` against `shall not`, "buttons in a variety of
//!   colours" against "normal coloured buttons" later) keeps its last form, and it cites the
//!   sources of both, so the reviewer sees what it overrode; on a tie the first is kept.
//!   "Later" is the order of `order` (the candidates in time order), else the source ref's
//!   meeting and sentence; a merged requirement lists its sources in that order too.
//! - A requirement's `pattern` is the EARS pattern its text opens with ("When" event-driven,
//!   "If" unwanted behaviour, "While" state-driven, "Where" optional feature, else ubiquitous;
//!   Mavin et al., RE'09): a small model's label for it is often wrong, the text is not.
//! - User stories with the same text, and open questions with the same text, are merged the
//!   same way; a missing topic draft (`null`: an element without output) adds nothing.

use std::collections::{BTreeSet, HashMap};

use aine_embed::{Embedding, cosine};
use aine_spec::{Draft, EarsPattern, OpenQuestion, Requirement, UserStory};
use schemars::JsonSchema;
use serde::Deserialize;

use crate::answer::TopicAnswer;
use crate::detect::words;
use crate::topics::Topic;

/// Jaccard similarity of content words from which two requirements count as the same.
pub const SAME: f64 = 0.8;
/// Content words two requirements citing exactly the same sentences must share to count as
/// the same.
pub const SAME_SOURCE_WORDS: usize = 2;
/// Cosine of two predicates' all-MiniLM-L6-v2 embeddings from which two requirements count as
/// the same. Chosen by reading the most similar pairs among the 78 requirements the bundled
/// workflow drafted from the AMI meetings (2026-12-07): from 0.82 up they were the same need
/// ("a button to increase the volume" / "an up and down volume button", 0.859) or a changed
/// one ("buttons in a variety of colours" / "normal coloured buttons", 0.877); just below, some
/// were not ("volume control" / "the ability to change channels and adjust volume", 0.814;
/// "volume control" / "audio controls", 0.804).
pub const SAME_MEANING: f32 = 0.82;

/// Input of `requirements.merge`, read as a [`RawMergeInput`] (each topic's answer becomes a
/// draft about that topic's sentences, [`TopicAnswer::into_draft`]).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(from = "RawMergeInput")]
#[schemars(with = "RawMergeInput")]
pub struct MergeInput {
    /// One draft per topic, in topic order (`null` for a topic without one).
    pub drafts: Vec<Option<Draft>>,
    /// Source ref ids in time order (`requirements.topics`' `order`).
    pub order: Vec<String>,
    /// What the product is (`the remote control`); its words do not count as shared.
    pub product: Option<String>,
}

/// [`MergeInput`] as the step's `with` gives it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMergeInput {
    /// One answer per topic, in topic order (`null` for a topic without one).
    pub drafts: Vec<Option<TopicAnswer>>,
    /// The topics (`requirements.topics`' `topics`), for answers whose requirements leave out
    /// their sources or category; absent, such a requirement cites nothing.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// Source ref ids in time order (`requirements.topics`' `order`).
    #[serde(default)]
    pub order: Vec<String>,
    /// What the product is (`the remote control`); its words do not count as shared.
    #[serde(default)]
    pub product: Option<String>,
}

impl From<RawMergeInput> for MergeInput {
    fn from(raw: RawMergeInput) -> Self {
        let drafts = raw
            .drafts
            .into_iter()
            .enumerate()
            .map(|(i, answer)| {
                let sentences = raw.topics.get(i).map_or(&[][..], |t| &t.sentences[..]);
                answer.map(|a| a.into_draft(sentences))
            })
            .collect();
        Self {
            drafts,
            order: raw.order,
            product: raw.product,
        }
    }
}

/// Output of `requirements.merge`: the spec's draft, as the gate reviews it.
pub type MergeOutput = Draft;

/// A requirement being merged, with what decides duplicates and conflicts.
struct Merged {
    req: Requirement,
    words: BTreeSet<String>,
    negative: bool,
    /// Its predicate's embedding, when merging compares meaning.
    meaning: Option<Embedding>,
    /// When the statement whose wording it holds was said (its latest source's place in time).
    said: (usize, String, u64),
    /// The id it had in its topic's draft, per topic, for questions' `items`.
    was: Vec<(usize, String)>,
}

impl Merged {
    /// Whether `self` and `other` say the same (the module docs' rules).
    fn says_the_same(&self, other: &Merged) -> bool {
        jaccard(&self.words, &other.words) >= SAME
            || (self.negative == other.negative
                && same_set(&self.req.sources, &other.req.sources)
                && self.words.intersection(&other.words).count() >= SAME_SOURCE_WORDS)
            || self
                .meaning
                .as_ref()
                .zip(other.meaning.as_ref())
                .is_some_and(|(a, b)| cosine(a, b) >= SAME_MEANING)
    }

    /// Folds `other` (which came later in the input) into `self`: the sources of both, and the
    /// wording of the one said later (`self`'s on a tie).
    fn absorb(&mut self, other: Merged) {
        let sources = union(&self.req.sources, &other.req.sources);
        if other.said > self.said {
            self.req = other.req;
            self.words = other.words;
            self.negative = other.negative;
            self.meaning = other.meaning;
            self.said = other.said;
        }
        self.req.sources = sources;
        self.was.extend(other.was);
    }
}

/// What a requirement says apart from its subject and polarity, the text merging compares by
/// meaning: the words after its first `shall` without a leading `not` ("The remote control
/// shall not have an LCD display." gives "have an LCD display."); the whole text when it has
/// no `shall`.
pub fn predicate(text: &str) -> &str {
    let lower = text.to_ascii_lowercase();
    let Some(at) = lower.find(" shall ") else {
        return text.trim();
    };
    let rest = text[at + " shall ".len()..].trim_start();
    match rest.get(..4) {
        Some(not) if not.eq_ignore_ascii_case("not ") => rest[4..].trim_start(),
        _ => rest,
    }
}

/// The [`predicate`] of every requirement of `input`, drafts in order, each draft's
/// requirements in order: what [`merge`]'s `meaning` embeds.
pub fn predicates(input: &MergeInput) -> Vec<&str> {
    input
        .drafts
        .iter()
        .flatten()
        .flat_map(|d| &d.requirements)
        .map(|r| predicate(&r.text))
        .collect()
}

/// The embeddings of [`predicates`] by the all-MiniLM-L6-v2 model in the user cache; `None`
/// when it is not pulled or fails (merging then compares words only).
pub fn embed_predicates(input: &MergeInput) -> Option<Vec<Embedding>> {
    let embedder = crate::detect::embedded::embedder().ok()?;
    embedder.embed(&predicates(input)).ok()
}

/// Merges the topic drafts (see the module docs). `meaning` holds one embedding per
/// [`predicates`] entry ([`embed_predicates`]); `None` (or a list of another length) compares
/// words only.
pub fn merge(input: &MergeInput, meaning: Option<&[Embedding]>) -> Draft {
    let requirements: usize = input
        .drafts
        .iter()
        .flatten()
        .map(|d| d.requirements.len())
        .sum();
    let meaning = meaning.filter(|m| m.len() == requirements);
    let mut next_meaning = meaning.into_iter().flatten();
    let rank: HashMap<&str, usize> = input
        .order
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let latest = |sources: &[String]| -> (usize, String, u64) {
        sources
            .iter()
            .map(|s| source_key(s, &rank))
            .max()
            .unwrap_or_default()
    };

    let product: BTreeSet<String> = input
        .product
        .as_deref()
        .map(|p| words::content_lemmas(p).into_iter().collect())
        .unwrap_or_default();
    // Every requirement in input order; merging folds later ones into earlier ones (`None`
    // once folded). Each requirement is compared with the earlier ones still standing; when it
    // joins one, the joined item (its wording may have changed) is compared again with the
    // others before it, so one pass finds every pair that says the same: O(n²) comparisons.
    let mut items: Vec<Option<Merged>> = Vec::new();
    for (topic, draft) in input.drafts.iter().enumerate() {
        let Some(draft) = draft else { continue };
        for r in &draft.requirements {
            let (mut words, negative) = key(&r.text);
            words.retain(|w| !product.contains(w));
            items.push(Some(Merged {
                said: latest(&r.sources),
                req: r.clone(),
                words,
                negative,
                meaning: next_meaning.next().copied(),
                was: vec![(topic, r.id.clone())],
            }));
        }
    }
    for j in 0..items.len() {
        let mut current = j;
        while let Some(other) = (0..j).find(|&k| {
            k != current
                && matches!((&items[k], &items[current]), (Some(a), Some(b)) if a.says_the_same(b))
        }) {
            let (keep, fold) = (other.min(current), other.max(current));
            let Some(folded) = items[fold].take() else {
                break;
            };
            if let Some(kept) = items[keep].as_mut() {
                kept.absorb(folded);
            }
            current = keep;
        }
    }
    let reqs: Vec<Merged> = items.into_iter().flatten().collect();
    let mut out = Draft::default();
    let mut new_id: HashMap<(usize, String), String> = HashMap::new();
    for (n, mut m) in reqs.into_iter().enumerate() {
        let id = format!("REQ-{:03}", n + 1);
        for was in m.was {
            new_id.insert(was, id.clone());
        }
        m.req.sources.sort_by_cached_key(|s| source_key(s, &rank));
        let pattern = pattern_of(&m.req.text);
        out.requirements.push(Requirement {
            id,
            pattern,
            ..m.req
        });
    }

    let mut stories: Vec<UserStory> = Vec::new();
    for (topic, draft) in input.drafts.iter().enumerate() {
        let Some(draft) = draft else { continue };
        for s in &draft.user_stories {
            let id = match stories.iter_mut().find(|x| same_text(&x.text, &s.text)) {
                Some(x) => {
                    x.sources = union(&x.sources, &s.sources);
                    x.id.clone()
                }
                None => {
                    let id = format!("US-{:03}", stories.len() + 1);
                    stories.push(UserStory {
                        id: id.clone(),
                        ..s.clone()
                    });
                    id
                }
            };
            new_id.insert((topic, s.id.clone()), id);
        }
    }
    out.user_stories = stories;

    for (topic, draft) in input.drafts.iter().enumerate() {
        let Some(draft) = draft else { continue };
        for q in &draft.open_questions {
            let items: Vec<String> = q
                .items
                .iter()
                .filter_map(|i| new_id.get(&(topic, i.clone())).cloned())
                .collect();
            match out
                .open_questions
                .iter_mut()
                .find(|x| same_text(&x.text, &q.text))
            {
                Some(x) => {
                    x.sources = union(&x.sources, &q.sources);
                    x.items = union(&x.items, &items);
                }
                None => {
                    let id = format!("Q-{:03}", out.open_questions.len() + 1);
                    out.open_questions.push(OpenQuestion {
                        id,
                        text: q.text.clone(),
                        items,
                        sources: q.sources.clone(),
                    });
                }
            }
        }
    }
    out
}

/// The EARS pattern a requirement's text opens with.
pub fn pattern_of(text: &str) -> EarsPattern {
    match text
        .split_whitespace()
        .next()
        .map(str::to_lowercase)
        .as_deref()
    {
        Some("when") => EarsPattern::EventDriven,
        Some("if") => EarsPattern::UnwantedBehaviour,
        Some("while") => EarsPattern::StateDriven,
        Some("where") => EarsPattern::OptionalFeature,
        _ => EarsPattern::Ubiquitous,
    }
}

/// The content words of a requirement without negation words (and the `shall` every one has),
/// and whether it prohibits, by the citation check's own rule ([`crate::citations::is_negative`]).
fn key(text: &str) -> (BTreeSet<String>, bool) {
    let words = words::content_lemmas(text)
        .into_iter()
        .filter(|w| !crate::citations::NEGATIONS.contains(&w.as_str()) && w != "shall")
        .collect();
    (words, crate::citations::is_negative(text))
}

fn jaccard(a: &BTreeSet<String>, b: &BTreeSet<String>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 1.0;
    }
    a.intersection(b).count() as f64 / union as f64
}

/// Whether two lists hold the same refs, in any order.
fn same_set(a: &[String], b: &[String]) -> bool {
    let a: BTreeSet<&String> = a.iter().collect();
    let b: BTreeSet<&String> = b.iter().collect();
    a == b
}

fn same_text(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// `a` then the entries of `b` it lacks.
fn union(a: &[String], b: &[String]) -> Vec<String> {
    let mut out = a.to_vec();
    for x in b {
        if !out.contains(x) {
            out.push(x.clone());
        }
    }
    out
}

/// Where source ref `id` (`FILE#N`) falls in time: its rank in `order` (after every unranked
/// ref when it has none), then its file and sentence number.
fn source_key(id: &str, rank: &HashMap<&str, usize>) -> (usize, String, u64) {
    let (file, n) = id.rsplit_once('#').unwrap_or((id, "0"));
    (
        rank.get(id).map_or(0, |r| r + 1),
        file.to_owned(),
        n.parse().unwrap_or(0),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::requirement as req;

    /// Each requirement of `out` as (id, text, sources).
    fn id_text_sources(out: &Draft) -> Vec<(&str, &str, Vec<&str>)> {
        out.requirements
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.text.as_str(),
                    r.sources.iter().map(String::as_str).collect(),
                )
            })
            .collect()
    }

    fn draft(reqs: Vec<Requirement>, questions: Vec<OpenQuestion>) -> Option<Draft> {
        Some(Draft {
            requirements: reqs,
            user_stories: Vec::new(),
            open_questions: questions,
        })
    }

    #[test]
    fn ids_run_across_topics_duplicates_merge_and_the_later_decision_wins() {
        let order: Vec<String> = ["a#1", "a#5", "b#2", "d#7"].map(String::from).to_vec();
        let input = MergeInput {
            drafts: vec![
                draft(
                    vec![
                        req(
                            "REQ-001",
                            "The remote control shall have an LCD display.",
                            &["a#1"],
                        ),
                        req(
                            "REQ-002",
                            "The remote control shall not use teletext.",
                            &["a#5"],
                        ),
                    ],
                    vec![OpenQuestion {
                        id: "Q-001".into(),
                        text: "Which colour?".into(),
                        items: vec!["REQ-002".into()],
                        sources: vec!["a#5".into()],
                    }],
                ),
                None,
                draft(
                    vec![
                        req(
                            "REQ-001",
                            "The remote control shall not have an LCD display.",
                            &["d#7"],
                        ),
                        req(
                            "REQ-002",
                            "The remote control shall not use teletext.",
                            &["b#2"],
                        ),
                    ],
                    Vec::new(),
                ),
            ],
            order,
            product: None,
        };
        let out = merge(&input, None);
        assert_eq!(
            id_text_sources(&out),
            [
                (
                    "REQ-001",
                    "The remote control shall not have an LCD display.",
                    vec!["a#1", "d#7"]
                ),
                (
                    "REQ-002",
                    "The remote control shall not use teletext.",
                    vec!["a#5", "b#2"]
                ),
            ]
        );
        assert_eq!(out.open_questions[0].items, ["REQ-002"]);
    }

    #[test]
    fn an_earlier_reversal_does_not_override_a_later_decision() {
        let input = MergeInput {
            drafts: vec![
                draft(
                    vec![req("REQ-001", "The remote shall use rubber.", &["d#9"])],
                    Vec::new(),
                ),
                draft(
                    vec![req("REQ-001", "The remote shall not use rubber.", &["a#3"])],
                    Vec::new(),
                ),
            ],
            order: Vec::new(),
            product: None,
        };
        let out = merge(&input, None);
        assert_eq!(out.requirements.len(), 1);
        assert_eq!(out.requirements[0].text, "The remote shall use rubber.");
        // Sources in the order they were said.
        assert_eq!(out.requirements[0].sources, ["a#3", "d#9"]);
    }

    #[test]
    fn requirements_resting_on_the_same_sentence_and_object_are_one() {
        let source = ["d#267"];
        let input = MergeInput {
            drafts: vec![draft(
                vec![
                    req(
                        "REQ-001",
                        "The remote control shall have a button grid that is easy to use.",
                        &source,
                    ),
                    req(
                        "REQ-002",
                        "The remote control shall have a button grid that is consistent with the design.",
                        &source,
                    ),
                    req(
                        "REQ-003",
                        "The remote control shall have a brightness control.",
                        &["d#22"],
                    ),
                    req(
                        "REQ-004",
                        "The remote control shall have a contrast control.",
                        &["d#22"],
                    ),
                ],
                Vec::new(),
            )],
            order: Vec::new(),
            product: Some("the remote control".into()),
        };
        let texts: Vec<String> = merge(&input, None)
            .requirements
            .into_iter()
            .map(|r| r.text)
            .collect();
        assert_eq!(
            texts,
            [
                "The remote control shall have a button grid that is easy to use.",
                "The remote control shall have a brightness control.",
                "The remote control shall have a contrast control.",
            ]
        );
    }

    /// A unit vector at `angle` radians from the first axis, in the plane of the first two.
    fn at(angle: f32) -> Embedding {
        let mut e = [0.0; aine_embed::DIM];
        e[0] = angle.cos();
        e[1] = angle.sin();
        e
    }

    #[test]
    fn the_predicate_leaves_out_the_subject_and_the_negation() {
        assert_eq!(
            predicate("The remote control shall not have an LCD display."),
            "have an LCD display."
        );
        assert_eq!(
            predicate("When the battery is low, the remote SHALL Not beep."),
            "beep."
        );
        assert_eq!(
            predicate("The remote shall notify the TV."),
            "notify the TV."
        );
        assert_eq!(predicate(" No modal here. "), "No modal here.");
    }

    #[test]
    fn requirements_close_in_meaning_are_one_and_the_later_wording_wins() {
        let input = MergeInput {
            drafts: vec![
                draft(
                    vec![
                        req(
                            "REQ-001",
                            "The remote shall have channel skip buttons.",
                            &["b#1"],
                        ),
                        req("REQ-002", "The remote shall have a mute button.", &["b#2"]),
                    ],
                    Vec::new(),
                ),
                draft(
                    vec![req(
                        "REQ-001",
                        "The remote shall have buttons to skip straight to a channel.",
                        &["d#5"],
                    )],
                    Vec::new(),
                ),
            ],
            order: Vec::new(),
            product: Some("the remote".into()),
        };
        assert_eq!(
            predicates(&input),
            [
                "have channel skip buttons.",
                "have a mute button.",
                "have buttons to skip straight to a channel."
            ]
        );
        // cos(0.5) = 0.878 >= SAME_MEANING; the mute button is orthogonal to both.
        let meaning = [at(0.0), at(std::f32::consts::FRAC_PI_2), at(0.5)];
        let out = merge(&input, Some(&meaning));
        assert_eq!(
            id_text_sources(&out),
            [
                (
                    "REQ-001",
                    "The remote shall have buttons to skip straight to a channel.",
                    vec!["b#1", "d#5"]
                ),
                (
                    "REQ-002",
                    "The remote shall have a mute button.",
                    vec!["b#2"]
                ),
            ]
        );
        // Just below the threshold (cos(0.7) = 0.765) they stay apart; so without embeddings,
        // or with a list that does not fit the requirements.
        let apart = [at(0.0), at(std::f32::consts::FRAC_PI_2), at(0.7)];
        assert_eq!(merge(&input, Some(&apart)).requirements.len(), 3);
        assert_eq!(merge(&input, None).requirements.len(), 3);
        assert_eq!(merge(&input, Some(&meaning[..2])).requirements.len(), 3);
    }

    #[test]
    fn a_merged_requirement_whose_wording_changed_is_compared_again() {
        // "variety" is far from "bold" but close to "normal", which joins "bold" first and
        // gives it its wording: then "variety" joins too.
        let input = MergeInput {
            drafts: vec![draft(
                vec![
                    req(
                        "REQ-001",
                        "The remote shall have a bold colour for the buttons.",
                        &["c#334"],
                    ),
                    req(
                        "REQ-002",
                        "The remote shall have buttons in a variety of colours.",
                        &["d#203"],
                    ),
                    req(
                        "REQ-003",
                        "The remote shall have normal coloured buttons.",
                        &["d#216"],
                    ),
                ],
                Vec::new(),
            )],
            order: Vec::new(),
            product: Some("the remote".into()),
        };
        let meaning = [at(0.0), at(1.0), at(0.5)];
        assert_eq!(
            id_text_sources(&merge(&input, Some(&meaning))),
            [(
                "REQ-001",
                "The remote shall have normal coloured buttons.",
                vec!["c#334", "d#203", "d#216"]
            )]
        );
    }
}
