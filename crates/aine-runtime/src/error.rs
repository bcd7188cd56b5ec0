//! The runtime's errors.

use std::path::PathBuf;

use aine_types::{GateId, PersonId, RoleName, RunId, RunStatus, StepId};

use crate::runtime::Waiting;

/// Everything that can stop the runtime from doing what was asked. Step failures are not
/// errors: they are journaled as `failed` outcomes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] aine_store::Error),
    #[error(transparent)]
    Workflow(#[from] aine_workflow::LoadError),
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the inputs do not match the workflow's `inputs`:\n  {}", .0.join("\n  "))]
    Inputs(Vec<String>),
    #[error("the inputs name files a run may not use:\n  {}", .0.join("\n  "))]
    PathRefused(Vec<String>),
    #[error("run {run} has already {status}; nothing to resume (start a new run with `aine run`)")]
    RunFinished { run: RunId, status: RunStatus },
    #[error(
        "run {run} is waiting at gate {} (step `{}`) for {}; decide it with `aine review approve|reject|edit {} --as PERSON`",
        waiting.gate, waiting.step, waiting.role, waiting.gate
    )]
    RunWaiting { run: RunId, waiting: Box<Waiting> },
    #[error("gate {gate} is not open ({detail}); see `aine review list`")]
    GateNotOpen { gate: GateId, detail: String },
    #[error(
        "`{person}` is not a person in aine.toml; known people: {}",
        list(known)
    )]
    UnknownPerson {
        person: PersonId,
        known: Vec<PersonId>,
    },
    #[error(
        "`{person}` may not decide gate {gate}: it belongs to role `{role}` ({}); ask one of them, or add `{person}` to [roles] {role} in aine.toml",
        if people.is_empty() { "which has no people: add some under [roles] in aine.toml".to_owned() } else { format!("people: {}", list(people)) }
    )]
    NotOwner {
        person: PersonId,
        gate: GateId,
        role: RoleName,
        people: Vec<PersonId>,
    },
    #[error(
        "gate {gate} (step `{step}`) reviews no earlier step, so it cannot be decided by `edit`; approve or reject it"
    )]
    EditNotAllowed { gate: GateId, step: StepId },
    #[error(
        "gate {gate} (step `{step}`) runs under autonomy `suggest`: a person must do the work, so it is decided by `edit` (or `reject`), not `approve`"
    )]
    EditRequired { gate: GateId, step: StepId },
    #[error("the edited output breaks the output contract of step `{step}`:\n  {}", .errors.join("\n  "))]
    EditBreaksContract { step: StepId, errors: Vec<String> },
    #[error("the journal of run {run} does not fit its workflow: {source}")]
    Engine {
        run: RunId,
        #[source]
        source: aine_engine::EngineError,
    },
    #[error("run {run} is inconsistent: {message}")]
    Corrupt { run: RunId, message: String },
    #[error("cannot set up builtins: {0}")]
    Registry(#[from] crate::builtin::RegistryError),
}

/// The runtime's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn list(people: &[PersonId]) -> String {
    if people.is_empty() {
        return "(none)".to_owned();
    }
    people
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
