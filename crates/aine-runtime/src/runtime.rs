//! The driver: folds a run's journal into engine state, performs the engine's actions, and
//! journals each result before acting on it.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aine_engine::{Action, Plan, PlanStep, PlanStepKind, RunState};
use aine_store::{GateStatus, NewRun, Store};
use aine_types::{Decision, Event, GateId, Outcome, PersonId, RunId, RunStatus, StepId};
use aine_workflow::{Autonomy, Contract, StepKind, Workflow};
use serde_json::{Value, json};
use ulid::Ulid;

use crate::builtin::{BuiltinContext, Registry, StepCatalog};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::journal::Journal;
use crate::model_step::{Checker, ModelRun, StepResult};
use crate::models::Models;
pub use crate::observer::{Observer, Quiet, Tee};
use crate::redact::Redactor;

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

/// Parsed workflows by (path, source).
type WorkflowCache = HashMap<(String, String), Arc<Workflow>>;

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

    /// Creates a run of the workflow at `path` with `inputs` (a JSON object) and journals its
    /// start: once this returns, the run is in the store (e.g. for an HTTP API that answers
    /// with its id and drives it elsewhere). Nothing is executed yet: call
    /// [`Runtime::drive_started`] (or [`Runtime::drive`] with [`Started::id`], which reads the
    /// run back from the store first).
    pub async fn start(&self, path: &Path, inputs: Value) -> Result<Started> {
        let mut started = self.prepare(path, inputs)?;
        if let Some(unsaved) = started.unsaved.take() {
            self.store
                .create_run_audited(
                    &unsaved.new_run,
                    &[unsaved.event],
                    &unsaved.audit,
                    self.clock.now_ms(),
                )
                .await?;
            started.loaded.next_seq = 2;
        }
        Ok(started)
    }

    /// Validates `inputs` against the workflow at `path` and prepares a run of it without
    /// writing anything: [`Runtime::drive_started`] creates the run in the store with the
    /// first events it journals (one commit fewer than [`Runtime::start`] then driving; a
    /// process that dies before that commit leaves no run behind, as nothing was done).
    pub fn prepare(&self, path: &Path, inputs: Value) -> Result<Started> {
        let path = std::fs::canonicalize(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let source = std::fs::read_to_string(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let workflow = self.parsed_workflow(&path.display().to_string(), source.clone())?;
        workflow.validate_inputs(&inputs).map_err(Error::Inputs)?;
        let now = self.clock.now_ms();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap_or(0));
        let run = RunId::from_ulid(Ulid::from_datetime(at));
        let started = self.redactor.redact_event(Event::RunStarted {
            workflow: workflow.name.clone(),
            workflow_version: workflow.version,
            workflow_sha256: workflow.sha256.clone(),
            inputs,
        });
        let new_run = NewRun {
            id: run,
            workflow: workflow.name.clone(),
            workflow_path: path.display().to_string(),
            workflow_source: source,
        };
        let audit = crate::audit::entries(&started, 0, &workflow);
        let state = RunState::fold(plan(&workflow), [&started])
            .map_err(|e| Error::Engine { run, source: e })?;
        Ok(Started {
            run,
            loaded: Loaded {
                workflow,
                state,
                next_seq: 1,
            },
            unsaved: Some(Unsaved {
                new_run,
                event: started,
                audit,
            }),
        })
    }

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
                    let (outcome, mut why) = self
                        .execute(&mut journal, &mut state, &workflow, &step, attempt)
                        .await?;
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
                    let (open, why) = gate_decision(&workflow, &step, &ctx);
                    journal.record(&mut state, Event::GateEvaluated { step, open, why })?;
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

    /// Executes a builtin or model step. Step failures are outcomes; `Err` only when journaling
    /// a model call fails.
    async fn execute(
        &self,
        journal: &mut Journal<'_>,
        state: &mut RunState,
        workflow: &Workflow,
        step: &StepId,
        attempt: u32,
    ) -> Result<(Outcome, String)> {
        let run = journal.run;
        let Some(kind) = workflow.step(step).map(|s| &s.kind) else {
            return Ok(failed(
                format!("step `{step}` is not in the stored workflow"),
                "no such step",
            ));
        };
        let mut context = template_context(&run, state);
        context["step"] = json!({ "id": step, "attempt": attempt });
        match kind {
            StepKind::Builtin(b) => Ok(self
                .run_builtin(&b.name, workflow, &context, step, attempt, &run)
                .await),
            StepKind::Model(m) => {
                let packed = match m.context_budget_tokens {
                    Some(limit) => {
                        // Counted by the first model of the route: the local model's own
                        // tokenizer, a conservative estimate for remote models.
                        let counter = m.route.first().and_then(|n| self.models.get(n).ok());
                        let count = |text: &str| match &counter {
                            Some(model) => model.count_tokens(text),
                            None => aine_models::estimate_tokens(text),
                        };
                        crate::packing::pack(workflow, step, &context, limit, &count)
                    }
                    None => workflow
                        .render_prompt(step, &context)
                        .map(|prompt| crate::packing::Packed { prompt, note: None })
                        .map_err(|e| format!("cannot render the prompt: {e}")),
                };
                let (prompt, packing_note) = match packed {
                    Ok(p) => (p.prompt, p.note),
                    Err(message) => return Ok(failed(message, "model step")),
                };
                let check = match &m.check_builtin {
                    None => None,
                    Some(name) => match self.checker(name, workflow, &context, step, attempt, &run)
                    {
                        Ok(check) => Some(check),
                        Err(message) => return Ok(failed(message, "model step")),
                    },
                };
                let model_run = ModelRun {
                    models: &self.models,
                    workflow,
                    step,
                    model_step: m,
                    prompt,
                    check: check.as_ref(),
                };
                let (outcome, why) = match model_run.execute(journal, state).await? {
                    StepResult::Outcome(outcome, why) => (outcome, why),
                    StepResult::NoAnswer(why) => match &m.fallback_builtin {
                        Some(fallback) => {
                            journal.flush().await?;
                            let (outcome, how) = self
                                .run_builtin(fallback, workflow, &context, step, attempt, &run)
                                .await;
                            (outcome, format!("{how} as fallback: {why}"))
                        }
                        None => failed(
                            why,
                            "no model answered and the step has no fallback_builtin",
                        ),
                    },
                };
                Ok(match packing_note {
                    Some(note) => (outcome, format!("{why}; {note}")),
                    None => (outcome, why),
                })
            }
            StepKind::Gate(_) => Ok(failed("a gate is not executed".to_owned(), "gate")),
        }
    }

    /// Check builtin `name` of model step `step`, bound to the step's rendered `with`.
    /// Errors (the step's failure): the builtin is not registered as a check, or `with` does
    /// not render to an object.
    fn checker(
        &self,
        name: &str,
        workflow: &Workflow,
        context: &Value,
        step: &StepId,
        attempt: u32,
        run: &RunId,
    ) -> std::result::Result<Checker, String> {
        let builtin = match self.registry.get(name) {
            Some(b) if self.registry.is_check(name) => b.clone(),
            _ => {
                return Err(format!(
                    "check builtin `{name}` is not available in this aine"
                ));
            }
        };
        let with = match workflow.render_with(step, context) {
            Ok(Value::Object(with)) => with,
            Ok(other) => {
                return Err(format!(
                    "`with` of check builtin `{name}` must be an object, found {other}"
                ));
            }
            Err(e) => {
                return Err(format!(
                    "cannot render `with` for check builtin `{name}`: {e}"
                ));
            }
        };
        Ok(Checker {
            builtin,
            with,
            ctx: BuiltinContext {
                run: *run,
                step: step.clone(),
                attempt,
                base_dir: self.config.project_dir.clone(),
            },
        })
    }

    /// Renders the step's `with` and calls builtin `name` on a blocking thread.
    async fn run_builtin(
        &self,
        name: &str,
        workflow: &Workflow,
        context: &Value,
        step: &StepId,
        attempt: u32,
        run: &RunId,
    ) -> (Outcome, String) {
        let why = format!("builtin `{name}`");
        let Some(builtin) = self.registry.get(name).cloned() else {
            return failed(
                format!("builtin `{name}` is not available in this aine"),
                &why,
            );
        };
        let input = match workflow.render_with(step, context) {
            Ok(input) => input,
            Err(e) => return failed(format!("cannot render `with`: {e}"), &why),
        };
        let ctx = BuiltinContext {
            run: *run,
            step: step.clone(),
            attempt,
            base_dir: self.config.project_dir.clone(),
        };
        match tokio::task::spawn_blocking(move || builtin.call(input, &ctx)).await {
            Ok(Ok(value)) => (Outcome::Ok { value }, why),
            Ok(Err(e)) => failed(e.to_string(), &why),
            Err(e) => failed(format!("the builtin stopped unexpectedly: {e}"), &why),
        }
    }

    /// Records a person's decision on an open gate. On success the run can be driven on.
    ///
    /// Errors: the person is not configured, is not the gate's owner (nor an admin), the gate
    /// is not open, or an edit breaks the reviewed step's output contract.
    pub async fn decide(
        &self,
        gate: &GateId,
        person: &PersonId,
        decision: Decision,
        reason: &str,
    ) -> Result<RunId> {
        self.decide_observed(gate, person, decision, reason, &Quiet)
            .await
    }

    /// [`Runtime::decide`], telling `observer` about the journaled decision (telemetry ends
    /// the gate's span with it).
    pub async fn decide_observed(
        &self,
        gate: &GateId,
        person: &PersonId,
        decision: Decision,
        reason: &str,
        observer: &dyn Observer,
    ) -> Result<RunId> {
        if !self.config.people.contains_key(person) {
            return Err(Error::UnknownPerson {
                person: person.clone(),
                known: self.config.people.keys().cloned().collect(),
            });
        }
        let record = self.store.gate(gate).await?;
        if record.status != GateStatus::Open {
            return Err(Error::GateNotOpen {
                gate: *gate,
                detail: match (&record.decided_by, &record.decision) {
                    (Some(by), Some(d)) => format!("already decided: {d} by {by}"),
                    _ => "already decided".to_owned(),
                },
            });
        }
        if !self.config.may_decide_for(person, &record.owner_role) {
            let people = self.config.people_in(&record.owner_role).to_vec();
            return Err(Error::NotOwner {
                person: person.clone(),
                gate: *gate,
                role: record.owner_role.clone(),
                people,
            });
        }
        let Loaded {
            workflow,
            mut state,
            mut next_seq,
        } = self.load(&record.run).await?;
        if workflow.gate_autonomy(&record.step) == Some(Autonomy::Suggest)
            && matches!(decision, Decision::Approve)
        {
            return Err(Error::EditRequired {
                gate: *gate,
                step: record.step.clone(),
            });
        }
        if let Decision::Edit { output } = &decision {
            let reviewed =
                reviewed_step(&workflow, &record.step).ok_or_else(|| Error::EditNotAllowed {
                    gate: *gate,
                    step: record.step.clone(),
                })?;
            if let Some(contract) = self.output_contract(&workflow, &reviewed) {
                contract
                    .validate(output)
                    .map_err(|errors| Error::EditBreaksContract {
                        step: reviewed.clone(),
                        errors,
                    })?;
            }
        }
        let event = Event::GateDecided {
            step: record.step.clone(),
            gate: *gate,
            decision,
            by: person.clone(),
            reason: reason.to_owned(),
        };
        let mut journal = self.journal(record.run, &workflow, observer, &mut next_seq);
        journal.record(&mut state, event)?;
        journal.flush().await.map_err(|e| match e {
            Error::Store(aine_store::Error::Conflict { .. }) => Error::GateNotOpen {
                gate: *gate,
                detail: "decided by someone else a moment ago".to_owned(),
            },
            other => other,
        })?;
        Ok(record.run)
    }

    /// The output contract of a builtin or model step.
    fn output_contract<'a>(
        &'a self,
        workflow: &'a Workflow,
        step: &StepId,
    ) -> Option<&'a Contract> {
        match &workflow.step(step)?.kind {
            StepKind::Builtin(b) => self.registry.get(&b.name).map(|b| b.output()),
            StepKind::Model(m) => Some(&m.output),
            StepKind::Gate(_) => None,
        }
    }

    /// The run as `aine show` presents it.
    pub async fn view(&self, run: &RunId) -> Result<crate::RunView> {
        let record = self.store.run(run).await?;
        let workflow = self.stored_workflow(run, &record.workflow_path).await?;
        let journal = self.store.journal(run).await?;
        Ok(crate::run_view(&record, &workflow, &journal))
    }

    /// The run's workflow (as stored when the run started), its view, and what its templates
    /// see now (see [`template_context`]), from one read of the journal. Used by traceability,
    /// which re-renders a step's `with` to learn exactly what the step was given.
    pub async fn inspect(&self, run: &RunId) -> Result<Inspected> {
        let record = self.store.run(run).await?;
        let workflow = self.stored_workflow(run, &record.workflow_path).await?;
        let journal = self.store.journal(run).await?;
        let view = crate::run_view(&record, &workflow, &journal);
        let state =
            RunState::fold(plan(&workflow), journal.iter().map(|e| &e.event)).map_err(|e| {
                Error::Engine {
                    run: *run,
                    source: e,
                }
            })?;
        let context = template_context(run, &state);
        Ok(Inspected {
            workflow,
            view,
            context,
        })
    }

    /// Outcome metrics over the runs created at or after `since_ms` (milliseconds since the
    /// Unix epoch). An empty database gives empty metrics, not an error.
    pub async fn metrics(&self, since_ms: i64) -> Result<crate::metrics::Metrics> {
        let runs = self.store.journals_since(since_ms).await?;
        let mut publish_steps = std::collections::BTreeSet::new();
        let mut parsed = std::collections::BTreeSet::new();
        for (record, _) in &runs {
            if !parsed.insert(record.workflow_path.clone()) {
                continue;
            }
            let source = self.store.workflow_source(&record.id).await?;
            // A workflow whose prompt or schema files are gone cannot be parsed again; its
            // runs still count, but nothing in them counts as published.
            if let Ok(workflow) =
                aine_workflow::parse(Path::new(&record.workflow_path), &source, &self.catalog())
            {
                for step in &workflow.steps {
                    if matches!(&step.kind, StepKind::Builtin(b) if b.name == crate::audit::PUBLISH_BUILTIN)
                    {
                        publish_steps.insert((workflow.name.clone(), step.id.to_string()));
                    }
                }
            }
        }
        Ok(crate::metrics::compute(&runs, &|workflow, step| {
            publish_steps.contains(&(workflow.to_owned(), step.to_owned()))
        }))
    }

    /// Where `run` stands now, without driving it.
    pub async fn summary(&self, run: &RunId) -> Result<RunSummary> {
        let loaded = self.load(run).await?;
        Ok(self.summarize(run, &loaded.workflow, &loaded.state))
    }

    fn summarize(&self, run: &RunId, workflow: &Workflow, state: &RunState) -> RunSummary {
        let waiting = state.next_actions().into_iter().find_map(|a| match a {
            Action::AwaitDecision { step, gate, owner } => {
                let why = match state.step(&step) {
                    Some(aine_engine::StepState::GateOpen { why, .. }) => why.clone(),
                    _ => String::new(),
                };
                Some(Waiting {
                    gate,
                    people: self.config.people_in(&owner).to_vec(),
                    role: owner,
                    step,
                    why,
                })
            }
            _ => None,
        });
        let why = match state.phase() {
            aine_engine::Phase::Finished { why, .. } => Some(why.clone()),
            _ => None,
        };
        RunSummary {
            run: *run,
            workflow: workflow.name.clone(),
            status: state.status().unwrap_or(RunStatus::Running),
            why,
            waiting,
        }
    }

    /// The workflow a run was started with, parsed once per distinct (path, source) and kept
    /// for the life of this runtime: later steps of a run, and resumed runs, reuse it.
    async fn stored_workflow(&self, run: &RunId, path: &str) -> Result<Arc<Workflow>> {
        let source = self.store.workflow_source(run).await?;
        self.parsed_workflow(path, source)
    }

    /// The workflow at `path` with text `source`, parsed once per runtime.
    fn parsed_workflow(&self, path: &str, source: String) -> Result<Arc<Workflow>> {
        let key = (path.to_owned(), source);
        if let Some(workflow) = self.lock_workflows().get(&key) {
            return Ok(workflow.clone());
        }
        let workflow = Arc::new(aine_workflow::parse(
            Path::new(path),
            &key.1,
            &self.catalog(),
        )?);
        self.lock_workflows().insert(key, workflow.clone());
        Ok(workflow)
    }

    fn lock_workflows(&self) -> std::sync::MutexGuard<'_, WorkflowCache> {
        // A poisoned cache only means a panic elsewhere mid-insert; its entries are whole.
        self.workflows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
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
        let state =
            RunState::fold(plan(&workflow), journal.iter().map(|e| &e.event)).map_err(|e| {
                Error::Engine {
                    run: *run,
                    source: e,
                }
            })?;
        Ok(Loaded {
            workflow,
            state,
            next_seq: record.last_seq + 1,
        })
    }

    /// Folds every unfinished run (running or waiting) in one pass over the store and returns
    /// each with its next actions: what `aine resume` would do for each. Workflows shared by
    /// many runs are parsed once.
    pub async fn recover_unfinished(&self) -> Result<Vec<(RunId, Vec<Action>)>> {
        let mut plans: HashMap<String, Plan> = HashMap::new();
        let mut out = Vec::new();
        for (record, journal) in self.store.unfinished_journals().await? {
            let plan = match plans.get(&record.workflow_path) {
                Some(plan) => plan.clone(),
                None => {
                    let source = self.store.workflow_source(&record.id).await?;
                    let workflow = aine_workflow::parse(
                        Path::new(&record.workflow_path),
                        &source,
                        &self.catalog(),
                    )?;
                    let plan = plan(&workflow);
                    plans.insert(record.workflow_path.clone(), plan.clone());
                    plan
                }
            };
            let state = RunState::fold(plan, journal.iter().map(|e| &e.event)).map_err(|e| {
                Error::Engine {
                    run: record.id,
                    source: e,
                }
            })?;
            out.push((record.id, state.next_actions()));
        }
        Ok(out)
    }

    fn system_time(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH
            + Duration::from_millis(u64::try_from(self.clock.now_ms()).unwrap_or(0))
    }
}

fn failed(error: String, why: &str) -> (Outcome, String) {
    (Outcome::Failed { error }, why.to_owned())
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

/// Whether gate `step` opens, and why, under its autonomy (DESIGN.md, "Words"):
/// - `review`: the owner always decides;
/// - `suggest`: the owner always decides, and only by `edit` (a person does the work);
/// - `auto`: the gate opens when its `when` condition holds; otherwise the system approves by
///   policy (recorded in the audit log as `gate.auto_approved`).
///
/// A condition that cannot be evaluated opens the gate: a gate is never skipped by an error.
fn gate_decision(workflow: &Workflow, step: &StepId, ctx: &Value) -> (bool, String) {
    let (holds, condition) = match workflow.eval_when(step, ctx) {
        Ok(result) => result,
        Err(e) => {
            return (
                true,
                format!("condition could not be evaluated ({e}); opened to be safe"),
            );
        }
    };
    match workflow.gate_autonomy(step).unwrap_or_default() {
        Autonomy::Review => (
            true,
            format!("autonomy `review`: the owner always decides ({condition})"),
        ),
        Autonomy::Suggest => (
            true,
            "autonomy `suggest`: a person must edit the output before it is used".to_owned(),
        ),
        Autonomy::Auto if holds => (true, format!("autonomy `auto`: {condition}")),
        Autonomy::Auto => (
            false,
            format!("autonomy `auto`: {condition}, so the system approved by policy `auto`"),
        ),
    }
}

fn gate_role(workflow: &Workflow, step: &StepId) -> Option<aine_types::RoleName> {
    match &workflow.step(step)?.kind {
        StepKind::Gate(g) => Some(g.role.clone()),
        _ => None,
    }
}

fn reviewed_step(workflow: &Workflow, gate_step: &StepId) -> Option<StepId> {
    match &workflow.step(gate_step)?.kind {
        StepKind::Gate(g) => g.reviews.clone(),
        _ => None,
    }
}

/// What templates and conditions see: `inputs`, `run.id`, and for each finished step
/// `steps.<id>.outcome` (`ok`, `unsure`, ...) and `steps.<id>.output`; for a decided gate
/// `steps.<id>.outcome` is the decision and `steps.<id>.decided_by` the person (`passed` and
/// null for a gate whose condition did not hold). A builtin's `with`
/// also sees `step.id` and `step.attempt`.
pub fn template_context(run: &RunId, state: &RunState) -> Value {
    let mut steps = serde_json::Map::new();
    for (id, s) in state.steps() {
        match s {
            aine_engine::StepState::Finished { outcome, .. } => {
                steps.insert(
                    id.to_string(),
                    json!({ "outcome": outcome.kind(), "output": outcome.output().cloned().unwrap_or(Value::Null) }),
                );
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
