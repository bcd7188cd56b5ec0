//! `requirements.template`: drafts a spec from candidates without a model. It is the draft step's
//! `fallback_builtin`, used when no model gives a usable answer or the budget is spent, and it
//! never rewrites speech into requirements (that is how "I'm gonna have to think on the spot
//! now." became "The system shall think on the spot now.", and "we don't really need to
//! consider that" lost its negation):
//!
//! - A candidate becomes a requirement only when the sentence already *is* a clean statement
//!   about the product ([`statement`]): a noun-phrase subject naming a thing (`the remote
//!   control`), a binding modal (`shall`, `must`, `should`, `has to`, `needs to`; negated ones
//!   keep their `not`), at least one word after it, an optional leading `if`/`when`/`while`/
//!   `where` clause, and nothing of speech: no fillers or hedges, no `I`/`we`/`you`, no
//!   disfluency markers, no question. Its text is the sentence's own words with the modal
//!   normalised to `shall` (ISO/IEC/IEEE 29148:2018 §5.2.4) and the EARS pattern of its opening
//!   clause (Mavin et al., RE'09).
//! - Every other candidate that names something (a content word that can name a topic,
//!   [`crate::detect::topic_word`]) becomes an open question that quotes the sentence, for the
//!   product owner to answer; nothing is invented. A fragment that names nothing ("Shall we do
//!   that, then?", "so yeah should we go with that?") is not asked: out of its turn it cannot be
//!   answered.
//! - No user stories of its own: a story's role, benefit and acceptance criteria cannot be read
//!   off one spoken sentence, and a template that guesses them writes criteria nobody can test.
//! - Salvage: when the runtime passes `rejected_answer` (a model's answer that satisfied the
//!   contract but not the `requirements.citations` check), each of its requirements and stories
//!   that passes the check on its own is kept as the model wrote it (a requirement's citations of
//!   sentences that share no word with it dropped first), and the sentences it cites are not
//!   drafted again. One mis-cited item no longer throws away the good ones beside it.

use aine_spec::{Candidate, Category, Draft, EarsPattern, OpenQuestion, Requirement};
use schemars::JsonSchema;
use serde::Deserialize;

/// Input of `requirements.template`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub candidates: Vec<Candidate>,
    /// Unused since the template stopped writing `the system` into sentences that had no
    /// subject; kept so that workflows setting it stay valid.
    #[serde(default)]
    pub system: Option<String>,
    /// At most this many requirements and open questions together (highest confidence first;
    /// default 200).
    #[serde(default)]
    pub max_items: Option<usize>,
    /// What the product is, for the citation check of salvaged items.
    #[serde(default)]
    pub product: Option<String>,
    /// Supplied by the runtime (never by `with`): the model's answer the check refused, read
    /// as a draft about `candidates` ([`crate::answer::TopicAnswer::into_draft`]).
    #[serde(default)]
    pub rejected_answer: Option<crate::answer::TopicAnswer>,
}

/// Output of `requirements.template`: a draft, as the model step would have produced.
pub type TemplateOutput = Draft;

/// Binding modals, longest first, with whether they prohibit. `should` is a goal in ISO 29148,
/// but stakeholders say `should` for what they require; the reviewer sees the source quoted.
const MODALS: &[(&str, bool)] = &[
    ("shall not", true),
    ("must not", true),
    ("should not", true),
    ("mustn't", true),
    ("shouldn't", true),
    ("will need to", false),
    ("needs to", false),
    ("need to", false),
    ("has to", false),
    ("have to", false),
    ("shall", false),
    ("must", false),
    ("should", false),
];

/// Words that mark a sentence as speech, not a statement: fillers, hedges, discourse markers.
const SPEECH: &[&str] = &[
    "um",
    "uh",
    "erm",
    "er",
    "hmm",
    "mm",
    "mm-hmm",
    "uh-huh",
    "yeah",
    "okay",
    "ok",
    "like",
    "gonna",
    "wanna",
    "gotta",
    "kinda",
    "sorta",
    "basically",
    "actually",
    "just",
    "really",
    "probably",
    "maybe",
    "perhaps",
    "might",
    "guess",
    "anyway",
    "stuff",
    "thing",
    "things",
    "something",
    "whatever",
    "etc",
];

/// Phrases that mark speech.
const SPEECH_PHRASES: &[&str] = &[
    "you know",
    "i mean",
    "sort of",
    "kind of",
    "i think",
    "not sure",
    "don't know",
];

/// First- and second-person words: a sentence with them is about the people, not the product.
const PEOPLE: &[&str] = &[
    "i", "i'm", "i'd", "i'll", "i've", "me", "my", "mine", "we", "we're", "we'd", "we'll", "we've",
    "us", "our", "ours", "you", "you're", "you'd", "you'll", "you've", "your", "yours", "let's",
];

/// Words that may open a subject noun phrase.
const DETERMINERS: &[&str] = &["the", "a", "an", "each", "every", "all", "this"];

/// Words a subject may not contain: pronouns and verbs that show the words before the modal are
/// a clause, not a noun phrase.
const NOT_IN_SUBJECT: &[&str] = &[
    "it", "they", "he", "she", "that", "there", "is", "are", "was", "were", "be", "been", "and",
    "or", "but", "so", "if", "when", "then", "which", "who", "what", "because",
];

/// Pronouns that leave a response without a referent when they end it (`shall have it`).
const DANGLING: &[&str] = &[
    "it", "them", "this", "that", "these", "those", "there", "here",
];

/// A sentence that already is a clean requirement statement, in its own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub pattern: EarsPattern,
    /// The EARS requirement text (`If the battery is low, then the remote shall beep.`).
    pub text: String,
}

/// Drafts requirements from the candidates that are clean statements and open questions from
/// the rest (see the module docs).
pub fn draft(input: &TemplateInput) -> Draft {
    let mut out = salvage(input);
    let cited: std::collections::HashSet<&str> = out
        .requirements
        .iter()
        .flat_map(|r| &r.sources)
        .chain(out.user_stories.iter().flat_map(|s| &s.sources))
        .map(String::as_str)
        .collect();
    let mut candidates: Vec<&Candidate> = input
        .candidates
        .iter()
        .filter(|c| !cited.contains(c.source.id.as_str()))
        .collect();
    candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    candidates.truncate(input.max_items.unwrap_or(200));
    // Source order within the chosen set, so the spec reads like the meetings.
    candidates.sort_by_key(|c| (c.source.file.clone(), c.source.sentence));
    let mut seen = std::collections::HashSet::new();
    for c in candidates {
        let said = strip_markers(&c.text);
        if !seen.insert(said.to_lowercase()) {
            continue;
        }
        match statement(&c.text) {
            Some(s) => {
                let id = format!("REQ-{:03}", out.requirements.len() + 1);
                out.requirements.push(Requirement {
                    id,
                    text: s.text,
                    pattern: s.pattern,
                    category: c.category,
                    sources: vec![c.source.id.clone()],
                });
            }
            None if !names_something(&said) => {}
            None => {
                let id = format!("Q-{:03}", out.open_questions.len() + 1);
                out.open_questions.push(OpenQuestion {
                    id,
                    text: question(&said, c.category),
                    items: Vec::new(),
                    sources: vec![c.source.id.clone()],
                });
            }
        }
    }
    out
}

/// The requirements and user stories of `input.rejected_answer` that pass the citation check
/// one by one, renumbered.
fn salvage(input: &TemplateInput) -> Draft {
    let mut out = Draft::default();
    let Some(answer) = input
        .rejected_answer
        .clone()
        .map(|a| a.into_draft(&input.candidates))
    else {
        return out;
    };
    let check_input = |answer: Draft| crate::citations::CitationsInput {
        answer,
        candidates: input.candidates.clone(),
        product: input.product.clone(),
    };
    let passes = |draft: Draft| crate::citations::check(&check_input(draft)).is_empty();
    for r in &answer.requirements {
        // Citations of sentences that share nothing with the item are dropped first: the item
        // stands on the sentences it does rest on.
        let sources =
            crate::citations::related_sources(&check_input(Draft::default()), &r.text, &r.sources);
        let r = Requirement {
            sources: if sources.is_empty() {
                r.sources.clone()
            } else {
                sources
            },
            ..r.clone()
        };
        let alone = Draft {
            requirements: vec![r.clone()],
            ..Draft::default()
        };
        if passes(alone) {
            let id = format!("REQ-{:03}", out.requirements.len() + 1);
            out.requirements.push(Requirement { id, ..r });
        }
    }
    for s in &answer.user_stories {
        let alone = Draft {
            user_stories: vec![s.clone()],
            ..Draft::default()
        };
        if passes(alone) {
            let id = format!("US-{:03}", out.user_stories.len() + 1);
            out.user_stories
                .push(aine_spec::UserStory { id, ..s.clone() });
        }
    }
    out
}

/// Whether `text` has a content word that can name a topic (not only pronouns, cue words and
/// generic verbs such as `go`, `take`, `do`).
fn names_something(text: &str) -> bool {
    crate::detect::words::content_lemmas(text)
        .iter()
        .any(|l| crate::detect::topic_word(l))
}

/// The open question for a sentence that states a need unclearly.
fn question(said: &str, category: Category) -> String {
    let what = match category {
        Category::Functional => "what should the product do",
        _ => "what should the product meet",
    };
    format!("Is this a requirement, and if so, {what}? \"{said}\"")
}

/// `text` as an EARS requirement when it already is a clean statement about the product.
pub fn statement(text: &str) -> Option<Statement> {
    if text.contains('{') || text.contains('?') || text.contains(" - ") || text.contains("--") {
        return None; // transcript markers, a question, a broken-off phrase
    }
    let sentence = text.trim().trim_end_matches(['.', '!']).trim();
    let words: Vec<&str> = sentence.split_whitespace().collect();
    if !(4..=30).contains(&words.len()) {
        return None;
    }
    let lower: Vec<String> = words.iter().map(|w| normal(w)).collect();
    if lower
        .iter()
        .any(|w| SPEECH.contains(&w.as_str()) || PEOPLE.contains(&w.as_str()) || w.is_empty())
        || lower.windows(2).any(|p| p[0] == p[1])
    {
        return None;
    }
    let joined = lower.join(" ");
    if SPEECH_PHRASES.iter().any(|p| contains_words(&joined, p)) {
        return None;
    }
    // An opening condition clause, up to its comma.
    let (pattern, condition, rest) = match opening(&words, &lower) {
        Some((pattern, end)) => {
            let clause = words[1..end].join(" ");
            let clause = clause.trim_end_matches(" then").trim_end_matches(',');
            (pattern, Some(clause.to_owned()), end)
        }
        None => (EarsPattern::Ubiquitous, None, 0),
    };
    let (modal_at, modal_len, prohibits) =
        modal(&lower[rest..]).map(|(at, n, p)| (rest + at, n, p))?;
    let subject = subject(&words[rest..modal_at], &lower[rest..modal_at])?;
    let response: Vec<&str> = words[modal_at + modal_len..].to_vec();
    let response_lower = &lower[modal_at + modal_len..];
    if response.is_empty()
        || response_lower
            .last()
            .is_some_and(|w| DANGLING.contains(&w.as_str()))
        || response_lower
            .iter()
            .any(|w| MODALS.iter().any(|(m, _)| m == w))
    {
        return None;
    }
    let response = response.join(" ").trim_end_matches(',').to_owned();
    let not = if prohibits { "not " } else { "" };
    let text = match (pattern, condition) {
        (EarsPattern::UnwantedBehaviour, Some(c)) => {
            format!("If {c}, then {subject} shall {not}{response}.")
        }
        (EarsPattern::EventDriven, Some(c)) => {
            format!("When {c}, {subject} shall {not}{response}.")
        }
        (EarsPattern::StateDriven, Some(c)) => {
            format!("While {c}, {subject} shall {not}{response}.")
        }
        (EarsPattern::OptionalFeature, Some(c)) => {
            format!("Where {c}, {subject} shall {not}{response}.")
        }
        _ => format!("{} shall {not}{response}.", capitalize(&subject)),
    };
    Some(Statement { pattern, text })
}

/// A word lower-cased, with surrounding punctuation removed and curly apostrophes made straight.
fn normal(word: &str) -> String {
    word.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .replace('’', "'")
        .to_lowercase()
}

/// Whether `haystack` (words joined by single spaces) holds `phrase` as whole words.
fn contains_words(haystack: &str, phrase: &str) -> bool {
    format!(" {haystack} ").contains(&format!(" {phrase} "))
}

/// The EARS pattern of an opening `if`/`when`/`while`/`where` clause and the index of the first
/// word after it: the clause ends at its first comma, and a `then` after the comma is skipped.
fn opening(words: &[&str], lower: &[String]) -> Option<(EarsPattern, usize)> {
    let pattern = match lower.first()?.as_str() {
        "if" => EarsPattern::UnwantedBehaviour,
        "when" | "whenever" => EarsPattern::EventDriven,
        "while" | "during" => EarsPattern::StateDriven,
        "where" => EarsPattern::OptionalFeature,
        _ => return None,
    };
    let comma = words.iter().position(|w| w.ends_with(','))?;
    let mut end = comma + 1;
    if lower.get(end).is_some_and(|w| w == "then") {
        end += 1;
    }
    (comma >= 2).then_some((pattern, end))
}

/// The first binding modal in `lower`: (index, words it spans, whether it prohibits).
fn modal(lower: &[String]) -> Option<(usize, usize, bool)> {
    (0..lower.len()).find_map(|i| {
        MODALS.iter().find_map(|(m, prohibits)| {
            let parts: Vec<&str> = m.split(' ').collect();
            let matches = lower
                .get(i..i + parts.len())
                .is_some_and(|w| w.iter().zip(&parts).all(|(a, b)| a == b));
            matches.then_some((i, parts.len(), *prohibits))
        })
    })
}

/// The subject noun phrase (`The remote control` → `the remote control`), when the words before
/// the modal are one: a determiner and one to four further words, none of them a pronoun or verb.
fn subject(words: &[&str], lower: &[String]) -> Option<String> {
    let first = lower.first()?;
    if !DETERMINERS.contains(&first.as_str())
        || !(2..=5).contains(&lower.len())
        || lower[1..]
            .iter()
            .any(|w| NOT_IN_SUBJECT.contains(&w.as_str()) || DETERMINERS.contains(&w.as_str()))
        || words.iter().any(|w| w.contains(',') || w.contains(';'))
    {
        return None;
    }
    let rest: Vec<&str> = words[1..].to_vec();
    let determiner = match first.as_str() {
        "a" | "an" | "this" => "the",
        other => other,
    };
    Some(format!("{determiner} {}", rest.join(" ")))
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn strip_markers(text: &str) -> String {
    text.split_whitespace()
        .filter(|w| !(w.starts_with('{') && w.ends_with('}')))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` is a clean statement drafted as `expected`, or (None) is not.
    fn check(text: &str, expected: Option<&str>) {
        assert_eq!(
            statement(text).map(|s| s.text).as_deref(),
            expected,
            "{text}"
        );
    }

    #[test]
    fn only_clean_statements_become_requirements_in_their_own_words() {
        check(
            "The remote control should not have teletext.",
            Some("The remote control shall not have teletext."),
        );
        check(
            "The remote should be easy to use.",
            Some("The remote shall be easy to use."),
        );
        check(
            "A remote control must fit in one hand.",
            Some("The remote control shall fit in one hand."),
        );
        check(
            "If the battery is low, the remote should beep.",
            Some("If the battery is low, then the remote shall beep."),
        );
        check(
            "When the user presses a button, then the remote has to light up.",
            Some("When the user presses a button, the remote shall light up."),
        );
        // Issue 18, bug 3: the condition keeps its own case ("If the api fails" before).
        check(
            "If the API fails, the remote should show an error light.",
            Some("If the API fails, then the remote shall show an error light."),
        );
        check(
            "The price should be twenty five Euros.",
            Some("The price shall be twenty five Euros."),
        );
        check(
            "The device shouldn’t need a manual.",
            Some("The device shall not need a manual."),
        );
    }

    #[test]
    fn speech_never_becomes_a_requirement() {
        for text in [
            // What the old template turned into "The system shall think on the spot now."
            "I'm gonna have to think on the spot now.",
            // ... and into "The system shall consider that in the functionality ...": the
            // negation lost, the meaning inverted.
            "Nobody uses teletext very much anymore, so we don't really need to consider that in the functionality of the of the remote control.",
            "It should be it.",
            "The remote should have it.",
            "We want a remote that is easy to use.",
            "The remote should, um, be yellow.",
            "The the remote should be yellow.",
            "Should the remote be yellow?",
            "The remote should be {disfmarker} yellow.",
            "You should see the prototype by Friday.",
            "The buttons should maybe glow.",
            "That is what the remote should do.",
            "The remote should.",
        ] {
            check(text, None);
        }
    }

    #[test]
    fn the_rest_become_open_questions_quoting_the_sentence() {
        let candidate = |i: u32, text: &str| Candidate {
            text: text.to_owned(),
            category: Category::Functional,
            confidence: 0.7,
            cues: vec!["modal:should".to_owned()],
            topic: String::new(),
            source: aine_spec::SourceRef {
                id: format!("m#{i}"),
                file: "m.json".to_owned(),
                speaker: Some("PM".to_owned()),
                turn: Some(i),
                sentence: i,
                start: 0,
                end: 1,
            },
        };
        let draft = draft(&TemplateInput {
            candidates: vec![
                candidate(1, "The remote control should not have teletext."),
                candidate(2, "I'm gonna have to think on the spot now."),
                candidate(3, "The remote control should not have teletext."),
                // Fragments that name nothing cannot be answered out of their turn.
                candidate(4, "Shall we do that, then?"),
                candidate(5, "so yeah should we go with that?"),
            ],
            system: None,
            max_items: None,
            product: None,
            rejected_answer: None,
        });
        assert_eq!(draft.requirements.len(), 1);
        assert_eq!(draft.requirements[0].sources, ["m#1"]);
        assert!(draft.user_stories.is_empty());
        assert_eq!(draft.open_questions.len(), 1);
        assert_eq!(
            draft.open_questions[0].text,
            "Is this a requirement, and if so, what should the product do? \"I'm gonna have to think on the spot now.\""
        );
        assert_eq!(draft.open_questions[0].sources, ["m#2"]);
    }
}
