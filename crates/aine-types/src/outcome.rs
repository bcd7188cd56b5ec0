//! What a step ends with.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The outcome of a step (DESIGN.md, "Words").
///
/// `Ok`, `Fallback` and `Unsure` let the run continue (a later gate can look at `outcome`);
/// `Violation` and `Failed` end the run as failed.
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
    /// No model gave a usable answer (every model of the route was unsure, broke the contract,
    /// failed, or was refused by a budget); the step's `fallback_builtin` wrote `value`.
    /// `reason` says why no model answer was used.
    Fallback { value: Value, reason: String },
    /// The step could not produce an answer (I/O error, bad input, refused by a budget, ...).
    Failed { error: String },
}

impl Outcome {
    /// Every outcome kind ([`Outcome::kind`]), best first.
    pub const KINDS: [&'static str; 5] = ["ok", "unsure", "fallback", "violation", "failed"];

    /// The outcome's name as used in templates and `aine show`: `ok`, `fallback`, `unsure`,
    /// `violation`, `failed`.
    pub fn kind(&self) -> &'static str {
        match self {
            Outcome::Ok { .. } => "ok",
            Outcome::Fallback { .. } => "fallback",
            Outcome::Unsure { .. } => "unsure",
            Outcome::Violation { .. } => "violation",
            Outcome::Failed { .. } => "failed",
        }
    }

    /// Whether the run may go on after a step ended with this outcome.
    pub fn lets_run_continue(&self) -> bool {
        matches!(
            self,
            Outcome::Ok { .. } | Outcome::Fallback { .. } | Outcome::Unsure { .. }
        )
    }

    /// How bad the outcome is, for taking the worst of several (a `for_each` step's elements,
    /// DESIGN.md "A workflow file"): `ok` 0, `unsure` 1, `fallback` 2, `violation` 3, `failed` 4.
    pub fn severity(&self) -> u8 {
        match self {
            Outcome::Ok { .. } => 0,
            Outcome::Unsure { .. } => 1,
            Outcome::Fallback { .. } => 2,
            Outcome::Violation { .. } => 3,
            Outcome::Failed { .. } => 4,
        }
    }

    /// Whether a person must see the output before it is used: a `fallback` or `unsure`
    /// outcome opens a gate that reviews it even under `autonomy: auto` (DESIGN.md, "Run
    /// semantics").
    pub fn is_degraded(&self) -> bool {
        matches!(self, Outcome::Fallback { .. } | Outcome::Unsure { .. })
    }

    /// The value later steps see as `steps.<id>.output`: the value for `ok` and `fallback`, the
    /// partial answer for `unsure`, nothing otherwise.
    pub fn output(&self) -> Option<&Value> {
        match self {
            Outcome::Ok { value } | Outcome::Fallback { value, .. } => Some(value),
            Outcome::Unsure { partial, .. } => partial.as_ref(),
            Outcome::Violation { .. } | Outcome::Failed { .. } => None,
        }
    }
}
