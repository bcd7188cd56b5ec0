//! The Markdown spec formats: GitHub Spec Kit, OpenSpec and Kiro.
//!
//! Parsing is line-based on the raw text, so every item keeps its exact line and column;
//! pulldown-cmark decides which lines are prose, so code blocks, HTML blocks (the `<!-- … -->`
//! guidance comments of the templates) and front matter are never linted.

use pulldown_cmark::{Event, Options, Parser, Tag};

use crate::model::{Item, ItemKind, SourceText};
use crate::parse::{item_at, numbered_lines, offset_in};

/// For each line (index = line number - 1): whether it lies in a code block, an HTML block or
/// a metadata block.
fn masked_lines(text: &str) -> Vec<bool> {
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(i, _)| i + 1))
        .collect();
    let line_of = |byte: usize| {
        line_starts
            .partition_point(|&s| s <= byte)
            .saturating_sub(1)
    };
    let mut masked = vec![false; line_starts.len()];
    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS
        | Options::ENABLE_PLUSES_DELIMITED_METADATA_BLOCKS;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        let hide = matches!(
            event,
            Event::Start(Tag::CodeBlock(_) | Tag::HtmlBlock | Tag::MetadataBlock(_))
        );
        if hide && range.end > range.start {
            let first = line_of(range.start);
            let last = line_of(range.end - 1);
            for m in masked.iter_mut().take(last + 1).skip(first) {
                *m = true;
            }
        }
    }
    masked
}

/// Prose lines of a Markdown text: `(line number, line)`.
fn prose_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let masked = masked_lines(text);
    numbered_lines(text).filter(move |(n, _)| !masked.get(n - 1).copied().unwrap_or(false))
}

/// A heading line: `(level, title)`.
fn heading(line: &str) -> Option<(usize, &str)> {
    let trimmed = line.trim_start();
    let level = trimmed.bytes().take_while(|&b| b == b'#').count();
    if level == 0 || level > 6 {
        return None;
    }
    let rest = trimmed.get(level..)?;
    if !rest.is_empty() && !rest.starts_with(' ') {
        return None;
    }
    Some((level, rest.trim().trim_end_matches('#').trim()))
}

/// The content of a list item line after its marker (`- `, `* `, `+ `, `1. `, `1) `).
fn list_item(line: &str) -> Option<&str> {
    let trimmed = line.trim_start();
    if let Some(rest) = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
        .or_else(|| trimmed.strip_prefix("+ "))
    {
        return Some(rest);
    }
    numbered_item(line).map(|(_, rest)| rest)
}

/// A numbered list item: `(number, content)`.
fn numbered_item(line: &str) -> Option<(u32, &str)> {
    let trimmed = line.trim_start();
    let digits = trimmed.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 {
        return None;
    }
    let number = trimmed.get(..digits)?.parse().ok()?;
    let rest = trimmed.get(digits..)?;
    let rest = rest
        .strip_prefix(". ")
        .or_else(|| rest.strip_prefix(") "))?;
    Some((number, rest))
}

fn push(
    items: &mut Vec<Item>,
    line_no: usize,
    line: &str,
    content: &str,
    kind: ItemKind,
    id: Option<String>,
) {
    let start = offset_in(line, content);
    if let Some(item) = item_at(line_no, line, start, line.len(), kind, id) {
        items.push(item);
    }
}

/// A bold id at the start of a list item: `**FR-001**: text`, `**FR-001:** text`, `FR-001: text`.
fn bold_id(content: &str) -> Option<(&str, &str)> {
    let rest = content.strip_prefix("**").unwrap_or(content);
    let id_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'.')
        .count();
    let id = rest.get(..id_len)?;
    let has_shape = id.contains('-')
        && id.bytes().any(|b| b.is_ascii_digit())
        && id.bytes().next()?.is_ascii_uppercase();
    if !has_shape {
        return None;
    }
    let after = rest.get(id_len..)?;
    let after = after
        .strip_prefix("**:")
        .or_else(|| after.strip_prefix(":**"))
        .or_else(|| after.strip_prefix(':'))?;
    Some((id, after))
}

/// GitHub Spec Kit `spec.md`: `FR-###` requirements (`NFR-`, `REQ-` too) are requirements;
/// other ids (`SC-001` success criteria) and `**Given** … **When** … **Then** …` acceptance
/// scenarios are scenario items (ids `AS-<story>.<n>`).
pub(crate) fn parse_spec_kit(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut story = 0u32;
    let mut scenario = 0u32;
    for (line_no, line) in prose_lines(text) {
        if let Some((_, title)) = heading(line) {
            if title.starts_with("User Story") {
                story += 1;
                scenario = 0;
            }
            continue;
        }
        let Some(content) = list_item(line) else {
            continue;
        };
        if let Some((id, rest)) = bold_id(content) {
            let kind = if ["FR-", "NFR-", "REQ-"].iter().any(|p| id.starts_with(p)) {
                ItemKind::Requirement
            } else {
                ItemKind::Scenario
            };
            push(&mut items, line_no, line, rest, kind, Some(id.to_owned()));
        } else if content.to_ascii_lowercase().contains("**given**") {
            scenario += 1;
            push(
                &mut items,
                line_no,
                line,
                content,
                ItemKind::Scenario,
                Some(format!("AS-{story}.{scenario}")),
            );
        }
    }
    items
}

/// OpenSpec `spec.md`: the prose under `### Requirement: Name` is a requirement (id: the name),
/// the `- **WHEN** …`/`- **THEN** …`/`- **AND** …` steps under `#### Scenario: …` are scenario
/// items (id: `Name / Scenario`). Sections `## REMOVED …` and `## RENAMED …` are skipped.
pub(crate) fn parse_open_spec(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut requirement: Option<String> = None;
    let mut scenario: Option<String> = None;
    let mut skip_section = false;
    for (line_no, line) in prose_lines(text) {
        if let Some((level, title)) = heading(line) {
            if level <= 2 {
                let upper = title.to_ascii_uppercase();
                skip_section = upper.starts_with("REMOVED") || upper.starts_with("RENAMED");
                requirement = None;
                scenario = None;
            } else if let Some(name) = title.strip_prefix("Requirement:") {
                requirement = Some(name.trim().to_owned());
                scenario = None;
            } else if let Some(name) = title.strip_prefix("Scenario:") {
                scenario = requirement.as_ref().map(|_| name.trim().to_owned());
            } else {
                requirement = None;
                scenario = None;
            }
            continue;
        }
        if skip_section || line.trim().is_empty() {
            continue;
        }
        let Some(req) = &requirement else { continue };
        match (&scenario, list_item(line)) {
            (Some(sc), Some(content)) => {
                let upper = content.trim_start().to_ascii_uppercase();
                let step = ["**WHEN**", "**THEN**", "**AND**", "**GIVEN**", "**BUT**"]
                    .iter()
                    .any(|k| upper.starts_with(k));
                if step {
                    push(
                        &mut items,
                        line_no,
                        line,
                        content,
                        ItemKind::Scenario,
                        Some(format!("{req} / {sc}")),
                    );
                }
            }
            (None, None) => {
                let trimmed = line.trim_start();
                let meta = trimmed.starts_with('|')
                    || trimmed.starts_with('>')
                    || trimmed.starts_with("**Reason")
                    || trimmed.starts_with("**Migration")
                    || trimmed.starts_with("**From")
                    || trimmed.starts_with("**To");
                if !meta {
                    push(
                        &mut items,
                        line_no,
                        line,
                        trimmed,
                        ItemKind::Requirement,
                        Some(req.clone()),
                    );
                }
            }
            _ => {}
        }
    }
    items
}

/// Kiro `requirements.md`: `### Requirement N`, its `**User Story:** As a …` (a user story, id
/// `RN`) and the numbered (or bulleted) EARS lines under `#### Acceptance Criteria`
/// (requirements, id `RN.M`).
pub(crate) fn parse_kiro(text: &str) -> Vec<Item> {
    let mut items = Vec::new();
    let mut requirement: Option<String> = None;
    let mut counter = 0u32;
    let mut in_criteria = false;
    let mut criterion = 0u32;
    for (line_no, line) in prose_lines(text) {
        if let Some((_, title)) = heading(line) {
            in_criteria = false;
            if let Some(rest) = title.strip_prefix("Requirement") {
                counter += 1;
                let number: String = rest
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '.')
                    .collect();
                requirement = Some(if number.is_empty() {
                    counter.to_string()
                } else {
                    number
                });
            } else if title.eq_ignore_ascii_case("Acceptance Criteria") {
                in_criteria = requirement.is_some();
                criterion = 0;
            } else {
                requirement = None;
            }
            continue;
        }
        let Some(req) = &requirement else { continue };
        let trimmed = line.trim_start();
        if let Some(story) = trimmed
            .strip_prefix("**User Story:**")
            .or_else(|| trimmed.strip_prefix("**User Story**:"))
        {
            push(
                &mut items,
                line_no,
                line,
                story,
                ItemKind::UserStory,
                Some(format!("R{req}")),
            );
        } else if in_criteria && let Some(content) = list_item(line) {
            // Numbered criteria keep their number; bulleted ones are counted.
            criterion += 1;
            let n = numbered_item(line).map_or(criterion, |(n, _)| n);
            push(
                &mut items,
                line_no,
                line,
                content,
                ItemKind::Requirement,
                Some(format!("R{req}.{n}")),
            );
        }
    }
    items
}

/// The EARS pattern as aine's Markdown names it (`Ubiquitous`, `EventDriven`, ...).
fn pattern_named(name: &str) -> Option<aine_spec::EarsPattern> {
    use aine_spec::EarsPattern as P;
    Some(match name.trim() {
        "Ubiquitous" => P::Ubiquitous,
        "StateDriven" => P::StateDriven,
        "EventDriven" => P::EventDriven,
        "OptionalFeature" => P::OptionalFeature,
        "UnwantedBehaviour" => P::UnwantedBehaviour,
        _ => return None,
    })
}

/// The cited sources of a `sources:` line of aine's Markdown: `` `ID` (Speaker): "text"; `ID2` ``.
fn cited(line: &str) -> Vec<SourceText> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('`') else { break };
        let id = after[..close].to_owned();
        let tail = &after[close + 1..];
        // The quote runs to the next `"; \`` (the next source) or to the last `"` of the line.
        let (text, next) = match tail.find(": \"") {
            Some(q) if !tail[..q].contains('`') => {
                let quoted = &tail[q + 3..];
                let end = quoted
                    .find("\"; `")
                    .or_else(|| quoted.rfind('"'))
                    .unwrap_or(quoted.len());
                (Some(quoted[..end].to_owned()), &quoted[end..])
            }
            _ => (None, tail),
        };
        out.push(SourceText { id, text });
        rest = next;
    }
    out
}

/// aine's own published `requirements.md` (`spec.publish`): `- **REQ-001** (Pattern, Category):
/// text` with a `  - sources:` line under it, `### US-001: As a …` stories with `- Given …, when
/// …, then ….` criteria and a `Sources:` line. The items are those of the same spec as JSON
/// (requirements with their declared pattern and sources, stories, criteria parts with ids
/// `US-001/AC1.given`), and the quoted sentences are the document's sources; the introduction,
/// the ambiguity flags and the open questions are not items.
pub(crate) fn parse_aine(text: &str) -> (Vec<Item>, Option<Vec<SourceText>>) {
    let mut items: Vec<Item> = Vec::new();
    let mut sources: Vec<SourceText> = Vec::new();
    let mut section = String::new();
    let mut story: Option<String> = None;
    let mut criterion = 0u32;
    let mut add_sources = |items: &mut Vec<Item>, found: Vec<SourceText>| {
        if let Some(last) = items
            .iter_mut()
            .rev()
            .find(|i| matches!(i.kind, ItemKind::Requirement | ItemKind::UserStory))
        {
            last.sources = Some(found.iter().map(|s| s.id.clone()).collect());
        }
        // A ref the publisher could not quote is not a sentence of the sources (the JSON
        // lists only sentences it has).
        for s in found.into_iter().filter(|s| s.text.is_some()) {
            if !sources.iter().any(|k| k.id == s.id) {
                sources.push(s);
            }
        }
    };
    for (line_no, line) in prose_lines(text) {
        if let Some((level, title)) = heading(line) {
            if level == 2 {
                section = title.to_owned();
                story = None;
            } else if level == 3
                && section == "User stories"
                && let Some((id, rest)) = title.split_once(": ")
            {
                let content_start = offset_in(line, rest);
                if let Some(item) = item_at(
                    line_no,
                    line,
                    content_start,
                    line.len(),
                    ItemKind::UserStory,
                    Some(id.to_owned()),
                ) {
                    items.push(item);
                }
                story = Some(id.to_owned());
                criterion = 0;
            }
            continue;
        }
        match section.as_str() {
            "Requirements (EARS)" => {
                if let Some(rest) = line.trim_start().strip_prefix("- sources: ") {
                    add_sources(&mut items, cited(rest));
                    continue;
                }
                let Some(content) = line.strip_prefix("- **") else {
                    continue;
                };
                let Some((id, rest)) = content.split_once("** (") else {
                    continue;
                };
                let Some((labels, statement)) = rest.split_once("): ") else {
                    continue;
                };
                let start = offset_in(line, statement);
                if let Some(mut item) = item_at(
                    line_no,
                    line,
                    start,
                    line.len(),
                    ItemKind::Requirement,
                    Some(id.to_owned()),
                ) {
                    item.declared_pattern = labels.split(',').next().and_then(pattern_named);
                    items.push(item);
                }
            }
            "User stories" => {
                let Some(id) = story.clone() else { continue };
                if let Some(rest) = line.strip_prefix("Sources: ") {
                    add_sources(&mut items, cited(rest));
                    continue;
                }
                let Some(content) = line.strip_prefix("- Given ") else {
                    continue;
                };
                criterion += 1;
                let content = content.strip_suffix('.').unwrap_or(content);
                let (given, rest) = content.split_once(", when ").unwrap_or((content, ""));
                let (when, then) = rest.split_once(", then ").unwrap_or((rest, ""));
                for (part, segment) in [("given", given), ("when", when), ("then", then)] {
                    if segment.trim().is_empty() {
                        continue;
                    }
                    let start = offset_in(line, segment);
                    if let Some(item) = item_at(
                        line_no,
                        line,
                        start,
                        start + segment.len(),
                        ItemKind::Scenario,
                        Some(format!("{id}/AC{criterion}.{part}")),
                    ) {
                        items.push(item);
                    }
                }
            }
            _ => {}
        }
    }
    (items, Some(sources))
}
