//! Starting a run: the workflow read and parsed, inputs validated, the files they name checked,
//! and the run's first event prepared.

use std::path::Path;
use std::time::{Duration, SystemTime};

use aine_engine::RunState;
use aine_store::NewRun;
use aine_types::{Event, RunId};
use aine_workflow::{StepKind, Workflow};
use serde_json::{Value, json};
use ulid::Ulid;

use super::{Loaded, Runtime, Started, Unsaved, plan};
use crate::error::{Error, Result};

impl Runtime {
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
        // The journal records the inputs the run uses: defaults of inputs not given included,
        // so templates read them like given ones.
        let inputs = workflow.inputs_with_defaults(&inputs);
        let now = self.clock.now_ms();
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(now).unwrap_or(0));
        let run = RunId::from_ulid(Ulid::from_datetime(at));
        self.check_files(&workflow, &run, &inputs)?;
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

    /// Checks every file path the run's inputs give a builtin, before anything is journaled:
    /// for each step whose `with` reads no earlier step (so it can be rendered from the inputs
    /// alone), the fields its builtins mark as paths ([`crate::PATH_KEYWORD`]: a string or a list of
    /// strings) must resolve inside the directories runs may use ([`crate::FileAccess`]). The
    /// builtin checks again when it opens the file; this check is what keeps a refused path
    /// (and so the file's text) out of the journal.
    ///
    /// # Errors
    /// [`Error::PathRefused`], one line per refused path, naming the step and field.
    fn check_files(&self, workflow: &Workflow, run: &RunId, inputs: &Value) -> Result<()> {
        let mut refused = Vec::new();
        for step in workflow.steps.iter().filter(|s| s.depends_on.is_empty()) {
            let builtins = match &step.kind {
                StepKind::Builtin(b) => vec![b.name.as_str()],
                StepKind::Model(m) => [&m.check_builtin, &m.fallback_builtin]
                    .into_iter()
                    .flatten()
                    .map(String::as_str)
                    .collect(),
                StepKind::Gate(_) => continue,
            };
            let fields: Vec<&String> = builtins
                .into_iter()
                .flat_map(|name| self.registry.path_fields(name))
                .collect();
            if fields.is_empty() {
                continue;
            }
            let context = json!({
                "inputs": inputs,
                "run": { "id": run.to_string() },
                "steps": {},
                "step": { "id": step.id, "attempt": 1 },
            });
            // A `with` that does not render now fails its step later, with the reason.
            let Ok(with) = workflow.render_with(&step.id, &context) else {
                continue;
            };
            for field in fields {
                let paths: Vec<&str> = match with.get(field.as_str()) {
                    Some(Value::String(path)) => vec![path.as_str()],
                    Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                for path in paths {
                    if let Err(e) = self.config.files.resolve(path) {
                        refused.push(format!("step `{}`, `{field}`: {e}", step.id));
                    }
                }
            }
        }
        if refused.is_empty() {
            Ok(())
        } else {
            Err(Error::PathRefused(refused))
        }
    }
}
