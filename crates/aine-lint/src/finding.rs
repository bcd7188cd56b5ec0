//! A finding: one rule violated by one item.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::rule::{RuleId, Severity};

/// One problem found in one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule: RuleId,
    pub severity: Severity,
    /// The input file; empty for [`crate::lint_draft`] findings.
    pub file: PathBuf,
    /// 1-based line; 0 when the item has no position in a file ([`crate::lint_draft`]).
    pub line: usize,
    /// 1-based column in characters of the offending words (or of the item when the finding
    /// is about the whole item); 0 when `line` is 0.
    pub col: usize,
    /// The item's id, e.g. `REQ-003`, `FR-001`, `1.2` (Kiro).
    pub item: Option<String>,
    /// What is wrong, lower case, no trailing period.
    pub message: String,
    /// How to fix it, when the rule can say.
    pub suggestion: Option<String>,
    /// Byte span `[start, end)` of the offending words within the line (within the item's text
    /// when `line` is 0). Spans only ever cover ASCII text, so `end - start` is also their
    /// length in characters.
    pub span: Option<(usize, usize)>,
}
