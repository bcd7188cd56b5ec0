//! Opening databases: persistence, migrations, and the errors for locked, read-only and
//! damaged files, on real SQLite files.

#![allow(clippy::unwrap_used, reason = "test helpers outside #[test] functions")]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

use aine_store::{Error, RunFilter, Store, StoreOptions};
use aine_types::RunStatus;
use common::*;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Connection, SqliteConnection};

async fn raw_connection(path: &Path, journal_mode: SqliteJournalMode) -> SqliteConnection {
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(journal_mode);
    SqliteConnection::connect_with(&options).await.unwrap()
}

fn short_timeout() -> StoreOptions {
    StoreOptions {
        busy_timeout: Duration::from_millis(200),
        ..StoreOptions::default()
    }
}

/// Whether this process may write files without write permission (root, CAP_DAC_OVERRIDE), in
/// which case SQLite never sees a permission error.
fn privileged(dir: &Path) -> bool {
    let probe = dir.join("probe");
    std::fs::write(&probe, b"x").unwrap();
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o444)).unwrap();
    let writable = std::fs::OpenOptions::new().write(true).open(&probe).is_ok();
    std::fs::remove_file(&probe).unwrap();
    writable
}

#[tokio::test]
async fn open_creates_directories_and_a_wal_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let store = open(&path).await;
    assert_eq!(store.path(), path);
    assert!(path.is_file());
    let mut raw = raw_connection(&path, SqliteJournalMode::Wal).await;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

#[tokio::test]
async fn reopening_keeps_the_data_and_migrates_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let id = run_id(1);
    let store = open(&path).await;
    store
        .create_run(&new_run(id), &[started(), step_started("ingest")], 1)
        .await
        .unwrap();
    let journal = store.journal(&id).await.unwrap();
    store.close().await;
    drop(store);

    for _ in 0..2 {
        let store = open(&path).await;
        assert_eq!(store.journal(&id).await.unwrap()[..2], journal[..]);
        assert_eq!(store.runs(&RunFilter::default()).await.unwrap().len(), 1);
        assert_eq!(
            store.workflow_source(&id).await.unwrap(),
            new_run(id).workflow_source
        );
        store
            .append(
                &id,
                store.run(&id).await.unwrap().last_seq + 1,
                &[step_finished("ingest")],
                2,
            )
            .await
            .unwrap();
        store.close().await;
    }
    let mut raw = raw_connection(&path, SqliteJournalMode::Wal).await;
    let migrations: i64 = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    let shipped = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .unwrap()
        .count() as i64;
    assert_eq!(migrations, shipped, "each migration applied exactly once");
    assert_eq!(open(&path).await.journal(&id).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_writer_holding_the_lock_makes_writes_fail_locked_after_the_busy_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let id = run_id(1);
    open(&path)
        .await
        .create_run(&new_run(id), &[started()], 1)
        .await
        .unwrap();

    let mut other = raw_connection(&path, SqliteJournalMode::Wal).await;
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();

    // WAL: opening and reading do not wait for the writer.
    let store = Store::open(&path, &short_timeout()).await.unwrap();
    assert_eq!(store.journal(&id).await.unwrap().len(), 1);

    let start = Instant::now();
    let result = store.append(&id, 2, &[step_started("a")], 2).await;
    let waited = start.elapsed();
    assert!(
        matches!(&result, Err(Error::Locked { path: p, .. }) if *p == path),
        "{result:?}"
    );
    assert!(
        waited >= Duration::from_millis(150),
        "gave up after {waited:?}, before its busy timeout"
    );
    let message = result.unwrap_err().to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("locked by another process"), "{message}");
    let result = store.create_run(&new_run(run_id(2)), &[started()], 2).await;
    assert!(matches!(result, Err(Error::Locked { .. })), "{result:?}");

    // Nothing was written; once the other writer is done, the same append goes through.
    sqlx::query("ROLLBACK").execute(&mut other).await.unwrap();
    assert_eq!(store.journal(&id).await.unwrap().len(), 1);
    store.append(&id, 2, &[step_started("a")], 3).await.unwrap();
}

#[tokio::test]
async fn a_locked_rollback_journal_database_fails_locked_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("legacy.db");
    // Not in WAL mode yet: switching it to WAL needs the lock the other connection holds.
    let mut other = raw_connection(&path, SqliteJournalMode::Delete).await;
    sqlx::query("CREATE TABLE t (x)")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut other)
        .await
        .unwrap();
    sqlx::query("INSERT INTO t VALUES (1)")
        .execute(&mut other)
        .await
        .unwrap();

    let result = Store::open(&path, &short_timeout()).await;
    assert!(
        matches!(&result, Err(Error::Locked { path: p, .. }) if *p == path),
        "{result:?}"
    );
}

#[tokio::test]
async fn garbage_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    // Deterministic pseudo-random bytes (xorshift), 16 KiB.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..16 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&path, &bytes).unwrap();

    for options in [
        StoreOptions::default(),
        StoreOptions {
            read_only: true,
            ..StoreOptions::default()
        },
    ] {
        let result = Store::open(&path, &options).await;
        assert!(
            matches!(&result, Err(Error::NotADatabase { path: p, .. }) if *p == path),
            "{result:?}"
        );
        let message = result.unwrap_err().to_string();
        assert!(message.starts_with(&format!(
            "`{}` is not an aine database or is corrupt",
            path.display()
        )));
        assert!(message.contains("move it aside"), "{message}");
    }
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "the file was left as it was"
    );
}

#[tokio::test]
async fn a_damaged_database_is_reported_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let id = run_id(1);
    let store = open(&path).await;
    let events: Vec<_> = (0..200).map(|i| step_started(&format!("s{i}"))).collect();
    store.create_run(&new_run(id), &events, 1).await.unwrap();
    store.close().await;
    drop(store);

    // Keep the header page (so SQLite recognizes the file), overwrite every page after it.
    let mut bytes = std::fs::read(&path).unwrap();
    assert!(bytes.len() > 4 * 4096, "expected a multi-page database");
    for (i, byte) in bytes.iter_mut().enumerate().skip(4096) {
        *byte = (i % 251) as u8;
    }
    std::fs::write(&path, &bytes).unwrap();

    let result = match Store::open(&path, &StoreOptions::default()).await {
        Ok(store) => store.journal(&id).await.map(|_| ()),
        Err(err) => Err(err),
    };
    assert!(
        matches!(&result, Err(Error::NotADatabase { path: p, .. }) if *p == path),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_stored_row_that_does_not_decode_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let store = open(&path).await;
    let id = run_id(1);
    store
        .create_run(&new_run(id), &[started(), step_started("a")], 1)
        .await
        .unwrap();

    let mut raw = raw_connection(&path, SqliteJournalMode::Wal).await;
    sqlx::query("UPDATE journal SET event = '{\"type\":\"from_the_future\"}' WHERE seq = 2")
        .execute(&mut raw)
        .await
        .unwrap();
    let result = store.journal(&id).await;
    assert!(
        matches!(&result, Err(Error::Decode { what, .. }) if *what == format!("journal entry 2 of run `{id}`")),
        "{result:?}"
    );
    let result = store.unfinished_journals().await;
    assert!(matches!(result, Err(Error::Decode { .. })), "{result:?}");
    // A CHECK constraint keeps bad statuses out, so break the id instead.
    sqlx::query("PRAGMA foreign_keys = OFF")
        .execute(&mut raw)
        .await
        .unwrap();
    sqlx::query("UPDATE runs SET id = 'gate_01ARZ3NDEKTSV4RRFFQ69G5FAV'")
        .execute(&mut raw)
        .await
        .unwrap();
    let result = store.runs(&RunFilter::default()).await;
    assert!(matches!(result, Err(Error::Decode { .. })), "{result:?}");
}

#[tokio::test]
async fn read_only_stores_read_and_refuse_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = db_path(dir.path());
    let id = run_id(1);
    let store = open(&path).await;
    store
        .create_run(&new_run(id), &[started()], 1)
        .await
        .unwrap();
    store.close().await;
    drop(store);

    let read_only = StoreOptions {
        read_only: true,
        ..StoreOptions::default()
    };
    let store = Store::open(&path, &read_only).await.unwrap();
    assert_eq!(store.journal(&id).await.unwrap().len(), 1);
    assert_eq!(store.run(&id).await.unwrap().status, RunStatus::Running);
    let result = store.append(&id, 2, &[step_started("a")], 2).await;
    assert!(
        matches!(&result, Err(Error::ReadOnly { path: p, .. }) if *p == path),
        "{result:?}"
    );
    let result = store.create_run(&new_run(run_id(2)), &[started()], 2).await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");

    // Read-only never creates a database.
    let missing = dir.path().join("missing.db");
    let result = Store::open(&missing, &read_only).await;
    assert!(
        matches!(result, Err(Error::CannotOpen { .. })),
        "{result:?}"
    );
    assert!(!missing.exists());
}

#[tokio::test]
async fn a_database_without_write_permission_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    if privileged(dir.path()) {
        // Permissions do not bind root; the lead's process-level test drops privileges.
        eprintln!("running privileged: permission checks do not apply, skipping");
        return;
    }
    let path = db_path(dir.path());
    let id = run_id(1);
    let store = open(&path).await;
    store
        .create_run(&new_run(id), &[started()], 1)
        .await
        .unwrap();
    store.close().await;
    drop(store);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).unwrap();

    let result = match Store::open(&path, &StoreOptions::default()).await {
        Ok(store) => store
            .append(&id, 2, &[step_started("a")], 2)
            .await
            .map(|_| ()),
        Err(err) => Err(err),
    };
    assert!(
        matches!(&result, Err(Error::ReadOnly { path: p, .. }) if *p == path),
        "{result:?}"
    );
    let message = result.unwrap_err().to_string();
    assert!(
        message.contains("is read-only") && message.contains("--db"),
        "{message}"
    );

    // A directory without write permission: a new database cannot be created in it.
    let locked_dir = dir.path().join("ro");
    std::fs::create_dir(&locked_dir).unwrap();
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let result = Store::open(&locked_dir.join("aine.db"), &StoreOptions::default()).await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");
    let result = Store::open(
        &locked_dir.join("sub").join("aine.db"),
        &StoreOptions::default(),
    )
    .await;
    assert!(matches!(result, Err(Error::ReadOnly { .. })), "{result:?}");
    std::fs::set_permissions(&locked_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}
