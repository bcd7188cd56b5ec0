//! Reading runs back: views, summaries, metrics.

use std::path::Path;

use aine_engine::{Action, RunState};
use aine_types::{RunId, RunStatus};
use aine_workflow::{StepKind, Workflow};

use super::{
    Inspected, RunSummary, Runtime, Waiting, fold, plan, started_sha256, template_context,
};
use crate::error::Result;

impl Runtime {
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
        let state = fold(run, plan(&workflow), &journal)?;
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
        // Each version of a workflow file (path and SHA-256) is parsed once.
        for (record, journal) in &runs {
            if !parsed.insert((record.workflow_path.clone(), started_sha256(journal))) {
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

    pub(super) fn summarize(
        &self,
        run: &RunId,
        workflow: &Workflow,
        state: &RunState,
    ) -> RunSummary {
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
}
