//! Vague-language smells of ISO/IEC/IEEE 29148:2018 §5.2.7 (and terms of totality, INCOSE GtWR
//! R26/R32), matched from the word lists in `data/`.

use crate::check::{Sink, slice};
use crate::lexicon::{SmellMatch, lexicon};
use crate::model::{Item, ItemKind};
use crate::rule::RuleId;
use crate::text::{Token, is_function_word};

/// Verbs that make `this`/`that`/`these`/`those` a pronoun rather than a determiner.
const PRONOUN_VERBS: &[&str] = &[
    "shall", "should", "must", "will", "may", "can", "could", "would", "is", "are", "was", "were",
    "has", "have", "had", "does", "do", "needs", "need", "requires", "require", "means", "allows",
    "includes", "contains", "happens", "occurs",
];

/// Words after which a new clause starts.
const CLAUSE_OPENERS: &[&str] = &[
    "when", "while", "if", "where", "then", "and", "but", "or", "so", "because", "once", "unless",
    "until", "after", "before", "whenever",
];

const REFERENCE_TARGETS: &[&str] = &["in", "by", "at", "under", "within", "on"];

fn message(rule: RuleId, words: &str) -> (String, String) {
    let (m, s) = match rule {
        RuleId::SmellSubjective => (
            format!("subjective language `{words}`"),
            "replace it with a measurable criterion".to_owned(),
        ),
        RuleId::SmellAmbiguous => (
            format!("ambiguous `{words}`: no measure given"),
            "state the value (with its unit) or the exact condition".to_owned(),
        ),
        RuleId::SmellLoophole => (
            format!("loophole `{words}` makes the requirement optional"),
            format!("state the exact condition, or remove `{words}`"),
        ),
        RuleId::SmellOpenEnded => (
            format!("open-ended term `{words}`"),
            "list every element explicitly".to_owned(),
        ),
        RuleId::SmellSuperlative => (
            format!("superlative `{words}`"),
            "state the measurable target instead".to_owned(),
        ),
        RuleId::SmellComparative => (
            format!("comparative `{words}` without a reference"),
            "state the target value and what it is compared with".to_owned(),
        ),
        RuleId::SmellNegative => (
            format!("negative statement `{words}`"),
            "state what the system does instead".to_owned(),
        ),
        RuleId::SmellVaguePronoun => (
            format!("vague pronoun `{words}` with no antecedent in the item"),
            "name the thing it refers to".to_owned(),
        ),
        RuleId::SmellIncompleteReference => (
            format!("incomplete reference `{words}`"),
            "give the value, or name the document, section and version".to_owned(),
        ),
        _ => (
            format!("term of totality `{words}`"),
            "state the scope (`each …`) and any exceptions".to_owned(),
        ),
    };
    (m, s)
}

/// The token starting at byte `start` (tokens are in text order).
fn token_at(tokens: &[Token], start: usize) -> Option<usize> {
    tokens.binary_search_by_key(&start, |t| t.start).ok()
}

/// The first token starting at or after byte `at`.
fn token_from(tokens: &[Token], at: usize) -> Option<&Token> {
    tokens.get(tokens.partition_point(|t| t.start < at))
}

/// What the smell filters need to know about an item, computed once so each match costs
/// O(log n) and an item with thousands of matches stays linear.
struct Context {
    /// The first token that is a content word (a vague pronoun after one has an antecedent).
    first_content: Option<usize>,
    /// The byte offsets where condition openers (`if`, `when`, ...) end, in order.
    opener_ends: Vec<usize>,
    /// The byte offsets of `,` and `;`, in order.
    separators: Vec<usize>,
}

impl Context {
    fn new(text: &str, tokens: &[Token]) -> Self {
        Context {
            first_content: tokens.iter().position(|t| {
                let w = t.text(text);
                w.chars().any(char::is_alphabetic) && !is_function_word(&w.to_ascii_lowercase())
            }),
            opener_ends: tokens
                .iter()
                .filter(|t| CONDITION_OPENERS.contains(&t.text(text).to_ascii_lowercase().as_str()))
                .map(|t| t.end)
                .collect(),
            separators: text.match_indices([',', ';']).map(|(at, _)| at).collect(),
        }
    }
}

/// A pronoun at a clause start with no content word before it in the item.
fn is_vague_pronoun(text: &str, tokens: &[Token], cx: &Context, m: &SmellMatch) -> bool {
    let Some(k) = token_at(tokens, m.start) else {
        return false;
    };
    let word = slice(text, m.start, m.end);
    if word.len() > 1 && word.bytes().all(|b| b.is_ascii_uppercase()) {
        return false; // `IT`: an acronym
    }
    let clause_start = k == 0
        || slice(text, 0, m.start)
            .trim_end()
            .ends_with([',', ';', ':', '.', '('])
        || tokens
            .get(k - 1)
            .is_some_and(|t| CLAUSE_OPENERS.contains(&t.text(text).to_ascii_lowercase().as_str()));
    if !clause_start {
        return false;
    }
    let antecedent = cx.first_content.is_some_and(|first| first < k);
    if antecedent {
        return false;
    }
    let word = word.to_ascii_lowercase();
    if matches!(word.as_str(), "this" | "that" | "these" | "those") {
        return match tokens.get(k + 1) {
            None => true,
            Some(next) => PRONOUN_VERBS.contains(&next.text(text).to_ascii_lowercase().as_str()),
        };
    }
    true
}

/// `as described` etc. followed by `in …` names its target.
fn reference_has_target(text: &str, tokens: &[Token], m: &SmellMatch) -> bool {
    let phrase = slice(text, m.start, m.end).to_ascii_lowercase();
    if !phrase.starts_with("as ") {
        return false;
    }
    token_from(tokens, m.end)
        .is_some_and(|t| REFERENCE_TARGETS.contains(&t.text(text).to_ascii_lowercase().as_str()))
}

/// Words that open a condition: a negation inside one (`if the file is not valid`) describes
/// the situation, not a capability that is not provided.
const CONDITION_OPENERS: &[&str] = &[
    "if", "when", "whenever", "unless", "whether", "while", "once", "until", "because", "although",
    "though",
];

/// Whether the negation `m` sits in a condition clause: a condition opener precedes it with no
/// `,`/`;` in between.
fn in_condition(cx: &Context, m: &SmellMatch) -> bool {
    let openers = cx.opener_ends.partition_point(|&end| end <= m.start);
    let Some(&opener) = openers.checked_sub(1).and_then(|i| cx.opener_ends.get(i)) else {
        return false;
    };
    // A separator at or after the opener's end and before the match closes the clause.
    let from = cx.separators.partition_point(|&at| at < opener);
    cx.separators.get(from).is_none_or(|&at| at >= m.start)
}

/// `every 60 seconds`, `every day`: a frequency, not a universal claim.
fn is_frequency(text: &str, tokens: &[Token], m: &SmellMatch) -> bool {
    if !slice(text, m.start, m.end).eq_ignore_ascii_case("every") {
        return false;
    }
    token_from(tokens, m.end).is_some_and(|t| {
        let w = t.text(text).to_ascii_lowercase();
        w.bytes().next().is_some_and(|b| b.is_ascii_digit())
            || lexicon().unit(&w).is_some_and(|u| u.dimension == "time")
    })
}

/// Reports every smell of an item. `means` is the byte range of a user story's means; in
/// stories, negative statements and loopholes count only inside it (in the ends they qualify the
/// benefit, not the capability asked for).
pub(crate) fn check(
    sink: &mut Sink<'_>,
    index: usize,
    item: &Item,
    tokens: &[Token],
    means: Option<(usize, usize)>,
) {
    let text = item.text.as_str();
    let cx = Context::new(text, tokens);
    for m in lexicon().smells(text) {
        if !sink.enabled(m.rule) {
            continue;
        }
        let keep = match m.rule {
            RuleId::SmellVaguePronoun => is_vague_pronoun(text, tokens, &cx, &m),
            RuleId::SmellNegative => {
                let in_means = item.kind != ItemKind::UserStory
                    || means.is_some_and(|(s, e)| s <= m.start && m.end <= e);
                in_means && !in_condition(&cx, &m)
            }
            RuleId::SmellLoophole if item.kind == ItemKind::UserStory => {
                means.is_some_and(|(s, e)| s <= m.start && m.end <= e)
            }
            RuleId::SmellIncompleteReference => !reference_has_target(text, tokens, &m),
            RuleId::SmellTotality => !is_frequency(text, tokens, &m),
            _ => true,
        };
        if keep {
            let (msg, suggestion) = message(m.rule, slice(text, m.start, m.end));
            sink.emit(index, m.rule, Some((m.start, m.end)), msg, Some(suggestion));
        }
    }
}
