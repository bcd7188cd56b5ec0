//! The parsed-workflow cache: each distinct (path, source) parsed once per runtime.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use aine_types::RunId;
use aine_workflow::Workflow;

use super::Runtime;
use crate::error::Result;

/// Parsed workflows by (path, source).
pub(super) type WorkflowCache = HashMap<(String, String), Arc<Workflow>>;

impl Runtime {
    /// The workflow a run was started with, parsed once per distinct (path, source) and kept
    /// for the life of this runtime: later steps of a run, and resumed runs, reuse it.
    pub(super) async fn stored_workflow(&self, run: &RunId, path: &str) -> Result<Arc<Workflow>> {
        let source = self.store.workflow_source(run).await?;
        self.parsed_workflow(path, source)
    }

    /// The workflow at `path` with text `source`, parsed once per runtime.
    pub(super) fn parsed_workflow(&self, path: &str, source: String) -> Result<Arc<Workflow>> {
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
}
