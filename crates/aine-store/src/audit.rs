//! The audit log: an append-only, hash-chained record of run starts and ends, gate decisions,
//! spec publications, budget refusals and escalations.
//!
//! Each entry's `hash` is the SHA-256 (hex) of the RFC 8785 canonical JSON of
//! `{seq, at_ms, kind, run, journal_seq, event_sha256, actor, payload, prev_hash}`; `prev_hash` is
//! the previous entry's `hash` (64 zeros for the first). `audit_head` repeats the newest entry's
//! seq and hash. [`Store::verify_audit`] recomputes everything and reports the first break.
//!
//! What it proves: any edit, deletion, reordering or insertion of rows made without recomputing
//! the chain is detected. Someone able to rewrite the whole table *and* recompute every hash can
//! forge a consistent chain; export the log (`aine audit export`) and keep its head hash
//! elsewhere to detect that too.

use aine_types::RunId;
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::writer::WriteConn;
use crate::{Error, Result, Store};

/// The `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// An audit entry to record with the journal events it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// What happened: `run.started`, `run.finished`, `gate.decided`, `spec.published`,
    /// `budget.refused`, `model.escalated`, ...
    pub kind: String,
    /// Who: a person id, or `system`.
    pub actor: String,
    /// The details (canonicalized before hashing).
    pub payload: Value,
    /// Index, in the appended events, of the event this entry records (if any).
    pub event_index: Option<usize>,
}

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditRecord {
    pub seq: u64,
    pub at_ms: i64,
    pub kind: String,
    pub run: Option<String>,
    pub journal_seq: Option<u64>,
    pub event_sha256: Option<String>,
    pub actor: String,
    pub payload: Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of [`Store::verify_audit`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditVerification {
    /// Entries checked.
    pub entries: u64,
    /// The newest entry's hash (the value to keep elsewhere), if any.
    pub head: Option<String>,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

/// Where and how the chain breaks.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BrokenLink {
    /// The entry at which the chain stops being trustworthy.
    pub seq: u64,
    pub reason: String,
}

#[derive(Serialize)]
struct Hashed<'a> {
    seq: u64,
    at_ms: i64,
    kind: &'a str,
    run: Option<&'a str>,
    journal_seq: Option<u64>,
    event_sha256: Option<&'a str>,
    actor: &'a str,
    payload: &'a Value,
    prev_hash: &'a str,
}

fn canonical<T: Serialize>(value: &T) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut ser =
        serde_json::Serializer::with_formatter(&mut buf, canon_json::CanonicalFormatter::new());
    value.serialize(&mut ser).map_err(|e| Error::Canonical {
        detail: format!("cannot canonicalize an audit entry: {e}"),
    })?;
    Ok(buf)
}

fn hash_of(h: &Hashed<'_>) -> Result<String> {
    Ok(hex::encode(Sha256::digest(canonical(h)?)))
}

/// SHA-256 (hex) of a stored event's JSON text.
pub(crate) fn event_sha256(json: &str) -> String {
    hex::encode(Sha256::digest(json.as_bytes()))
}

/// Appends `entries` to the chain inside the writer's transaction. `events_json[i]` is the
/// stored JSON of the event at journal seq `first_seq + i` of `run`.
pub(crate) fn append_in(
    w: &WriteConn<'_>,
    run: Option<&RunId>,
    first_seq: u64,
    events_json: &[String],
    entries: &[AuditEntry],
    at_ms: i64,
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let head = w
        .conn
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")
        .and_then(|mut select| {
            select
                .query_row([], |row| {
                    Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?))
                })
                .optional()
        })
        .map_err(|err| w.err(err))?;
    let (mut seq, mut prev) = match head {
        Some((seq, hash)) => (seq as u64, hash),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let run_text = run.map(ToString::to_string);
    let mut insert = w
        .conn
        .prepare_cached(
            "INSERT INTO audit (seq, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, prev_hash, hash) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        )
        .map_err(|err| w.err(err))?;
    for entry in entries {
        seq += 1;
        let payload: Value =
            serde_json::from_slice(&canonical(&entry.payload)?).map_err(|e| Error::Canonical {
                detail: format!("cannot canonicalize an audit payload: {e}"),
            })?;
        let (journal_seq, event_hash) = match entry.event_index {
            Some(i) => (
                Some(first_seq + i as u64),
                events_json.get(i).map(|json| event_sha256(json)),
            ),
            None => (None, None),
        };
        let hashed = Hashed {
            seq,
            at_ms,
            kind: &entry.kind,
            run: run_text.as_deref(),
            journal_seq,
            event_sha256: event_hash.as_deref(),
            actor: &entry.actor,
            payload: &payload,
            prev_hash: &prev,
        };
        let hash = hash_of(&hashed)?;
        let payload_text =
            String::from_utf8(canonical(&payload)?).map_err(|e| Error::Canonical {
                detail: format!("canonical JSON is not UTF-8: {e}"),
            })?;
        insert
            .execute(params![
                seq as i64,
                at_ms,
                entry.kind,
                run_text,
                journal_seq.map(|s| s as i64),
                event_hash,
                entry.actor,
                payload_text,
                prev,
                hash
            ])
            .map_err(|err| w.err(err))?;
        prev = hash;
    }
    w.conn
        .prepare_cached(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, ?1, ?2) \
             ON CONFLICT (id) DO UPDATE SET seq = ?1, hash = ?2",
        )
        .and_then(|mut upsert| upsert.execute(params![seq as i64, prev]))
        .map_err(|err| w.err(err))?;
    Ok(())
}

impl Store {
    /// Audit entries with `seq > after`, oldest first, at most `limit` (all when `None`).
    pub async fn audit_log(&self, after: u64, limit: Option<u32>) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, prev_hash, hash \
             FROM audit WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(after as i64)
        .bind(limit.map_or(-1, i64::from))
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        rows.iter().map(|row| self.audit_from_row(row)).collect()
    }

    /// Audit entries newest first, at most `limit`: with `seq < before` when given, only those of
    /// run `run` and of actor `actor` when given (a page of the audit log, for people).
    pub async fn audit_page(
        &self,
        run: Option<&str>,
        actor: Option<&str>,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<AuditRecord>> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, prev_hash, hash \
             FROM audit WHERE seq < ?1 AND (?2 IS NULL OR run_id = ?2) AND (?3 IS NULL OR actor = ?3) \
             ORDER BY seq DESC LIMIT ?4",
        )
        .bind(before.map_or(i64::MAX, |b| i64::try_from(b).unwrap_or(i64::MAX)))
        .bind(run)
        .bind(actor)
        .bind(i64::from(limit))
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        rows.iter().map(|row| self.audit_from_row(row)).collect()
    }

    fn audit_from_row(&self, row: &sqlx::sqlite::SqliteRow) -> Result<AuditRecord> {
        let decode = |what: &str, e: &dyn std::fmt::Display| Error::Decode {
            path: self.path().to_owned(),
            what: format!("audit entry ({what})"),
            detail: e.to_string(),
        };
        let get_text = |i: usize| -> Result<String> {
            row.try_get::<String, _>(i).map_err(|e| decode("text", &e))
        };
        let payload_text = get_text(7)?;
        Ok(AuditRecord {
            seq: row.try_get::<i64, _>(0).map_err(|e| decode("seq", &e))? as u64,
            at_ms: row.try_get(1).map_err(|e| decode("at_ms", &e))?,
            kind: get_text(2)?,
            run: row.try_get(3).map_err(|e| decode("run_id", &e))?,
            journal_seq: row
                .try_get::<Option<i64>, _>(4)
                .map_err(|e| decode("journal_seq", &e))?
                .map(|s| s as u64),
            event_sha256: row.try_get(5).map_err(|e| decode("event_sha256", &e))?,
            actor: get_text(6)?,
            payload: serde_json::from_str(&payload_text).map_err(|e| decode("payload", &e))?,
            prev_hash: get_text(8)?,
            hash: get_text(9)?,
        })
    }

    /// Recomputes the whole chain and reports the first broken link: a gap or reordering in
    /// `seq`, an entry whose contents do not match its hash, an entry whose `prev_hash` is not
    /// the previous entry's hash, an entry whose journal event is missing or changed, or a head
    /// that does not match the newest entry (entries deleted from the end).
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, prev_hash, hash \
             FROM audit ORDER BY rowid",
        )
        .fetch_all(&self.inner.reader)
        .await
        .map_err(|err| self.map_err(err))?;
        let head: Option<(i64, String)> =
            sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
                .fetch_optional(&self.inner.reader)
                .await
                .map_err(|err| self.map_err(err))?;
        let mut prev = GENESIS_HASH.to_owned();
        let mut expected = 1u64;
        let broken =
            |seq: u64, reason: String, entries: u64, head: Option<String>| AuditVerification {
                entries,
                head,
                broken: Some(BrokenLink { seq, reason }),
            };
        for row in &rows {
            let record = match self.audit_from_row(row) {
                Ok(r) => r,
                Err(e) => {
                    return Ok(broken(
                        expected,
                        format!("entry {expected} cannot be read: {e}"),
                        expected - 1,
                        None,
                    ));
                }
            };
            if record.seq != expected {
                let reason = if record.seq > expected {
                    format!(
                        "entry {expected} is missing (the next stored entry is {})",
                        record.seq
                    )
                } else {
                    format!(
                        "entry {} appears out of order after entry {}",
                        record.seq,
                        expected - 1
                    )
                };
                return Ok(broken(expected, reason, expected - 1, None));
            }
            if record.prev_hash != prev {
                return Ok(broken(
                    record.seq,
                    format!(
                        "entry {} does not follow entry {}: its prev_hash is not that entry's hash",
                        record.seq,
                        expected - 1
                    ),
                    expected - 1,
                    None,
                ));
            }
            let recomputed = hash_of(&Hashed {
                seq: record.seq,
                at_ms: record.at_ms,
                kind: &record.kind,
                run: record.run.as_deref(),
                journal_seq: record.journal_seq,
                event_sha256: record.event_sha256.as_deref(),
                actor: &record.actor,
                payload: &record.payload,
                prev_hash: &record.prev_hash,
            })?;
            let stored_payload: String = row.try_get(7).unwrap_or_default();
            let canonical_payload =
                String::from_utf8(canonical(&record.payload)?).unwrap_or_default();
            if recomputed != record.hash || stored_payload != canonical_payload {
                return Ok(broken(
                    record.seq,
                    format!(
                        "entry {} was changed: its contents do not match its hash",
                        record.seq
                    ),
                    expected - 1,
                    None,
                ));
            }
            if let (Some(run), Some(jseq), Some(want)) =
                (&record.run, record.journal_seq, &record.event_sha256)
            {
                let event: Option<String> =
                    sqlx::query_scalar("SELECT event FROM journal WHERE run_id = ?1 AND seq = ?2")
                        .bind(run)
                        .bind(jseq as i64)
                        .fetch_optional(&self.inner.reader)
                        .await
                        .map_err(|err| self.map_err(err))?;
                match event {
                    None => {
                        return Ok(broken(
                            record.seq,
                            format!(
                                "entry {} records journal event {run}#{jseq}, which is missing",
                                record.seq
                            ),
                            expected - 1,
                            None,
                        ));
                    }
                    Some(json) if &event_sha256(&json) != want => {
                        return Ok(broken(
                            record.seq,
                            format!(
                                "entry {} records journal event {run}#{jseq}, which was changed",
                                record.seq
                            ),
                            expected - 1,
                            None,
                        ));
                    }
                    Some(_) => {}
                }
            }
            prev = record.hash;
            expected += 1;
        }
        let entries = expected - 1;
        let head_ok = match &head {
            None => entries == 0,
            Some((seq, hash)) => *seq as u64 == entries && *hash == prev,
        };
        if !head_ok {
            return Ok(broken(
                entries + 1,
                format!(
                    "the log ends at entry {entries} but its head says {}: entries were removed from the end or the head was edited",
                    head.as_ref()
                        .map_or("no entries".to_owned(), |(seq, _)| format!("entry {seq}"))
                ),
                entries,
                None,
            ));
        }
        Ok(AuditVerification {
            entries,
            head: (entries > 0).then_some(prev),
            broken: None,
        })
    }
}
