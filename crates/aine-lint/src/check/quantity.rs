//! Quantities: numbers without units, and conflicting quantities between requirements
//! (ISO/IEC/IEEE 29148:2018 §5.2.5 verifiable, §5.2.6 consistent).
//!
//! Heuristic for `measure.no-unit`, tuned for precision: a number counts only when it stands
//! alone (not joined to letters or `-`, `/`, `:`, `#`, not a year 1900–2100, not after an id word
//! such as `version`, `step`, `page`), sits in a measuring context (after `within`, `under`,
//! `than`, `at least`, `up to`, `maximum`, `every`, `after`, `between`, or a measure noun such as
//! `timeout`), and is followed by no unit (`data/units.txt`, `%`), no currency and no counted
//! noun (`5 clicks`): that is, by nothing, punctuation, or a function word. `2 and 5 seconds`
//! gives the `2` the unit of the `5`.

use std::collections::{HashMap, HashSet};

use crate::check::{Sink, slice};
use crate::lexicon::lexicon;
use crate::model::Document;
use crate::rule::RuleId;
use crate::text::{Token, is_function_word, is_stop_word, stem};

const COMPARATORS: &[&str] = &[
    "within",
    "under",
    "below",
    "above",
    "over",
    "exceed",
    "exceeds",
    "exceeding",
    "than",
    "least",
    "most",
    "max",
    "maximum",
    "min",
    "minimum",
    "limit",
    "limited",
    "every",
    "after",
    "between",
];

const MEASURE_NOUNS: &[&str] = &[
    "timeout",
    "latency",
    "size",
    "duration",
    "delay",
    "interval",
    "period",
    "frequency",
    "capacity",
    "throughput",
    "bandwidth",
    "uptime",
    "rate",
    "speed",
    "length",
    "memory",
    "storage",
    "load",
    "time",
    "availability",
    "response",
];

const ID_WORDS: &[&str] = &[
    "version",
    "v",
    "step",
    "level",
    "section",
    "page",
    "round",
    "phase",
    "chapter",
    "release",
    "sprint",
    "iteration",
    "requirement",
    "item",
    "option",
    "table",
    "figure",
    "number",
    "no",
    "code",
    "error",
    "status",
    "class",
    "grade",
    "tier",
    "priority",
    "port",
    "http",
    "windows",
    "ios",
    "android",
    "iso",
    "rfc",
    "ieee",
    "top",
    "row",
    "column",
    "line",
    "question",
    "part",
    "stage",
    "category",
    "type",
    "room",
    "floor",
    "building",
    "group",
    "team",
    "id",
    "ticket",
    "issue",
    "article",
    "appendix",
    "annex",
    "rule",
    "clause",
    "day",
    "week",
    "p",
    "fr",
    "nfr",
];

/// What follows a number.
#[derive(Debug, Clone, PartialEq)]
enum Measure {
    /// A unit: dimension and factor to its base unit.
    Unit(&'static str, f64),
    /// A counted noun (its stem).
    Count(String),
    /// Nothing that measures it.
    Bare,
}

#[derive(Debug, Clone)]
struct Number {
    token: usize,
    value: f64,
    measure: Measure,
    /// End of the unit or noun (or of the number when bare).
    end: usize,
    skip: bool,
}

fn is_number(word: &str) -> bool {
    word.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && word.bytes().last().is_some_and(|b| b.is_ascii_digit())
        && word
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b',')
}

fn numbers(text: &str, tokens: &[Token]) -> Vec<Number> {
    let lex = lexicon();
    let lower = |i: usize| {
        tokens
            .get(i)
            .map(|t| t.text(text).to_ascii_lowercase())
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    for (i, t) in tokens.iter().enumerate() {
        let word = t.text(text);
        if !is_number(word) {
            continue;
        }
        let Ok(value) = word.replace(',', "").parse::<f64>() else {
            continue;
        };
        let prev_char = slice(text, 0, t.start).chars().next_back();
        let next_str = slice(text, t.end, text.len());
        let next_char = next_str.chars().next();
        let joined = prev_char.is_some_and(|c| "/:#-_.@".contains(c))
            || next_char.is_some_and(|c| "/:-_@".contains(c));
        let year = word.len() == 4 && (1900.0..=2100.0).contains(&value);
        let id_before = i > 0 && ID_WORDS.contains(&lower(i - 1).as_str());
        let currency = prev_char.is_some_and(|c| "$€£¥".contains(c));
        let mut number = Number {
            token: i,
            value,
            measure: Measure::Bare,
            end: t.end,
            skip: joined || year || id_before,
        };
        if currency {
            number.measure = Measure::Unit("money", 1.0);
        } else if next_str.starts_with('%') || next_str.starts_with("\\%") {
            number.measure = Measure::Unit("percent", 1.0);
            number.end = t.end + if next_str.starts_with('%') { 1 } else { 2 };
        } else if let Some(next) = tokens.get(i + 1) {
            let gap = slice(text, t.end, next.start);
            if gap.trim().is_empty() {
                let w = lower(i + 1);
                if let Some(unit) = lex.unit(&w) {
                    number.measure = Measure::Unit(unit.dimension, unit.factor);
                    number.end = next.end;
                } else if w == "per" {
                    number.measure = Measure::Unit("rate", 1.0);
                    number.end = next.end;
                } else if w.chars().all(char::is_alphabetic) && !is_function_word(&w) {
                    number.measure = Measure::Count(stem(&w));
                    number.end = next.end;
                }
            }
        }
        out.push(number);
    }
    // `2 and 5 seconds`, `2 to 5 s`, `2 or 3 times`: the first number takes the second's measure.
    for k in (0..out.len().saturating_sub(1)).rev() {
        let (Some(a), Some(b)) = (out.get(k), out.get(k + 1)) else {
            continue;
        };
        if a.measure == Measure::Bare
            && b.token == a.token + 2
            && matches!(lower(a.token + 1).as_str(), "and" | "or" | "to")
        {
            let m = b.measure.clone();
            if let Some(a) = out.get_mut(k) {
                a.measure = m;
            }
        }
    }
    out
}

fn in_measuring_context(text: &str, tokens: &[Token], at: usize) -> bool {
    let from = at.saturating_sub(3);
    tokens.get(from..at).unwrap_or_default().iter().any(|t| {
        let w = t.text(text).to_ascii_lowercase();
        COMPARATORS.contains(&w.as_str()) || MEASURE_NOUNS.contains(&w.as_str()) || w == "up"
    })
}

/// `measure.no-unit` on one item.
pub(crate) fn check_units(sink: &mut Sink<'_>, index: usize, text: &str, tokens: &[Token]) {
    if !sink.enabled(RuleId::MeasureNoUnit) {
        return;
    }
    for n in numbers(text, tokens) {
        if n.skip || n.measure != Measure::Bare || !in_measuring_context(text, tokens, n.token) {
            continue;
        }
        let Some(t) = tokens.get(n.token) else {
            continue;
        };
        sink.emit(
            index,
            RuleId::MeasureNoUnit,
            Some((t.start, t.end)),
            format!("number `{}` has no unit", t.text(text)),
            Some("add the unit (e.g. `ms`, `s`, `%`, `MB`) or what is counted".to_owned()),
        );
    }
}

/// A quantity of a requirement keyed by its subject and attribute.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    key: String,
    value: f64,
    span: (usize, usize),
    shown: String,
}

/// How many words of the subject, and of the attribute before each quantity, key a claim: the
/// nearest ones, found among at most four times as many tokens (`search | respond | | time`).
/// Real requirements use far fewer; the bound keeps an adversarial item (thousands of numbers
/// after thousands of words) linear.
const KEY_WORDS: usize = 12;

/// The quantities a requirement states after its binding keyword (token `keyword`).
pub(crate) fn claims(text: &str, tokens: &[Token], keyword: usize) -> Vec<Claim> {
    let lower = |t: &Token| t.text(text).to_ascii_lowercase();
    let before = tokens.get(..keyword).unwrap_or_default();
    let subject: Vec<String> = before
        .iter()
        .rev()
        .take(KEY_WORDS * 4)
        .map(lower)
        .filter(|w| !matches!(w.as_str(), "a" | "an" | "the" | "then"))
        .take(KEY_WORDS)
        .collect();
    let subject: Vec<&str> = subject.iter().rev().map(String::as_str).collect();
    let subject = subject.join(" ");
    let mut out: Vec<Claim> = Vec::new();
    let mut keys: HashSet<String> = HashSet::new();
    for n in numbers(text, tokens) {
        if n.skip || n.token <= keyword {
            continue;
        }
        let (dimension, value) = match &n.measure {
            Measure::Unit(d, f) => ((*d).to_owned(), n.value * f),
            Measure::Count(noun) => (format!("count:{noun}"), n.value),
            Measure::Bare => continue,
        };
        let comparator = n
            .token
            .checked_sub(1)
            .and_then(|p| tokens.get(p))
            .map(lower)
            .filter(|w| {
                COMPARATORS.contains(&w.as_str())
                    || matches!(w.as_str(), "to" | "of" | "at" | "in" | "for")
            });
        let mut attribute: Vec<String> = tokens
            .get(keyword + 1..n.token)
            .unwrap_or_default()
            .iter()
            .rev()
            .take(KEY_WORDS * 4)
            .map(lower)
            .filter(|w| !is_stop_word(w) && !COMPARATORS.contains(&w.as_str()) && !is_number(w))
            .take(KEY_WORDS)
            .map(|w| stem(&w))
            .collect();
        attribute.reverse();
        let key = format!(
            "{subject}|{}|{}|{dimension}",
            attribute.join(" "),
            comparator.unwrap_or_default()
        );
        if !keys.insert(key.clone()) {
            continue;
        }
        let Some(t) = tokens.get(n.token) else {
            continue;
        };
        out.push(Claim {
            key,
            value,
            span: (t.start, n.end),
            shown: slice(text, t.start, n.end).to_owned(),
        });
    }
    out
}

/// `conflict.quantity` over every requirement's claims: `(item index, claim)` in item order.
pub(crate) fn check_conflicts(sink: &mut Sink<'_>, doc: &Document, claims: Vec<(usize, Claim)>) {
    let mut seen: HashMap<String, (usize, f64, String)> = HashMap::new();
    for (index, claim) in claims {
        match seen.get(&claim.key) {
            Some((first, value, shown)) if *first != index => {
                let scale = value.abs().max(claim.value.abs()).max(f64::MIN_POSITIVE);
                if (value - claim.value).abs() / scale > 1e-9 {
                    let earlier = doc
                        .items
                        .get(*first)
                        .map(|it| match (&it.id, it.line) {
                            (Some(id), _) => id.clone(),
                            (None, line) => format!("line {line}"),
                        })
                        .unwrap_or_default();
                    sink.emit(
                        index,
                        RuleId::ConflictQuantity,
                        Some(claim.span),
                        format!(
                            "`{}` contradicts `{shown}` in {earlier} (same subject and attribute)",
                            claim.shown
                        ),
                        Some(
                            "keep one value, or make the conditions or subjects distinct"
                                .to_owned(),
                        ),
                    );
                }
            }
            Some(_) => {}
            None => {
                seen.insert(claim.key, (index, claim.value, claim.shown));
            }
        }
    }
}
