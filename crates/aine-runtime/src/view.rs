//! What `aine show RUN` prints: per step, what it did, why, how long, how many attempts.

use std::collections::HashMap;

use aine_store::RunRecord;
use aine_types::{
    CallResult, Event, GateId, JournalEntry, PersonId, RoleName, RunId, RunStatus, Spend, StepId,
};
use aine_workflow::{StepKind, Workflow};
use serde::Serialize;
use serde_json::Value;

/// A gate's story within a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GateView {
    pub gate: GateId,
    /// The earlier step whose output an `edit` replaces.
    pub reviews: Option<StepId>,
    pub owner: RoleName,
    /// `approve`, `reject` or `edit`; `None` while open.
    pub decision: Option<String>,
    pub decided_by: Option<PersonId>,
    pub reason: Option<String>,
    /// Milliseconds between opening and decision.
    pub waited_ms: Option<i64>,
    /// The output an `edit` decision put in place of the reviewed step's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<Value>,
    /// For an item-by-item review: what the reviewer did to each item.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<aine_types::ItemChange>,
}

/// One element of a `for_each` step as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ElementView {
    /// 0-based position in the step's `for_each` list.
    pub element: u32,
    /// How many elements the list has.
    pub of: u32,
    /// The element's outcome: `ok`, `fallback`, `unsure`, `violation` or `failed`.
    pub outcome: String,
    pub why: String,
    pub duration_ms: u64,
}

/// One model call of a step as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallView {
    pub call: u32,
    /// The `for_each` element the call was made for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub element: Option<u32>,
    pub model: String,
    pub provider: String,
    /// Why the call happened (first in route, escalation, retry, fallback).
    pub reason: String,
    /// `ok`, `unsure`, `violation`, `provider_error` or `budget_refused`.
    pub result: String,
    /// The verdict's detail or the provider error's message.
    pub detail: Option<String>,
    pub spend: Spend,
    pub latency_ms: u64,
}

/// One step of a run as shown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepView {
    pub id: StepId,
    /// `builtin NAME`, `model`, or `gate`.
    pub kind: String,
    /// `pending`, `running`, an outcome (`ok`, `fallback`, `unsure`, `violation`, `failed`), or for gates
    /// `passed`, `due`, `waiting`, `approved`, `rejected`, `edited`.
    pub state: String,
    /// Why the step did what it did (the builtin that ran, the gate's condition, ...).
    pub why: Option<String>,
    /// Attempts started (more than one after an interrupted attempt).
    pub attempts: u32,
    /// Wall time of the finishing attempt, in milliseconds.
    pub duration_ms: Option<u64>,
    /// The step's error, for `failed` and `violation`.
    pub error: Option<String>,
    pub output: Option<Value>,
    pub gate: Option<GateView>,
    /// Model calls, in order (model steps only).
    pub calls: Vec<CallView>,
    /// The finished elements of a `for_each` step, in the order they finished.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub elements: Vec<ElementView>,
    /// Tokens and USD spent by the step.
    pub spend: Spend,
}

/// A run as shown by `aine show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunView {
    pub run: RunId,
    pub workflow: String,
    pub workflow_path: String,
    pub status: RunStatus,
    /// Why the run ended, for finished runs.
    pub why: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    pub inputs: Value,
    pub steps: Vec<StepView>,
    /// Tokens and USD spent by the run.
    pub spend: Spend,
    /// Number of journaled events.
    pub events: u64,
}

/// Builds the view of a run from its record, workflow and journal.
pub fn run_view(record: &RunRecord, workflow: &Workflow, journal: &[JournalEntry]) -> RunView {
    let mut steps: Vec<StepView> = workflow
        .steps
        .iter()
        .map(|s| StepView {
            id: s.id.clone(),
            kind: match &s.kind {
                StepKind::Builtin(b) => format!("builtin {}", b.name),
                StepKind::Model(_) => "model".to_owned(),
                StepKind::Gate(_) => "gate".to_owned(),
            },
            state: "pending".to_owned(),
            why: None,
            attempts: 0,
            duration_ms: None,
            error: None,
            output: None,
            gate: None,
            calls: Vec::new(),
            elements: Vec::new(),
            spend: Spend::default(),
        })
        .collect();
    let index: HashMap<StepId, usize> = steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let mut opened_at: HashMap<GateId, i64> = HashMap::new();
    let mut inputs = Value::Null;
    let mut why_finished = None;
    // The status as of the journal read, not the runs row read before it: a run that finished
    // in between must not show `running` with its `run_finished` already listed.
    let mut status = if journal.is_empty() {
        record.status
    } else {
        RunStatus::Running
    };
    for entry in journal {
        let step_of = |id: &StepId| index.get(id).copied();
        match &entry.event {
            Event::RunStarted { inputs: i, .. } => inputs = i.clone(),
            Event::StepStarted { step, attempt } => {
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.attempts = *attempt;
                    s.state = "running".to_owned();
                }
            }
            Event::StepFinished {
                step,
                outcome,
                why,
                duration_ms,
                ..
            } => {
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.state = outcome.kind().to_owned();
                    s.why = Some(why.clone());
                    s.duration_ms = Some(*duration_ms);
                    s.output = outcome.output().cloned();
                    s.error = match outcome {
                        aine_types::Outcome::Failed { error } => Some(error.clone()),
                        aine_types::Outcome::Violation { errors } => Some(errors.join("; ")),
                        aine_types::Outcome::Unsure { reason, .. } => Some(reason.clone()),
                        // Not an error; `why` names the fallback and its reason.
                        aine_types::Outcome::Ok { .. } | aine_types::Outcome::Fallback { .. } => {
                            None
                        }
                    };
                }
            }
            Event::ElementFinished {
                step,
                element,
                of,
                outcome,
                why,
                duration_ms,
            } => {
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.elements.push(ElementView {
                        element: *element,
                        of: *of,
                        outcome: outcome.kind().to_owned(),
                        why: why.clone(),
                        duration_ms: *duration_ms,
                    });
                }
            }
            Event::ModelCalled {
                step,
                call,
                element,
                model,
                provider,
                reason,
                result,
                spend,
                latency_ms,
            } => {
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    let (result, detail) = match result {
                        CallResult::Answered {
                            verdict, detail, ..
                        } => (verdict.clone(), detail.clone()),
                        CallResult::ProviderError { kind, message, .. } => {
                            (format!("provider_error ({kind})"), Some(message.clone()))
                        }
                        CallResult::BudgetRefused { detail } => {
                            ("budget_refused".to_owned(), Some(detail.clone()))
                        }
                    };
                    s.spend += *spend;
                    s.calls.push(CallView {
                        call: *call,
                        element: *element,
                        model: model.clone(),
                        provider: provider.clone(),
                        reason: reason.clone(),
                        result,
                        detail,
                        spend: *spend,
                        latency_ms: *latency_ms,
                    });
                }
            }
            Event::GateEvaluated {
                step, open, why, ..
            } => {
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.state = if *open { "due" } else { "passed" }.to_owned();
                    s.why = Some(why.clone());
                }
            }
            Event::GateOpened { step, gate, owner } => {
                status = RunStatus::Waiting;
                opened_at.insert(*gate, entry.at_ms);
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.state = "waiting".to_owned();
                    s.gate = Some(GateView {
                        gate: *gate,
                        reviews: workflow.step(step).and_then(|w| match &w.kind {
                            StepKind::Gate(g) => g.reviews.clone(),
                            _ => None,
                        }),
                        owner: owner.clone(),
                        decision: None,
                        decided_by: None,
                        reason: None,
                        waited_ms: None,
                        edit: None,
                        changes: Vec::new(),
                    });
                }
            }
            Event::GateDecided {
                step,
                gate,
                decision,
                by,
                reason,
            } => {
                status = RunStatus::Running;
                if let Some(s) = step_of(step).and_then(|i| steps.get_mut(i)) {
                    s.state = match decision {
                        aine_types::Decision::Approve => "approved",
                        aine_types::Decision::Reject => "rejected",
                        aine_types::Decision::Edit { .. } => "edited",
                    }
                    .to_owned();
                    if let Some(g) = s.gate.as_mut() {
                        g.decision = Some(decision.kind().to_owned());
                        g.decided_by = Some(by.clone());
                        g.reason = Some(reason.clone());
                        g.waited_ms = opened_at.get(gate).map(|t| entry.at_ms - t);
                        if let aine_types::Decision::Edit { output, changes } = decision {
                            g.edit = Some(output.clone());
                            g.changes.clone_from(changes);
                        }
                    }
                }
            }
            Event::RunFinished { status: ended, why } => {
                status = *ended;
                why_finished = Some(why.clone());
            }
        }
    }
    RunView {
        run: record.id,
        workflow: record.workflow.clone(),
        workflow_path: record.workflow_path.clone(),
        status,
        why: why_finished,
        created_at_ms: record.created_at_ms,
        updated_at_ms: record.updated_at_ms,
        inputs,
        spend: steps.iter().fold(Spend::default(), |mut acc, s| {
            acc += s.spend;
            acc
        }),
        steps,
        events: journal.len() as u64,
    }
}
