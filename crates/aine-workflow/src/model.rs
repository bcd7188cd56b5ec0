//! The validated workflow: what a `*.workflow.yaml` file declares, after every check passed.

use std::collections::BTreeMap;
use std::path::PathBuf;

use aine_types::{RoleName, StepId};

use crate::contract::Contract;
use crate::template::Templates;

/// A validated workflow file (see `DESIGN.md`, "A workflow file").
///
/// Built only by [`crate::parse`] / [`crate::load`]; every reference in it resolves (steps,
/// owners, builtins, models) and every template, condition and contract compiled.
#[derive(Debug)]
pub struct Workflow {
    /// `workflow:` — the workflow's name (a slug).
    pub name: String,
    /// `version:` — a positive integer chosen by the author.
    pub version: u32,
    /// `description:`.
    pub description: Option<String>,
    /// `owners:` — owner key (used by gates) to the role that decides.
    pub owners: BTreeMap<String, RoleName>,
    /// `autonomy:` (default [`Autonomy::Review`]).
    pub autonomy: Autonomy,
    /// `budget:` — the cap for one run.
    pub budget: Option<Budget>,
    /// `inputs:` — input name to its contract.
    pub inputs: BTreeMap<String, Contract>,
    /// `steps:` in file order; a step only depends on steps before it.
    pub steps: Vec<Step>,
    /// The path the workflow was loaded from (as given).
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, lower-case hex; identifies the exact version a run used.
    pub sha256: String,
    pub(crate) templates: Templates,
}

/// A hard cap on spending: USD and/or tokens (input plus output). Each value set is > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// US dollars, as the exact decimal written in the workflow (`0.50`).
    pub usd: Option<aine_types::Usd>,
    /// Tokens, input and output together.
    pub tokens: Option<u64>,
}

/// How far models may go alone (see `DESIGN.md`, "Words").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Autonomy {
    /// The model suggests; a human does the work.
    Suggest,
    /// The model does the work; the owner approves it.
    #[default]
    Review,
    /// The model does the work; the owner is notified.
    Auto,
}

impl Autonomy {
    /// The spelling used in workflow files.
    pub fn as_str(self) -> &'static str {
        match self {
            Autonomy::Suggest => "suggest",
            Autonomy::Review => "review",
            Autonomy::Auto => "auto",
        }
    }
}

/// One node of a workflow.
#[derive(Debug, Clone)]
pub struct Step {
    /// `id:`, unique in the workflow.
    pub id: StepId,
    /// The 1-based line where the step starts in the workflow file.
    pub line: usize,
    /// What the step does.
    pub kind: StepKind,
    /// `needs:` — the explicit dependencies, as written (all earlier steps).
    pub needs: Vec<StepId>,
    /// Every step this one depends on: `needs` plus the steps its templates and condition read
    /// (`steps.<id>`), in file order, without duplicates. All come earlier in the file.
    pub depends_on: Vec<StepId>,
    /// `budget:` — the cap for this step (across all elements of a `for_each` step).
    pub budget: Option<Budget>,
    /// `for_each:` — one `{{ expression }}` giving a list: the builtin or model step runs once
    /// per element, and its templates see the element as `item` and its 0-based position as
    /// `index` (see [`Workflow::render_for_each`](crate::Workflow::render_for_each)).
    pub for_each: Option<String>,
    /// `concurrency:` — how many elements of a `for_each` step are in flight at once (1 to
    /// [`MAX_CONCURRENCY`](crate::MAX_CONCURRENCY); 1 when not written, and for a step without
    /// `for_each`). Their model calls may then be decoded together (a local model batches them).
    pub concurrency: u32,
}

/// The three kinds of step.
#[derive(Debug, Clone)]
pub enum StepKind {
    /// Deterministic code, no model.
    Builtin(BuiltinStep),
    /// A model called behind a contract.
    Model(ModelStep),
    /// A human decision by the owner.
    Gate(GateStep),
}

/// `builtin: <name>` with its input.
#[derive(Debug, Clone)]
pub struct BuiltinStep {
    /// The builtin's name, known to the catalog.
    pub name: String,
    /// `with:` — a JSON object (empty when absent); strings are templates, unrendered here (see
    /// [`Workflow::render_with`](crate::Workflow::render_with)).
    pub with: serde_json::Value,
}

/// `model:` — a model call behind a contract.
#[derive(Debug, Clone)]
pub struct ModelStep {
    /// `route:` — models to try in order (non-empty, all known to the catalog).
    pub route: Vec<String>,
    /// `escalate_on:` — outcomes that move to the next model of the route (default: both).
    pub escalate_on: Vec<Escalation>,
    /// The prompt template file: `prompt:` resolved against the workflow file's directory.
    pub prompt_path: PathBuf,
    /// `output:` — the contract of the model's answer.
    pub output: Contract,
    /// `context_budget_tokens:` — the most tokens of packed context.
    pub context_budget_tokens: Option<u64>,
    /// `max_output_tokens:` — the most tokens the model may answer with.
    pub max_output_tokens: Option<u64>,
    /// `fallback_builtin:` — the builtin that stands in when no model is configured or the
    /// budget is spent.
    pub fallback_builtin: Option<String>,
    /// `check_builtin:` — a check builtin (see [`crate::Catalog::check_names`]) that judges
    /// every contract-valid answer: it receives the answer as `answer` plus the rendered `with`
    /// and returns errors; any error makes the answer a contract violation.
    pub check_builtin: Option<String>,
    /// `with:` — the input of the fallback builtin and of the check builtin (strings are
    /// templates); an empty object without either.
    pub with: serde_json::Value,
}

/// Outcomes that trigger escalation to the next model of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Escalation {
    /// The model answered `{"unsure": {"reason": ...}}`.
    Unsure,
    /// The answer broke the step's contract.
    Violation,
}

/// `gate:` — a step that waits for the owner's decision.
#[derive(Debug, Clone)]
pub struct GateStep {
    /// `owner:` — a key of [`Workflow::owners`].
    pub owner: String,
    /// The owner's role (`owners.<owner>.role`).
    pub role: RoleName,
    /// `when:` — a minijinja expression; the gate opens when it is truthy (absent: always).
    pub when: Option<String>,
    /// The step whose output an `edit` replaces: `reviews:`, or the nearest earlier builtin or
    /// model step; `None` when there is none.
    pub reviews: Option<StepId>,
    /// `autonomy:` of this stage, overriding the workflow's.
    pub autonomy: Option<Autonomy>,
}
