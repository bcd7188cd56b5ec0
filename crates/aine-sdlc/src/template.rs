//! `requirements.template`: drafts EARS requirements and user stories from candidates without a
//! model. It is the model step's `fallback_builtin`: used when no model is usable or the budget
//! is spent, so a run always produces a reviewable draft.
//!
//! Rules (deterministic, documented so reviewers know what they are looking at):
//! - EARS pattern (Mavin et al., RE'09) from the sentence's opening clause: `if … (then)` →
//!   unwanted behaviour, `when …` → event-driven, `while …` / `during …` → state-driven,
//!   `where …` → optional feature, otherwise ubiquitous.
//! - The response is the words after the first modal or desire cue (`should`, `must`, `need(s)
//!   to`, `want(s)`, `would like`, …), with fillers removed; the subject is the noun phrase before
//!   the cue when it names a thing (`the remote`), else `the system`.
//! - A user story is drafted for each functional candidate with a desire cue: "As a user, I want
//!   <response>, so that <the `so that` / `because` clause>", with one Given/When/Then criterion.
//! - Candidates with hedges (`maybe`, `not sure`, `I don't know`, a question mark) become open
//!   questions for stakeholders instead of being silently promoted to requirements.

use aine_spec::{
    AcceptanceCriterion, Candidate, Category, Draft, EarsPattern, OpenQuestion, Requirement,
    UserStory,
};
use schemars::JsonSchema;
use serde::Deserialize;

/// Input of `requirements.template`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateInput {
    pub candidates: Vec<Candidate>,
    /// The name used as the subject of requirements (default `the system`).
    #[serde(default)]
    pub system: Option<String>,
    /// At most this many requirements (highest confidence first; default 200).
    #[serde(default)]
    pub max_items: Option<usize>,
}

/// Output of `requirements.template`: a draft, as the model step would have produced.
pub type TemplateOutput = Draft;

const MODAL_CUES: &[&str] = &[
    "shall",
    "must",
    "should",
    "needs to",
    "need to",
    "has to",
    "have to",
    "ought to",
    "will need to",
    "wants to",
    "want to",
    "want",
    "wants",
    "would like to",
    "would like",
    "we'd like",
    "i'd like",
    "needs",
    "need",
    "could",
    "can",
];
const FILLERS: &[&str] = &[
    "um",
    "uh",
    "erm",
    "er",
    "hmm",
    "mm",
    "like",
    "sort of",
    "sorta",
    "kind of",
    "you know",
    "i mean",
    "basically",
    "actually",
    "just",
    "really",
    "probably",
    "maybe",
    "perhaps",
    "i think",
    "i guess",
];
const HEDGES: &[&str] = &[
    "maybe",
    "not sure",
    "don't know",
    "i guess",
    "perhaps",
    "might",
];

/// Drafts requirements, stories and open questions from `input.candidates`.
pub fn draft(input: &TemplateInput) -> Draft {
    let system = input
        .system
        .clone()
        .unwrap_or_else(|| "the system".to_owned());
    let mut candidates: Vec<&Candidate> = input.candidates.iter().collect();
    candidates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    candidates.truncate(input.max_items.unwrap_or(200));
    // Keep source order within the chosen set, so the spec reads like the meeting.
    candidates.sort_by_key(|c| (c.source.file.clone(), c.source.sentence));
    let mut out = Draft::default();
    let mut seen = std::collections::HashSet::new();
    for c in candidates {
        let lower = c.text.to_lowercase();
        if HEDGES.iter().any(|h| contains_word(&lower, h)) || c.text.trim_end().ends_with('?') {
            let id = format!("Q-{:03}", out.open_questions.len() + 1);
            out.open_questions.push(OpenQuestion {
                id,
                text: format!("Confirm: \"{}\"", c.text.trim()),
                items: Vec::new(),
                sources: vec![c.source.id.clone()],
            });
            continue;
        }
        let Some((subject, response)) = split(&c.text, &system) else {
            continue;
        };
        let key = response.to_lowercase();
        if !seen.insert(key) {
            continue;
        }
        let (pattern, condition) = pattern_of(&c.text);
        let text = ears(pattern, condition.as_deref(), &subject, &response);
        let id = format!("REQ-{:03}", out.requirements.len() + 1);
        out.requirements.push(Requirement {
            id: id.clone(),
            text,
            pattern,
            category: c.category,
            sources: vec![c.source.id.clone()],
        });
        if c.category == Category::Functional && c.cues.iter().any(|cue| cue.starts_with("desire"))
        {
            let benefit = benefit_of(&c.text);
            let story_id = format!("US-{:03}", out.user_stories.len() + 1);
            let goal = response.clone();
            let text = match &benefit {
                Some(b) => format!("As a user, I want {subject} to {goal}, so that {b}."),
                None => format!("As a user, I want {subject} to {goal}."),
            };
            out.user_stories.push(UserStory {
                id: story_id,
                text,
                role: "user".to_owned(),
                goal: format!("{subject} to {goal}"),
                benefit,
                acceptance_criteria: vec![AcceptanceCriterion {
                    given: format!("{} is in use", capitalize(&subject)),
                    when: "the user needs this capability".to_owned(),
                    then: format!("{subject} shall {goal}"),
                }],
                sources: vec![c.source.id.clone()],
            });
        }
    }
    out
}

fn contains_word(haystack: &str, word: &str) -> bool {
    haystack
        .match_indices(word)
        .any(|(i, _)| boundary(haystack, i) && boundary(haystack, i + word.len()))
}

fn boundary(s: &str, i: usize) -> bool {
    let before = s[..i].chars().next_back();
    let after = s[i..].chars().next();
    let is_word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '\'');
    i == 0 || i == s.len() || !(is_word(before) && is_word(after))
}

/// Removes fillers and collapses spaces.
fn clean(text: &str) -> String {
    let mut words: Vec<&str> = text
        .split_whitespace()
        .filter(|w| !matches!(*w, "," | "." | "{disfmarker}" | "{vocalsound}" | "{gap}"))
        .collect();
    let lower: Vec<String> = words.iter().map(|w| w.to_lowercase()).collect();
    let mut keep = vec![true; words.len()];
    for filler in FILLERS {
        let parts: Vec<&str> = filler.split(' ').collect();
        for i in 0..lower.len() {
            if i + parts.len() <= lower.len()
                && parts.iter().enumerate().all(|(k, p)| lower[i + k] == *p)
            {
                for k in 0..parts.len() {
                    keep[i + k] = false;
                }
            }
        }
    }
    let mut i = 0;
    words.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    // Repeated words from disfluency ("the the") collapse.
    words.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    words
        .join(" ")
        .trim_matches(|c: char| c == ',' || c == ' ')
        .to_owned()
}

/// Splits a candidate into (subject, response) around its first modal or desire cue.
fn split(text: &str, system: &str) -> Option<(String, String)> {
    let cleaned = clean(text);
    let lower = cleaned.to_lowercase();
    let (at, cue) = MODAL_CUES
        .iter()
        .filter_map(|cue| {
            lower
                .match_indices(cue)
                .find(|(i, _)| boundary(&lower, *i) && boundary(&lower, i + cue.len()))
                .map(|(i, _)| (i, *cue))
        })
        .min_by_key(|(i, cue)| (*i, std::cmp::Reverse(cue.len())))?;
    let before = cleaned[..at].trim();
    let mut response = cleaned[at + cue.len()..]
        .trim()
        .trim_start_matches("to ")
        .trim_end_matches(['.', '!', ','])
        .trim()
        .to_owned();
    // "we want a remote that is easy" -> response "have a remote that is easy"
    let desire = matches!(
        cue,
        "want" | "wants" | "need" | "needs" | "would like" | "we'd like" | "i'd like"
    );
    if desire && !starts_with_verb(&response) {
        response = format!("have {response}");
    }
    if response.split_whitespace().count() < 2 {
        return None;
    }
    let subject = subject_of(before).unwrap_or_else(|| system.to_owned());
    Some((subject, response))
}

/// The subject noun phrase before the cue, if it names a thing (`the remote`, `our product`).
fn subject_of(before: &str) -> Option<String> {
    let words: Vec<&str> = before.split_whitespace().collect();
    let start = words.iter().rposition(|w| {
        matches!(
            w.to_lowercase().as_str(),
            "the" | "a" | "an" | "our" | "this" | "that"
        )
    })?;
    let phrase: Vec<String> = words[start..].iter().map(|w| w.to_lowercase()).collect();
    if phrase.len() < 2 || phrase.len() > 5 {
        return None;
    }
    let mut phrase = phrase.join(" ");
    if let Some(rest) = phrase
        .strip_prefix("a ")
        .or_else(|| phrase.strip_prefix("an "))
    {
        phrase = format!("the {rest}");
    }
    Some(phrase)
}

fn starts_with_verb(response: &str) -> bool {
    const VERBS: &[&str] = &[
        "be", "have", "include", "allow", "support", "provide", "show", "display", "let", "use",
        "make", "work", "cost", "fit", "look", "feel", "send", "store", "turn", "change", "switch",
        "control", "find", "keep", "get", "give", "add", "remove", "go", "come", "run", "respond",
        "light", "beep",
    ];
    response
        .split_whitespace()
        .next()
        .is_some_and(|w| VERBS.contains(&w.to_lowercase().as_str()))
}

/// The EARS pattern and its precondition/trigger clause.
fn pattern_of(text: &str) -> (EarsPattern, Option<String>) {
    let cleaned = clean(text);
    let lower = cleaned.to_lowercase();
    let clause = |prefix: &str| -> Option<String> {
        let rest = lower.strip_prefix(prefix)?;
        let end = rest.find(',').or_else(|| rest.find(" then "))?;
        Some(rest[..end].trim().to_owned())
    };
    for (prefix, pattern) in [
        ("if ", EarsPattern::UnwantedBehaviour),
        ("when ", EarsPattern::EventDriven),
        ("whenever ", EarsPattern::EventDriven),
        ("while ", EarsPattern::StateDriven),
        ("during ", EarsPattern::StateDriven),
        ("where ", EarsPattern::OptionalFeature),
    ] {
        if let Some(c) = clause(prefix) {
            return (pattern, Some(c));
        }
    }
    (EarsPattern::Ubiquitous, None)
}

fn ears(pattern: EarsPattern, condition: Option<&str>, subject: &str, response: &str) -> String {
    let subject_cap = capitalize(subject);
    match (pattern, condition) {
        (EarsPattern::UnwantedBehaviour, Some(c)) => {
            format!("If {c}, then {subject} shall {response}.")
        }
        (EarsPattern::EventDriven, Some(c)) => format!("When {c}, {subject} shall {response}."),
        (EarsPattern::StateDriven, Some(c)) => format!("While {c}, {subject} shall {response}."),
        (EarsPattern::OptionalFeature, Some(c)) => {
            format!("Where {c}, {subject} shall {response}.")
        }
        _ => format!("{subject_cap} shall {response}."),
    }
}

/// The `so that` / `because` clause of a sentence, as a story's benefit.
fn benefit_of(text: &str) -> Option<String> {
    let cleaned = clean(text);
    let lower = cleaned.to_lowercase();
    for marker in [" so that ", " because ", " so "] {
        if let Some(i) = lower.find(marker) {
            let b = cleaned[i + marker.len()..]
                .trim_end_matches(['.', '!', ','])
                .trim();
            if b.split_whitespace().count() >= 3 {
                return Some(b.to_owned());
            }
        }
    }
    None
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
