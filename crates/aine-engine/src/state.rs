//! The run state and its transition function.

use aine_types::{Decision, Event, GateId, Outcome, PersonId, RoleName, RunStatus, Spend, StepId};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::{Plan, PlanStepKind};

/// Where a step stands.
#[derive(Debug, Clone, PartialEq)]
pub enum StepState {
    /// Not reached yet.
    Pending,
    /// Attempt `attempt` started and has not finished (or was interrupted by a crash).
    Running { attempt: u32 },
    /// The step finished; `edited_by` is set when a gate's `edit` replaced its output.
    Finished {
        attempt: u32,
        outcome: Outcome,
        why: String,
        duration_ms: u64,
        edited_by: Option<PersonId>,
    },
    /// A gate whose condition held; it is about to be opened.
    GateDue { why: String },
    /// A gate whose condition did not hold: passed without a decision.
    GatePassed { why: String },
    /// An open gate waiting for a person of `owner`.
    GateOpen {
        gate: GateId,
        owner: RoleName,
        why: String,
    },
    /// A decided gate.
    GateDecided {
        gate: GateId,
        decision: Decision,
        by: PersonId,
        reason: String,
    },
}

impl StepState {
    fn is_done(&self) -> bool {
        matches!(
            self,
            StepState::Finished { .. }
                | StepState::GatePassed { .. }
                | StepState::GateDecided { .. }
        )
    }
}

/// How one element of a `for_each` step ended (its `ElementFinished` event).
#[derive(Debug, Clone, PartialEq)]
pub struct ElementDone {
    pub outcome: Outcome,
    pub why: String,
    pub duration_ms: u64,
}

/// The run's overall phase.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// No `RunStarted` yet.
    NotStarted,
    /// Executing steps.
    Running,
    /// Suspended at an open gate.
    Waiting { gate: GateId },
    /// Terminal.
    Finished { status: RunStatus, why: String },
}

/// What the runtime must do next.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Journal `StepStarted { step, attempt }`, execute the step, journal `StepFinished`.
    /// `resumed` is true when an earlier attempt was interrupted before finishing.
    RunStep {
        step: StepId,
        attempt: u32,
        resumed: bool,
    },
    /// Evaluate the gate's `when` condition and journal `GateEvaluated`.
    EvaluateGate { step: StepId },
    /// Journal `GateOpened` with a new gate id.
    OpenGate { step: StepId, why: String },
    /// Nothing to do until `owner` decides `gate`.
    AwaitDecision {
        step: StepId,
        gate: GateId,
        owner: RoleName,
    },
    /// Journal `RunFinished { status, why }`.
    FinishRun { status: RunStatus, why: String },
}

/// Why an event was refused. The state is unchanged after a refusal.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("the run has already started")]
    AlreadyStarted,
    #[error("the run has not started")]
    NotStarted,
    #[error("the run is {0} and accepts no more events")]
    Finished(RunStatus),
    #[error("the run is waiting for gate {gate}; only a decision on it is accepted")]
    Waiting { gate: GateId },
    #[error("step `{0}` is not in the workflow")]
    UnknownStep(StepId),
    #[error("event `{event}` names step `{got}` but the current step is {expected}")]
    NotCurrentStep {
        event: &'static str,
        expected: String,
        got: StepId,
    },
    #[error("event `{event}` does not apply to step `{step}` in its current state")]
    WrongStepState { event: &'static str, step: StepId },
    #[error("attempt {got} of step `{step}` does not follow attempt {expected}")]
    WrongAttempt {
        step: StepId,
        expected: u32,
        got: u32,
    },
    #[error("gate {0} is not open")]
    GateNotOpen(GateId),
    #[error("model call {got} of step `{step}` does not follow call {expected}")]
    WrongCall {
        step: StepId,
        expected: u32,
        got: u32,
    },
    #[error("element {element} of step `{step}` has already finished")]
    ElementRepeated { step: StepId, element: u32 },
    #[error("the run must finish `{expected}` here, not `{got}`")]
    WrongFinish { expected: String, got: RunStatus },
}

/// A run's state: a fold over its journal.
#[derive(Debug, Clone, PartialEq)]
pub struct RunState {
    plan: Plan,
    phase: Phase,
    inputs: Value,
    steps: Vec<StepState>,
    /// Index of the first step that is not done.
    cursor: usize,
    /// Set when a step's outcome or a rejection decided how the run ends.
    ending: Option<(RunStatus, String)>,
    /// The `ModelCalled` events of each step, in order (a resumed step replays them).
    calls: Vec<Vec<Event>>,
    /// The finished elements of each `for_each` step, by element index (kept across attempts).
    elements: Vec<BTreeMap<u32, ElementDone>>,
    /// Spend of each step, and of the whole run.
    step_spend: Vec<Spend>,
    total_spend: Spend,
}

impl RunState {
    /// The state of a run of `plan` before its first event.
    pub fn new(plan: Plan) -> Self {
        let n = plan.steps.len();
        Self {
            plan,
            phase: Phase::NotStarted,
            inputs: Value::Null,
            steps: vec![StepState::Pending; n],
            cursor: 0,
            ending: None,
            calls: vec![Vec::new(); n],
            elements: vec![BTreeMap::new(); n],
            step_spend: vec![Spend::default(); n],
            total_spend: Spend::default(),
        }
    }

    /// Folds `events` into a new state; the first refused event stops the fold.
    pub fn fold<'a>(
        plan: Plan,
        events: impl IntoIterator<Item = &'a Event>,
    ) -> Result<Self, EngineError> {
        let mut state = Self::new(plan);
        for event in events {
            state.apply(event)?;
        }
        Ok(state)
    }

    /// The plan this run follows.
    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// The run's phase.
    pub fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The run's status as stored (`None` before `RunStarted`).
    pub fn status(&self) -> Option<RunStatus> {
        match &self.phase {
            Phase::NotStarted => None,
            Phase::Running => Some(RunStatus::Running),
            Phase::Waiting { .. } => Some(RunStatus::Waiting),
            Phase::Finished { status, .. } => Some(*status),
        }
    }

    /// The inputs the run was started with.
    pub fn inputs(&self) -> &Value {
        &self.inputs
    }

    /// Each plan step with its state, in order.
    pub fn steps(&self) -> impl Iterator<Item = (&StepId, &StepState)> {
        self.plan.steps.iter().map(|s| &s.id).zip(self.steps.iter())
    }

    /// The state of step `id`.
    pub fn step(&self, id: &StepId) -> Option<&StepState> {
        self.plan.index_of(id).and_then(|i| self.steps.get(i))
    }

    /// The `ModelCalled` events journaled for step `id`, in call order.
    pub fn model_calls(&self, id: &StepId) -> &[Event] {
        self.plan
            .index_of(id)
            .and_then(|i| self.calls.get(i))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The elements of `for_each` step `id` that have finished, by 0-based element index.
    pub fn finished_elements(&self, id: &StepId) -> Option<&BTreeMap<u32, ElementDone>> {
        self.plan.index_of(id).and_then(|i| self.elements.get(i))
    }

    /// Tokens and USD spent by step `id` so far.
    pub fn step_spend(&self, id: &StepId) -> Spend {
        self.plan
            .index_of(id)
            .and_then(|i| self.step_spend.get(i).copied())
            .unwrap_or_default()
    }

    /// Tokens and USD spent by the whole run so far.
    pub fn total_spend(&self) -> Spend {
        self.total_spend
    }

    /// Applies one event. On success returns what to do next; on refusal the state is unchanged.
    pub fn apply(&mut self, event: &Event) -> Result<Vec<Action>, EngineError> {
        self.transition(event)?;
        Ok(self.next_actions())
    }

    /// What the runtime must do now (empty when finished or not started).
    pub fn next_actions(&self) -> Vec<Action> {
        match &self.phase {
            Phase::NotStarted | Phase::Finished { .. } => Vec::new(),
            Phase::Waiting { gate } => match (
                self.plan.steps.get(self.cursor),
                self.steps.get(self.cursor),
            ) {
                (Some(plan_step), Some(StepState::GateOpen { owner, .. })) => {
                    vec![Action::AwaitDecision {
                        step: plan_step.id.clone(),
                        gate: *gate,
                        owner: owner.clone(),
                    }]
                }
                _ => Vec::new(),
            },
            Phase::Running => vec![self.running_action()],
        }
    }

    fn running_action(&self) -> Action {
        if let Some((status, why)) = &self.ending {
            return Action::FinishRun {
                status: *status,
                why: why.clone(),
            };
        }
        let (Some(plan_step), Some(state)) = (
            self.plan.steps.get(self.cursor),
            self.steps.get(self.cursor),
        ) else {
            return Action::FinishRun {
                status: RunStatus::Succeeded,
                why: "every step finished".to_owned(),
            };
        };
        let step = plan_step.id.clone();
        match state {
            StepState::Running { attempt } => Action::RunStep {
                step,
                attempt: attempt + 1,
                resumed: true,
            },
            StepState::GateDue { why } => Action::OpenGate {
                step,
                why: why.clone(),
            },
            _ => match plan_step.kind {
                PlanStepKind::Task => Action::RunStep {
                    step,
                    attempt: 1,
                    resumed: false,
                },
                PlanStepKind::Gate { .. } => Action::EvaluateGate { step },
            },
        }
    }

    fn current(&self, event: &'static str, step: &StepId) -> Result<usize, EngineError> {
        let index = self
            .plan
            .index_of(step)
            .ok_or_else(|| EngineError::UnknownStep(step.clone()))?;
        if index != self.cursor || self.ending.is_some() {
            let expected = match (&self.ending, self.plan.steps.get(self.cursor)) {
                (Some(_), _) | (None, None) => "none (the run must finish)".to_owned(),
                (None, Some(s)) => format!("`{}`", s.id),
            };
            return Err(EngineError::NotCurrentStep {
                event,
                expected,
                got: step.clone(),
            });
        }
        Ok(index)
    }

    fn require_running(&self) -> Result<(), EngineError> {
        match &self.phase {
            Phase::Running => Ok(()),
            Phase::NotStarted => Err(EngineError::NotStarted),
            Phase::Waiting { gate } => Err(EngineError::Waiting { gate: *gate }),
            Phase::Finished { status, .. } => Err(EngineError::Finished(*status)),
        }
    }

    fn transition(&mut self, event: &Event) -> Result<(), EngineError> {
        let kind = event.kind();
        match event {
            Event::RunStarted { inputs, .. } => {
                if self.phase != Phase::NotStarted {
                    return Err(EngineError::AlreadyStarted);
                }
                self.phase = Phase::Running;
                self.inputs = inputs.clone();
            }
            Event::StepStarted { step, attempt } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                let expected = match (&self.plan.steps[i].kind, &self.steps[i]) {
                    (PlanStepKind::Task, StepState::Pending) => 1,
                    (PlanStepKind::Task, StepState::Running { attempt }) => attempt + 1,
                    _ => {
                        return Err(EngineError::WrongStepState {
                            event: kind,
                            step: step.clone(),
                        });
                    }
                };
                if *attempt != expected {
                    return Err(EngineError::WrongAttempt {
                        step: step.clone(),
                        expected,
                        got: *attempt,
                    });
                }
                self.steps[i] = StepState::Running { attempt: *attempt };
            }
            Event::StepFinished {
                step,
                attempt,
                outcome,
                why,
                duration_ms,
            } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                let StepState::Running { attempt: running } = self.steps[i] else {
                    return Err(EngineError::WrongStepState {
                        event: kind,
                        step: step.clone(),
                    });
                };
                if *attempt != running {
                    return Err(EngineError::WrongAttempt {
                        step: step.clone(),
                        expected: running,
                        got: *attempt,
                    });
                }
                if !outcome.lets_run_continue() {
                    self.ending = Some((
                        RunStatus::Failed,
                        format!("step `{step}` ended {}: {why}", outcome.kind()),
                    ));
                }
                self.steps[i] = StepState::Finished {
                    attempt: *attempt,
                    outcome: outcome.clone(),
                    why: why.clone(),
                    duration_ms: *duration_ms,
                    edited_by: None,
                };
                self.cursor += 1;
            }
            Event::ModelCalled {
                step, call, spend, ..
            } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                if !matches!(self.steps[i], StepState::Running { .. }) {
                    return Err(EngineError::WrongStepState {
                        event: kind,
                        step: step.clone(),
                    });
                }
                let expected = self.calls[i].len() as u32 + 1;
                if *call != expected {
                    return Err(EngineError::WrongCall {
                        step: step.clone(),
                        expected,
                        got: *call,
                    });
                }
                self.calls[i].push(event.clone());
                self.step_spend[i] += *spend;
                self.total_spend += *spend;
            }
            Event::ElementFinished {
                step,
                element,
                outcome,
                why,
                duration_ms,
                ..
            } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                if !matches!(self.steps[i], StepState::Running { .. }) {
                    return Err(EngineError::WrongStepState {
                        event: kind,
                        step: step.clone(),
                    });
                }
                if self.elements[i].contains_key(element) {
                    return Err(EngineError::ElementRepeated {
                        step: step.clone(),
                        element: *element,
                    });
                }
                self.elements[i].insert(
                    *element,
                    ElementDone {
                        outcome: outcome.clone(),
                        why: why.clone(),
                        duration_ms: *duration_ms,
                    },
                );
            }
            Event::GateEvaluated {
                step, open, why, ..
            } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                if !matches!(
                    (&self.plan.steps[i].kind, &self.steps[i]),
                    (PlanStepKind::Gate { .. }, StepState::Pending)
                ) {
                    return Err(EngineError::WrongStepState {
                        event: kind,
                        step: step.clone(),
                    });
                }
                if *open {
                    self.steps[i] = StepState::GateDue { why: why.clone() };
                } else {
                    self.steps[i] = StepState::GatePassed { why: why.clone() };
                    self.cursor += 1;
                }
            }
            Event::GateOpened { step, gate, owner } => {
                self.require_running()?;
                let i = self.current(kind, step)?;
                let StepState::GateDue { why } = &self.steps[i] else {
                    return Err(EngineError::WrongStepState {
                        event: kind,
                        step: step.clone(),
                    });
                };
                self.steps[i] = StepState::GateOpen {
                    gate: *gate,
                    owner: owner.clone(),
                    why: why.clone(),
                };
                self.phase = Phase::Waiting { gate: *gate };
            }
            Event::GateDecided {
                step,
                gate,
                decision,
                by,
                reason,
            } => self.decide(step, gate, decision, by, reason)?,
            Event::RunFinished { status, why } => {
                self.require_running()?;
                let expected = match self.running_action() {
                    Action::FinishRun { status, .. } => status,
                    _ => {
                        return Err(EngineError::WrongFinish {
                            expected: "nothing (steps remain)".to_owned(),
                            got: *status,
                        });
                    }
                };
                if expected != *status {
                    return Err(EngineError::WrongFinish {
                        expected: expected.to_string(),
                        got: *status,
                    });
                }
                self.phase = Phase::Finished {
                    status: *status,
                    why: why.clone(),
                };
            }
        }
        Ok(())
    }

    fn decide(
        &mut self,
        step: &StepId,
        gate: &GateId,
        decision: &Decision,
        by: &PersonId,
        reason: &str,
    ) -> Result<(), EngineError> {
        match &self.phase {
            Phase::Waiting { gate: open } if open == gate => {}
            Phase::Finished { status, .. } => return Err(EngineError::Finished(*status)),
            _ => return Err(EngineError::GateNotOpen(*gate)),
        }
        let i = self.current("gate_decided", step)?;
        let reviews = match &self.plan.steps[i].kind {
            PlanStepKind::Gate { reviews } => reviews.clone(),
            PlanStepKind::Task => None,
        };
        if let Decision::Edit { output, .. } = decision {
            let target = reviews
                .as_ref()
                .and_then(|r| self.plan.index_of(r))
                .filter(|&t| t < i && matches!(self.steps[t], StepState::Finished { .. }))
                .ok_or_else(|| EngineError::WrongStepState {
                    event: "gate_decided",
                    step: step.clone(),
                })?;
            if let StepState::Finished {
                outcome, edited_by, ..
            } = &mut self.steps[target]
            {
                *outcome = Outcome::Ok {
                    value: output.clone(),
                };
                *edited_by = Some(by.clone());
            }
        }
        if matches!(decision, Decision::Reject) {
            self.ending = Some((
                RunStatus::Rejected,
                format!("{by} rejected at gate `{step}`: {reason}"),
            ));
        }
        self.steps[i] = StepState::GateDecided {
            gate: *gate,
            decision: decision.clone(),
            by: by.clone(),
            reason: reason.to_owned(),
        };
        self.cursor += 1;
        self.phase = Phase::Running;
        Ok(())
    }

    /// Checks the invariants every reachable state satisfies; returns the first broken one.
    /// Used by the property tests, and cheap enough for debug assertions.
    pub fn check_invariants(&self) -> Result<(), String> {
        if self.steps.len() != self.plan.steps.len() {
            return Err("one state per plan step".into());
        }
        if self.cursor > self.steps.len() {
            return Err("cursor past the end".into());
        }
        for (i, s) in self.steps.iter().enumerate() {
            let done = s.is_done();
            if i < self.cursor && !done {
                return Err(format!("step {i} before the cursor is not done"));
            }
            if i > self.cursor && !matches!(s, StepState::Pending) {
                return Err(format!("step {i} after the cursor is not pending"));
            }
            if i == self.cursor && done {
                return Err(format!("step {i} at the cursor is already done"));
            }
            let is_gate = matches!(self.plan.steps[i].kind, PlanStepKind::Gate { .. });
            let gate_state = matches!(
                s,
                StepState::GateDue { .. }
                    | StepState::GatePassed { .. }
                    | StepState::GateOpen { .. }
                    | StepState::GateDecided { .. }
            );
            let task_state = matches!(s, StepState::Running { .. } | StepState::Finished { .. });
            if (is_gate && task_state) || (!is_gate && gate_state) {
                return Err(format!("step {i} has a state of the wrong kind"));
            }
        }
        let summed = self.step_spend.iter().fold(Spend::default(), |mut acc, s| {
            acc += *s;
            acc
        });
        if summed != self.total_spend {
            return Err("run spend is not the sum of step spends".into());
        }
        for (i, calls) in self.calls.iter().enumerate() {
            if !calls.is_empty() && i > self.cursor {
                return Err(format!("step {i} has model calls but was not reached"));
            }
        }
        for (i, elements) in self.elements.iter().enumerate() {
            if !elements.is_empty() && i > self.cursor {
                return Err(format!(
                    "step {i} has finished elements but was not reached"
                ));
            }
        }
        let open_gates = self
            .steps
            .iter()
            .filter(|s| matches!(s, StepState::GateOpen { .. }))
            .count();
        match &self.phase {
            Phase::NotStarted => {
                if self.cursor != 0 || self.steps.iter().any(|s| !matches!(s, StepState::Pending)) {
                    return Err("progress before the run started".into());
                }
            }
            Phase::Waiting { gate } => {
                let ok = matches!(self.steps.get(self.cursor), Some(StepState::GateOpen { gate: g, .. }) if g == gate);
                if !ok || open_gates != 1 {
                    return Err("waiting without exactly one open gate at the cursor".into());
                }
            }
            Phase::Running => {
                if open_gates != 0 {
                    return Err("running with an open gate".into());
                }
            }
            Phase::Finished { status, .. } => {
                if open_gates != 0 || !status.is_terminal() {
                    return Err("finished with an open gate or a non-terminal status".into());
                }
                if *status == RunStatus::Succeeded && self.cursor != self.steps.len() {
                    return Err("succeeded with steps left".into());
                }
                if self
                    .steps
                    .iter()
                    .any(|s| matches!(s, StepState::Running { .. }))
                {
                    return Err("finished with a step still running".into());
                }
            }
        }
        Ok(())
    }
}
