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
        let ids = ids_json(runs)?;
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

    /// For each of `runs`, the steps whose last result was not `ok`-like: `(step, outcome)` with
    /// outcome `fallback` (the step's fallback builtin wrote it) or `unsure`, in journal order,
    /// a step listed once (its latest such outcome). Only the outcome kind is read from each
    /// event, never its output.
    pub async fn degraded_steps(
        &self,
        runs: &[RunId],
    ) -> Result<HashMap<RunId, Vec<(String, String)>>> {
        let ids = ids_json(runs)?;
        let rows = sqlx::query(
            "SELECT run_id, json_extract(event, '$.step'), json_extract(event, '$.outcome.outcome') \
             FROM journal WHERE kind = 'step_finished' AND run_id IN (SELECT value FROM json_each(?1)) \
             ORDER BY run_id, seq",
        )
        .bind(ids)
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        let mut out: HashMap<RunId, Vec<(String, String)>> = HashMap::new();
        for row in &rows {
            let run: &str = get(self.path(), row, 0)?;
            let id: RunId = run.parse().map_err(|e: aine_types::IdError| {
                decode_error(self.path(), format!("a step of run `{run}`"), e.to_string())
            })?;
            let step: &str = get(self.path(), row, 1)?;
            let outcome: &str = get(self.path(), row, 2)?;
            let steps = out.entry(id).or_default();
            steps.retain(|(s, _)| s != step);
            if matches!(outcome, "fallback" | "unsure") {
                steps.push((step.to_owned(), outcome.to_owned()));
            }
        }
        out.retain(|_, steps| !steps.is_empty());
        Ok(out)
    }
}

/// `runs` as a JSON array of ids, for `json_each` in a query.
fn ids_json(runs: &[RunId]) -> Result<String> {
    let ids: Vec<String> = runs.iter().map(ToString::to_string).collect();
    serde_json::to_string(&ids).map_err(|source| crate::Error::Encode {
        kind: "run id list",
        source,
    })
}
