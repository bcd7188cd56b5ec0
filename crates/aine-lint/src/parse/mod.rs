//! Reading inputs: bad-input checks, format detection, and the parsers of each format.

mod json;
pub(crate) use json::draft_items;
mod lines;
mod markdown;

use std::path::Path;

use crate::error::{LintError, Result};
use crate::model::{Document, InputFormat, Item, ItemKind};
use crate::text::chars_before;

/// Reads a file for linting: its bytes must be non-empty UTF-8 text without NUL bytes.
///
/// # Errors
/// [`LintError::Io`], [`LintError::Binary`], [`LintError::NotUtf8`], [`LintError::Empty`].
pub fn read_input(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|source| LintError::Io {
        path: path.to_owned(),
        source,
    })?;
    decode(path, &bytes).map(str::to_owned)
}

/// Checks raw bytes the way [`read_input`] does and returns them as text.
///
/// # Errors
/// [`LintError::Binary`] (a NUL byte), [`LintError::NotUtf8`], [`LintError::Empty`].
pub fn decode<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str> {
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(LintError::Binary {
            path: path.to_owned(),
            offset,
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| LintError::NotUtf8 {
        path: path.to_owned(),
        offset: e.valid_up_to(),
    })?;
    check_text(path, text)?;
    Ok(text)
}

fn check_text(path: &Path, text: &str) -> Result<()> {
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        return Err(LintError::Binary {
            path: path.to_owned(),
            offset,
        });
    }
    if text.trim().is_empty() {
        return Err(LintError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(())
}

/// Guesses the format of a file from its extension and content.
///
/// `.json` (or text starting with `{`) is aine's spec JSON. Markdown is aine's own published
/// spec when it opens with `# Requirements` and has `## Requirements (EARS)`, Kiro when it has
/// `**User Story:**` or `### Requirement N` with `#### Acceptance Criteria`, OpenSpec when it
/// has `### Requirement:` or `#### Scenario:`, Spec Kit when it has `**FR-…**`, `**Given**` or
/// `# Feature Specification`. Anything else is user-story lines when at least half of its
/// lines start with `As a`/`As an`/`As the`, else requirement lines.
pub fn detect_format(path: &Path, text: &str) -> InputFormat {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if ext.as_deref() == Some("json") || text.trim_start().starts_with('{') {
        return InputFormat::AineSpec;
    }
    if matches!(ext.as_deref(), Some("md" | "markdown")) {
        if text.starts_with("# Requirements\n") && text.contains("\n## Requirements (EARS)\n") {
            return InputFormat::AineMarkdown;
        }
        if text.contains("**User Story:**")
            || (text.contains("#### Acceptance Criteria") && text.contains("### Requirement "))
        {
            return InputFormat::Kiro;
        }
        if text.contains("### Requirement:") || text.contains("#### Scenario:") {
            return InputFormat::OpenSpec;
        }
        if text.contains("**FR-")
            || text.contains("**Given**")
            || text.contains("# Feature Specification")
        {
            return InputFormat::SpecKit;
        }
    }
    let mut total = 0usize;
    let mut stories = 0usize;
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        total += 1;
        let (_, rest) = lines::strip_prefixes(line);
        if lines::starts_like_story(rest) {
            stories += 1;
        }
    }
    if total > 0 && stories * 2 >= total {
        InputFormat::StoryLines
    } else {
        InputFormat::RequirementLines
    }
}

/// Parses `text` (the content of `path`) as `format` into items with their positions.
///
/// # Errors
/// [`LintError::Empty`] for blank text, [`LintError::Binary`] for text with NUL bytes,
/// [`LintError::Json`] for spec JSON that is not a valid `requirements.json`.
pub fn parse(path: &Path, text: &str, format: InputFormat) -> Result<Document> {
    check_text(path, text)?;
    let (items, sources) = match format {
        InputFormat::AineSpec => json::parse(path, text)?,
        InputFormat::RequirementLines => (lines::parse(text, ItemKind::Requirement), None),
        InputFormat::StoryLines => (lines::parse(text, ItemKind::UserStory), None),
        InputFormat::SpecKit => (markdown::parse_spec_kit(text), None),
        InputFormat::OpenSpec => (markdown::parse_open_spec(text), None),
        InputFormat::Kiro => (markdown::parse_kiro(text), None),
        InputFormat::AineMarkdown => markdown::parse_aine(text),
    };
    Ok(Document {
        path: path.to_owned(),
        format,
        items,
        sources,
    })
}

/// Lines of `text` with their 1-based number (a trailing `\r` removed).
pub(crate) fn numbered_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
}

/// An item over `line[start..end]` (trimmed), with Markdown emphasis and code markers blanked.
pub(crate) fn item_at(
    line_no: usize,
    line: &str,
    start: usize,
    end: usize,
    kind: ItemKind,
    id: Option<String>,
) -> Option<Item> {
    let segment = line.get(start..end)?;
    let lead = segment.len() - segment.trim_start().len();
    let trimmed = segment.trim();
    if trimmed.is_empty() {
        return None;
    }
    let start = start + lead;
    let text = blank_markup(trimmed);
    Some(Item {
        id,
        kind,
        text,
        line: line_no,
        byte_in_line: start,
        col: chars_before(line, start) + 1,
        exact: true,
        sources: None,
        declared_pattern: None,
    })
}

/// Byte offset of `inner` in `outer`; `inner` must be a subslice of `outer`.
pub(crate) fn offset_in(outer: &str, inner: &str) -> usize {
    (inner.as_ptr() as usize)
        .saturating_sub(outer.as_ptr() as usize)
        .min(outer.len())
}

/// Replaces `**`, `__` and backticks by spaces, keeping every byte offset.
pub(crate) fn blank_markup(text: &str) -> String {
    text.replace("**", "  ")
        .replace("__", "  ")
        .replace('`', " ")
}
