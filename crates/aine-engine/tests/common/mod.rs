#![allow(
    dead_code,
    reason = "shared by several test binaries; each uses a subset"
)]
#![allow(clippy::unwrap_used, reason = "test helpers")]

//! Helpers shared by the engine tests: a compact plan notation and a text rendering of a state.

use aine_engine::{Action, Phase, Plan, PlanStep, PlanStepKind, RunState, StepState};
use aine_types::{Decision, Event, GateId, Outcome, PersonId, RoleName, RunStatus, StepId};
use serde_json::json;
use ulid::Ulid;

/// `"a b ?g c"`: tasks `a`, `b`, `c` and a gate `g` that reviews the task before it.
pub fn plan(spec: &str) -> Plan {
    let mut steps: Vec<PlanStep> = Vec::new();
    for word in spec.split_whitespace() {
        let (id, kind) = match word.strip_prefix('?') {
            Some(id) => {
                let reviews = steps
                    .iter()
                    .rev()
                    .find(|s| s.kind == PlanStepKind::Task)
                    .map(|s| s.id.clone());
                (id, PlanStepKind::Gate { reviews })
            }
            None => (word, PlanStepKind::Task),
        };
        steps.push(PlanStep { id: step(id), kind });
    }
    Plan { steps }
}

pub fn step(id: &str) -> StepId {
    StepId::new(id).unwrap()
}

pub fn gate(n: u64) -> GateId {
    GateId::from_ulid(Ulid::from_parts(n, 0))
}

pub fn started() -> Event {
    Event::RunStarted {
        workflow: "w".into(),
        workflow_version: 1,
        workflow_sha256: "00".into(),
        inputs: json!({}),
    }
}

pub fn start(id: &str, attempt: u32) -> Event {
    Event::StepStarted {
        step: step(id),
        attempt,
    }
}

pub fn finish(id: &str, attempt: u32, outcome: Outcome) -> Event {
    Event::StepFinished {
        step: step(id),
        attempt,
        outcome,
        why: "test".into(),
        duration_ms: 1,
    }
}

pub fn ok(v: serde_json::Value) -> Outcome {
    Outcome::Ok { value: v }
}

pub fn called(id: &str, call: u32, cents: i64) -> Event {
    Event::ModelCalled {
        step: step(id),
        call,
        element: None,
        model: "local/m".into(),
        provider: "test".into(),
        reason: "route[0]".into(),
        result: aine_types::CallResult::Answered {
            text: "{}".into(),
            response_model: None,
            finish_reason: None,
            verdict: "ok".into(),
            detail: None,
        },
        spend: aine_types::Spend {
            input_tokens: 10,
            output_tokens: 5,
            usd: aine_types::Usd(aine_types::Decimal::new(cents, 2)),
        },
        latency_ms: 1,
    }
}

pub fn evaluated(id: &str, open: bool) -> Event {
    Event::GateEvaluated {
        step: step(id),
        open,
        why: "cond".into(),
        degraded: None,
    }
}

pub fn opened(id: &str, g: u64) -> Event {
    Event::GateOpened {
        step: step(id),
        gate: gate(g),
        owner: RoleName::new("po").unwrap(),
    }
}

pub fn decided(id: &str, g: u64, decision: Decision) -> Event {
    Event::GateDecided {
        step: step(id),
        gate: gate(g),
        decision,
        by: PersonId::new("alice").unwrap(),
        reason: "because".into(),
    }
}

pub fn finished(status: RunStatus) -> Event {
    Event::RunFinished {
        status,
        why: "done".into(),
    }
}

/// One line per step plus the phase and the next actions, for data-driven comparisons.
pub fn render(state: &RunState) -> String {
    let mut out = String::new();
    let phase = match state.phase() {
        Phase::NotStarted => "not_started".to_owned(),
        Phase::Running => "running".to_owned(),
        Phase::Waiting { gate } => format!("waiting {}", short(gate)),
        Phase::Finished { status, .. } => format!("finished {status}"),
    };
    out.push_str(&format!("phase: {phase}\n"));
    for (id, s) in state.steps() {
        let s = match s {
            StepState::Pending => "pending".to_owned(),
            StepState::Running { attempt } => format!("running #{attempt}"),
            StepState::Finished {
                attempt,
                outcome,
                edited_by,
                ..
            } => {
                let value = outcome
                    .output()
                    .map(|v| format!(" {v}"))
                    .unwrap_or_default();
                let edited = edited_by
                    .as_ref()
                    .map(|p| format!(" edited by {p}"))
                    .unwrap_or_default();
                format!("{} #{attempt}{value}{edited}", outcome.kind())
            }
            StepState::GateDue { .. } => "gate due".to_owned(),
            StepState::GatePassed { .. } => "gate passed".to_owned(),
            StepState::GateOpen { gate, .. } => format!("gate open {}", short(gate)),
            StepState::GateDecided { gate, decision, .. } => {
                format!("gate {} {}", short(gate), decision.kind())
            }
        };
        out.push_str(&format!("{id}: {s}\n"));
    }
    for action in state.next_actions() {
        let a = match action {
            Action::RunStep {
                step,
                attempt,
                resumed,
            } => {
                format!(
                    "run {step} #{attempt}{}",
                    if resumed { " (resumed)" } else { "" }
                )
            }
            Action::EvaluateGate { step } => format!("evaluate {step}"),
            Action::OpenGate { step, .. } => format!("open {step}"),
            Action::AwaitDecision { step, gate, owner } => {
                format!("await {step} {} by {owner}", short(&gate))
            }
            Action::FinishRun { status, .. } => format!("finish {status}"),
        };
        out.push_str(&format!("-> {a}\n"));
    }
    out
}

fn short(g: &GateId) -> String {
    format!("g{}", g.ulid().timestamp_ms())
}
