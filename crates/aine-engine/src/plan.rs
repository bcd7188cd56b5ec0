//! The shape of a workflow as far as the engine cares: step ids, in order, and which are gates.

use aine_types::StepId;

/// What kind of step a plan step is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanStepKind {
    /// A builtin or model step: the runtime executes it and reports an outcome.
    Task,
    /// A gate; `reviews` is the earlier task step whose output an `edit` decision replaces.
    Gate { reviews: Option<StepId> },
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanStep {
    pub id: StepId,
    pub kind: PlanStepKind,
}

/// The ordered steps of a validated workflow.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    pub steps: Vec<PlanStep>,
}

impl Plan {
    /// The index of step `id`, if the plan has it.
    pub fn index_of(&self, id: &StepId) -> Option<usize> {
        self.steps.iter().position(|s| &s.id == id)
    }
}
