//! Spend per run, for listings: only `model_called` events are read and decoded.

use std::collections::HashMap;

use aine_types::{Event, RunId, Spend};

use crate::records::{decode_error, get};
use crate::{Result, Store};

impl Store {
    /// Tokens and USD spent by each of `runs` (the sum of its journaled model calls); runs
    /// without model calls, and unknown runs, are absent from the map.
    ///
    /// Errors: [`crate::Error::Decode`] for a `model_called` event this aine cannot read.
    pub async fn spend_by_run(&self, runs: &[RunId]) -> Result<HashMap<RunId, Spend>> {
        let ids: Vec<String> = runs.iter().map(ToString::to_string).collect();
        let ids = serde_json::to_string(&ids).map_err(|source| crate::Error::Encode {
            kind: "run id list",
            source,
        })?;
        let rows = sqlx::query(
            "SELECT run_id, event FROM journal \
             WHERE kind = 'model_called' AND run_id IN (SELECT value FROM json_each(?1))",
        )
        .bind(ids)
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        let mut out: HashMap<RunId, Spend> = HashMap::new();
        for row in &rows {
            let run: &str = get(self.path(), row, 0)?;
            let what = || format!("a model call of run `{run}`");
            let id: RunId = run.parse().map_err(|e: aine_types::IdError| {
                decode_error(self.path(), what(), e.to_string())
            })?;
            let event: &str = get(self.path(), row, 1)?;
            let event: Event = serde_json::from_str(event)
                .map_err(|e| decode_error(self.path(), what(), e.to_string()))?;
            if let Event::ModelCalled { spend, .. } = event {
                *out.entry(id).or_default() += spend;
            }
        }
        Ok(out)
    }
}
