//! A rule-based sentence splitter.
//!
//! A sentence ends after a run of terminators (`.`, `!`, `?`, `…`), optionally followed by
//! closing quotes or brackets, when whitespace follows and the next word does not start with a
//! lower-case letter. A single `.` does not end a sentence after a known abbreviation
//! ([`ABBREVIATIONS`]; [`NUMBER_ABBREVIATIONS`] only before a digit) or a single capital letter
//! (an initial, as in `J. Smith`). A `.` with no
//! whitespace after it (`3.5`, `example.com`, `e.g.`) never ends one. Text without terminators
//! is one sentence. The rules follow the usual punkt-style heuristics (Kiss & Strunk,
//! Computational Linguistics 2006) without the learned part.

use std::ops::Range;

use super::text::MChar;

/// Lower-cased words (without their final `.`) after which a `.` does not end a sentence.
pub const ABBREVIATIONS: &[&str] = &[
    "al", "approx", "ca", "cf", "co", "corp", "dept", "dr", "e.g", "eg", "esp", "est", "i.e", "ie",
    "inc", "jr", "ltd", "mr", "mrs", "ms", "mt", "prof", "sr", "st", "viz", "vs",
];

/// Abbreviations that stand before a number (`No. 5`, `Fig. 2`, `Jan. 12`): a `.` after them
/// does not end a sentence only when a digit follows.
pub const NUMBER_ABBREVIATIONS: &[&str] = &[
    "apr", "aug", "dec", "feb", "fig", "figs", "jan", "jul", "jun", "mar", "no", "nos", "nov",
    "oct", "pp", "sep", "sept", "vol",
];

fn is_terminator(c: char) -> bool {
    matches!(c, '.' | '!' | '?' | '…' | '‼' | '⁇' | '。')
}

fn is_closing(c: char) -> bool {
    matches!(c, '"' | '\'' | '”' | '’' | ')' | ']' | '»')
}

fn is_opening(c: char) -> bool {
    matches!(c, '"' | '\'' | '“' | '‘' | '(' | '[' | '«' | '¿' | '¡')
}

/// Character ranges of the sentences of `chars`, trimmed of surrounding whitespace.
pub(crate) fn split_sentences(chars: &[MChar]) -> Vec<Range<usize>> {
    let n = chars.len();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < n {
        if !is_terminator(chars[i].c) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j + 1 < n && is_terminator(chars[j + 1].c) {
            j += 1;
        }
        let mut end = j + 1;
        while end < n && is_closing(chars[end].c) {
            end += 1;
        }
        let boundary = if end == n {
            true
        } else if chars[end].c.is_whitespace() {
            let mut next = end;
            while next < n && (chars[next].c.is_whitespace() || is_opening(chars[next].c)) {
                next += 1;
            }
            let next_char = chars.get(next).map(|m| m.c);
            let lower_next = next_char.is_some_and(char::is_lowercase);
            let single_dot = i == j && chars[i].c == '.';
            !(lower_next || (single_dot && is_abbreviation(&chars[start..i], next_char)))
        } else {
            false
        };
        if boundary {
            push_trimmed(&mut out, chars, start, end);
            start = end;
        }
        i = end;
    }
    push_trimmed(&mut out, chars, start, n);
    out
}

/// Whether the word just before a `.` is an abbreviation or an initial.
fn is_abbreviation(before: &[MChar], next: Option<char>) -> bool {
    let word_start = before
        .iter()
        .rposition(|m| m.c.is_whitespace() || is_opening(m.c))
        .map_or(0, |p| p + 1);
    let word: String = before[word_start..].iter().map(|m| m.c).collect();
    let mut letters = word.chars();
    if let (Some(c), None) = (letters.next(), letters.next())
        && c.is_uppercase()
    {
        return true;
    }
    let word = word.to_lowercase();
    ABBREVIATIONS.contains(&word.as_str())
        || (NUMBER_ABBREVIATIONS.contains(&word.as_str())
            && next.is_some_and(|c| c.is_ascii_digit()))
}

fn push_trimmed(out: &mut Vec<Range<usize>>, chars: &[MChar], mut start: usize, mut end: usize) {
    while start < end && chars[start].c.is_whitespace() {
        start += 1;
    }
    while end > start && chars[end - 1].c.is_whitespace() {
        end -= 1;
    }
    if start < end {
        out.push(start..end);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::text::mapped;

    fn check(text: &str, expected: &[&str]) {
        let chars = mapped(text, 0);
        let got: Vec<String> = split_sentences(&chars)
            .into_iter()
            .map(|r| chars[r].iter().map(|m| m.c).collect())
            .collect();
        assert_eq!(got, expected, "splitting {text:?}");
    }

    #[test]
    fn splits() {
        check("One. Two! Three?", &["One.", "Two!", "Three?"]);
        check(
            "It costs 12.50 euros. Fine.",
            &["It costs 12.50 euros.", "Fine."],
        );
        check("Ask Dr. Smith. He knows.", &["Ask Dr. Smith.", "He knows."]);
        check(
            "Use e.g. a button. Or not.",
            &["Use e.g. a button.", "Or not."],
        );
        check(
            "J. R. R. Tolkien wrote it.",
            &["J. R. R. Tolkien wrote it."],
        );
        check("Wait... what? Yes.", &["Wait... what?", "Yes."]);
        check("Well... Then we go.", &["Well...", "Then we go."]);
        check(
            "He said \"stop.\" Then left.",
            &["He said \"stop.\"", "Then left."],
        );
        check("no terminator at all", &["no terminator at all"]);
        check(
            "Visit example.com today. Now.",
            &["Visit example.com today.", "Now."],
        );
        check("Version 2.0. Released.", &["Version 2.0.", "Released."]);
        check("  ", &[]);
        check("Really?! Yes.", &["Really?!", "Yes."]);
        check(
            "See No. 5 here. No. We won't.",
            &["See No. 5 here.", "No.", "We won't."],
        );
    }
}
