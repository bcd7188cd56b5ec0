//! `spec.lint`: the linter (`aine-lint`) over a drafted spec, as a workflow step. Its findings
//! decide whether the review gate opens (`steps.check.output.findings | length > 0`).

use aine_spec::{Draft, Sentence};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Input of `spec.lint`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckInput {
    pub draft: Draft,
    /// The ingested sentences, for the trace checks (every item cites an existing source ref
    /// that shares content words with it).
    #[serde(default)]
    pub sentences: Vec<Sentence>,
}

/// One finding, as carried into the published spec.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
pub struct CheckFinding {
    /// Rule id, e.g. `smell.subjective` (see crates/aine-lint/RULES.md).
    pub rule: String,
    /// `error`, `warning` or `note`.
    pub severity: String,
    /// The spec item, e.g. `REQ-003`.
    #[serde(default)]
    pub item: Option<String>,
    pub message: String,
    #[serde(default)]
    pub suggestion: Option<String>,
}

/// Output of `spec.lint`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckOutput {
    pub findings: Vec<CheckFinding>,
    /// Findings by severity.
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
}

/// Lints `input.draft` against its sources.
pub fn check(input: &CheckInput) -> CheckOutput {
    let findings: Vec<CheckFinding> = aine_lint::lint_draft(&input.draft, &input.sentences)
        .into_iter()
        .map(|f| CheckFinding {
            rule: f.rule.to_string(),
            severity: f.severity.as_str().to_owned(),
            item: f.item,
            message: f.message,
            suggestion: f.suggestion,
        })
        .collect();
    let count = |s: &str| findings.iter().filter(|f| f.severity == s).count();
    CheckOutput {
        errors: count("error"),
        warnings: count("warning"),
        notes: count("note"),
        findings,
    }
}
