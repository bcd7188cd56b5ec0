//! Appends: the journal and, in the same transaction, the `runs` and `gates` projections. They
//! run on the writer thread (`writer.rs`).

use aine_types::{Event, GateId, JournalEntry, RunId, RunStatus};
use rusqlite::{OptionalExtension, params};

use crate::writer::{WriteConn, Writer};
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
        let run = run.clone();
        let events = events.to_vec();
        let audit = audit.to_vec();
        self.writer()?
            .write(move |w| {
                w.conn
                    .prepare_cached(
                        "INSERT INTO runs (id, workflow, workflow_path, workflow_source, status, \
                         waiting_gate, created_at_ms, updated_at_ms, last_seq) \
                         VALUES (?1, ?2, ?3, ?4, 'running', NULL, ?5, ?5, 0)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![
                            run.id.to_string(),
                            run.workflow,
                            run.workflow_path,
                            run.workflow_source,
                            at_ms
                        ])
                    })
                    .map_err(|err| {
                        if Error::is_primary_key_violation(&err) {
                            Error::DuplicateRun(run.id)
                        } else {
                            w.err(err)
                        }
                    })?;
                let entries = if events.is_empty() {
                    Vec::new()
                } else {
                    append_in(w, &run.id, 1, events, &encoded, at_ms)?
                };
                crate::audit::append_in(w, Some(&run.id), 1, &encoded, &audit, at_ms)?;
                Ok(entries)
            })
            .await
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
        let run = *run;
        let events = events.to_vec();
        let audit = audit.to_vec();
        self.writer()?
            .write(move |w| {
                let entries = append_in(w, &run, expected_seq, events, &encoded, at_ms)?;
                crate::audit::append_in(w, Some(&run), expected_seq, &encoded, &audit, at_ms)?;
                Ok(entries)
            })
            .await
    }

    /// The writer, or [`Error::ReadOnly`] for a store opened read-only.
    pub(crate) fn writer(&self) -> Result<&Writer> {
        self.inner.writer.as_ref().ok_or_else(|| Error::ReadOnly {
            path: self.path().to_owned(),
            detail: "the store was opened read-only".to_owned(),
        })
    }
}

/// The body of an append, inside the writer's transaction. `events` is not empty and `encoded`
/// holds their JSON.
fn append_in(
    w: &WriteConn<'_>,
    run: &RunId,
    expected_seq: u64,
    events: Vec<Event>,
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

    // The runs row first: its `WHERE last_seq = ?` is the conflict check, and nothing else is
    // written when it fails.
    let updated = match project_status(&events) {
        None => w
            .conn
            .prepare_cached(
                "UPDATE runs SET last_seq = ?1, updated_at_ms = ?2 WHERE id = ?3 AND last_seq = ?4",
            )
            .and_then(|mut update| update.execute(params![last_seq, at_ms, run_text, first - 1])),
        Some((status, gate)) => w
            .conn
            .prepare_cached(
                "UPDATE runs SET last_seq = ?1, updated_at_ms = ?2, status = ?5, waiting_gate = ?6 \
                 WHERE id = ?3 AND last_seq = ?4",
            )
            .and_then(|mut update| {
                update.execute(params![
                    last_seq,
                    at_ms,
                    run_text,
                    first - 1,
                    status.as_str(),
                    gate.map(|gate| gate.to_string())
                ])
            }),
    }
    .map_err(|err| w.err(err))?;
    if updated == 0 {
        let exists = w
            .conn
            .prepare_cached("SELECT 1 FROM runs WHERE id = ?1")
            .and_then(|mut select| select.exists(params![run_text]))
            .map_err(|err| w.err(err))?;
        return Err(if exists {
            conflict()
        } else {
            Error::UnknownRun(*run)
        });
    }

    let mut insert = w
        .conn
        .prepare_cached(
            "INSERT INTO journal (run_id, seq, kind, event, at_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(|err| w.err(err))?;
    for (seq, (event, json)) in (first..).zip(events.iter().zip(encoded)) {
        insert
            .execute(params![run_text, seq, event.kind(), json, at_ms])
            .map_err(|err| w.err(err))?;
    }

    for event in &events {
        match event {
            Event::GateOpened { step, gate, owner } => {
                w.conn
                    .prepare_cached(
                        "INSERT INTO gates (id, run_id, step, owner_role, status, opened_at_ms) \
                         VALUES (?1, ?2, ?3, ?4, 'open', ?5)",
                    )
                    .and_then(|mut insert| {
                        insert.execute(params![
                            gate.to_string(),
                            run_text,
                            step.as_str(),
                            owner.as_str(),
                            at_ms
                        ])
                    })
                    .map_err(|err| w.err(err))?;
            }
            Event::GateDecided {
                gate,
                decision,
                by,
                reason,
                ..
            } => {
                let decided = w
                    .conn
                    .prepare_cached(
                        "UPDATE gates SET status = 'decided', decided_at_ms = ?1, \
                         decided_by = ?2, decision = ?3, reason = ?4 \
                         WHERE id = ?5 AND run_id = ?6 AND status = 'open'",
                    )
                    .and_then(|mut update| {
                        update.execute(params![
                            at_ms,
                            by.as_str(),
                            decision.kind(),
                            reason,
                            gate.to_string(),
                            run_text
                        ])
                    })
                    .map_err(|err| w.err(err))?;
                if decided == 0 {
                    return Err(why_not_open(w, gate, &run_text));
                }
            }
            Event::RunStarted { .. }
            | Event::StepStarted { .. }
            | Event::StepFinished { .. }
            | Event::ModelCalled { .. }
            | Event::ElementFinished { .. }
            | Event::GateEvaluated { .. }
            | Event::RunFinished { .. } => {}
        }
    }

    Ok(events
        .into_iter()
        .zip(expected_seq..)
        .map(|(event, seq)| JournalEntry { seq, at_ms, event })
        .collect())
}

/// Why a `GateDecided` found no open gate `gate` in run `run`.
fn why_not_open(w: &WriteConn<'_>, gate: &GateId, run: &str) -> Error {
    let status = w
        .conn
        .prepare_cached("SELECT status FROM gates WHERE id = ?1 AND run_id = ?2")
        .and_then(|mut select| {
            select
                .query_row(params![gate.to_string(), run], |row| {
                    row.get::<_, String>(0)
                })
                .optional()
        });
    match status {
        Ok(Some(_)) => Error::GateNotOpen(*gate),
        Ok(None) => Error::UnknownGate(*gate),
        Err(err) => w.err(err),
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
        | Event::ElementFinished { .. }
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
