//! The checks. Each check reads items and reports through a [`Sink`], which turns positions in
//! an item's text into file positions.

pub(crate) mod ears;
pub(crate) mod quantity;
pub(crate) mod qus;
pub(crate) mod smells;
pub(crate) mod trace;

use crate::finding::Finding;
use crate::model::Document;
use crate::rule::RuleId;
use crate::text::{CharIndex, ascii};

/// Collects findings with the index of the item they belong to.
pub(crate) struct Sink<'d> {
    doc: &'d Document,
    disabled: &'d [RuleId],
    found: Vec<(usize, Finding)>,
    /// The character index of the item findings were last reported on (they come item by item).
    columns: Option<(usize, CharIndex)>,
}

impl<'d> Sink<'d> {
    pub(crate) fn new(doc: &'d Document, disabled: &'d [RuleId]) -> Self {
        Sink {
            doc,
            disabled,
            found: Vec::new(),
            columns: None,
        }
    }

    pub(crate) fn enabled(&self, rule: RuleId) -> bool {
        !self.disabled.contains(&rule)
    }

    /// Reports `rule` on item `index`; `span` is a byte range in the item's text.
    pub(crate) fn emit(
        &mut self,
        index: usize,
        rule: RuleId,
        span: Option<(usize, usize)>,
        message: String,
        suggestion: Option<String>,
    ) {
        if !self.enabled(rule) {
            return;
        }
        let Some(item) = self.doc.items.get(index) else {
            return;
        };
        let span = span.filter(|&(s, e)| s < e && ascii(&item.text, s, e));
        let (line, col, span) = if item.line == 0 {
            (0, 0, span)
        } else if item.exact {
            match span {
                Some((s, e)) => {
                    let columns = match &mut self.columns {
                        Some((i, columns)) if *i == index => columns,
                        slot => &mut slot.insert((index, CharIndex::new(&item.text))).1,
                    };
                    (
                        item.line,
                        item.col + columns.chars_before(s),
                        Some((item.byte_in_line + s, item.byte_in_line + e)),
                    )
                }
                None => (item.line, item.col, None),
            }
        } else {
            (item.line, item.col, None)
        };
        self.found.push((
            index,
            Finding {
                rule,
                severity: rule.info().severity,
                file: self.doc.path.clone(),
                line,
                col,
                item: item.id.clone(),
                message,
                suggestion,
                span,
            },
        ));
    }

    /// The findings in item order, then column, then rule.
    pub(crate) fn finish(mut self) -> Vec<Finding> {
        self.found.sort_by(|(ia, a), (ib, b)| {
            (ia, a.col, a.span.map(|s| s.0), a.rule).cmp(&(ib, b.col, b.span.map(|s| s.0), b.rule))
        });
        self.found.into_iter().map(|(_, f)| f).collect()
    }
}

/// `text[start..end]`, or `""`.
pub(crate) fn slice(text: &str, start: usize, end: usize) -> &str {
    text.get(start..end).unwrap_or_default()
}
