//! The write path: one OS thread owns the store's only writing connection and commits the writes
//! of every task of this process in shared transactions (group commit).
//!
//! Why a thread of its own instead of sqlx's connection: sqlx runs each SQLite statement on a
//! worker thread and hands every statement and every row back and forth between threads. A
//! one-event append is five statements, and those hand-offs cost about 0.6 ms on a 2-core VM
//! (measured with `cargo bench -p aine-store --bench append`: 1,514 single-event appends/s with
//! `synchronous = NORMAL`, against about 17,000/s for the same SQL run on one thread). Here a
//! queued write crosses threads twice: the job goes in, the result comes back (and a write in
//! place, below, not at all).
//!
//! Group commit: the thread takes the first queued job, then every job already queued behind it
//! (at most [`MAX_BATCH`]), and runs them in one `BEGIN IMMEDIATE` transaction, each inside its
//! own savepoint so that a job that fails (a conflict, a duplicate run) rolls back alone. Results
//! are delivered only after `COMMIT` returned, so an `Ok` still means "durable" (see "Durability"
//! in the crate docs). With one writer at a time a batch is one job and nothing waits; under
//! load, the writes that queued during one commit share the next commit and its sync.
//!
//! Checkpoints (copying the write-ahead log back into the database file) run on a thread and a
//! connection of their own, beside the writes. SQLite would run one inside the commit that
//! crosses 1,000 log pages, syncing the database file and taking milliseconds, on the caller's
//! time (it set the p99 of a model step's overhead: 8.9 ms, against 3.4 ms without, `cargo bench
//! -p aine-telemetry --bench overhead`, one run in flight). Run on the writing connection
//! instead, as here before, a checkpoint held up every write behind it: with 1,000 runs in
//! flight at a steady rate, the one forced every 1,000 commits set the p99 overhead at 34.9 ms;
//! beside the writes it is 0.4 to 1.1 ms (`cargo xtask bench model-overhead --levels 1000
//! --upstream-ms 1000 --samples 5000`).
//!
//! So the writer turns automatic checkpoints off. A checkpoint is due every [`CHECKPOINT_EVERY`]
//! writes; the checkpointer thread runs it once writes pause for [`IDLE`], or after
//! [`CHECKPOINT_BUSY`] writes without a pause, as `PRAGMA wal_checkpoint(PASSIVE)`, which copies
//! what is committed without taking the write lock (<https://www.sqlite.org/wal.html#ckpt>).
//! SQLite starts the log over at the first write that begins after a checkpoint copied all of
//! it. Under writes that never pause, each checkpoint leaves new frames behind it and the log
//! only grows; so when the log held more than [`LOG_FRAMES_AT_MOST`] frames, the checkpointer
//! runs a second one holding the writing connection (writes wait, briefly: the first one copied
//! all but the latest frames), and the next write starts the log over (test
//! `the_write_ahead_log_is_checkpointed_off_the_callers_time`).
//!
//! Writes in place: with `synchronous = NORMAL` (no fsync at commit), a write that finds the
//! connection free and the database's write lock free commits on the calling thread, in a
//! transaction of its own, and skips both hand-offs; otherwise it queues as above. Commits in
//! place count towards checkpoints like the thread's own. With `synchronous = FULL` every write
//! goes through the thread: a commit waits for an fsync, which must not hold up a task's
//! thread.
//!
//! Reads do not come here: they use sqlx's read pool and, in WAL mode, never wait for writes.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::{Durability, Error, Result};

/// The most jobs one transaction commits.
const MAX_BATCH: usize = 256;

/// Writes after which a checkpoint is due. A small write (one event with its projections and
/// audit entry) adds three or four pages to the log.
const CHECKPOINT_EVERY: u64 = 200;

/// How long no write must be committed before a due checkpoint runs: a checkpoint beside the
/// writes does not block them, but competes with them for the CPU and the disk (tens of ms for
/// 1,000 writes on a 2-core VM), so it waits for a pause when there is one.
const IDLE: Duration = Duration::from_millis(10);

/// Writes after which a due checkpoint runs even though writes never paused for [`IDLE`].
const CHECKPOINT_BUSY: u64 = 1_000;

/// Frames (pages) the log may hold at a checkpoint beside the writes before the checkpointer also
/// takes the writing connection for one: 8 MB of 4 KiB pages, about 220 runs of a
/// one-model-step workflow (about 9 frames each). It is below what [`CHECKPOINT_BUSY`] writes
/// add (at least 3 frames each), so a checkpoint that waited for that many writes is always
/// followed by the second one, and the log starts over at the next write. With 4,000 the log
/// could grow for two such rounds: 33.7 MB over 8,000 back-to-back commits, once in six runs
/// of the test suite.
const LOG_FRAMES_AT_MOST: i64 = 2_000;

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

/// What the checkpointer thread is told.
#[derive(Debug)]
enum Checkpoint {
    /// [`CHECKPOINT_EVERY`] more writes were committed.
    Due,
    /// The store is closing: stop and close the connection.
    Stop,
}

/// What the writer thread, writes made in place and the checkpointer share.
struct Shared {
    /// The writing connection; `None` once closed. Whoever holds the lock may write.
    conn: Mutex<Option<Connection>>,
    /// Writes committed so far, by the thread or in place.
    committed: AtomicU64,
    /// Wakes the checkpointer.
    checkpoints: Sender<Checkpoint>,
    /// Set while a thread (the writer, or the checkpointer bounding the log) waits for the
    /// connection: writes in place then queue instead, or a task writing in a loop could take
    /// the lock again and again before that thread wakes.
    thread_waits: AtomicBool,
}

impl Shared {
    /// The connection, for the writer or checkpointer thread, ahead of writes in place.
    fn lock_for_thread(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.thread_waits.store(true, Ordering::Release);
        let guard = self.conn.lock().unwrap_or_else(PoisonError::into_inner);
        self.thread_waits.store(false, Ordering::Release);
        guard
    }

    /// Counts `n` committed writes and wakes the checkpointer each [`CHECKPOINT_EVERY`].
    fn committed(&self, n: u64) {
        let before = self.committed.fetch_add(n, Ordering::AcqRel);
        if before / CHECKPOINT_EVERY != (before + n) / CHECKPOINT_EVERY {
            let _ = self.checkpoints.send(Checkpoint::Due);
        }
    }
}

/// The handle on the writer thread.
pub(crate) struct Writer {
    path: PathBuf,
    queue: Mutex<Option<Sender<Message>>>,
    shared: Arc<Shared>,
    /// Whether a write may commit in place when the connection is free (`synchronous =
    /// NORMAL`: no fsync at commit, so a commit holds the calling thread for tens of µs).
    in_place: bool,
    busy_timeout: Duration,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("path", &self.path)
            .field("in_place", &self.in_place)
            .finish_non_exhaustive()
    }
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
        // The checkpointer's own connection; PASSIVE checkpoints never wait for a lock.
        let checkpointer = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(map)?;
        checkpointer
            .execute_batch(&format!("PRAGMA synchronous = {synchronous};"))
            .map_err(map)?;
        let spawn_failed = |e: std::io::Error| Error::Sqlite {
            path: path.to_owned(),
            detail: format!("cannot start the writer thread: {e}"),
        };
        let (queue, jobs) = std::sync::mpsc::channel();
        let (checkpoints, due) = std::sync::mpsc::channel();
        let thread_path = path.to_owned();
        let shared = Arc::new(Shared {
            conn: Mutex::new(Some(conn)),
            committed: AtomicU64::new(0),
            checkpoints,
            thread_waits: AtomicBool::new(false),
        });
        let checkpointer_shared = shared.clone();
        let checkpointer = std::thread::Builder::new()
            .name("aine-store-checkpointer".to_owned())
            .spawn(move || checkpoint(&checkpointer, &checkpointer_shared, &due))
            .map_err(spawn_failed)?;
        let thread_shared = shared.clone();
        std::thread::Builder::new()
            .name("aine-store-writer".to_owned())
            .spawn(move || {
                let close = serve(&thread_shared, &thread_path, &jobs);
                let _ = thread_shared.checkpoints.send(Checkpoint::Stop);
                let _ = checkpointer.join();
                // Before answering `close`, move the whole log into the database file and
                // empty it, so the file alone holds every commit (a copy or backup of it is
                // complete). SQLite does this when the last connection closes, but the
                // readers close after the writer, and concurrently, so each may skip it.
                // Failing (a reader of another process is mid-read), the log stays valid.
                if let Some(conn) = thread_shared.lock_for_thread().take() {
                    let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
                    drop(conn);
                }
                if let Some(reply) = close {
                    let _ = reply.send(());
                }
            })
            .map_err(|e| {
                // The checkpointer would otherwise wait for a writer that never comes.
                let _ = shared.checkpoints.send(Checkpoint::Stop);
                spawn_failed(e)
            })?;
        Ok(Writer {
            path: path.to_owned(),
            queue: Mutex::new(Some(queue)),
            shared,
            in_place: durability == Durability::Normal,
            busy_timeout,
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
        let work = match self.write_in_place(work) {
            Ok(result) => return result,
            Err(work) => work,
        };
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

    /// Commits `work` on the calling thread, in a transaction of its own, when the connection
    /// is free and no other process holds the database's write lock; hands `work` back
    /// otherwise (it has not run). With one writer at a time this saves the two thread
    /// hand-offs of a queued write (about 150 µs of a 230 µs commit on a 2-core VM, measured
    /// from a run's side with `cargo xtask bench model-overhead`); under load the connection is
    /// mostly taken and writes queue for group commit as before.
    fn write_in_place<T, F>(&self, work: F) -> std::result::Result<Result<T>, F>
    where
        F: FnOnce(&WriteConn<'_>) -> Result<T>,
    {
        if !self.in_place || self.shared.thread_waits.load(Ordering::Acquire) {
            return Err(work);
        }
        let Ok(guard) = self.shared.conn.try_lock() else {
            return Err(work);
        };
        let Some(conn) = guard.as_ref() else {
            return Err(work);
        };
        // Never wait for another process's lock here: the writer thread does that.
        let begun = conn
            .busy_timeout(Duration::ZERO)
            .and_then(|()| conn.execute_batch("BEGIN IMMEDIATE"));
        let _ = conn.busy_timeout(self.busy_timeout);
        if begun.is_err() {
            return Err(work);
        }
        let write = WriteConn {
            conn,
            path: &self.path,
        };
        let result = work(&write);
        let end = if result.is_ok() { "COMMIT" } else { "ROLLBACK" };
        if let Err(err) = conn.execute_batch(end) {
            let _ = conn.execute_batch("ROLLBACK");
            return Ok(Err(write.err(err)));
        }
        drop(guard);
        if result.is_ok() {
            self.shared.committed(1);
        }
        Ok(result)
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
fn serve(shared: &Shared, path: &Path, jobs: &Receiver<Message>) -> Option<oneshot::Sender<()>> {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    loop {
        let mut close = None;
        match jobs.recv() {
            Ok(Message::Job(job)) => batch.push(job),
            Ok(Message::Close(reply)) => close = Some(reply),
            Err(_) => return None,
        }
        while close.is_none() && batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(Message::Job(job)) => batch.push(job),
                Ok(Message::Close(reply)) => close = Some(reply),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        if !batch.is_empty() {
            let n = batch.len() as u64;
            let guard = shared.lock_for_thread();
            match guard.as_ref() {
                Some(conn) => commit(&WriteConn { conn, path }, &mut batch),
                None => {
                    for job in batch.drain(..) {
                        job.finish(Err(stopped(path, "the store was closed")));
                    }
                }
            }
            drop(guard);
            shared.committed(n);
        }
        if close.is_some() {
            return close;
        }
    }
}

/// The checkpointer thread (see the module docs), until told to stop. Once a checkpoint is due
/// it waits for the writes to pause for [`IDLE`], or for [`CHECKPOINT_BUSY`] writes, then runs a
/// PASSIVE checkpoint on `conn`; if the log held more than [`LOG_FRAMES_AT_MOST`] frames, it
/// runs one more holding the writing connection. A failed checkpoint (a reader of another
/// process holds old pages) is tried again when the next one is due.
fn checkpoint(conn: &Connection, shared: &Shared, due: &Receiver<Checkpoint>) {
    // The frames in the log, the second of `PRAGMA wal_checkpoint`'s (busy, log, copied).
    let passive = || {
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            row.get::<_, i64>(1)
        })
    };
    let committed = || shared.committed.load(Ordering::Acquire);
    let mut last = 0;
    while let Ok(Checkpoint::Due) = due.recv() {
        loop {
            let seen = committed();
            match due.recv_timeout(IDLE) {
                Ok(Checkpoint::Due) | Err(RecvTimeoutError::Timeout) => {}
                Ok(Checkpoint::Stop) | Err(RecvTimeoutError::Disconnected) => return,
            }
            let now = committed();
            if now == seen || now - last >= CHECKPOINT_BUSY {
                break;
            }
        }
        last = committed();
        // The frames counted are those the checkpoint saw; writes may have added more since.
        if matches!(passive(), Ok(frames) if frames > LOG_FRAMES_AT_MOST) {
            // No write can start while this thread holds the writing connection, so this
            // checkpoint copies the whole log and the next write starts it over.
            let guard = shared.lock_for_thread();
            if guard.is_some() {
                let _ = passive();
            }
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
