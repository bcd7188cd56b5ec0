//! Recovery: every unfinished run folded in one pass.

use std::collections::HashMap;
use std::path::Path;

use aine_engine::{Action, Plan};
use aine_types::RunId;

use super::{Runtime, fold, plan, started_sha256};
use crate::error::Result;

impl Runtime {
    /// Folds every unfinished run (running or waiting) in one pass over the store and returns
    /// each with its next actions: what `aine resume` would do for each. Each run is folded
    /// against the workflow it started with: plans are shared by runs whose `RunStarted` names
    /// the same path and SHA-256, so a workflow file edited between runs is parsed once per
    /// version, and shared workflows are parsed once.
    pub async fn recover_unfinished(&self) -> Result<Vec<(RunId, Vec<Action>)>> {
        let mut plans: HashMap<(String, String), Plan> = HashMap::new();
        let mut out = Vec::new();
        for (record, journal) in self.store.unfinished_journals().await? {
            let key = (record.workflow_path.clone(), started_sha256(&journal));
            let plan = match plans.get(&key) {
                Some(plan) => plan.clone(),
                None => {
                    let source = self.store.workflow_source(&record.id).await?;
                    let workflow = aine_workflow::parse(
                        Path::new(&record.workflow_path),
                        &source,
                        &self.catalog(),
                    )?;
                    let plan = plan(&workflow);
                    plans.insert(key, plan.clone());
                    plan
                }
            };
            let state = fold(&record.id, plan, &journal)?;
            out.push((record.id, state.next_actions()));
        }
        Ok(out)
    }
}
