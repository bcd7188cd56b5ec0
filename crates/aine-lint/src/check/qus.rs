//! The Quality User Story criteria that need no model (Lucassen et al., "Improving agile
//! requirements: the Quality User Story framework and tool", RE journal 2016): well-formed,
//! atomic, minimal, full sentence, unique, uniform.

use std::collections::HashMap;

use crate::check::{Sink, slice};
use crate::lexicon::lexicon;
use crate::model::{Document, Item};
use crate::rule::RuleId;
use crate::text::{Token, tokenize};

/// The parts of a Connextra story (`As a <role>, I want <means>, so that <ends>`), as byte
/// ranges into the text, and its template indicators (normalised, lower case).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Story {
    pub role_indicator: Option<&'static str>,
    pub role: Option<(usize, usize)>,
    pub means_indicator: Option<&'static str>,
    pub means: Option<(usize, usize)>,
    pub ends_indicator: Option<&'static str>,
}

/// Words that may follow an action verb that is also a noun, making it a verb with an object.
const OBJECT_STARTERS: &[&str] = &[
    "the", "a", "an", "my", "our", "their", "his", "her", "its", "it", "them", "this", "these",
    "those", "all", "any", "each", "every", "new", "existing", "other", "multiple", "several",
    "some", "up", "out", "in", "on", "to", "for", "with", "from", "about", "back", "down", "off",
    "me", "us", "your", "which", "what", "whether", "how",
];

/// Words that open a subordinate clause.
const SUBORDINATORS: &[&str] = &[
    "that", "which", "who", "whose", "whom", "where", "when", "while", "if", "whether", "because",
    "without", "unless", "until", "after", "before", "so",
];

/// Words skipped between a conjunction and the second action (`and then to share`).
const FILLERS: &[&str] = &[
    "to", "then", "also", "i", "can", "could", "be", "able", "want", "would", "like", "need",
    "will", "should", "easily", "quickly",
];

/// Words after `so` that make it the ends indicator (`so I can`).
const SO_SUBJECTS: &[&str] = &[
    "i", "we", "they", "it", "he", "she", "the", "users", "people", "my", "our", "you", "that",
    "there", "others", "everyone",
];

/// Reads a story's parts.
pub(crate) fn parse_story(text: &str, tokens: &[Token]) -> Story {
    let words: Vec<String> = tokens
        .iter()
        .map(|t| t.text(text).to_ascii_lowercase().replace('’', "'"))
        .collect();
    let w = |i: usize| words.get(i).map_or("", String::as_str);
    let mut story = Story::default();
    let mut role_start = None;
    if w(0) == "as" {
        let article = matches!(w(1), "a" | "an" | "the");
        story.role_indicator = Some(if article { "as a" } else { "as" });
        role_start = Some(if article { 2 } else { 1 });
    }
    let search_from = role_start.unwrap_or(0);
    let mut means_start_token = None;
    for i in search_from..tokens.len() {
        let (indicator, len) = match (w(i), w(i + 1), w(i + 2), w(i + 3)) {
            ("i", "want" | "wanted", _, _) => ("i want", 2),
            ("i", "only" | "also" | "really" | "just" | "still", "want", _) => ("i want", 3),
            ("i", "can", _, _) => ("i can", 2),
            ("i", "need", _, _) => ("i need", 2),
            ("i", "would", "like", _) => ("i would like", 3),
            ("i'd", "like", _, _) => ("i would like", 2),
            ("i", "am", "able", _) => ("i am able", 3),
            ("i'm", "able", _, _) => ("i am able", 2),
            ("i", "wish", _, _) => ("i wish", 2),
            ("i", "do", "not", "want") => ("i want", 4),
            ("i", "don't", "want", _) => ("i want", 3),
            ("i", "would", "be", "able") => ("i would be able", 4),
            ("i", "could", _, _) => ("i could", 2),
            ("i", "should" | "must", "be", "able") => ("i should be able", 4),
            ("i", "expect", _, _) => ("i expect", 2),
            ("i", "require", _, _) => ("i require", 2),
            // The ends started before any means: the story has no means.
            ("so", "that", _, _) | ("in", "order", "to", _) => break,
            _ => continue,
        };
        story.means_indicator = Some(indicator);
        if let (Some(rs), Some(start)) = (role_start, tokens.get(role_start.unwrap_or(0)))
            && i > rs
            && let Some(end) = tokens.get(i - 1)
        {
            story.role = Some((start.start, end.end));
        }
        let mut m = i + len;
        if w(m) == "to" {
            m += 1;
        }
        means_start_token = Some(m);
        break;
    }
    let Some(ms) = means_start_token else {
        return story;
    };
    let mut means_end = text.trim_end().len();
    for i in ms..tokens.len() {
        let indicator = match (w(i), w(i + 1), w(i + 2)) {
            ("so", "that", _) => "so that",
            ("in", "order", "to" | "that") => "in order to",
            ("so", next, _) if SO_SUBJECTS.contains(&next) => "so",
            _ => continue,
        };
        story.ends_indicator = Some(indicator);
        means_end = tokens.get(i).map_or(means_end, |t| t.start);
        break;
    }
    if let Some(start) = tokens.get(ms) {
        let end = start.start
            + slice(text, start.start, means_end)
                .trim_end_matches([' ', ',', ';'])
                .len();
        if end > start.start {
            story.means = Some((start.start, end));
        }
    }
    story
}

/// Per-story checks: well-formed, atomic, minimal, full sentence.
pub(crate) fn check(
    sink: &mut Sink<'_>,
    index: usize,
    item: &Item,
    tokens: &[Token],
    story: &Story,
) {
    let text = item.text.as_str();
    well_formed(sink, index, story);
    if let Some(means) = story.means {
        atomic(sink, index, text, tokens, means);
    }
    minimal(sink, index, text);
    full_sentence(sink, index, text);
}

fn well_formed(sink: &mut Sink<'_>, index: usize, story: &Story) {
    let has_role =
        story.role_indicator.is_some() && (story.role.is_some() || story.means_indicator.is_none());
    let missing = match (has_role, story.means_indicator.is_some()) {
        (true, true) => return,
        (false, true) => "no role (`As a <role>`)",
        (true, false) => "no means (`I want <goal>`)",
        (false, false) => "no role (`As a <role>`) and no means (`I want <goal>`)",
    };
    sink.emit(
        index,
        RuleId::QusWellFormed,
        None,
        format!("not a well-formed user story: {missing}"),
        Some("write `As a <role>, I want <goal>, so that <benefit>.`".to_owned()),
    );
}

fn atomic(
    sink: &mut Sink<'_>,
    index: usize,
    text: &str,
    tokens: &[Token],
    (ms, me): (usize, usize),
) {
    let lex = lexicon();
    let lower = |t: &Token| t.text(text).to_ascii_lowercase();
    // The main clause of the means only: a conjunction inside a subordinate clause (`ensure that
    // attempts to correct or delete records fail`) does not add a feature.
    let mut in_means: Vec<Token> = tokens
        .iter()
        .copied()
        .filter(|t| t.start >= ms && t.end <= me)
        .collect();
    if let Some(cut) = in_means
        .iter()
        .skip(1)
        .position(|t| SUBORDINATORS.contains(&lower(t).as_str()))
    {
        in_means.truncate(cut + 1);
    }
    let me = in_means.last().map_or(ms, |t| t.end);
    // Conjunction positions: `and`/`or` tokens, and `&`/`+` standing alone.
    let mut conjunctions: Vec<(usize, usize, usize)> = Vec::new(); // (start, end, index of next token)
    for (i, t) in in_means.iter().enumerate() {
        if matches!(lower(t).as_str(), "and" | "or") {
            conjunctions.push((t.start, t.end, i + 1));
        }
    }
    for (off, c) in slice(text, ms, me).char_indices() {
        if (c == '&' || c == '+') && slice(text, ms + off + 1, ms + off + 2) == " " {
            let at = ms + off;
            let next = in_means
                .iter()
                .position(|t| t.start > at)
                .unwrap_or(in_means.len());
            conjunctions.push((at, at + 1, next));
        }
    }
    conjunctions.sort_unstable();
    for (cs, ce, mut next) in conjunctions {
        let mut infinitive = false;
        while let Some(t) = in_means.get(next) {
            let w = lower(t);
            if w == "or" || w == "and" {
                next += 1; // `and/or`
                continue;
            }
            if !FILLERS.contains(&w.as_str()) {
                break;
            }
            infinitive |= matches!(w.as_str(), "to" | "can" | "could" | "will" | "should");
            next += 1;
        }
        let Some(verb) = in_means.get(next) else {
            continue;
        };
        let Some(also_noun) = lex.action_verb(&lower(verb)) else {
            continue;
        };
        let object_follows = in_means
            .get(next + 1)
            .is_some_and(|t| OBJECT_STARTERS.contains(&lower(t).as_str()));
        if also_noun && !infinitive && !object_follows {
            continue;
        }
        sink.emit(
            index,
            RuleId::QusAtomic,
            Some((cs, ce)),
            format!(
                "`{}` joins a second action (`{}`): the story asks for more than one feature",
                slice(text, cs, ce),
                verb.text(text)
            ),
            Some("split it into one story per action".to_owned()),
        );
        return;
    }
}

/// Abbreviations whose full stop does not end a sentence.
const ABBREVIATIONS: &[&str] = &[
    "e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "no", "approx", "incl", "eg", "ie", "st",
    "u.s", "cf", "al",
];

fn minimal(sink: &mut Sink<'_>, index: usize, text: &str) {
    let emit = |span: (usize, usize), what: &str, sink: &mut Sink<'_>| {
        sink.emit(
            index,
            RuleId::QusMinimal,
            Some(span),
            format!("{what}: a story holds only role, means and ends"),
            Some("move details to acceptance criteria or notes outside the story".to_owned()),
        );
    };
    // Parentheses glued to a word (`collection(s)`, `(re-)use`) are inflection, not content.
    let glued = |at: usize| {
        slice(text, 0, at)
            .chars()
            .next_back()
            .is_some_and(char::is_alphanumeric)
            || slice(text, at + 1, text.len())
                .split([')', ']'])
                .next()
                .is_some_and(|inner| inner.len() <= 3 && !inner.contains(' '))
    };
    let open = text
        .match_indices(['(', '['])
        .map(|(i, _)| i)
        .find(|&i| !glued(i));
    if let Some(open) = open {
        let close = text
            .get(open..)
            .and_then(|r| r.find([')', ']']))
            .map_or(text.len(), |c| open + c + 1);
        emit((open, close), "text in parentheses", sink);
    }
    let lower = text.to_ascii_lowercase();
    for example in ["e.g.", "i.e.", "for example", "for instance"] {
        if let Some(at) = lower.find(example)
            && crate::text::at_word_boundary(text, at, at + example.len())
        {
            emit((at, at + example.len()), "an example or explanation", sink);
            break;
        }
    }
    // An extra sentence: `.`, `!`, `?` or `;` followed by more text.
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if !matches!(b, b'.' | b'!' | b'?' | b';') {
            continue;
        }
        let rest = slice(text, i + 1, text.len());
        let after = rest.trim_start();
        if after.len() == rest.len() || !after.chars().next().is_some_and(char::is_alphanumeric) {
            continue;
        }
        if b == b'.' {
            let word_before: String = slice(text, 0, i)
                .chars()
                .rev()
                .take_while(|c| c.is_alphanumeric() || *c == '.')
                .collect::<String>()
                .chars()
                .rev()
                .collect::<String>()
                .to_ascii_lowercase();
            if ABBREVIATIONS.contains(&word_before.as_str()) || word_before.len() == 1 {
                continue;
            }
        }
        let start = text.len() - after.len();
        let end = start + after.find([' ', ',', '.']).unwrap_or(after.len());
        emit((start, end), "text after the end of the story", sink);
        break;
    }
}

fn full_sentence(sink: &mut Sink<'_>, index: usize, text: &str) {
    let lower_start = text
        .chars()
        .find(|c| c.is_alphabetic())
        .is_some_and(char::is_lowercase);
    let end = text
        .trim_end()
        .trim_end_matches(['"', '\'', '”', '’', ')', ']', '*', '_']);
    let unterminated = !end.ends_with(['.', '!', '?']);
    let what = match (lower_start, unterminated) {
        (false, false) => return,
        (true, false) => "starts with a lower-case letter",
        (false, true) => "has no terminal punctuation",
        (true, true) => "starts with a lower-case letter and has no terminal punctuation",
    };
    sink.emit(
        index,
        RuleId::QusFullSentence,
        None,
        format!("not a full sentence: {what}"),
        Some("start with a capital letter and end with a full stop".to_owned()),
    );
}

fn describe(item: &Item) -> String {
    match (&item.id, item.line) {
        (_, line) if line > 0 => format!("line {line}"),
        (Some(id), _) => id.clone(),
        (None, _) => "an earlier story".to_owned(),
    }
}

/// Set checks over every story of a document: unique and uniform. `stories` holds the parsed
/// story of each item index that is a user story.
pub(crate) fn check_set(sink: &mut Sink<'_>, doc: &Document, stories: &[(usize, Story)]) {
    if sink.enabled(RuleId::QusUnique) {
        unique(sink, doc, stories);
    }
    if sink.enabled(RuleId::QusUniform) {
        uniform(sink, doc, stories);
    }
}

fn unique(sink: &mut Sink<'_>, doc: &Document, stories: &[(usize, Story)]) {
    let mut exact: HashMap<&str, usize> = HashMap::new();
    let mut near: HashMap<String, usize> = HashMap::new();
    let mut tokens = Vec::new();
    for &(index, _) in stories {
        let Some(item) = doc.items.get(index) else {
            continue;
        };
        let text = item.text.trim();
        if let Some(&first) = exact.get(text) {
            let earlier = doc.items.get(first).map(describe).unwrap_or_default();
            sink.emit(
                index,
                RuleId::QusUnique,
                None,
                format!("duplicate of the story at {earlier}"),
                Some("remove one of them".to_owned()),
            );
            continue;
        }
        exact.insert(text, index);
        tokenize(text, &mut tokens);
        let normal = tokens
            .iter()
            .map(|t| t.text(text).to_lowercase())
            .filter(|w| !matches!(w.as_str(), "a" | "an" | "the"))
            .collect::<Vec<_>>()
            .join(" ");
        if normal.is_empty() {
            continue;
        }
        if let Some(&first) = near.get(&normal) {
            let earlier = doc.items.get(first).map(describe).unwrap_or_default();
            sink.emit(
                index,
                RuleId::QusUnique,
                None,
                format!("near-duplicate of the story at {earlier} (differs only in case, punctuation or articles)"),
                Some("remove one of them".to_owned()),
            );
        } else {
            near.insert(normal, index);
        }
    }
}

fn majority<'a>(values: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for v in values {
        match counts.iter_mut().find(|(k, _)| *k == v) {
            Some((_, n)) => *n += 1,
            None => counts.push((v, 1)),
        }
    }
    let best = counts.iter().map(|(_, n)| *n).max()?;
    counts.into_iter().find(|(_, n)| *n == best).map(|(k, _)| k)
}

fn uniform(sink: &mut Sink<'_>, _doc: &Document, stories: &[(usize, Story)]) {
    let formed: Vec<&(usize, Story)> = stories
        .iter()
        .filter(|(_, s)| s.role_indicator.is_some() && s.means_indicator.is_some())
        .collect();
    if formed.len() < 3 {
        return;
    }
    let role = majority(formed.iter().filter_map(|(_, s)| s.role_indicator));
    let means = majority(formed.iter().filter_map(|(_, s)| s.means_indicator));
    let ends = majority(formed.iter().filter_map(|(_, s)| s.ends_indicator));
    let usual = format!(
        "{} … {} …{}",
        role.unwrap_or("as a"),
        means.unwrap_or("i want"),
        ends.map(|e| format!(" {e} …")).unwrap_or_default()
    );
    for (index, s) in formed {
        let differs = s.role_indicator != role
            || s.means_indicator != means
            || (s.ends_indicator.is_some() && ends.is_some() && s.ends_indicator != ends);
        if differs {
            let this = format!(
                "{} … {} …{}",
                s.role_indicator.unwrap_or_default(),
                s.means_indicator.unwrap_or_default(),
                s.ends_indicator
                    .map(|e| format!(" {e} …"))
                    .unwrap_or_default()
            );
            sink.emit(
                *index,
                RuleId::QusUniform,
                None,
                format!("template `{this}` differs from the file's usual `{usual}`"),
                Some(format!("follow the file's template: `{usual}`")),
            );
        }
    }
}
