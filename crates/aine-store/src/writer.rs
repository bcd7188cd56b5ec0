//! The write path: one OS thread owns the store's only writing connection and commits the writes
//! of every task of this process in shared transactions (group commit).
//!
//! Why a thread of its own instead of sqlx's connection: sqlx runs each SQLite statement on a
//! worker thread and hands every statement and every row back and forth between threads. A
//! one-event append is five statements, and those hand-offs cost about 0.6 ms on a 2-core VM
//! (measured with `cargo bench -p aine-store --bench append`: 1,514 single-event appends/s with
//! `synchronous = NORMAL`, against about 17,000/s for the same SQL run on one thread). Here a
//! write crosses threads twice: the job goes in, the result comes back.
//!
//! Group commit: the thread takes the first queued job, then every job already queued behind it
//! (at most [`MAX_BATCH`]), and runs them in one `BEGIN IMMEDIATE` transaction, each inside its
//! own savepoint so that a job that fails (a conflict, a duplicate run) rolls back alone. Results
//! are delivered only after `COMMIT` returned, so an `Ok` still means "durable" (see "Durability"
//! in the crate docs). With one writer at a time a batch is one job and nothing waits; under
//! load, the writes that queued during one commit share the next commit and its sync.
//!
//! Checkpoints (copying the write-ahead log back into the database file) wait until the writer
//! has answered: SQLite would run one inside the commit that crosses 1,000 log pages, syncing the
//! database file and taking milliseconds, on the caller's time (it set the p99 of a model step's
//! overhead: 8.9 ms, against 3.4 ms without, `cargo bench -p aine-telemetry --bench overhead`,
//! one run in flight). The writer turns automatic checkpoints off and checkpoints itself
//! (`PRAGMA wal_checkpoint(PASSIVE)`) once [`CHECKPOINT_EVERY`] commits have gone by and no write
//! has arrived for [`IDLE`], or after [`CHECKPOINT_AT_MOST`] commits whatever is queued, always
//! after delivering a batch's results. Being the only writer, its checkpoint finishes, and SQLite
//! starts the log over at the next write (<https://www.sqlite.org/wal.html#ckpt>).
//!
//! Reads do not come here: they use sqlx's read pool and, in WAL mode, never wait for writes.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::{Durability, Error, Result};

/// The most jobs one transaction commits.
const MAX_BATCH: usize = 256;

/// Commits after which the writer checkpoints as soon as it has been idle for [`IDLE`]. A small
/// write (one event with its projections and audit entry) adds three or four pages to the log.
const CHECKPOINT_EVERY: u32 = 200;

/// How long no write must arrive before a due checkpoint runs. Checkpointing as soon as the queue
/// was empty put the checkpoint in front of the next write of the run just answered (a run's
/// next commit follows within a millisecond when its model answers at once). With a checkpoint
/// every 200 commits and 3 commits per run, about one run in 70 waited for one, which set the
/// model-overhead benchmark's p99 at one run in flight (8.1 ms; 1.4 to 2.9 ms with the wait).
const IDLE: Duration = Duration::from_millis(10);

/// Commits after which the writer checkpoints even with writes queued, which bounds the log
/// (test `the_write_ahead_log_is_checkpointed_off_the_callers_time`).
const CHECKPOINT_AT_MOST: u32 = 1_000;

/// The connection a job writes through, inside the batch's transaction.
pub(crate) struct WriteConn<'a> {
    pub(crate) conn: &'a Connection,
    path: &'a Path,
}

impl WriteConn<'_> {
    /// Maps a rusqlite error on this database (see [`Error::from_rusqlite`]).
    pub(crate) fn err(&self, err: rusqlite::Error) -> Error {
        Error::from_rusqlite(self.path, &err)
    }
}

/// A queued write: runs inside the batch's transaction, then learns whether the batch committed.
trait Job: Send {
    /// Runs the write; `false` when it failed (its savepoint is then rolled back).
    fn run(&mut self, conn: &WriteConn<'_>) -> bool;
    /// Delivers the result: the job's own, or the batch's failure to commit.
    fn finish(self: Box<Self>, committed: std::result::Result<(), Error>);
}

struct Pending<T, F> {
    work: Option<F>,
    result: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
    path: PathBuf,
}

impl<T, F> Job for Pending<T, F>
where
    T: Send,
    F: FnOnce(&WriteConn<'_>) -> Result<T> + Send,
{
    fn run(&mut self, conn: &WriteConn<'_>) -> bool {
        let result = match self.work.take() {
            Some(work) => work(conn),
            None => Err(stopped(&self.path, "a write ran twice")),
        };
        let ok = result.is_ok();
        self.result = Some(result);
        ok
    }

    fn finish(self: Box<Self>, committed: std::result::Result<(), Error>) {
        let result = match (committed, self.result) {
            (Ok(()), Some(result)) => result,
            (Ok(()), None) => Err(stopped(&self.path, "a write never ran")),
            // The job's own failure says more than the batch's (its savepoint was rolled back).
            (Err(_), Some(Err(own))) => Err(own),
            (Err(batch), _) => Err(batch),
        };
        // The caller may have stopped waiting (its task was cancelled); nothing to do then.
        let _ = self.reply.send(result);
    }
}

enum Message {
    Job(Box<dyn Job>),
    /// Commit what is queued, close the connection, then answer.
    Close(oneshot::Sender<()>),
}

/// The handle on the writer thread.
#[derive(Debug)]
pub(crate) struct Writer {
    path: PathBuf,
    queue: Mutex<Option<Sender<Message>>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Message::Job(_) => "Job",
            Message::Close(_) => "Close",
        })
    }
}

impl Writer {
    /// Opens the writing connection on `path` (which exists and is migrated) and starts its
    /// thread.
    ///
    /// Errors: [`Error::Locked`], [`Error::ReadOnly`], [`Error::NotADatabase`],
    /// [`Error::CannotOpen`], [`Error::Sqlite`] (e.g. the OS refused a thread).
    pub(crate) fn start(
        path: &Path,
        durability: Durability,
        busy_timeout: Duration,
    ) -> Result<Self> {
        let map = |err: rusqlite::Error| Error::from_rusqlite(path, &err);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(map)?;
        conn.busy_timeout(busy_timeout).map_err(map)?;
        let synchronous = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.execute_batch(&format!(
            "PRAGMA foreign_keys = ON; PRAGMA synchronous = {synchronous}; \
             PRAGMA wal_autocheckpoint = 0;"
        ))
        .map_err(map)?;
        let spawn_failed = |e: std::io::Error| Error::Sqlite {
            path: path.to_owned(),
            detail: format!("cannot start the writer thread: {e}"),
        };
        let (queue, jobs) = std::sync::mpsc::channel();
        let thread_path = path.to_owned();
        std::thread::Builder::new()
            .name("aine-store-writer".to_owned())
            .spawn(move || {
                let close = serve(&conn, &thread_path, &jobs);
                // Close the connection before answering `close`: the last connection to close
                // checkpoints the whole log into the database file.
                drop(conn);
                if let Some(reply) = close {
                    let _ = reply.send(());
                }
            })
            .map_err(spawn_failed)?;
        Ok(Writer {
            path: path.to_owned(),
            queue: Mutex::new(Some(queue)),
        })
    }

    /// Runs `work` in the writer's next transaction and returns its result once that
    /// transaction committed. A failed `work` writes nothing (its savepoint is rolled back);
    /// a failed commit fails every job of the batch.
    ///
    /// Errors: whatever `work` returns; the commit's failure ([`Error::Locked`] when another
    /// process holds the write lock beyond the busy timeout, [`Error::Sqlite`] for I/O);
    /// [`Error::Sqlite`] after [`Writer::close`].
    pub(crate) async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteConn<'_>) -> Result<T> + Send + 'static,
    {
        let (reply, result) = oneshot::channel();
        let job = Pending {
            work: Some(work),
            result: None,
            reply,
            path: self.path.clone(),
        };
        self.send(Message::Job(Box::new(job)))?;
        result
            .await
            .map_err(|_| stopped(&self.path, "the writer thread stopped"))?
    }

    /// Commits what is queued, closes the connection and stops the thread; later writes fail.
    pub(crate) async fn close(&self) {
        let (reply, done) = oneshot::channel();
        if self.send(Message::Close(reply)).is_ok() {
            let _ = done.await;
        }
        let mut queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *queue = None;
    }

    fn send(&self, message: Message) -> Result<()> {
        let queue = self
            .queue
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        queue
            .as_ref()
            .and_then(|queue| queue.send(message).ok())
            .ok_or_else(|| stopped(&self.path, "the store was closed"))
    }
}

fn stopped(path: &Path, why: &str) -> Error {
    Error::Sqlite {
        path: path.to_owned(),
        detail: format!("cannot write: {why}"),
    }
}

/// The writer thread: batches until the queue closes or a `Close` arrives, whose reply it returns.
fn serve(conn: &Connection, path: &Path, jobs: &Receiver<Message>) -> Option<oneshot::Sender<()>> {
    let write = WriteConn { conn, path };
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    let mut since_checkpoint: u32 = 0;
    let checkpoint = |since: &mut u32| {
        // Failing (a reader of another process holds old pages), it is tried again later.
        if conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .is_ok()
        {
            *since = 0;
        }
    };
    loop {
        let first = if since_checkpoint >= CHECKPOINT_EVERY {
            match jobs.recv_timeout(IDLE) {
                Ok(message) => message,
                Err(RecvTimeoutError::Timeout) => {
                    checkpoint(&mut since_checkpoint);
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => return None,
            }
        } else {
            match jobs.recv() {
                Ok(message) => message,
                Err(_) => return None,
            }
        };
        let mut close = None;
        match first {
            Message::Job(job) => batch.push(job),
            Message::Close(reply) => close = Some(reply),
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Close(reply)) => close = Some(reply),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if !batch.is_empty() {
            commit(&write, &mut batch);
            since_checkpoint += 1;
            if since_checkpoint >= CHECKPOINT_AT_MOST {
                checkpoint(&mut since_checkpoint);
            }
        }
        if close.is_some() {
            return close;
        }
    }
}

/// Runs `batch` in one transaction and delivers every result.
fn commit(write: &WriteConn<'_>, batch: &mut Vec<Box<dyn Job>>) {
    let conn = write.conn;
    if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
        for job in batch.drain(..) {
            job.finish(Err(write.err(clone_error(&err))));
        }
        return;
    }
    let mut broken = None;
    for job in batch.iter_mut() {
        if let Err(err) = conn.execute_batch("SAVEPOINT job") {
            broken = Some(err);
            break;
        }
        let ok = job.run(write);
        let end = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        if let Err(err) = conn.execute_batch(end) {
            broken = Some(err);
            break;
        }
    }
    let outcome = match broken {
        None => conn.execute_batch("COMMIT"),
        Some(err) => Err(err),
    };
    match outcome {
        Ok(()) => {
            for job in batch.drain(..) {
                job.finish(Ok(()));
            }
        }
        Err(err) => {
            // Leave no transaction open behind a failed batch (ignored when none is open).
            let _ = conn.execute_batch("ROLLBACK");
            for job in batch.drain(..) {
                job.finish(Err(write.err(clone_error(&err))));
            }
        }
    }
}

/// rusqlite errors are not `Clone`; a batch's failure is reported to each of its jobs.
fn clone_error(err: &rusqlite::Error) -> rusqlite::Error {
    match err {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}
