//! All SQL of aine: the run journal, the `runs` and `gates` projections, and their migrations,
//! on SQLite (DESIGN.md, "Layout").
//!
//! The journal is the single source of truth of a run; `runs` and `gates` are projections of it
//! that [`Store::append`] updates in the same transaction as the events they come from, so they
//! never disagree with the journal. Appends are optimistic: the caller says which seq its first
//! event must get, and a run appended to by someone else in between is refused with
//! [`Error::Conflict`].
//!
//! Times are milliseconds since the Unix epoch and always come from the caller (the clock lives
//! in aine-runtime).
//!
//! Entry points: [`Store::open`], then [`Store::create_run`] and [`Store::append`] to write,
//! [`Store::journal`] and [`Store::unfinished_journals`] to resume.
//!
//! # Durability
//!
//! The database runs in WAL mode with `synchronous = FULL` by default ([`Durability::Full`];
//! `storage.synchronous = "normal"` in aine.toml selects [`Durability::Normal`]): SQLite syncs the write-ahead log at
//! every commit, so an append that returned `Ok` survives a process crash (SIGKILL) *and* a power
//! loss or OS crash. `NORMAL` would sync only at checkpoints: still safe against a process crash,
//! but a power loss could lose the last transactions
//! (<https://www.sqlite.org/pragma.html#pragma_synchronous>). aine journals a paid model call's
//! result before the call counts as done and must never repeat one after a crash (DESIGN.md,
//! "Quality bars"), and the sync is affordable: measured on a 2-core VM, one sync costs
//! 0.3 to 1 ms (about 1,000 single-event appends per second one after another, against about
//! 7,700 with `NORMAL`; `cargo bench -p aine-store --bench append`), and a sync is shared by
//! everything committed with it: a batch of events, and the writes of concurrent runs, which the
//! writer thread commits together (group commit, see `writer.rs`).

mod audit;
mod error;
mod read;
mod records;
mod spend;
mod tokens;
mod write;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
};

pub use audit::{AuditEntry, AuditRecord, AuditVerification, BrokenLink, GENESIS_HASH};
pub use error::{Error, Result};
pub use records::{GateRecord, GateStatus, NewRun, RunFilter, RunRecord};
pub use tokens::TokenRecord;

/// The schema, embedded from `crates/aine-store/migrations` at compile time.
static MIGRATOR: Migrator = sqlx::migrate!();

/// How many connections serve reads. Writes have one connection of their own.
const READ_CONNECTIONS: u32 = 4;

/// How hard a commit waits for the disk (SQLite `PRAGMA synchronous`); see "Durability" in the
/// crate docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous = FULL`: a committed event survives a process crash *and* power loss. The
    /// default: "no repeated paid call after a crash" must hold on a laptop whose battery dies.
    #[default]
    Full,
    /// `synchronous = NORMAL` (in WAL mode): a committed event survives a process crash (SIGKILL);
    /// power loss may drop the last transactions. Several times faster for single-event appends.
    Normal,
}

/// How a [`Store`] is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// How long a write waits for another process' write lock before failing with
    /// [`Error::Locked`]. Default 5000 ms.
    pub busy_timeout: Duration,
    /// Open without creating, migrating or writing anything; writes fail with
    /// [`Error::ReadOnly`]. Default `false`.
    pub read_only: bool,
    /// Commit durability. Default [`Durability::Full`].
    pub durability: Durability,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: Duration::from_millis(5000),
            read_only: false,
            durability: Durability::Full,
        }
    }
}

/// A handle on one aine database. Cheap to clone; clones share the connections.
///
/// Writes go through a single connection on a thread of its own that commits queued writes
/// together (see `writer.rs`: SQLite serializes writers anyway, and one connection queues this
/// process' writers fairly instead of having them poll the file lock); reads use a small sqlx
/// pool of their own and never wait for writes (WAL mode).
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// `None` in read-only mode.
    writer: Option<writer::Writer>,
    reader: SqlitePool,
}

impl Store {
    /// Opens the database at `path`, creating it and its parent directories if needed, and
    /// brings its schema up to date (not in read-only mode, where an outdated schema is an
    /// error).
    ///
    /// The database uses WAL journal mode, `synchronous = FULL` (see "Durability" in the crate
    /// docs), enforced foreign keys, and `options.busy_timeout` for lock waits.
    ///
    /// Errors: [`Error::Locked`], [`Error::ReadOnly`], [`Error::NotADatabase`],
    /// [`Error::CannotOpen`], [`Error::CreateDir`], [`Error::Migration`].
    pub async fn open(path: &Path, options: &StoreOptions) -> Result<Store> {
        if !options.read_only
            && let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|err| Error::from_create_dir(path, err))?;
        }
        // sqlx refuses (panics on) a busy timeout beyond i32::MAX milliseconds.
        let busy_timeout = options
            .busy_timeout
            .min(Duration::from_millis(i32::MAX as u64));
        let mut connect = SqliteConnectOptions::new()
            .filename(path)
            .read_only(options.read_only)
            .create_if_missing(!options.read_only)
            .foreign_keys(true)
            .synchronous(match options.durability {
                Durability::Full => sqlx::sqlite::SqliteSynchronous::Full,
                Durability::Normal => sqlx::sqlite::SqliteSynchronous::Normal,
            })
            .busy_timeout(busy_timeout);
        if !options.read_only {
            // Persistent in the file; a no-op when it is already in WAL mode.
            connect = connect.journal_mode(SqliteJournalMode::Wal);
        }
        let map = |err| Error::from_sqlx(path, err);
        // Opening eagerly reports a locked, read-only or damaged file here; the connection then
        // brings the schema up to date and is closed: the writer thread has its own.
        let mut setup = SqliteConnection::connect_with(&connect)
            .await
            .map_err(map)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .acquire_timeout(busy_timeout.saturating_add(Duration::from_secs(30)))
            .test_before_acquire(false)
            .connect_lazy_with(connect);
        migrate(path, options.read_only, &reader, &mut setup).await?;
        setup.close().await.map_err(map)?;
        let writer = if options.read_only {
            None
        } else {
            Some(writer::Writer::start(
                path,
                options.durability,
                busy_timeout,
            )?)
        };
        Ok(Store {
            inner: Arc::new(Inner {
                path: path.to_owned(),
                writer,
                reader,
            }),
        })
    }

    /// The database file this store was opened on.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Closes the connections, waiting for running queries. Dropping the last clone closes them
    /// too, without waiting; after `close` every call fails.
    pub async fn close(&self) {
        if let Some(writer) = &self.inner.writer {
            writer.close().await;
        }
        self.inner.reader.close().await;
    }

    fn map_err(&self, err: sqlx::Error) -> Error {
        Error::from_sqlx(self.path(), err)
    }
}

/// Runs the pending migrations on `conn`, if any. Reads first (through `reader`) and writes only
/// when something is pending, so opening an up-to-date database never waits for another
/// process' write lock.
async fn migrate(
    path: &Path,
    read_only: bool,
    reader: &SqlitePool,
    conn: &mut SqliteConnection,
) -> Result<()> {
    let applied = applied_migrations(path, reader).await?;
    let known: Vec<(i64, &[u8])> = MIGRATOR
        .iter()
        .filter(|migration| migration.migration_type.is_up_migration())
        .map(|migration| (migration.version, migration.checksum.as_ref()))
        .collect();
    let up_to_date = applied.len() == known.len()
        && known.iter().all(|(version, checksum)| {
            applied
                .iter()
                .any(|(v, c)| v == version && c.as_slice() == *checksum)
        });
    if up_to_date {
        return Ok(());
    }
    if let Some((newer, _)) = applied.iter().find(|(v, _)| !MIGRATOR.version_exists(*v)) {
        return Err(Error::Migration {
            path: path.to_owned(),
            detail: format!("migration {newer} is applied but unknown to this aine"),
            hint: error::MIGRATION_HINT,
        });
    }
    if read_only {
        return Err(Error::Migration {
            path: path.to_owned(),
            detail: "it needs migrating and was opened read-only".to_owned(),
            hint: "open it once without read-only mode",
        });
    }
    MIGRATOR
        .run(conn)
        .await
        .map_err(|err| Error::from_migrate(path, err))
}

/// `(version, checksum)` of the successfully applied migrations; empty for a new database.
async fn applied_migrations(path: &Path, reader: &SqlitePool) -> Result<Vec<(i64, Vec<u8>)>> {
    let map = |err| Error::from_sqlx(path, err);
    let has_table: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
    )
    .fetch_optional(reader)
    .await
    .map_err(map)?;
    if has_table.is_none() {
        return Ok(Vec::new());
    }
    sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success = 1")
        .fetch_all(reader)
        .await
        .map_err(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_is_clone_send_sync() {
        fn check<T: Clone + Send + Sync + 'static>() {}
        check::<Store>();
    }

    #[test]
    fn default_options() {
        let options = StoreOptions::default();
        assert_eq!(options.busy_timeout, Duration::from_millis(5000));
        assert!(!options.read_only);
    }
}
