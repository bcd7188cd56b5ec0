//! The audit chain: entries written with journal appends verify; every tampering of a copy of
//! the database (a flipped byte, a deleted, reordered or inserted row) is detected.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers"
)]

use std::path::Path;

use aine_store::{AuditEntry, NewRun, Store, StoreOptions};
use aine_types::{Event, Outcome, RunId, StepId};
use rand::Rng;
use rand::seq::IndexedRandom;
use serde_json::json;
use sqlx::Connection;
use ulid::Ulid;

fn run_id(n: u64) -> RunId {
    RunId::from_ulid(Ulid::from_parts(n, u128::from(n)))
}

fn new_run(id: RunId) -> NewRun {
    NewRun {
        id,
        workflow: "w".into(),
        workflow_path: "w.workflow.yaml".into(),
        workflow_source: "workflow: w\nversion: 1\n".into(),
    }
}

fn started() -> Event {
    Event::RunStarted {
        workflow: "w".into(),
        workflow_version: 1,
        workflow_sha256: "00".into(),
        inputs: json!({"sources": ["a.txt"]}),
    }
}

fn entry(
    kind: &str,
    actor: &str,
    payload: serde_json::Value,
    event_index: Option<usize>,
) -> AuditEntry {
    AuditEntry {
        kind: kind.into(),
        actor: actor.into(),
        payload,
        event_index,
    }
}

/// A database with `runs` runs, each with a start, a step and an audited finish.
async fn seeded(path: &Path, runs: u64) -> Store {
    let store = Store::open(path, &StoreOptions::default()).await.unwrap();
    for n in 1..=runs {
        let id = run_id(n);
        store
            .create_run_audited(
                &new_run(id),
                &[started()],
                &[entry(
                    "run.started",
                    "alice",
                    json!({"workflow": "w", "n": n}),
                    Some(0),
                )],
                n as i64,
            )
            .await
            .unwrap();
        let step = StepId::new("a").unwrap();
        let events = [
            Event::StepStarted {
                step: step.clone(),
                attempt: 1,
            },
            Event::StepFinished {
                step,
                attempt: 1,
                outcome: Outcome::Ok {
                    value: json!({"ok": true}),
                },
                why: "builtin".into(),
                duration_ms: 1,
            },
            Event::RunFinished {
                status: aine_types::RunStatus::Succeeded,
                why: "done".into(),
            },
        ];
        store
            .append_audited(
                &id,
                2,
                &events,
                &[
                    entry(
                        "spec.published",
                        "system",
                        json!({"files": [{"path": "spec/x.json", "sha256": "ab"}]}),
                        Some(1),
                    ),
                    entry(
                        "run.finished",
                        "system",
                        json!({"status": "succeeded", "cost_usd": "0.0012"}),
                        Some(2),
                    ),
                ],
                n as i64 + 1,
            )
            .await
            .unwrap();
    }
    store
}

#[tokio::test]
async fn audited_appends_form_a_verified_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("a.db"), 3).await;
    let log = store.audit_log(0, None).await.unwrap();
    assert_eq!(log.len(), 9);
    assert_eq!(log[0].prev_hash, aine_store::GENESIS_HASH);
    for pair in log.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
        assert_eq!(pair[1].seq, pair[0].seq + 1);
    }
    assert_eq!(log[1].journal_seq, Some(3));
    assert_eq!(log[0].actor, "alice");
    let v = store.verify_audit().await.unwrap();
    assert_eq!(v.entries, 9);
    assert_eq!(v.broken, None);
    assert_eq!(v.head.as_deref(), Some(log[8].hash.as_str()));
}

#[derive(Debug, Clone, Copy)]
enum Tamper {
    FlipByte,
    Delete,
    Reorder,
    Insert,
    EditJournal,
}

async fn tamper(
    conn: &mut sqlx::SqliteConnection,
    how: Tamper,
    entries: i64,
    rng: &mut impl Rng,
) -> String {
    let seq = rng.random_range(1..=entries);
    match how {
        Tamper::FlipByte => {
            let columns = [
                "at_ms",
                "kind",
                "run_id",
                "journal_seq",
                "event_sha256",
                "actor",
                "payload",
                "prev_hash",
                "hash",
            ];
            let column = *columns.choose(rng).unwrap();
            if matches!(column, "at_ms" | "journal_seq") {
                let delta = rng.random_range(1..1000);
                sqlx::query(&format!(
                    "UPDATE audit SET {column} = {column} + ?1 WHERE seq = ?2"
                ))
                .bind(delta)
                .bind(seq)
                .execute(&mut *conn)
                .await
                .unwrap();
            } else {
                let text: String =
                    sqlx::query_scalar(&format!("SELECT {column} FROM audit WHERE seq = ?1"))
                        .bind(seq)
                        .fetch_one(&mut *conn)
                        .await
                        .unwrap();
                let mut bytes = text.into_bytes();
                let i = rng.random_range(0..bytes.len());
                // Another printable ASCII byte, so the value stays valid UTF-8 text.
                let old = bytes[i];
                let mut new = old;
                while new == old {
                    new = rng.random_range(0x21u8..0x7f);
                }
                bytes[i] = new;
                let text = String::from_utf8_lossy(&bytes).into_owned();
                sqlx::query(&format!("UPDATE audit SET {column} = ?1 WHERE seq = ?2"))
                    .bind(text)
                    .bind(seq)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            format!("flip a byte of {column} in entry {seq}")
        }
        Tamper::Delete => {
            sqlx::query("DELETE FROM audit WHERE seq = ?1")
                .bind(seq)
                .execute(&mut *conn)
                .await
                .unwrap();
            format!("delete entry {seq}")
        }
        Tamper::Reorder => {
            let mut other = rng.random_range(1..=entries);
            while other == seq {
                other = rng.random_range(1..=entries);
            }
            for (from, to) in [(seq, 1_000_000), (other, seq), (1_000_000, other)] {
                sqlx::query("UPDATE audit SET seq = ?2 WHERE seq = ?1")
                    .bind(from)
                    .bind(to)
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
            format!("swap entries {seq} and {other}")
        }
        Tamper::Insert => {
            // Shift the entries after `seq` up by one and put a copy of entry `seq` in the gap.
            sqlx::query("UPDATE audit SET seq = seq + 1000000 WHERE seq > ?1")
                .bind(seq)
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query("UPDATE audit SET seq = seq - 999999 WHERE seq > 1000000")
                .execute(&mut *conn)
                .await
                .unwrap();
            sqlx::query(
                "INSERT INTO audit (seq, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, prev_hash, hash) \
                 SELECT seq + 1, at_ms, kind, run_id, journal_seq, event_sha256, actor, payload, hash, hash FROM audit WHERE seq = ?1",
            )
            .bind(seq)
            .execute(&mut *conn)
            .await
            .unwrap();
            format!("insert a copy after entry {seq}")
        }
        Tamper::EditJournal => {
            let row: (String, i64) =
                sqlx::query_as("SELECT run_id, journal_seq FROM audit WHERE seq = ?1")
                    .bind(seq)
                    .fetch_one(&mut *conn)
                    .await
                    .unwrap();
            sqlx::query("UPDATE journal SET event = replace(event, '\"w\"', '\"x\"') || ' ' WHERE run_id = ?1 AND seq = ?2")
                .bind(&row.0)
                .bind(row.1)
                .execute(&mut *conn)
                .await
                .unwrap();
            format!("edit the journal event behind entry {seq}")
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tampering_of_a_copy_is_detected() {
    let trials: usize = std::env::var("AINE_AUDIT_TRIALS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.db");
    let store = seeded(&base, 4).await;
    let entries = store.verify_audit().await.unwrap().entries as i64;
    store.close().await;
    let mut rng = rand::rng();
    let kinds = [
        Tamper::FlipByte,
        Tamper::Delete,
        Tamper::Reorder,
        Tamper::Insert,
        Tamper::EditJournal,
    ];
    let mut counts = [0usize; 5];
    for trial in 0..trials {
        let copy = dir.path().join(format!("copy-{}.db", trial % 4));
        // A log left beside an earlier copy would be replayed over this one.
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(dir.path().join(format!("copy-{}.db{suffix}", trial % 4)));
        }
        std::fs::copy(&base, &copy).unwrap();
        let k = rng.random_range(0..kinds.len());
        counts[k] += 1;
        let what = {
            let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", copy.display()))
                .await
                .unwrap();
            let what = tamper(&mut conn, kinds[k], entries, &mut rng).await;
            conn.close().await.unwrap();
            what
        };
        let store = Store::open(&copy, &StoreOptions::default()).await.unwrap();
        let v = store.verify_audit().await.unwrap();
        assert!(
            v.broken.is_some(),
            "trial {trial}: `{what}` was not detected: {v:?}"
        );
        store.close().await;
    }
    assert!(
        counts.iter().all(|c| *c > 0) || trials < 50,
        "every kind of tampering was tried: {counts:?}"
    );
}

#[tokio::test]
async fn verify_names_the_first_broken_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("a.db"), 2).await;
    let url = format!("sqlite://{}", dir.path().join("a.db").display());
    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
    sqlx::query("UPDATE audit SET actor = 'mallory' WHERE seq = 4")
        .execute(&mut conn)
        .await
        .unwrap();
    let v = store.verify_audit().await.unwrap();
    let broken = v.broken.unwrap();
    assert_eq!(broken.seq, 4);
    assert_eq!(
        broken.reason,
        "entry 4 was changed: its contents do not match its hash"
    );
    sqlx::query("DELETE FROM audit WHERE seq = 6")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("UPDATE audit SET actor = 'alice' WHERE seq = 4")
        .execute(&mut conn)
        .await
        .unwrap();
    let v = store.verify_audit().await.unwrap();
    let broken = v.broken.unwrap();
    assert_eq!(broken.seq, 6, "{broken:?}");
    assert!(
        broken
            .reason
            .contains("ends at entry 5 but its head says entry 6"),
        "{broken:?}"
    );
}

#[tokio::test]
async fn the_audit_log_pages_newest_first_by_run_and_actor() {
    let dir = tempfile::tempdir().unwrap();
    let store = seeded(&dir.path().join("a.db"), 3).await;
    let all = store.audit_log(0, None).await.unwrap();
    let first = store.audit_page(None, None, None, 4).await.unwrap();
    let seqs: Vec<u64> = first.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [9, 8, 7, 6]);
    let next = store.audit_page(None, None, Some(6), 4).await.unwrap();
    let seqs: Vec<u64> = next.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [5, 4, 3, 2]);
    let run = all[3].run.clone().unwrap();
    let of_run = store.audit_page(Some(&run), None, None, 50).await.unwrap();
    assert_eq!(of_run.len(), 3, "{of_run:?}");
    assert!(
        of_run
            .iter()
            .all(|e| e.run.as_deref() == Some(run.as_str()))
    );
    let alice = store
        .audit_page(None, Some("alice"), None, 50)
        .await
        .unwrap();
    assert!(!alice.is_empty() && alice.iter().all(|e| e.actor == "alice"));
    let nobody = store
        .audit_page(Some(&run), Some("nobody"), None, 50)
        .await
        .unwrap();
    assert!(nobody.is_empty());
}
