//! aine's spec JSON (`requirements.json`): an [`aine_spec::Draft`] plus an optional top-level
//! `"sources"` array for trace checks.

use std::collections::HashMap;
use std::path::Path;

use aine_spec::{Draft, Sentence};
use serde::Deserialize;

use crate::error::{LintError, Result};
use crate::model::{Item, ItemKind, SourceText};
use crate::text::chars_before;

#[derive(Deserialize)]
struct SpecFile {
    #[serde(flatten)]
    draft: Draft,
    #[serde(default)]
    sources: Option<Vec<SourceEntry>>,
}

/// A source in the spec JSON: a sentence with its source ref, or a source ref (with an
/// optional `text`).
#[derive(Deserialize)]
#[serde(untagged)]
enum SourceEntry {
    Sentence(Sentence),
    Ref {
        id: String,
        #[serde(default)]
        text: Option<String>,
    },
}

impl From<SourceEntry> for SourceText {
    fn from(entry: SourceEntry) -> Self {
        match entry {
            SourceEntry::Sentence(s) => SourceText {
                id: s.source.id,
                text: Some(s.text),
            },
            SourceEntry::Ref { id, text } => SourceText { id, text },
        }
    }
}

/// Finds where JSON string values sit in the raw text, in order of appearance.
struct Locator<'t> {
    raw: &'t str,
    line_starts: Vec<usize>,
    next_from: HashMap<String, usize>,
}

struct Position {
    line: usize,
    byte_in_line: usize,
    col: usize,
    exact: bool,
}

impl<'t> Locator<'t> {
    fn new(raw: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(raw.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Locator {
            raw,
            line_starts,
            next_from: HashMap::new(),
        }
    }

    fn position_of(&self, byte: usize) -> (usize, usize, usize) {
        let index = self
            .line_starts
            .partition_point(|&s| s <= byte)
            .saturating_sub(1);
        let start = self.line_starts.get(index).copied().unwrap_or(0);
        let line_text = self.raw.get(start..).unwrap_or_default();
        let line_text = line_text.split('\n').next().unwrap_or_default();
        let in_line = byte - start;
        (index + 1, in_line, chars_before(line_text, in_line) + 1)
    }

    /// The next occurrence of the string literal `value` (after earlier finds of it).
    fn find(&mut self, value: &str) -> Option<Position> {
        let literal = serde_json::to_string(value).ok()?;
        let from = self.next_from.get(&literal).copied().unwrap_or(0);
        let at = from + self.raw.get(from..)?.find(&literal)?;
        self.next_from.insert(literal.clone(), at + literal.len());
        let (line, byte_in_line, col) = self.position_of(at + 1);
        Some(Position {
            line,
            byte_in_line,
            col,
            exact: literal.len() == value.len() + 2,
        })
    }

    /// Where `text` is, or failing that, where the item's id is, or line 1.
    fn locate(&mut self, text: &str, id: &str) -> Position {
        self.find(text)
            .or_else(|| self.find(id).map(|p| Position { exact: false, ..p }))
            .unwrap_or(Position {
                line: 1,
                byte_in_line: 0,
                col: 1,
                exact: false,
            })
    }
}

fn item(loc: &mut Locator<'_>, id: String, kind: ItemKind, text: &str) -> Item {
    let p = loc.locate(text, &id);
    Item {
        id: Some(id),
        kind,
        text: text.to_owned(),
        line: p.line,
        byte_in_line: p.byte_in_line,
        col: p.col,
        exact: p.exact,
        sources: None,
        declared_pattern: None,
    }
}

pub(crate) fn parse(path: &Path, raw: &str) -> Result<(Vec<Item>, Option<Vec<SourceText>>)> {
    let spec: SpecFile = serde_json::from_str(raw).map_err(|e| LintError::Json {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let mut loc = Locator::new(raw);
    let mut items = Vec::new();
    for r in &spec.draft.requirements {
        let mut it = item(&mut loc, r.id.clone(), ItemKind::Requirement, &r.text);
        it.sources = Some(r.sources.clone());
        it.declared_pattern = Some(r.pattern);
        items.push(it);
    }
    for s in &spec.draft.user_stories {
        let mut it = item(&mut loc, s.id.clone(), ItemKind::UserStory, &s.text);
        it.sources = Some(s.sources.clone());
        items.push(it);
        items.extend(criteria(&mut loc, &s.id, &s.acceptance_criteria));
    }
    let sources = spec
        .sources
        .map(|v| v.into_iter().map(SourceText::from).collect());
    Ok((items, sources))
}

fn criteria(
    loc: &mut Locator<'_>,
    story: &str,
    acs: &[aine_spec::AcceptanceCriterion],
) -> Vec<Item> {
    let mut items = Vec::new();
    for (n, ac) in acs.iter().enumerate() {
        for (part, text) in [("given", &ac.given), ("when", &ac.when), ("then", &ac.then)] {
            if !text.trim().is_empty() {
                items.push(item(
                    loc,
                    format!("{story}/AC{}.{part}", n + 1),
                    ItemKind::Scenario,
                    text,
                ));
            }
        }
    }
    items
}

/// Items of a draft with no file positions (for `lint_draft`).
pub(crate) fn draft_items(draft: &Draft) -> Vec<Item> {
    let bare = |id: String, kind, text: &str| Item {
        id: Some(id),
        kind,
        text: text.to_owned(),
        line: 0,
        byte_in_line: 0,
        col: 0,
        exact: true,
        sources: None,
        declared_pattern: None,
    };
    let mut items = Vec::new();
    for r in &draft.requirements {
        let mut it = bare(r.id.clone(), ItemKind::Requirement, &r.text);
        it.sources = Some(r.sources.clone());
        it.declared_pattern = Some(r.pattern);
        items.push(it);
    }
    for s in &draft.user_stories {
        let mut it = bare(s.id.clone(), ItemKind::UserStory, &s.text);
        it.sources = Some(s.sources.clone());
        items.push(it);
        for (n, ac) in s.acceptance_criteria.iter().enumerate() {
            for (part, text) in [("given", &ac.given), ("when", &ac.when), ("then", &ac.then)] {
                if !text.trim().is_empty() {
                    items.push(bare(
                        format!("{}/AC{}.{part}", s.id, n + 1),
                        ItemKind::Scenario,
                        text,
                    ));
                }
            }
        }
    }
    items
}
