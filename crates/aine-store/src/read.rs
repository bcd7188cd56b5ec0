//! Queries: journals, runs and gates.

use aine_types::{Event, GateId, JournalEntry, RunId};
use sqlx::Row as _;
use sqlx::sqlite::SqliteRow;

use crate::records::{GATE_COLUMNS, RUN_COLUMNS, decode_error, gate_from_row, get, run_from_row};
use crate::{Error, GateRecord, GateStatus, Result, RunFilter, RunRecord, Store};

impl Store {
    /// The run's journal, ordered by seq (1, 2, ...).
    ///
    /// Errors: [`Error::UnknownRun`]; [`Error::Decode`] for an event this aine cannot read.
    pub async fn journal(&self, run: &RunId) -> Result<Vec<JournalEntry>> {
        let rows =
            sqlx::query("SELECT seq, at_ms, event FROM journal WHERE run_id = ?1 ORDER BY seq")
                .bind(run.to_string())
                .fetch_all(&self.inner.reader)
                .await
                .map_err(|err| self.map_err(err))?;
        if rows.is_empty() {
            // A run created without events has an empty journal; tell it from no run at all.
            self.run(run).await?;
        }
        rows.iter()
            .map(|row| self.entry_from_row(run, row))
            .collect()
    }

    /// The run's projected state.
    ///
    /// Errors: [`Error::UnknownRun`].
    pub async fn run(&self, run: &RunId) -> Result<RunRecord> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(run.to_string())
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?
            .ok_or(Error::UnknownRun(*run))?;
        run_from_row(self.path(), &row)
    }

    /// The text of the workflow file the run started with.
    ///
    /// Errors: [`Error::UnknownRun`].
    pub async fn workflow_source(&self, run: &RunId) -> Result<String> {
        sqlx::query_scalar("SELECT workflow_source FROM runs WHERE id = ?1")
            .bind(run.to_string())
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?
            .ok_or(Error::UnknownRun(*run))
    }

    /// The runs that pass `filter`, newest (by `created_at_ms`) first.
    pub async fn runs(&self, filter: &RunFilter) -> Result<Vec<RunRecord>> {
        let limit = filter.limit.map_or(-1, i64::from);
        let rows = match filter.status {
            Some(status) => {
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM runs WHERE status = ?1 \
                     ORDER BY created_at_ms DESC, id DESC LIMIT ?2"
                );
                sqlx::query(&sql)
                    .bind(status.as_str())
                    .bind(limit)
                    .fetch_all(&self.inner.reader)
                    .await
            }
            None => {
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM runs ORDER BY created_at_ms DESC, id DESC LIMIT ?1"
                );
                sqlx::query(&sql)
                    .bind(limit)
                    .fetch_all(&self.inner.reader)
                    .await
            }
        }
        .map_err(|err| self.map_err(err))?;
        rows.iter()
            .map(|row| run_from_row(self.path(), row))
            .collect()
    }

    /// A mark that changes whenever any run's journal grows: `(runs, events)`, the number of
    /// runs and the sum of their journal lengths. Cheap (no journal is read); lets a reader
    /// reuse what it computed from the journals while the mark is the same.
    pub async fn journals_mark(&self) -> Result<(u64, u64)> {
        let row = sqlx::query("SELECT COUNT(*), COALESCE(SUM(last_seq), 0) FROM runs")
            .fetch_one(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?;
        let runs: i64 = row.try_get(0).map_err(|err| self.map_err(err))?;
        let events: i64 = row.try_get(1).map_err(|err| self.map_err(err))?;
        Ok((
            u64::try_from(runs).unwrap_or_default(),
            u64::try_from(events).unwrap_or_default(),
        ))
    }

    /// The gates with this status (all when `None`), oldest (by `opened_at_ms`) first.
    pub async fn gates(&self, status: Option<GateStatus>) -> Result<Vec<GateRecord>> {
        let rows = match status {
            Some(status) => {
                let sql = format!(
                    "SELECT {GATE_COLUMNS} FROM gates WHERE status = ?1 ORDER BY opened_at_ms, id"
                );
                sqlx::query(&sql)
                    .bind(status.as_str())
                    .fetch_all(&self.inner.reader)
                    .await
            }
            None => {
                let sql = format!("SELECT {GATE_COLUMNS} FROM gates ORDER BY opened_at_ms, id");
                sqlx::query(&sql).fetch_all(&self.inner.reader).await
            }
        }
        .map_err(|err| self.map_err(err))?;
        rows.iter()
            .map(|row| gate_from_row(self.path(), row))
            .collect()
    }

    /// The gates of `runs` (open and decided), oldest first; through the `gates_by_run` index,
    /// so the cost follows the runs asked about, not every gate in the database.
    ///
    /// Errors: [`Error::Encode`] (never in practice: run ids are plain strings), database
    /// errors, [`Error::Decode`] for a row this aine cannot read.
    pub async fn gates_of_runs(&self, runs: &[RunId]) -> Result<Vec<GateRecord>> {
        let ids: Vec<String> = runs.iter().map(ToString::to_string).collect();
        let ids = serde_json::to_string(&ids).map_err(|source| Error::Encode {
            kind: "run id list",
            source,
        })?;
        let sql = format!(
            "SELECT {GATE_COLUMNS} FROM gates \
             WHERE run_id IN (SELECT value FROM json_each(?1)) ORDER BY opened_at_ms, id"
        );
        let rows = sqlx::query(&sql)
            .bind(ids)
            .fetch_all(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?;
        rows.iter()
            .map(|row| gate_from_row(self.path(), row))
            .collect()
    }

    /// One gate.
    ///
    /// Errors: [`Error::UnknownGate`].
    pub async fn gate(&self, gate: &GateId) -> Result<GateRecord> {
        let sql = format!("SELECT {GATE_COLUMNS} FROM gates WHERE id = ?1");
        let row = sqlx::query(&sql)
            .bind(gate.to_string())
            .fetch_optional(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?
            .ok_or(Error::UnknownGate(*gate))?;
        gate_from_row(self.path(), &row)
    }

    /// Every run whose status is `running` or `waiting`, with its whole journal ordered by seq,
    /// oldest run first: what a process needs to resume them all.
    ///
    /// One query, one row per run: SQLite concatenates each run's stored event JSON into one
    /// JSON array of journal entries, so recovering thousands of runs costs one statement and
    /// one row (not one per event) to hand from SQLite to Rust.
    ///
    /// Errors: [`Error::Decode`] naming the run whose journal does not decode.
    pub async fn unfinished_journals(&self) -> Result<Vec<(RunRecord, Vec<JournalEntry>)>> {
        self.journals_where("runs.status IN ('running', 'waiting')", 0)
            .await
    }

    /// Every run created at or after `since_ms` (milliseconds since the Unix epoch) with its
    /// full journal, oldest first, in one query (for outcome metrics).
    pub async fn journals_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(RunRecord, Vec<JournalEntry>)>> {
        self.journals_where("runs.created_at_ms >= ?1", since_ms)
            .await
    }

    /// Runs matching `condition` (SQL over `runs`, may use `?1` = `param`) with their journals.
    async fn journals_where(
        &self,
        condition: &str,
        param: i64,
    ) -> Result<Vec<(RunRecord, Vec<JournalEntry>)>> {
        // `group_concat(... ORDER BY ...)` needs SQLite 3.44; sqlx bundles a newer one. A run
        // without events gets NULL.
        let sql = format!(
            "SELECT {RUN_COLUMNS}, \
               (SELECT '[' || group_concat( \
                   '{{\"seq\":' || seq || ',\"at_ms\":' || at_ms || ',\"event\":' || event || '}}', \
                   ',' ORDER BY seq) || ']' \
                FROM journal WHERE journal.run_id = runs.id) \
             FROM runs WHERE {condition} \
             ORDER BY runs.created_at_ms, runs.id"
        );
        let rows = sqlx::query(&sql)
            .bind(param)
            .fetch_all(&self.inner.reader)
            .await
            .map_err(|err| self.map_err(err))?;
        rows.iter()
            .map(|row| {
                let record = run_from_row(self.path(), row)?;
                let what = || format!("the journal of run `{}`", record.id);
                let journal: Vec<JournalEntry> = match get::<Option<&str>>(self.path(), row, 8)? {
                    None => Vec::new(),
                    Some(json) => serde_json::from_str(json)
                        .map_err(|err| decode_error(self.path(), what(), err.to_string()))?,
                };
                // The text was assembled by concatenation: check it holds seqs 1, 2, ... exactly.
                if let Some((expected, entry)) = (1..)
                    .zip(&journal)
                    .find(|(expected, entry)| entry.seq != *expected)
                {
                    let detail = format!("seq {} where {expected} was expected", entry.seq);
                    return Err(decode_error(self.path(), what(), detail));
                }
                Ok((record, journal))
            })
            .collect()
    }

    /// Decodes a journal row of `run`: `seq, at_ms, event`.
    fn entry_from_row(&self, run: &RunId, row: &SqliteRow) -> Result<JournalEntry> {
        let path = self.path();
        let seq: i64 = get(path, row, 0)?;
        let what = || format!("journal entry {seq} of run `{run}`");
        let event: &str = get(path, row, 2)?;
        Ok(JournalEntry {
            seq: u64::try_from(seq)
                .map_err(|_| decode_error(path, what(), format!("negative seq {seq}")))?,
            at_ms: get(path, row, 1)?,
            event: serde_json::from_str::<Event>(event)
                .map_err(|err| decode_error(path, what(), err.to_string()))?,
        })
    }
}
