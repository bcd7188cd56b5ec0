//! Transcripts as `Speaker: text` lines, and the speaker-prefix rule shared with captions.
//!
//! A line starting with a speaker name and a colon (`Project Manager: we need…`, optionally
//! after a timestamp such as `[00:01:02]` or `00:01:02`) starts a turn; a line without one
//! continues the current turn. Transcript markers (`{vocalsound}`, `[laughter]`) are removed.

use super::read::LineReader;
use super::text::{Segmenter, join_acronyms, mapped, strip_markers};
use crate::error::IngestError;

/// The speaker-name rule: 1 to 4 words, at most 40 bytes, starting with a letter, made of
/// letters, digits, spaces and `.-'_`, the first word capitalised (or a single letter, as in
/// `A:`), followed by `:` and a space or the end of the line.
///
/// Returns `(name, byte offset where the text starts)`.
pub(crate) fn speaker_prefix(line: &str) -> Option<(&str, usize)> {
    let skip = timestamp_len(line);
    let rest = &line[skip..];
    let colon = rest.bytes().take(42).position(|b| b == b':')?;
    let name = rest[..colon].trim();
    let after = &rest[colon + 1..];
    if !(after.is_empty() || after.starts_with(' ') || after.starts_with('\t')) {
        return None;
    }
    let first = name.chars().next()?;
    let words = name.split_whitespace().count();
    let ok = first.is_alphabetic()
        && first.is_uppercase()
        && (1..=4).contains(&words)
        && name.len() <= 40
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '.' | '-' | '\'' | '_'))
        && !NOT_SPEAKERS.contains(&name.to_ascii_lowercase().as_str());
    let text_start = skip + colon + 1 + (after.len() - after.trim_start().len());
    ok.then_some((name, text_start))
}

/// Labels that look like speakers but introduce text in notes.
const NOT_SPEAKERS: &[&str] = &[
    "note",
    "notes",
    "re",
    "fw",
    "fwd",
    "subject",
    "todo",
    "to do",
    "action",
    "action item",
    "decision",
    "example",
    "e.g",
    "i.e",
    "warning",
    "important",
    "update",
    "summary",
    "agenda",
    "question",
    "answer",
    "date",
    "time",
    "when",
    "where",
    "http",
    "https",
];

/// Length of a leading timestamp (`[00:01:02]`, `00:01:02.500`, `(12:30)`) and the spaces after it.
fn timestamp_len(line: &str) -> usize {
    let b = line.as_bytes();
    let mut i = 0;
    let open = matches!(b.first(), Some(b'[' | b'('));
    if open {
        i += 1;
    }
    let digits_start = i;
    while i < b.len() && (b[i].is_ascii_digit() || matches!(b[i], b':' | b'.' | b',')) {
        i += 1;
    }
    let stamp = &line[digits_start..i];
    if !stamp.contains(':') || !stamp.starts_with(|c: char| c.is_ascii_digit()) {
        return 0;
    }
    if open {
        if !matches!(b.get(i), Some(b']' | b')')) {
            return 0;
        }
        i += 1;
    }
    if !matches!(b.get(i), Some(b' ' | b'\t')) {
        return 0;
    }
    while i < b.len() && matches!(b[i], b' ' | b'\t') {
        i += 1;
    }
    i
}

/// Whether the first lines of `head` read as a `Speaker: text` transcript: at least 3 of the
/// first 20 non-empty lines, and at least 60% of them, start with a speaker prefix.
pub(crate) fn looks_like_speaker_lines(head: &str) -> bool {
    let mut lines: Vec<&str> = head.lines().filter(|l| !l.trim().is_empty()).collect();
    if head.len() >= super::read::HEAD_LEN {
        lines.pop();
    }
    lines.truncate(20);
    let hits = lines.iter().filter(|l| speaker_prefix(l).is_some()).count();
    hits >= 3 && hits * 10 >= lines.len() * 6
}

/// Reads a `Speaker: text` transcript; returns the number of turns.
pub(crate) fn read(mut lines: LineReader, seg: &mut Segmenter<'_>) -> Result<u32, IngestError> {
    let mut turns = 0u32;
    let mut started = false;
    while let Some(line) = lines.next_line()? {
        let (text, start) = match speaker_prefix(line.text) {
            Some((name, at)) => {
                seg.start_turn(Some(name.to_owned()), Some(turns));
                turns += 1;
                started = true;
                (&line.text[at..], line.start + at as u64)
            }
            None => {
                if line.text.trim().is_empty() {
                    continue;
                }
                if !started {
                    seg.start_turn(None, Some(turns));
                    turns += 1;
                    started = true;
                } else {
                    seg.push_break(line.start);
                }
                (line.text, line.start)
            }
        };
        seg.push(&join_acronyms(&strip_markers(&mapped(text, start), true)));
    }
    seg.flush();
    Ok(turns)
}
