//! Plain requirement lines and user-story lines.

use crate::model::{Item, ItemKind};
use crate::parse::{item_at, numbered_lines, offset_in};

/// Splits an optional list marker (`-`, `*`, `+`, `1.`, `1)`) and an optional id followed by a
/// colon (`REQ-1:`, `US12:`) off a trimmed line: `(id, rest)`.
pub(crate) fn strip_prefixes(line: &str) -> (Option<&str>, &str) {
    let mut rest = line;
    if let Some(r) = rest
        .strip_prefix("- ")
        .or_else(|| rest.strip_prefix("* "))
        .or_else(|| rest.strip_prefix("+ "))
    {
        rest = r.trim_start();
    } else {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0
            && let Some(r) = rest
                .get(digits..)
                .and_then(|r| r.strip_prefix(". ").or_else(|| r.strip_prefix(") ")))
        {
            rest = r.trim_start();
        }
    }
    if let Some(colon) = rest.find(':') {
        let candidate = rest
            .get(..colon)
            .unwrap_or_default()
            .trim_matches(|c| c == '*' || c == '[' || c == ']');
        let shaped = (2..=24).contains(&candidate.len())
            && candidate
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && candidate.bytes().any(|b| b.is_ascii_digit())
            && candidate
                .bytes()
                .next()
                .is_some_and(|b| b.is_ascii_alphabetic());
        if shaped {
            return (
                Some(candidate),
                rest.get(colon + 1..).unwrap_or_default().trim_start(),
            );
        }
    }
    (None, rest)
}

/// Whether a line reads like a Connextra story (`As a`, `As an`, `As the`, case-insensitive).
pub(crate) fn starts_like_story(line: &str) -> bool {
    let lower: String = line
        .chars()
        .take(7)
        .collect::<String>()
        .to_ascii_lowercase();
    lower.starts_with("as a ") || lower.starts_with("as an ") || lower.starts_with("as the ")
}

pub(crate) fn parse(text: &str, kind: ItemKind) -> Vec<Item> {
    let mut items = Vec::new();
    for (line_no, line) in numbered_lines(text) {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (id, rest) = strip_prefixes(trimmed);
        let start = offset_in(line, rest);
        if let Some(item) = item_at(
            line_no,
            line,
            start,
            line.len(),
            kind,
            id.map(str::to_owned),
        ) {
            items.push(item);
        }
    }
    items
}
