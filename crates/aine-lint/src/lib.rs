//! `aine lint`: a linter for requirements and user stories.
//!
//! Checks, each a documented rule (see [`rules`] and `RULES.md`):
//! - EARS conformance (Mavin et al., "Easy Approach to Requirements Syntax", RE'09), also in
//!   the upper-case `WHEN … THE … SHALL` style;
//! - the vague-language smells of ISO/IEC/IEEE 29148:2018 §5.2.7 (Femmer et al., JSS 2017) and
//!   terms of totality (INCOSE Guide to Writing Requirements R26/R32), from the word lists in
//!   `data/`;
//! - the Quality User Story criteria that need no model (Lucassen et al., RE journal 2016);
//! - trace checks (every item cites an existing source ref that shares a content word with it);
//! - conflicting quantities and numbers without units.
//!
//! Flow: [`read_input`] (bad-input checks) → [`detect_format`] → [`parse`] into a [`Document`]
//! of positioned [`Item`]s → [`lint`] → [`Finding`]s → [`to_text`] / [`to_json`] /
//! [`to_sarif`]. [`lint_draft`] lints a drafted spec in memory (the `spec.lint` builtin).
//! Pure: no I/O except [`read_input`] and [`lint_path`].

mod check;
mod error;
mod finding;
mod lexicon;
mod model;
mod output;
mod parse;
mod rule;
mod text;

use std::path::{Path, PathBuf};

pub use error::{LintError, Result};
pub use finding::Finding;
pub use model::{Document, InputFormat, Item, ItemKind, SourceText};
pub use output::{to_json, to_sarif, to_text};
pub use parse::{decode, detect_format, parse, read_input};
pub use rule::{RuleId, RuleInfo, Severity, UnknownRule, rules, rules_markdown};
pub use text::content_words;

use check::{Sink, ears, quantity, qus, smells, trace};
use text::tokenize;

/// What to check.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LintOptions {
    /// Rules not to report.
    pub disabled: Vec<RuleId>,
    /// Whether `MUST` binds like `shall` (no `ears.modal` finding). `None`: as the format
    /// prescribes ([`InputFormat::must_is_normative`]: Spec Kit and OpenSpec).
    pub must_is_normative: Option<bool>,
}

/// Lints a parsed document. Findings come in item order, then by column.
pub fn lint(doc: &Document, options: &LintOptions) -> Vec<Finding> {
    let must_binding = options
        .must_is_normative
        .unwrap_or_else(|| doc.format.must_is_normative());
    let mut sink = Sink::new(doc, &options.disabled);
    let mut tokens = Vec::new();
    let mut stories = Vec::new();
    let mut claims = Vec::new();
    for (index, item) in doc.items.iter().enumerate() {
        tokenize(&item.text, &mut tokens);
        let mut means = None;
        match item.kind {
            ItemKind::Requirement => {
                if let Some(e) = ears::check(&mut sink, index, item, &tokens, must_binding)
                    && sink.enabled(RuleId::ConflictQuantity)
                {
                    claims.extend(
                        quantity::claims(&item.text, &tokens, e.keyword)
                            .into_iter()
                            .map(|c| (index, c)),
                    );
                }
            }
            ItemKind::UserStory => {
                let story = qus::parse_story(&item.text, &tokens);
                qus::check(&mut sink, index, item, &tokens, &story);
                means = story.means;
                stories.push((index, story));
            }
            ItemKind::Scenario => {}
        }
        smells::check(&mut sink, index, item, &tokens, means);
        quantity::check_units(&mut sink, index, &item.text, &tokens);
    }
    qus::check_set(&mut sink, doc, &stories);
    quantity::check_conflicts(&mut sink, doc, claims);
    trace::check(&mut sink, doc);
    sink.finish()
}

/// Lints a drafted spec in memory (the `spec.lint` builtin). Findings name items by id and have
/// no file, line or column; their spans are byte ranges in the item's text. `sources` are the
/// sentences the items may cite: an empty slice skips the existence and overlap checks (but
/// not `trace.no-source`).
pub fn lint_draft(draft: &aine_spec::Draft, sources: &[aine_spec::Sentence]) -> Vec<Finding> {
    let doc = Document {
        path: PathBuf::new(),
        format: InputFormat::AineSpec,
        items: parse::draft_items(draft),
        sources: (!sources.is_empty()).then(|| {
            sources
                .iter()
                .map(|s| SourceText {
                    id: s.source.id.clone(),
                    text: Some(s.text.clone()),
                })
                .collect()
        }),
    };
    lint(&doc, &LintOptions::default())
}

/// Reads, detects (unless `format` is given), parses and lints one file.
///
/// # Errors
/// Any [`LintError`] of [`read_input`] and [`parse`].
pub fn lint_path(
    path: &Path,
    format: Option<InputFormat>,
    options: &LintOptions,
) -> Result<Vec<Finding>> {
    let text = read_input(path)?;
    let format = format.unwrap_or_else(|| detect_format(path, &text));
    let doc = parse(path, &text, format)?;
    Ok(lint(&doc, options))
}

#[doc(hidden)]
/// Every smell phrase with its rule; for the benchmark's regex comparison only.
pub fn smell_phrases() -> Vec<(RuleId, &'static str)> {
    lexicon::Lexicon::smell_phrases()
}
