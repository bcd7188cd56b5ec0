//! What a step ends with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outcome of a step (DESIGN.md, "Words").
///
/// `Ok` and `Unsure` let the run continue (a later gate can look at `outcome`); `Violation` and
/// `Failed` end the run as failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The step produced a value that satisfies its output contract.
    Ok { value: Value },
    /// The step (a model) said it was unsure, with its reason and whatever partial answer it had.
    Unsure {
        reason: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        partial: Option<Value>,
    },
    /// The answer broke its output contract; `errors` are the JSON Schema validation messages,
    /// or the errors the step's check builtin found in a contract-valid answer.
    Violation { errors: Vec<String> },
    /// The step could not produce an answer (I/O error, bad input, refused by a budget, ...).
    Failed { error: String },
}

impl Outcome {
    /// The outcome's name as used in templates and `aine show`: `ok`, `unsure`, `violation`, `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::Unsure { .. } => "unsure",
            Outcome::Violation { .. } => "violation",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Whether the run may go on after a step ended with this outcome.
    pub fn lets_run_continue(&self) -> bool {
        matches!(self, Outcome::Ok { .. } | Outcome::Unsure { .. })
    }

    /// The value later steps see as `steps.<id>.output`: the value for `ok`, the partial answer
    /// for `unsure`, nothing otherwise.
    pub fn output(&self) -> Option<&Value> {
        match self {
            Outcome::Ok { value } => Some(value),
            Outcome::Unsure { partial, .. } => partial.as_ref(),
            Outcome::Violation { .. } | Outcome::Failed { .. } => None,
        }
    }
}
