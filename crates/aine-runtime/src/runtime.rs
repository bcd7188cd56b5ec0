//! The driver: folds a run's journal into engine state, performs the engine's actions, and
//! journals each result before acting on it.

//!
//! The `impl Runtime` is split by responsibility: [`start`] (a new run), [`drive`] (the action
//! loop), [`step`] (one builtin or model step), [`decide`] (a gate decision), [`queries`]
//! (views, summaries, metrics), [`recovery`] (unfinished runs), [`workflows`] (the parsed
//! workflow cache). This file holds the types they share, the journal writer and the fold.

mod decide;
mod drive;
mod queries;
pub use queries::{AuditStatus, GateDetail, GateItem, RunItem};
mod recovery;
mod start;
mod step;
mod workflows;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aine_engine::{Plan, PlanStep, PlanStepKind, RunState};
use aine_store::{NewRun, Store};
use aine_types::{Event, GateId, PersonId, RunId, RunStatus, StepId};
use aine_workflow::{StepKind, Workflow};
use serde_json::{Value, json};

use crate::builtin::{Registry, StepCatalog};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::models::Models;
pub use crate::observer::{Observer, Quiet, Tee};
use crate::redact::Redactor;
use workflows::WorkflowCache;

/// A run read back whole: see [`Runtime::inspect`].
#[derive(Debug)]
pub struct Inspected {
    pub workflow: Arc<Workflow>,
    pub view: crate::RunView,
    /// What templates and conditions of the run see now ([`template_context`]).
    pub context: Value,
}

/// A gate a run is waiting at, with the people who may decide it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Waiting {
    pub gate: GateId,
    pub step: StepId,
    pub role: aine_types::RoleName,
    /// The people holding the role (admins may decide too).
    pub people: Vec<PersonId>,
    /// Why the gate opened (its condition and result).
    pub why: String,
}

/// Where a run stands after it was driven as far as it could go.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RunSummary {
    pub run: RunId,
    pub workflow: String,
    pub status: RunStatus,
    /// Why the run ended (for terminal runs).
    pub why: Option<String>,
    /// The open gate, for waiting runs.
    pub waiting: Option<Waiting>,
}

/// Drives runs of validated workflows against a store.
#[derive(Debug, Clone)]
pub struct Runtime {
    store: Store,
    registry: Arc<Registry>,
    models: Arc<Models>,
    config: Arc<Config>,
    clock: Arc<dyn Clock>,
    /// Applied to every event before it is journaled.
    redactor: Arc<Redactor>,
    /// Parsed workflows by (path, source): see [`Runtime::stored_workflow`].
    workflows: Arc<std::sync::Mutex<WorkflowCache>>,
}

/// The values of the environment variables that configured models (and the shipped defaults)
/// name in `api_key_env`, to be redacted wherever they appear.
fn api_key_values(config: &Config) -> Vec<String> {
    use aine_models::Secrets as _;
    aine_models::resolve_models(config.models.clone())
        .iter()
        .filter_map(|m| m.api_key_env.as_deref())
        .filter_map(|var| aine_models::ProcessEnv.get(var))
        .collect()
}

/// A run created by [`Runtime::start`] (or prepared by [`Runtime::prepare`]), ready for
/// [`Runtime::drive_started`].
#[derive(Debug)]
pub struct Started {
    run: RunId,
    loaded: Loaded,
    /// Set while the run is not in the store yet ([`Runtime::prepare`]).
    unsaved: Option<Unsaved>,
}

/// What creating a prepared run writes: its row, its `RunStarted` event (redacted, already
/// folded into the state) and that event's audit entries.
#[derive(Debug)]
pub(crate) struct Unsaved {
    pub(crate) new_run: NewRun,
    pub(crate) event: Event,
    pub(crate) audit: Vec<aine_store::AuditEntry>,
}

impl Started {
    /// The new run's id.
    pub fn id(&self) -> RunId {
        self.run
    }
}

/// A loaded run: its workflow, engine state and next journal sequence number.
#[derive(Debug)]
struct Loaded {
    workflow: Arc<Workflow>,
    state: RunState,
    next_seq: u64,
}

impl Runtime {
    /// A runtime over `store` with the builtins of `registry`.
    pub fn new(
        store: Store,
        registry: Arc<Registry>,
        config: Arc<Config>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let redactor = Arc::new(config.secrets.clone().with_values(api_key_values(&config)));
        Self {
            store,
            registry,
            models: Arc::new(Models::default()),
            config,
            clock,
            redactor,
            workflows: Arc::default(),
        }
    }

    /// The same runtime with `models` configured for model steps.
    pub fn with_models(mut self, models: Arc<Models>) -> Self {
        self.models = models;
        self
    }

    /// The configured models.
    pub fn models(&self) -> &Models {
        &self.models
    }

    /// What workflows are validated against: these builtins and models.
    pub fn catalog(&self) -> StepCatalog<'_> {
        StepCatalog {
            registry: &self.registry,
            models: &self.models,
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The builtins.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Reads and validates a workflow file against this runtime's builtins.
    pub fn load_workflow(&self, path: &Path) -> Result<Workflow> {
        Ok(aine_workflow::load(path, &self.catalog())?)
    }

    /// A journal writer for `run`, appending from `*next_seq` on.
    fn journal<'a>(
        &'a self,
        run: RunId,
        workflow: &'a Workflow,
        observer: &'a dyn Observer,
        next_seq: &'a mut u64,
    ) -> Journal<'a> {
        Journal::new(
            &self.store,
            workflow,
            self.clock.as_ref(),
            observer,
            &self.redactor,
            run,
            next_seq,
        )
    }

    /// Loads a run's stored workflow and folds its journal.
    async fn load(&self, run: &RunId) -> Result<Loaded> {
        let record = self.store.run(run).await?;
        let workflow = self.stored_workflow(run, &record.workflow_path).await?;
        let journal = self.store.journal(run).await?;
        let state = fold(run, plan(&workflow), &journal)?;
        Ok(Loaded {
            workflow,
            state,
            next_seq: record.last_seq + 1,
        })
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(self.clock.now_ms()).unwrap_or(0))
    }
}

/// The SHA-256 of the workflow a run started with, from its `RunStarted` entry (empty for a
/// journal without one): with the workflow's path, what tells two versions of a file apart.
pub(crate) fn started_sha256(journal: &[aine_types::JournalEntry]) -> String {
    journal
        .first()
        .and_then(|e| match &e.event {
            Event::RunStarted {
                workflow_sha256, ..
            } => Some(workflow_sha256.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// `journal` folded into the engine state of `run` under `plan`.
///
/// # Errors
/// [`Error::Engine`] when the journal does not fit the plan.
pub(crate) fn fold(
    run: &RunId,
    plan: Plan,
    journal: &[aine_types::JournalEntry],
) -> Result<RunState> {
    RunState::fold(plan, journal.iter().map(|e| &e.event))
        .map_err(|source| Error::Engine { run: *run, source })
}

/// The engine's view of a workflow.
pub fn plan(workflow: &Workflow) -> Plan {
    Plan {
        steps: workflow
            .steps
            .iter()
            .map(|s| PlanStep {
                id: s.id.clone(),
                kind: match &s.kind {
                    StepKind::Gate(g) => PlanStepKind::Gate {
                        reviews: g.reviews.clone(),
                    },
                    StepKind::Builtin(_) | StepKind::Model(_) => PlanStepKind::Task,
                },
            })
            .collect(),
    }
}

/// What templates and conditions see: `inputs`, `run.id`, and for each finished step
/// `steps.<id>.outcome` (`ok`, `fallback`, `unsure`, ...) and `steps.<id>.output` (for a
/// `for_each` step also `steps.<id>.outcomes`, e.g. `{"ok": 9, "fallback": 3, "unsure": 0,
/// "violation": 0, "failed": 0}`); for a decided gate
/// `steps.<id>.outcome` is the decision and `steps.<id>.decided_by` the person (`passed` and
/// null for a gate whose condition did not hold). A builtin's `with`
/// also sees `step.id` and `step.attempt`, and the templates of a `for_each` step `item` and
/// `index`.
pub fn template_context(run: &RunId, state: &RunState) -> Value {
    let mut steps = serde_json::Map::new();
    for (id, s) in state.steps() {
        match s {
            aine_engine::StepState::Finished { outcome, .. } => {
                let mut view = json!({ "outcome": outcome.kind(), "output": outcome.output().cloned().unwrap_or(Value::Null) });
                // A `for_each` step: how many of its elements ended with each outcome (every
                // kind present, so `steps.x.outcomes.fallback > 0` needs no default).
                if let Some(elements) = state.finished_elements(id).filter(|e| !e.is_empty()) {
                    let mut counts: serde_json::Map<String, Value> = aine_types::Outcome::KINDS
                        .iter()
                        .map(|k| ((*k).to_owned(), json!(0)))
                        .collect();
                    for done in elements.values() {
                        let n = counts.entry(done.outcome.kind()).or_insert(json!(0));

                        *n = json!(n.as_u64().unwrap_or(0) + 1);
                    }
                    view["outcomes"] = Value::Object(counts);
                }
                steps.insert(id.to_string(), view);
            }
            aine_engine::StepState::GateDecided { decision, by, .. } => {
                steps.insert(
                    id.to_string(),
                    json!({ "outcome": decision.kind(), "decided_by": by }),
                );
            }
            aine_engine::StepState::GatePassed { .. } => {
                steps.insert(
                    id.to_string(),
                    json!({ "outcome": "passed", "decided_by": null }),
                );
            }
            _ => {}
        }
    }
    json!({ "inputs": state.inputs(), "run": { "id": run.to_string() }, "steps": steps })
}
