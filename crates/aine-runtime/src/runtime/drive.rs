//! Driving a run: the engine's actions performed and their results journaled, until the run
//! finishes or waits at a gate.

use std::panic::AssertUnwindSafe;

use aine_engine::{Action, RunState, StepState};
use aine_types::{Event, GateId, RunId, RunStatus, StepId};
use aine_workflow::{Autonomy, StepKind, Workflow};
use futures_util::FutureExt as _;
use serde_json::Value;
use ulid::Ulid;

use super::step::failed;
use super::{Loaded, Observer, RunSummary, Runtime, Started, Unsaved, template_context};
use crate::error::{Error, Result};

impl Runtime {
    /// Drives a run just created by [`Runtime::start`] (or prepared by [`Runtime::prepare`]:
    /// its first commit creates it), as [`Runtime::drive`] does, without reading back from the
    /// store what `start` has just written.
    pub async fn drive_started(
        &self,
        started: Started,
        observer: &dyn Observer,
    ) -> Result<RunSummary> {
        self.drive_loaded(&started.run, started.loaded, started.unsaved, observer)
            .await
    }

    /// Continues a run that is neither finished nor waiting (e.g. after a crash).
    pub async fn resume(&self, run: &RunId, observer: &dyn Observer) -> Result<RunSummary> {
        let record = self.store.run(run).await?;
        match record.status {
            status if status.is_terminal() => Err(Error::RunFinished { run: *run, status }),
            RunStatus::Waiting => {
                let summary = self.summary(run).await?;
                let waiting = summary.waiting.ok_or(Error::Corrupt {
                    run: *run,
                    message: "stored as waiting but no gate is open".to_owned(),
                })?;
                Err(Error::RunWaiting {
                    run: *run,
                    waiting: Box::new(waiting),
                })
            }
            _ => self.drive(run, observer).await,
        }
    }

    /// Drives `run` until it finishes or waits at a gate.
    pub async fn drive(&self, run: &RunId, observer: &dyn Observer) -> Result<RunSummary> {
        let loaded = self.load(run).await?;
        self.drive_loaded(run, loaded, None, observer).await
    }

    async fn drive_loaded(
        &self,
        run: &RunId,
        loaded: Loaded,
        unsaved: Option<Unsaved>,
        observer: &dyn Observer,
    ) -> Result<RunSummary> {
        let Loaded {
            workflow,
            mut state,
            mut next_seq,
        } = loaded;
        observer.on_drive(run, &workflow, &state);
        let mut journal = self.journal(*run, &workflow, observer, &mut next_seq);
        if let Some(unsaved) = unsaved {
            journal.create(unsaved);
        }
        while let Some(action) = state.next_actions().into_iter().next() {
            if matches!(action, Action::AwaitDecision { .. }) {
                break;
            }
            observer.on_action(run, &action);
            match action {
                Action::RunStep {
                    step,
                    attempt,
                    resumed,
                } => {
                    journal.record(
                        &mut state,
                        Event::StepStarted {
                            step: step.clone(),
                            attempt,
                        },
                    )?;
                    // The step's work is visible outside the run: what led to it first.
                    journal.flush().await?;
                    let begin = self.clock.now_ms();
                    // A panic inside the step (a bug in aine or a library) ends the step
                    // `failed` with the reason, so the run ends in a defined state.
                    let executed = AssertUnwindSafe(self.execute(
                        &mut journal,
                        &mut state,
                        &workflow,
                        &step,
                        attempt,
                    ))
                    .catch_unwind()
                    .await;
                    let (outcome, mut why) = match executed {
                        Ok(result) => result?,
                        Err(panic) => failed(
                            format!(
                                "aine stopped unexpectedly in this step ({}); this is a bug, please report it with `aine show`",
                                crate::panic_message(panic.as_ref())
                            ),
                            "step",
                        ),
                    };
                    if resumed {
                        why.push_str(&format!(
                            "; attempt {attempt}, after an interrupted attempt"
                        ));
                    }
                    let duration_ms = u64::try_from(self.clock.now_ms() - begin).unwrap_or(0);
                    let finished = Event::StepFinished {
                        step,
                        attempt,
                        outcome,
                        why,
                        duration_ms,
                    };
                    journal.record(&mut state, finished)?;
                }
                Action::EvaluateGate { step } => {
                    let ctx = template_context(run, &state);
                    let (open, why, degraded) = gate_decision(&workflow, &step, &ctx, &state);
                    let evaluated = Event::GateEvaluated {
                        step,
                        open,
                        why,
                        degraded,
                    };
                    journal.record(&mut state, evaluated)?;
                }
                Action::OpenGate { step, .. } => {
                    let owner = gate_role(&workflow, &step).ok_or_else(|| Error::Corrupt {
                        run: *run,
                        message: format!("step `{step}` is not a gate in the stored workflow"),
                    })?;
                    let gate = GateId::from_ulid(Ulid::from_datetime(self.system_time()));
                    journal.record(&mut state, Event::GateOpened { step, gate, owner })?;
                }
                Action::FinishRun { status, why } => {
                    journal.record(&mut state, Event::RunFinished { status, why })?;
                }
                Action::AwaitDecision { .. } => break,
            }
        }
        journal.flush().await?;
        Ok(self.summarize(run, &workflow, &state))
    }
}

/// Whether gate `step` opens, and why, under its autonomy (DESIGN.md, "Words"):
/// - `review`: the owner always decides;
/// - `suggest`: the owner always decides, and only by `edit` (a person does the work);
/// - `auto`: the gate opens when its `when` condition holds, or when the step it reviews, or a
///   step that one reads (transitively), ended `fallback` or `unsure` (DESIGN.md, "Run
///   semantics": no degraded draft publishes unseen);
///   otherwise the system approves by policy (recorded in the audit log as
///   `gate.auto_approved`).
///
/// A condition that cannot be evaluated opens the gate: a gate is never skipped by an error.
fn gate_decision(
    workflow: &Workflow,
    step: &StepId,
    ctx: &Value,
    state: &RunState,
) -> (bool, String, Option<StepId>) {
    let (holds, condition) = match workflow.eval_when(step, ctx) {
        Ok(result) => result,
        Err(e) => {
            return (
                true,
                format!("condition could not be evaluated ({e}); opened to be safe"),
                None,
            );
        }
    };
    match workflow.gate_autonomy(step).unwrap_or_default() {
        Autonomy::Review => (
            true,
            format!("autonomy `review`: the owner always decides ({condition})"),
            None,
        ),
        Autonomy::Suggest => (
            true,
            "autonomy `suggest`: a person must edit the output before it is used".to_owned(),
            None,
        ),
        Autonomy::Auto if holds => (true, format!("autonomy `auto`: {condition}"), None),
        Autonomy::Auto
            if let Some((reviewed, outcome)) = degraded_review(workflow, step, state) =>
        {
            (
                true,
                format!(
                    "autonomy `auto`: {condition}, but step `{reviewed}` ended `{outcome}`, so a person reviews it"
                ),
                Some(reviewed.clone()),
            )
        }
        Autonomy::Auto => (
            false,
            format!("autonomy `auto`: {condition}, so the system approved by policy `auto`"),
            None,
        ),
    }
}

/// The first step with a degraded outcome (`fallback` or `unsure`) among the step gate `step`
/// reviews and the steps it reads, transitively; with that outcome's kind.
fn degraded_review<'a>(
    workflow: &'a Workflow,
    step: &StepId,
    state: &RunState,
) -> Option<(&'a StepId, &'static str)> {
    let StepKind::Gate(gate) = &workflow.step(step)?.kind else {
        return None;
    };
    let mut todo: Vec<&StepId> = vec![gate.reviews.as_ref()?];
    let mut seen: Vec<&StepId> = Vec::new();
    while let Some(id) = todo.pop() {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        if let Some(StepState::Finished { outcome, .. }) = state.step(id)
            && outcome.is_degraded()
        {
            return Some((id, outcome.kind()));
        }
        todo.extend(workflow.step(id).into_iter().flat_map(|s| &s.depends_on));
    }
    None
}

fn gate_role(workflow: &Workflow, step: &StepId) -> Option<aine_types::RoleName> {
    match &workflow.step(step)?.kind {
        StepKind::Gate(g) => Some(g.role.clone()),
        _ => None,
    }
}
