//! `requirements.merge`: the drafts of the topics (the elements of the `for_each` draft step)
//! become one spec.
//!
//! - Items keep the topics' order; ids are renumbered `REQ-001`, `US-001`, `Q-001` across the
//!   spec, and an open question's `items` follow its items' new ids.
//! - Two requirements that say the same (the same content words apart from `not` and the
//!   product's name, Jaccard at least [`SAME`]), or that rest on exactly the same sentences
//!   and share at least [`SAME_SOURCE_WORDS`] such words (a small model writes three
//!   "button grid" requirements from one sentence), are one requirement citing the sources of
//!   both; the first one's text is kept.
//! - Two requirements that say the same with opposite polarity (`shall` against `shall not`)
//!   are a decision that changed: the one whose latest source was said later wins, and it
//!   cites the sources of both, so the reviewer sees what it overrode. "Later" is the order of
//!   `order` (the candidates in time order), else the source ref's meeting and sentence.
//! - A requirement's `pattern` is the EARS pattern its text opens with ("When" event-driven,
//!   "If" unwanted behaviour, "While" state-driven, "Where" optional feature, else ubiquitous;
//!   Mavin et al., RE'09): a small model's label for it is often wrong, the text is not.
//! - User stories with the same text, and open questions with the same text, are merged the
//!   same way; a missing topic draft (`null`: an element without output) adds nothing.

use std::collections::{BTreeSet, HashMap};

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

/// Input of `requirements.merge`, read as a [`RawMergeInput`] (each topic's answer becomes a
/// draft about that topic's sentences, [`TopicAnswer::into_draft`]).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(from = "RawMergeInput")]
#[schemars(with = "RawMergeInput")]
pub struct MergeInput {
    /// One draft per topic, in topic order (`null` for a topic without one).
    pub drafts: Vec<Option<Draft>>,
    /// Source ref ids in time order (`requirements.topics`' `order`).
    #[serde(default)]
    pub order: Vec<String>,
    /// What the product is (`the remote control`); its words do not count as shared.
    #[serde(default)]
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
    /// The id it had in its topic's draft, per topic, for questions' `items`.
    was: Vec<(usize, String)>,
}

/// Merges the topic drafts (see the module docs).
pub fn merge(input: &MergeInput) -> Draft {
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
    let mut reqs: Vec<Merged> = Vec::new();
    for (topic, draft) in input.drafts.iter().enumerate() {
        let Some(draft) = draft else { continue };
        for r in &draft.requirements {
            let (mut words, negative) = key(&r.text);
            words.retain(|w| !product.contains(w));
            let same = reqs.iter().position(|m| {
                jaccard(&m.words, &words) >= SAME
                    || (m.negative == negative
                        && same_set(&m.req.sources, &r.sources)
                        && m.words.intersection(&words).count() >= SAME_SOURCE_WORDS)
            });
            match same {
                Some(i) => {
                    let m = &mut reqs[i];
                    let sources = union(&m.req.sources, &r.sources);
                    // A changed decision: the later statement wins.
                    if m.negative != negative && latest(&r.sources) > latest(&m.req.sources) {
                        m.req = r.clone();
                        m.words = words;
                        m.negative = negative;
                    }
                    m.req.sources = sources;
                    m.was.push((topic, r.id.clone()));
                }
                None => reqs.push(Merged {
                    req: r.clone(),
                    words,
                    negative,
                    was: vec![(topic, r.id.clone())],
                }),
            }
        }
    }
    let mut out = Draft::default();
    let mut new_id: HashMap<(usize, String), String> = HashMap::new();
    for (n, m) in reqs.into_iter().enumerate() {
        let id = format!("REQ-{:03}", n + 1);
        for was in m.was {
            new_id.insert(was, id.clone());
        }
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
        let out = merge(&input);
        let got: Vec<(&str, &str, Vec<&str>)> = out
            .requirements
            .iter()
            .map(|r| {
                (
                    r.id.as_str(),
                    r.text.as_str(),
                    r.sources.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
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
        let out = merge(&input);
        assert_eq!(out.requirements.len(), 1);
        assert_eq!(out.requirements[0].text, "The remote shall use rubber.");
        assert_eq!(out.requirements[0].sources, ["d#9", "a#3"]);
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
        let texts: Vec<String> = merge(&input)
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
}
