//! Recovery: every unfinished run folded in one pass.

use std::collections::HashMap;
use std::path::Path;

use aine_engine::{Action, Plan};
use aine_types::RunId;

use super::{Runtime, fold, plan};
use crate::error::Result;

impl Runtime {
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
            let state = fold(&record.id, plan, &journal)?;
            out.push((record.id, state.next_actions()));
        }
        Ok(out)
    }
}
