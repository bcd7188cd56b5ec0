//! Appends: the journal and, in the same transaction, the `runs` and `gates` projections.

use std::sync::OnceLock;

use aine_types::{Event, GateId, JournalEntry, RunId, RunStatus};
use sqlx::sqlite::SqliteConnection;
use sqlx::{Sqlite, Transaction};

use crate::{AuditEntry, Error, NewRun, Result, Store};

impl Store {
    /// Creates the run row and journals its first events (normally `RunStarted`) in one
    /// transaction; seqs start at 1. The run starts `running`; its events project onto it as in
    /// [`Store::append`]. `at_ms` (milliseconds since the Unix epoch) is the run's creation time
    /// and every event's commit time.
    ///
    /// Errors: [`Error::DuplicateRun`]; [`Error::Locked`] when another process holds the write
    /// lock beyond the busy timeout; [`Error::ReadOnly`].
    pub async fn create_run(
        &self,
        run: &NewRun,
        events: &[Event],
        at_ms: i64,
    ) -> Result<Vec<JournalEntry>> {
        self.create_run_audited(run, events, &[], at_ms).await
    }

    /// [`Store::create_run`], also appending `audit` entries to the audit chain in the same
    /// transaction (see [`crate::AuditEntry`]; `event_index` refers to `events`).
    pub async fn create_run_audited(
        &self,
        run: &NewRun,
        events: &[Event],
        audit: &[AuditEntry],
        at_ms: i64,
    ) -> Result<Vec<JournalEntry>> {
        let encoded = encode(events)?;
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO runs (id, workflow, workflow_path, workflow_source, status, \
             waiting_gate, created_at_ms, updated_at_ms, last_seq) \
             VALUES (?1, ?2, ?3, ?4, 'running', NULL, ?5, ?5, 0)",
        )
        .bind(run.id.to_string())
        .bind(&run.workflow)
        .bind(&run.workflow_path)
        .bind(&run.workflow_source)
        .bind(at_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(err) if Error::is_primary_key_violation(&err) => {
                return Err(Error::DuplicateRun(run.id));
            }
            Err(err) => return Err(self.map_err(err)),
            Ok(_) => {}
        }
        let entries = if events.is_empty() {
            Vec::new()
        } else {
            self.append_in(&mut tx, &run.id, 1, events, &encoded, at_ms)
                .await?
        };
        self.audit_in(&mut tx, &run.id, 1, &encoded, audit, at_ms)
            .await?;
        tx.commit().await.map_err(|err| self.map_err(err))?;
        Ok(entries)
    }

    /// Appends `events` to the run's journal in one transaction, the first at seq
    /// `expected_seq` (the run's `last_seq + 1`), all with commit time `at_ms` (milliseconds
    /// since the Unix epoch), and returns them as journaled.
    ///
    /// The projections change in the same transaction, from the events alone:
    /// - `GateOpened` inserts an open gate; the run becomes `waiting` on it;
    /// - `GateDecided` records the decision (who, which kind, why, when) on its gate; the run
    ///   becomes `running` again;
    /// - `RunFinished` gives the run the event's status; `RunStarted` makes it `running`;
    /// - other events (steps, gate evaluations) leave the status as the last of the above set it.
    ///
    /// The run's `last_seq` and `updated_at_ms` always move. An empty `events` writes nothing.
    ///
    /// Errors, with nothing written: [`Error::Conflict`] when the run's `last_seq + 1` is not
    /// `expected_seq` (another process appended to this run); [`Error::UnknownRun`];
    /// [`Error::UnknownGate`] or [`Error::GateNotOpen`] for a `GateDecided` on a gate that is not
    /// open in this run; [`Error::Locked`]; [`Error::ReadOnly`].
    pub async fn append(
        &self,
        run: &RunId,
        expected_seq: u64,
        events: &[Event],
        at_ms: i64,
    ) -> Result<Vec<JournalEntry>> {
        self.append_audited(run, expected_seq, events, &[], at_ms)
            .await
    }

    /// [`Store::append`], also appending `audit` entries to the audit chain in the same
    /// transaction (see [`crate::AuditEntry`]; `event_index` refers to `events`).
    pub async fn append_audited(
        &self,
        run: &RunId,
        expected_seq: u64,
        events: &[Event],
        audit: &[AuditEntry],
        at_ms: i64,
    ) -> Result<Vec<JournalEntry>> {
        if events.is_empty() {
            let record = self.run(run).await?;
            return if record.last_seq.checked_add(1) == Some(expected_seq) {
                Ok(Vec::new())
            } else {
                Err(Error::Conflict {
                    run: *run,
                    expected_seq,
                })
            };
        }
        let encoded = encode(events)?;
        let mut tx = self.begin_write().await?;
        let entries = self
            .append_in(&mut tx, run, expected_seq, events, &encoded, at_ms)
            .await?;
        self.audit_in(&mut tx, run, expected_seq, &encoded, audit, at_ms)
            .await?;
        tx.commit().await.map_err(|err| self.map_err(err))?;
        Ok(entries)
    }

    async fn audit_in(
        &self,
        conn: &mut SqliteConnection,
        run: &RunId,
        first_seq: u64,
        encoded: &[String],
        audit: &[AuditEntry],
        at_ms: i64,
    ) -> Result<()> {
        crate::audit::append_in(conn, Some(run), first_seq, encoded, audit, at_ms)
            .await
            .map_err(|e| match e {
                crate::audit::AppendError::Sql(err) => self.map_err(err),
                crate::audit::AppendError::Store(err) => err,
            })
    }

    /// Starts a write transaction that holds the write lock from its first statement
    /// (`BEGIN IMMEDIATE`), so that it waits for other processes up to the busy timeout instead
    /// of failing when it upgrades from reading to writing.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        if self.inner.read_only {
            return Err(Error::ReadOnly {
                path: self.path().to_owned(),
                detail: "the store was opened read-only".to_owned(),
            });
        }
        self.inner
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(|err| self.map_err(err))
    }

    /// The body of an append, inside the caller's transaction. `events` is not empty and
    /// `encoded` holds their JSON.
    async fn append_in(
        &self,
        conn: &mut SqliteConnection,
        run: &RunId,
        expected_seq: u64,
        events: &[Event],
        encoded: &[String],
        at_ms: i64,
    ) -> Result<Vec<JournalEntry>> {
        let conflict = || Error::Conflict {
            run: *run,
            expected_seq,
        };
        let run_text = run.to_string();
        let first = i64::try_from(expected_seq).map_err(|_| conflict())?;
        let count = i64::try_from(events.len()).map_err(|_| conflict())?;
        let last_seq = first.checked_add(count - 1).ok_or_else(conflict)?;

        // The runs row first: its `WHERE last_seq = ?` is the conflict check, and nothing else
        // is written when it fails.
        let updated = match project_status(events) {
            None => sqlx::query(
                "UPDATE runs SET last_seq = ?1, updated_at_ms = ?2 WHERE id = ?3 AND last_seq = ?4",
            )
            .bind(last_seq)
            .bind(at_ms)
            .bind(&run_text)
            .bind(first - 1)
            .execute(&mut *conn)
            .await,
            Some((status, gate)) => sqlx::query(
                "UPDATE runs SET last_seq = ?1, updated_at_ms = ?2, status = ?5, waiting_gate = ?6 \
                 WHERE id = ?3 AND last_seq = ?4",
            )
            .bind(last_seq)
            .bind(at_ms)
            .bind(&run_text)
            .bind(first - 1)
            .bind(status.as_str())
            .bind(gate.map(|gate| gate.to_string()))
            .execute(&mut *conn)
            .await,
        }
        .map_err(|err| self.map_err(err))?;
        if updated.rows_affected() == 0 {
            let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM runs WHERE id = ?1")
                .bind(&run_text)
                .fetch_optional(&mut *conn)
                .await
                .map_err(|err| self.map_err(err))?;
            return Err(if exists.is_some() {
                conflict()
            } else {
                Error::UnknownRun(*run)
            });
        }

        // The journal, in multi-row INSERTs of power-of-two sizes, largest first: few round trips
        // to SQLite, and at most `INSERT_SIZES.len()` distinct statements in the statement cache.
        let mut done = 0;
        for (rows, sql) in insert_statements() {
            while events.len() - done >= *rows {
                let mut query = sqlx::query(sql.as_str()).bind(&run_text).bind(at_ms);
                for (offset, (event, json)) in events[done..done + rows]
                    .iter()
                    .zip(&encoded[done..done + rows])
                    .enumerate()
                {
                    let seq = first + i64::try_from(done + offset).map_err(|_| conflict())?;
                    query = query.bind(seq).bind(event.kind()).bind(json.as_str());
                }
                query
                    .execute(&mut *conn)
                    .await
                    .map_err(|err| self.map_err(err))?;
                done += rows;
            }
        }

        for event in events {
            match event {
                Event::GateOpened { step, gate, owner } => {
                    sqlx::query(
                        "INSERT INTO gates (id, run_id, step, owner_role, status, opened_at_ms) \
                         VALUES (?1, ?2, ?3, ?4, 'open', ?5)",
                    )
                    .bind(gate.to_string())
                    .bind(&run_text)
                    .bind(step.as_str())
                    .bind(owner.as_str())
                    .bind(at_ms)
                    .execute(&mut *conn)
                    .await
                    .map_err(|err| self.map_err(err))?;
                }
                Event::GateDecided {
                    gate,
                    decision,
                    by,
                    reason,
                    ..
                } => {
                    let decided = sqlx::query(
                        "UPDATE gates SET status = 'decided', decided_at_ms = ?1, \
                         decided_by = ?2, decision = ?3, reason = ?4 \
                         WHERE id = ?5 AND run_id = ?6 AND status = 'open'",
                    )
                    .bind(at_ms)
                    .bind(by.as_str())
                    .bind(decision.kind())
                    .bind(reason)
                    .bind(gate.to_string())
                    .bind(&run_text)
                    .execute(&mut *conn)
                    .await
                    .map_err(|err| self.map_err(err))?;
                    if decided.rows_affected() == 0 {
                        return Err(self.why_not_open(conn, gate, &run_text).await);
                    }
                }
                Event::RunStarted { .. }
                | Event::StepStarted { .. }
                | Event::StepFinished { .. }
                | Event::ModelCalled { .. }
                | Event::GateEvaluated { .. }
                | Event::RunFinished { .. } => {}
            }
        }

        let entries = events
            .iter()
            .zip(expected_seq..)
            .map(|(event, seq)| JournalEntry {
                seq,
                at_ms,
                event: event.clone(),
            })
            .collect();
        Ok(entries)
    }

    /// Why a `GateDecided` found no open gate `gate` in run `run`.
    async fn why_not_open(&self, conn: &mut SqliteConnection, gate: &GateId, run: &str) -> Error {
        let status: std::result::Result<Option<String>, _> =
            sqlx::query_scalar("SELECT status FROM gates WHERE id = ?1 AND run_id = ?2")
                .bind(gate.to_string())
                .bind(run)
                .fetch_optional(&mut *conn)
                .await;
        match status {
            Ok(Some(_)) => Error::GateNotOpen(*gate),
            Ok(None) => Error::UnknownGate(*gate),
            Err(err) => self.map_err(err),
        }
    }
}

/// The run status (and gate waited on) after `events`, or `None` when none of them changes it.
fn project_status(events: &[Event]) -> Option<(RunStatus, Option<GateId>)> {
    events.iter().fold(None, |projected, event| match event {
        Event::RunStarted { .. } | Event::GateDecided { .. } => Some((RunStatus::Running, None)),
        Event::GateOpened { gate, .. } => Some((RunStatus::Waiting, Some(*gate))),
        Event::RunFinished { status, .. } => Some((*status, None)),
        Event::StepStarted { .. }
        | Event::StepFinished { .. }
        | Event::ModelCalled { .. }
        | Event::GateEvaluated { .. } => projected,
    })
}

/// Serializes every event before the write lock is taken.
fn encode(events: &[Event]) -> Result<Vec<String>> {
    events
        .iter()
        .map(|event| {
            serde_json::to_string(event).map_err(|source| Error::Encode {
                kind: event.kind(),
                source,
            })
        })
        .collect()
}

/// Rows per journal INSERT, largest first. 64 rows bind 2 + 3 * 64 = 194 parameters, far below
/// SQLite's limit of 32766.
const INSERT_SIZES: [usize; 7] = [64, 32, 16, 8, 4, 2, 1];

/// `(rows, INSERT INTO journal ... VALUES (...), ...)` for each of [`INSERT_SIZES`]: `?1` is the
/// run id and `?2` the commit time, then `seq, kind, event` per row.
fn insert_statements() -> &'static [(usize, String)] {
    static STATEMENTS: OnceLock<Vec<(usize, String)>> = OnceLock::new();
    STATEMENTS.get_or_init(|| {
        INSERT_SIZES
            .iter()
            .map(|&rows| {
                let values: Vec<String> = (0..rows)
                    .map(|row| {
                        let p = 3 + 3 * row;
                        format!("(?1, ?{p}, ?{}, ?{}, ?2)", p + 1, p + 2)
                    })
                    .collect();
                let sql = format!(
                    "INSERT INTO journal (run_id, seq, kind, event, at_ms) VALUES {}",
                    values.join(", ")
                );
                (rows, sql)
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_sql_binds_three_parameters_per_row() {
        let statements = insert_statements();
        assert_eq!(statements.len(), INSERT_SIZES.len());
        assert_eq!(
            statements[5],
            (
                2,
                "INSERT INTO journal (run_id, seq, kind, event, at_ms) VALUES \
                 (?1, ?3, ?4, ?5, ?2), (?1, ?6, ?7, ?8, ?2)"
                    .to_owned()
            )
        );
        for (rows, sql) in statements {
            assert_eq!(sql.matches("(?1,").count(), *rows);
        }
        assert_eq!(
            statements.last().map(|(rows, _)| *rows),
            Some(1),
            "1 must end the sizes"
        );
    }
}
