//! The word lists of `data/` compiled once: one Aho-Corasick automaton over every smell phrase,
//! the action verbs of `qus.atomic`, and the units of the quantity checks.

use std::collections::HashMap;
use std::sync::LazyLock;

use aho_corasick::AhoCorasick;

use crate::rule::RuleId;
use crate::text::at_word_boundary;

/// The smell lists, with the rule each reports under.
const SMELL_LISTS: &[(RuleId, &str)] = &[
    (
        RuleId::SmellSubjective,
        include_str!("../data/subjective.txt"),
    ),
    (
        RuleId::SmellAmbiguous,
        include_str!("../data/ambiguous.txt"),
    ),
    (RuleId::SmellLoophole, include_str!("../data/loophole.txt")),
    (
        RuleId::SmellOpenEnded,
        include_str!("../data/open-ended.txt"),
    ),
    (
        RuleId::SmellSuperlative,
        include_str!("../data/superlative.txt"),
    ),
    (
        RuleId::SmellComparative,
        include_str!("../data/comparative.txt"),
    ),
    (RuleId::SmellNegative, include_str!("../data/negative.txt")),
    (
        RuleId::SmellVaguePronoun,
        include_str!("../data/vague-pronoun.txt"),
    ),
    (
        RuleId::SmellIncompleteReference,
        include_str!("../data/incomplete-reference.txt"),
    ),
    (RuleId::SmellTotality, include_str!("../data/totality.txt")),
];

const ACTION_VERBS: &str = include_str!("../data/action-verbs.txt");
const UNITS: &str = include_str!("../data/units.txt");

/// The entries of a word list: `(phrase, is_exception)`, comments and blank lines dropped.
pub(crate) fn entries(list: &str) -> impl Iterator<Item = (&str, bool)> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(rest) => (rest.trim(), true),
            None => (l, false),
        })
}

#[derive(Debug, Clone, Copy)]
struct PatternInfo {
    rule: RuleId,
    exception: bool,
}

/// A smell phrase found in a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SmellMatch {
    pub rule: RuleId,
    pub start: usize,
    pub end: usize,
}

/// A unit: its dimension and the factor to the dimension's base unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Unit {
    pub dimension: &'static str,
    pub factor: f64,
}

pub(crate) struct Lexicon {
    smells: AhoCorasick,
    patterns: Vec<PatternInfo>,
    /// Action verb -> whether it is also a common noun.
    verbs: HashMap<&'static str, bool>,
    units: HashMap<&'static str, Unit>,
}

impl std::fmt::Debug for Lexicon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lexicon")
            .field("patterns", &self.patterns.len())
            .finish_non_exhaustive()
    }
}

static LEXICON: LazyLock<Lexicon> = LazyLock::new(build);

pub(crate) fn lexicon() -> &'static Lexicon {
    &LEXICON
}

#[expect(
    clippy::expect_used,
    reason = "the automaton is built from the static lists in data/; a failure is a build defect that every test catches"
)]
fn build() -> Lexicon {
    let mut phrases: Vec<String> = Vec::new();
    let mut patterns = Vec::new();
    for &(rule, list) in SMELL_LISTS {
        for (phrase, exception) in entries(list) {
            let mut variants = vec![phrase.to_owned()];
            if phrase.contains('\'') {
                variants.push(phrase.replace('\'', "’"));
            }
            for v in variants {
                phrases.push(v);
                patterns.push(PatternInfo { rule, exception });
            }
        }
    }
    let smells = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(&phrases)
        .expect("smell word lists compile into an automaton");
    let verbs = entries(ACTION_VERBS)
        .map(|(v, _)| match v.strip_prefix('~') {
            Some(noun) => (noun, true),
            None => (v, false),
        })
        .collect();
    let units = entries(UNITS)
        .filter_map(|(line, _)| {
            let mut parts = line.split_whitespace();
            let name = parts.next()?;
            let dimension = parts.next()?;
            let factor = parts.next()?.parse().ok()?;
            Some((name, Unit { dimension, factor }))
        })
        .collect();
    Lexicon {
        smells,
        patterns,
        verbs,
        units,
    }
}

impl Lexicon {
    /// Every smell phrase in `text` at word boundaries, minus those inside an exception phrase of
    /// the same list and those strictly inside a longer match; sorted by position.
    pub(crate) fn smells(&self, text: &str) -> Vec<SmellMatch> {
        let mut hits: Vec<SmellMatch> = Vec::new();
        let mut exceptions: Vec<SmellMatch> = Vec::new();
        for m in self.smells.find_overlapping_iter(text) {
            let (start, end) = (m.start(), m.end());
            if !at_word_boundary(text, start, end) {
                continue;
            }
            let Some(info) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            let hit = SmellMatch {
                rule: info.rule,
                start,
                end,
            };
            if info.exception {
                exceptions.push(hit);
            } else {
                hits.push(hit);
            }
        }
        if hits.is_empty() {
            return hits;
        }
        let inside = |a: &SmellMatch, b: &SmellMatch| b.start <= a.start && a.end <= b.end;
        let strictly_inside =
            |a: &SmellMatch, b: &SmellMatch| inside(a, b) && (b.end - b.start) > (a.end - a.start);
        // A match can only lie inside one that starts at most `longest` bytes before its end:
        // with both lists sorted by start, each hit looks at that window only (linear overall,
        // where comparing every pair was quadratic in the number of hits).
        let longest = hits
            .iter()
            .chain(&exceptions)
            .map(|h| h.end - h.start)
            .max()
            .unwrap_or(0);
        hits.sort_by_key(|h| (h.start, h.end, h.rule));
        exceptions.sort_by_key(|h| (h.start, h.end, h.rule));
        /// The matches of `list` (sorted by start) that could contain `h`.
        fn around<'l>(list: &'l [SmellMatch], h: &SmellMatch, longest: usize) -> &'l [SmellMatch] {
            let from = list.partition_point(|o| o.start + longest < h.end);
            let to = list.partition_point(|o| o.start <= h.start).max(from);
            list.get(from..to).unwrap_or_default()
        }
        let mut kept: Vec<SmellMatch> = hits
            .iter()
            .filter(|h| {
                !around(&exceptions, h, longest)
                    .iter()
                    .any(|e| e.rule == h.rule && inside(h, e))
            })
            .filter(|h| {
                !around(&hits, h, longest)
                    .iter()
                    .any(|o| strictly_inside(h, o))
            })
            .copied()
            .collect();
        kept.dedup();
        kept
    }

    /// `Some(is_also_noun)` when `lower` is an action verb.
    pub(crate) fn action_verb(&self, lower: &str) -> Option<bool> {
        self.verbs.get(lower).copied()
    }

    /// The unit named `lower` (lower-case).
    pub(crate) fn unit(&self, lower: &str) -> Option<Unit> {
        self.units.get(lower).copied()
    }

    /// Every phrase of the smell lists with its rule (exceptions excluded); for benchmarks.
    pub(crate) fn smell_phrases() -> Vec<(RuleId, &'static str)> {
        SMELL_LISTS
            .iter()
            .flat_map(|&(rule, list)| {
                entries(list)
                    .filter(|(_, ex)| !ex)
                    .map(move |(p, _)| (rule, p))
            })
            .collect()
    }
}
