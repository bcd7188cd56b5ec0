//! Journal events: the single source of truth of a run. A run's state is a fold over them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{GateId, Outcome, PersonId, RoleName, Spend, StepId};

/// The status of a run, as stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Steps are being executed (or were, when the process died: `aine resume` continues it).
    Running,
    /// Suspended at an open gate until its owner decides.
    Waiting,
    /// Every step finished and every gate was approved.
    Succeeded,
    /// A step ended `failed` or `violation`.
    Failed,
    /// A gate's owner rejected the run.
    Rejected,
}

impl RunStatus {
    /// All statuses, in display order.
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Running,
        RunStatus::Waiting,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Rejected,
    ];

    /// Whether no further event can change the run.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Succeeded | RunStatus::Failed | RunStatus::Rejected
        )
    }

    /// The status as stored and printed (`running`, `waiting`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Waiting => "waiting",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Rejected => "rejected",
        }
    }

    /// Parses the stored form; `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// A run status that is not one: says which ones there are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStatus(pub String);

impl std::fmt::Display for UnknownStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown status `{}`; use one of running, waiting, succeeded, failed, rejected",
            self.0
        )
    }
}

impl std::error::Error for UnknownStatus {}

impl std::str::FromStr for RunStatus {
    type Err = UnknownStatus;

    /// The stored form (`running`, `waiting`, `succeeded`, `failed`, `rejected`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s).ok_or_else(|| UnknownStatus(s.to_owned()))
    }
}

impl std::fmt::Display for RunStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a gate's owner decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Let the run continue with the output as it is.
    Approve,
    /// Stop the run; it ends `rejected`.
    Reject,
    /// Replace the reviewed step's output with a human version (already checked against that
    /// step's output contract by whoever journals this) and continue. `changes` says, item by
    /// item, what the reviewer did (empty when the edit was made to the output as a whole, e.g.
    /// as JSON).
    Edit {
        output: Value,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        changes: Vec<ItemChange>,
    },
}

/// What a reviewer did to one item (a requirement, user story, open question: anything with an
/// `id` in the reviewed output) in an item-by-item review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemChange {
    /// The item's id in the reviewed output (`REQ-003`); for an added item, its id in the new
    /// output.
    pub item: String,
    pub change: ChangeKind,
    /// The reviewer's reason for this item, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// For [`ChangeKind::MovedToQuestions`]: the id of the open question it became.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub became: Option<String>,
}

/// The kinds of [`ItemChange`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Kept as drafted.
    Accepted,
    /// Removed from the output.
    Rejected,
    /// Kept with a new text.
    Edited,
    /// Written by the reviewer.
    Added,
    /// Removed and turned into an open question quoting the same sources.
    MovedToQuestions,
}

impl ChangeKind {
    /// `accepted`, `rejected`, `edited`, `added`, `moved_to_questions`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Accepted => "accepted",
            ChangeKind::Rejected => "rejected",
            ChangeKind::Edited => "edited",
            ChangeKind::Added => "added",
            ChangeKind::MovedToQuestions => "moved_to_questions",
        }
    }
}

impl Decision {
    /// `approve`, `reject` or `edit`.
    pub fn kind(&self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
            Decision::Edit { .. } => "edit",
        }
    }
}

/// What one model call of a model step came to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum CallResult {
    /// The provider answered. `verdict` is what the runtime made of the answer against the
    /// step's contract: `ok`, `unsure` or `violation` (with `detail`).
    Answered {
        text: String,
        /// The model id the provider says answered (`gen_ai.response.model`), which may differ
        /// from the route name (an alias, a dated snapshot); `None` when it did not say.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        response_model: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        finish_reason: Option<String>,
        verdict: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
    },
    /// The provider failed (timeout, 429, 5xx, truncated body, ...); `kind` names the class.
    ProviderError {
        kind: String,
        message: String,
        retryable: bool,
        /// The provider's `Retry-After`, in milliseconds, if it sent one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    /// The call was not made: its worst-case cost could exceed a budget (`detail` says which).
    BudgetRefused { detail: String },
}

/// One journaled event of a run.
///
/// Every event is committed to the journal before its effect counts as done (DESIGN.md, "Run
/// semantics"); the engine (`aine-engine`) decides which events are legal in which state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The run was created from a validated workflow with these inputs.
    RunStarted {
        workflow: String,
        workflow_version: u32,
        /// SHA-256 (hex) of the workflow file's bytes, so a changed file is noticed on resume.
        workflow_sha256: String,
        inputs: Value,
    },
    /// An attempt at a builtin or model step began. A later `StepStarted` for the same step
    /// without a `StepFinished` in between means the earlier attempt was interrupted.
    StepStarted { step: StepId, attempt: u32 },
    /// The attempt ended with `outcome`; `why` says how (e.g. the builtin that ran, a fallback).
    StepFinished {
        step: StepId,
        attempt: u32,
        outcome: Outcome,
        why: String,
        /// Wall time of the attempt in milliseconds.
        duration_ms: u64,
    },
    /// A model step made (or, for `BudgetRefused`, declined to make) one model call. Journaled
    /// as soon as the answer arrives, so a resumed step replays it instead of paying again.
    ModelCalled {
        step: StepId,
        /// 1-based index of the call within the step, across interrupted attempts (and across
        /// the elements of a `for_each` step).
        call: u32,
        /// For a `for_each` step, the 0-based element the call was made for.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        element: Option<u32>,
        /// Route name, e.g. `local/gemma-3-270m`.
        model: String,
        /// `gen_ai.provider.name`, e.g. `openai`, `llama.cpp`.
        provider: String,
        /// Why this call happened: first in route, escalation, retry, fallback.
        reason: String,
        result: CallResult,
        /// Tokens and cost of this call (zero for a refused call).
        spend: Spend,
        /// Wall time of the call in milliseconds.
        latency_ms: u64,
    },
    /// One element of a `for_each` step ended (DESIGN.md, "A workflow file"). Journaled as
    /// soon as the element ends, so a resumed step runs only the elements without one; the
    /// step's `StepFinished` follows once every element has ended.
    ElementFinished {
        step: StepId,
        /// 0-based index of the element in the step's `for_each` list.
        element: u32,
        /// How many elements the list has.
        of: u32,
        outcome: Outcome,
        why: String,
        /// Wall time of the element in milliseconds.
        duration_ms: u64,
    },
    /// A gate's `when` condition was evaluated; a closed gate (`open: false`) is passed.
    GateEvaluated {
        step: StepId,
        open: bool,
        why: String,
        /// Set when the gate opened by policy although its condition did not hold: the step
        /// with a `fallback` or `unsure` outcome that a person must see (autonomy `auto`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        degraded: Option<StepId>,
    },
    /// The gate is open and the run waits for one of `owner`'s people.
    GateOpened {
        step: StepId,
        gate: GateId,
        owner: RoleName,
    },
    /// A person decided an open gate.
    GateDecided {
        step: StepId,
        gate: GateId,
        decision: Decision,
        by: PersonId,
        reason: String,
    },
    /// The run reached a terminal status.
    RunFinished { status: RunStatus, why: String },
}

impl Event {
    /// The event's type name as stored in the journal's `kind` column (`run_started`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::RunStarted { .. } => "run_started",
            Event::StepStarted { .. } => "step_started",
            Event::StepFinished { .. } => "step_finished",
            Event::ModelCalled { .. } => "model_called",
            Event::ElementFinished { .. } => "element_finished",
            Event::GateEvaluated { .. } => "gate_evaluated",
            Event::GateOpened { .. } => "gate_opened",
            Event::GateDecided { .. } => "gate_decided",
            Event::RunFinished { .. } => "run_finished",
        }
    }
}

/// An event as stored: its position in the run's journal and when it was committed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    /// 1-based position in the run's journal; gap-free.
    pub seq: u64,
    /// Commit time, milliseconds since the Unix epoch.
    pub at_ms: i64,
    pub event: Event,
}
