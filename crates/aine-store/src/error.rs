//! The one error type of aine-store, and its mapping from SQLite result codes.
//!
//! SQLite reports a locked, read-only or damaged database wherever it first notices: when the
//! file is opened, when migrations run, or at the first write. [`Error::from_sqlx`] is applied to
//! every sqlx error the crate sees, so the same condition gets the same variant wherever it
//! surfaces; [`Error::from_rusqlite`] does the same on the write path. Result codes: <https://www.sqlite.org/rescode.html>.

use std::io;
use std::path::{Path, PathBuf};

use aine_types::{GateId, RunId};

/// `Result` with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong in the store. Every message says what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Another process holds the write lock longer than the busy timeout (`SQLITE_BUSY`,
    /// `SQLITE_LOCKED`), or this process' own writers queued longer than the timeout.
    #[error(
        "database `{}` is locked by another process ({detail}); wait for it to finish or stop it, then retry",
        .path.display()
    )]
    Locked { path: PathBuf, detail: String },

    /// The file, its directory or the file system does not allow writing (`SQLITE_READONLY`,
    /// or `SQLITE_CANTOPEN` where the file or its directory has no write permission), or the
    /// store was opened with [`StoreOptions::read_only`](crate::StoreOptions::read_only).
    #[error(
        "database `{}` is read-only ({detail}); check the permissions of the file and its directory, or pass --db to use another database",
        .path.display()
    )]
    ReadOnly { path: PathBuf, detail: String },

    /// The file is not an SQLite database or is damaged (`SQLITE_NOTADB`, `SQLITE_CORRUPT`).
    #[error(
        "`{}` is not an aine database or is corrupt ({detail}); move it aside and run again to start a new database, or restore a backup",
        .path.display()
    )]
    NotADatabase { path: PathBuf, detail: String },

    /// SQLite could not open the file for another reason (`SQLITE_CANTOPEN`): a directory in
    /// its place, a missing directory in read-only mode, too many open files.
    #[error(
        "cannot open database `{}` ({detail}); check that the path names a file in an existing, writable directory, or pass --db to use another database",
        .path.display()
    )]
    CannotOpen { path: PathBuf, detail: String },

    /// The directory that should hold the database could not be created.
    #[error(
        "cannot create the directory of database `{}` ({source}); check permissions, or pass --db to use another database",
        .path.display()
    )]
    CreateDir { path: PathBuf, source: io::Error },

    /// The schema could not be brought up to date: the database was migrated by a newer aine,
    /// or needs migrating but was opened read-only.
    #[error("cannot bring the schema of database `{}` up to date ({detail}); {hint}", .path.display())]
    Migration {
        path: PathBuf,
        detail: String,
        hint: &'static str,
    },

    /// `append` was called with an `expected_seq` other than the run's last seq + 1: another
    /// writer (usually another process) appended to the run since the caller last read it.
    /// Nothing was written.
    #[error(
        "the journal of run `{run}` changed underneath this writer (it expected to append at seq {expected_seq}); another process is driving this run: reload it and retry"
    )]
    Conflict { run: RunId, expected_seq: u64 },

    /// No run with this id.
    #[error("no run `{0}` in this database; list runs with `aine runs`")]
    UnknownRun(RunId),

    /// No gate with this id (or a `GateDecided` event names a gate of another run).
    #[error("no gate `{0}` in this database; list open gates with `aine review list`")]
    UnknownGate(GateId),

    /// A `GateDecided` event names a gate that is already decided. Nothing was written.
    #[error("gate `{0}` is already decided; see its decision with `aine review show {0}`")]
    GateNotOpen(GateId),

    /// `create_run` with an id that is already taken. Nothing was written.
    #[error("a run `{0}` already exists; start the run again with a fresh id")]
    DuplicateRun(RunId),

    /// A stored row does not decode into the types this version of aine knows.
    #[error(
        "cannot decode {what} in `{}` ({detail}); the database may have been written by a newer aine: upgrade aine, or move the database aside",
        .path.display()
    )]
    Decode {
        path: PathBuf,
        what: String,
        detail: String,
    },

    /// An event could not be serialized to JSON (a bug: events always serialize).
    #[error(
        "cannot encode a `{kind}` event as JSON ({source}); this is a bug in aine: please report it"
    )]
    Encode {
        kind: &'static str,
        source: serde_json::Error,
    },

    /// An audit entry could not be canonicalized (RFC 8785), e.g. a payload number that is not
    /// finite.
    #[error("cannot canonicalize an audit entry: {detail}")]
    Canonical { detail: String },

    /// Any other SQLite failure (disk full, I/O error, ...).
    #[error(
        "database `{}` failed ({detail}); if this persists, check the disk and run `sqlite3 {} 'PRAGMA integrity_check'`",
        .path.display(),
        .path.display()
    )]
    Sqlite { path: PathBuf, detail: String },
}

/// SQLite primary result codes (the low byte of an extended code).
mod code {
    pub const BUSY: i32 = 5;
    pub const LOCKED: i32 = 6;
    pub const READONLY: i32 = 8;
    pub const CORRUPT: i32 = 11;
    pub const CANTOPEN: i32 = 14;
    pub const NOTADB: i32 = 26;
    /// `SQLITE_CONSTRAINT_PRIMARYKEY`, an extended code.
    pub const CONSTRAINT_PRIMARYKEY: i32 = 1555;
}

impl Error {
    /// Maps any sqlx error on the database at `path` to the variant a caller can act on.
    pub(crate) fn from_sqlx(path: &Path, err: sqlx::Error) -> Self {
        match err {
            sqlx::Error::Database(db) => {
                let code = sqlite_code(db.as_ref());
                let detail = format!("sqlite: {} (code {code})", db.message());
                Self::from_code(path, code, detail)
            }
            sqlx::Error::Migrate(migrate) => Self::from_migrate(path, *migrate),
            sqlx::Error::PoolTimedOut => Error::Locked {
                path: path.to_owned(),
                detail: "timed out waiting for this process' own writer".to_owned(),
            },
            sqlx::Error::Io(io) if is_permission_error(&io) => Error::ReadOnly {
                path: path.to_owned(),
                detail: io.to_string(),
            },
            err @ (sqlx::Error::ColumnDecode { .. }
            | sqlx::Error::Decode(_)
            | sqlx::Error::ColumnNotFound(_)
            | sqlx::Error::ColumnIndexOutOfBounds { .. }) => Error::Decode {
                path: path.to_owned(),
                what: "a row".to_owned(),
                detail: err.to_string(),
            },
            other => Error::Sqlite {
                path: path.to_owned(),
                detail: other.to_string(),
            },
        }
    }

    /// Maps a rusqlite error (the write path, see `writer.rs`) as [`Error::from_sqlx`] maps
    /// sqlx's.
    pub(crate) fn from_rusqlite(path: &Path, err: &rusqlite::Error) -> Self {
        match err {
            rusqlite::Error::SqliteFailure(failure, message) => {
                let code = failure.extended_code;
                let detail = format!(
                    "sqlite: {} (code {code})",
                    message.clone().unwrap_or_else(|| failure.to_string())
                );
                Self::from_code(path, code, detail)
            }
            other => Error::Sqlite {
                path: path.to_owned(),
                detail: other.to_string(),
            },
        }
    }

    /// The variant for SQLite (extended) result code `code`.
    fn from_code(path: &Path, code: i32, detail: String) -> Self {
        let path = path.to_owned();
        match code & 0xff {
            code::BUSY | code::LOCKED => Error::Locked { path, detail },
            code::READONLY => Error::ReadOnly { path, detail },
            code::CORRUPT | code::NOTADB => Error::NotADatabase { path, detail },
            code::CANTOPEN if lacks_write_permission(&path) => Error::ReadOnly { path, detail },
            code::CANTOPEN => Error::CannotOpen { path, detail },
            _ => Error::Sqlite { path, detail },
        }
    }

    /// Maps a migration failure: a locked, read-only or damaged file keeps its own variant.
    pub(crate) fn from_migrate(path: &Path, err: sqlx::migrate::MigrateError) -> Self {
        use sqlx::migrate::MigrateError;
        match err {
            MigrateError::Execute(inner) | MigrateError::ExecuteMigration(inner, _) => {
                match Self::from_sqlx(path, inner) {
                    Error::Sqlite { path, detail } => Error::Migration {
                        path,
                        detail,
                        hint: MIGRATION_HINT,
                    },
                    mapped => mapped,
                }
            }
            other => Error::Migration {
                path: path.to_owned(),
                detail: other.to_string(),
                hint: MIGRATION_HINT,
            },
        }
    }

    /// Maps a failure to create the database's directory.
    pub(crate) fn from_create_dir(path: &Path, source: io::Error) -> Self {
        if is_permission_error(&source) {
            Error::ReadOnly {
                path: path.to_owned(),
                detail: source.to_string(),
            }
        } else {
            Error::CreateDir {
                path: path.to_owned(),
                source,
            }
        }
    }

    /// Whether `err` is a primary-key violation (used to report [`Error::DuplicateRun`]).
    pub(crate) fn is_primary_key_violation(err: &rusqlite::Error) -> bool {
        matches!(err, rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == code::CONSTRAINT_PRIMARYKEY)
    }
}

pub(crate) const MIGRATION_HINT: &str =
    "it may have been written by a newer aine: upgrade aine, or move the database aside";

/// The extended result code of an SQLite error (sqlx reports it as text); 0 if absent.
fn sqlite_code(db: &dyn sqlx::error::DatabaseError) -> i32 {
    db.code().and_then(|code| code.parse().ok()).unwrap_or(0)
}

fn is_permission_error(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::PermissionDenied | io::ErrorKind::ReadOnlyFilesystem
    )
}

/// Whether the database file, or its directory, has no write permission bits at all. A hint
/// only: SQLite's `SQLITE_CANTOPEN` does not say why it could not open.
fn lacks_write_permission(path: &Path) -> bool {
    let readonly = |p: &Path| std::fs::metadata(p).is_ok_and(|m| m.permissions().readonly());
    readonly(path)
        || path
            .parent()
            .is_some_and(|dir| !dir.as_os_str().is_empty() && readonly(dir))
}
