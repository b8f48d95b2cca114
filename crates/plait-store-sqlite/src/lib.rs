//! plait's default store: one SQLite file (`.plait/plait.db`), nothing to start.
//!
//! WAL mode with `synchronous = FULL` (a commit survives a power cut), a busy timeout for
//! other processes sharing the file, and one writer thread that folds every request waiting
//! into one transaction (see `writer.rs`). The schema is migrated on open; a file written by
//! a newer plait is refused.
//!
//! The result cache lives in the same file (`cache.rs`); cache lookups are answered on the
//! caller's thread by read connections of their own, so they never wait for a commit.
//! Cached files are kept in a blob directory beside the database (`.plait/blobs`,
//! `blobs.rs`).

mod blobs;
mod cache;
mod encode;
mod error;
mod log;
mod output;
mod rows;
mod schema;
mod wal;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use futures::future::BoxFuture;
use plait_store::blobs::BlobDir;
use plait_store::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheKey, CacheStats, NewRun, Output, OutputInfo,
    OutputStream, RunId, RunRecord, RunSummary, Store, StoreError, TaskPath, Write,
};
use rusqlite::{Connection, OpenFlags};
use tokio::sync::oneshot;

use crate::error::from_sqlite;
use crate::writer::{Request, Stats};

/// Threads reading a run's cache entries at once (see `cache_entries_of`).
const SCAN_THREADS: usize = 2;

/// Options for [`SqliteStore::open_with`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// How long to wait for another process's lock before failing with
    /// [`StoreError::Locked`].
    pub busy_timeout: Duration,
    /// `true` (the default): every commit is synced to disk (`synchronous = FULL`) and
    /// survives a power cut. `false`: commits survive the process being killed, not the
    /// machine losing power (`synchronous = NORMAL` in WAL mode), for about half the cost
    /// per task (docs/store.md).
    pub power_loss_safe: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            busy_timeout: Duration::from_secs(10),
            power_loss_safe: true,
        }
    }
}

/// A store in one SQLite file.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    path: PathBuf,
    /// `path` as messages show it.
    shown: Arc<str>,
    /// To the writer thread: every change, run reads and gc.
    requests: mpsc::Sender<Request>,
    /// Read connections for lookups made on the caller's thread, one per thread asking at
    /// once.
    lookups: Arc<std::sync::Mutex<Vec<Connection>>>,
    options: SqliteOptions,
    blobs: BlobDir,
    stats: Arc<Stats>,
    /// Each task's last recorded state in the runs this store writes, to refuse an illegal
    /// transition on the caller's thread, before it reaches the writer.
    states: Arc<std::sync::Mutex<plait_store::RecordedStates>>,
    /// SQLite could open the file only for reading: runs can be read, none recorded.
    read_only: bool,
}

impl SqliteStore {
    /// Checks the batch's transitions against the lifecycle (see `RecordedStates`), reading
    /// the states of a run this store has not written yet, or is taking over: since it last
    /// wrote a run it lets go of, another process may have resumed it. Returns the runs it
    /// names.
    fn admit(&self, writes: &[Write]) -> Result<Vec<RunId>, StoreError> {
        let mut runs: Vec<RunId> = Vec::new();
        let mut states = lock(&self.states);
        for write in writes {
            if !runs.iter().any(|run| run == write.run_id()) {
                runs.push(write.run_id().clone());
            }
            if let Write::Claim { run_id, .. } = write {
                states.forget(run_id);
            }
        }
        for run_id in &runs {
            if states.knows(run_id) {
                continue;
            }
            let record = self.read(|conn, shown| {
                rows::run(conn, run_id).map_err(|error| from_sqlite(shown, &error))
            })?;
            match record {
                Some(record) => states.load(run_id, &record.tasks),
                None => {
                    return Err(StoreError::UnknownRun {
                        run_id: run_id.to_string(),
                    });
                }
            }
        }
        states.admit(writes)?;
        Ok(runs)
    }

    /// Opens (creating if needed) the store at `path`, and its directory. The blob
    /// directory, `blobs` beside the file, is created when a first file is kept.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, SqliteOptions::default())
    }

    pub fn open_with(
        path: impl AsRef<Path>,
        options: SqliteOptions,
    ) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let shown = path.display().to_string();
        if let Some(dir) = path.parent().filter(|dir| !dir.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|error| match error.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem => {
                    StoreError::ReadOnly {
                        path: shown.clone(),
                    }
                }
                _ => StoreError::Open {
                    path: shown.clone(),
                    detail: error.to_string(),
                },
            })?;
        }
        let mut conn = open_retrying(&path, &shown, &options)?;
        let read_only = conn
            .is_readonly(rusqlite::MAIN_DB)
            .map_err(|error| from_sqlite(&shown, &error))?;
        let laid_out = wal::lay_out(&mut conn, &path, options.busy_timeout);
        if laid_out > 0 {
            tracing::debug!(path = %shown, bytes = laid_out, "laid the write-ahead log out");
        }
        wal::checkpoint_after_answers(&conn);
        let blobs = blobs::dir_for(&path);
        let stats = Arc::new(Stats::default());
        let (requests, receiver) = mpsc::channel();
        let thread_stats = stats.clone();
        let (thread_path, thread_blobs) = (shown.clone(), blobs.clone());
        std::thread::Builder::new()
            .name("plait-store".to_owned())
            .spawn(move || writer::run(conn, thread_path, thread_blobs, receiver, thread_stats))
            .map_err(|error| StoreError::Other {
                detail: format!("cannot start the store's thread: {error}"),
            })?;
        Ok(SqliteStore {
            shown: shown.into(),
            path,
            requests,
            lookups: Arc::default(),
            options,
            blobs,
            stats,
            states: Arc::default(),
            read_only,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `Err(StoreError::ReadOnly)` if the file could be opened only for reading (its mode,
    /// its file system, an immutable flag): reading runs works, recording one would fail at
    /// its first write.
    pub fn writable(&self) -> Result<(), StoreError> {
        match self.read_only {
            true => Err(StoreError::ReadOnly {
                path: self.shown.to_string(),
            }),
            false => Ok(()),
        }
    }

    /// Commits made so far, and the write requests they carried: the ratio is the group
    /// commit's batching.
    pub fn commits(&self) -> (u64, u64) {
        (
            self.stats.commits.load(Ordering::Relaxed),
            self.stats.writes.load(Ordering::Relaxed),
        )
    }

    /// Runs `read` on a read connection of this thread's own (taken from a pool): in WAL
    /// mode a reader never waits for the writer, and sees every commit made before it began.
    fn read<T>(
        &self,
        read: impl FnOnce(&Connection, &str) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let shown = &*self.shown;
        let taken = self
            .lookups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        let conn = match taken {
            Some(conn) => conn,
            None => open_reader(&self.path, shown, &self.options)?,
        };
        let found = read(&conn, shown);
        self.lookups
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .push(conn);
        found
    }

    fn entries_of(&self, tasks: &[TaskPath]) -> Result<Vec<CacheEntry>, StoreError> {
        let sqlite = |shown: &str, error: rusqlite::Error| from_sqlite(shown, &error);
        let plan = self.read(|conn, shown| {
            cache::plan_entries(conn, tasks.len(), SCAN_THREADS).map_err(|e| sqlite(shown, e))
        })?;
        let ranges = match plan {
            cache::EntriesPlan::ByTask => {
                return self.read(|conn, shown| {
                    cache::entries_by_task(conn, tasks).map_err(|e| sqlite(shown, e))
                });
            }
            cache::EntriesPlan::Scan(ranges) => ranges,
        };
        let Some((&first, rest)) = ranges.split_first() else {
            return Ok(Vec::new());
        };
        let wanted: rustc_hash::FxHashSet<&str> = tasks.iter().map(TaskPath::as_str).collect();
        let scan = |range| {
            self.read(|conn, shown| {
                cache::scan_entries(conn, range, &wanted).map_err(|e| sqlite(shown, e))
            })
        };
        let (first, others) = std::thread::scope(|scope| {
            let others: Vec<_> = rest
                .iter()
                .map(|&range| scope.spawn(move || scan(range)))
                .collect();
            let first = scan(first);
            // Every part joined before any result is looked at: a part that panicked is an
            // error, not a panic of the scope.
            let others: Vec<_> = others
                .into_iter()
                .map(|other| {
                    other.join().unwrap_or_else(|_| {
                        Err(StoreError::Other {
                            detail: "reading the cache failed: a reader thread panicked".to_owned(),
                        })
                    })
                })
                .collect();
            (first, others)
        });
        let mut entries = first?;
        for part in others {
            entries.extend(part?);
        }
        Ok(entries)
    }

    fn ask<T: Send + 'static>(
        &self,
        request: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> Request,
    ) -> BoxFuture<'static, Result<T, StoreError>> {
        let (sender, receiver) = oneshot::channel();
        let sent = self.requests.send(request(sender));
        Box::pin(async move {
            if sent.is_err() {
                return Err(closed());
            }
            receiver.await.unwrap_or_else(|_| Err(closed()))
        })
    }
}

fn closed() -> StoreError {
    StoreError::Other {
        detail: "the store's writer stopped; its last commit may not have happened".to_owned(),
    }
}

/// Setting a new store up (switching to WAL, creating the schema) takes locks the busy
/// handler does not always wait for: when several processes open one new file at once, a
/// loser sees `SQLITE_BUSY` at once. Setup is done once per process, so it simply retries
/// until the busy timeout.
fn open_retrying(
    path: &Path,
    shown: &str,
    options: &SqliteOptions,
) -> Result<Connection, StoreError> {
    let started = std::time::Instant::now();
    loop {
        match open_connection(path, shown, options) {
            Err(StoreError::Locked { .. }) if started.elapsed() < options.busy_timeout => {
                std::thread::sleep(Duration::from_millis(20));
            }
            result => return result,
        }
    }
}

/// The page size of a new store. Twice SQLite's default: a fully cached re-run of 10,000
/// tasks took 5.0-6.5 us per task instead of 6.6-8.2 in ten paired rounds (a first run and
/// its re-run made half the `pread` calls and 40% fewer `pwrite`), while a first run
/// measured within noise (0.75 us more on average in eight paired rounds, of 19-28).
/// 16 KiB did no better on re-runs and worse on first runs; 1 KiB was slower at both.
const PAGE_SIZE: i64 = 8_192;

fn open_connection(
    path: &Path,
    shown: &str,
    options: &SqliteOptions,
) -> Result<Connection, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let sqlite = |error: rusqlite::Error| from_sqlite(shown, &error);
    let mut conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(options.busy_timeout).map_err(sqlite)?;
    // Reading the version is the first access: a file that is not a database fails here.
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .map_err(sqlite)?;
    if version > schema::LATEST {
        return Err(StoreError::SchemaTooNew {
            path: shown.to_owned(),
            found: version,
            known: schema::LATEST,
        });
    }
    // Before WAL mode: a new store is created with it; an existing one keeps its own (a
    // file's page size changes only on VACUUM, and never in WAL mode).
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(sqlite)?;
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .map_err(sqlite)?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(path = shown, mode, "the store could not switch to WAL mode");
    }
    conn.pragma_update(
        None,
        "synchronous",
        if options.power_loss_safe {
            "FULL"
        } else {
            "NORMAL"
        },
    )
    .map_err(sqlite)?;
    conn.pragma_update(None, "foreign_keys", "ON")
        .map_err(sqlite)?;
    wal::keep_on_close(&conn);
    if let Err(error) = schema::migrations().to_latest(&mut conn) {
        // Two processes opening a new store at once both try to create it; the loser's
        // transaction rolls back, and what the winner made is just as good.
        let now: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite)?;
        if now != schema::LATEST {
            return Err(match error {
                rusqlite_migration::Error::RusqliteError { err, .. } => from_sqlite(shown, &err),
                other => StoreError::Other {
                    detail: format!("{shown}: migrating the schema failed: {other}"),
                },
            });
        }
    }
    Ok(conn)
}

/// A read connection: the file exists and is migrated, in WAL mode (a mode the file
/// keeps), so it only needs the busy timeout.
fn open_reader(
    path: &Path,
    shown: &str,
    options: &SqliteOptions,
) -> Result<Connection, StoreError> {
    let sqlite = |error: rusqlite::Error| from_sqlite(shown, &error);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).map_err(sqlite)?;
    conn.busy_timeout(options.busy_timeout).map_err(sqlite)?;
    // Every change goes through the writer, with its batching and its lock taken up front.
    conn.pragma_update(None, "query_only", true)
        .map_err(sqlite)?;
    wal::keep_on_close(&conn);
    Ok(conn)
}

impl Store for SqliteStore {
    fn create_run(&self, run: NewRun) -> BoxFuture<'static, Result<(), StoreError>> {
        let run_id = run.run_id.clone();
        let states = self.states.clone();
        let created = self.ask(|reply| Request::CreateRun(run, reply));
        Box::pin(async move {
            created.await?;
            lock(&states).start(&run_id);
            Ok(())
        })
    }

    /// Encoded here, on the caller's thread, so the writer only executes statements
    /// (`encode.rs`); the encoded writes come back with the answer, to be freed here too
    /// (`writer::WriteReply`).
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        let runs = match self.admit(&writes) {
            Ok(runs) => runs,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        // A finished run takes no more transitions: its states are not kept for a store
        // that lives on (a late write reads them again).
        let finished: Vec<RunId> = writes
            .iter()
            .filter_map(|write| match write {
                Write::RunFinished { run_id, .. } => Some(run_id.clone()),
                _ => None,
            })
            .collect();
        let encoded = match encode::encode(writes) {
            Ok(encoded) => encoded,
            Err(error) => return Box::pin(std::future::ready(Err(error))),
        };
        let (reply, answer) = oneshot::channel();
        let sent = self.requests.send(Request::Write(encoded, reply));
        let states = self.states.clone();
        Box::pin(async move {
            let result = match (sent, answer.await) {
                (Ok(()), Ok((result, _written))) => result,
                _ => Err(closed()),
            };
            let mut states = lock(&states);
            if result.is_err() {
                // Admitted but perhaps not recorded: read the states again next time.
                for run_id in &runs {
                    states.forget(run_id);
                }
            }
            for run_id in &finished {
                states.forget(run_id);
            }
            drop(states);
            result
        })
    }

    fn run(&self, run_id: &RunId) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>> {
        let run_id = run_id.clone();
        self.ask(|reply| Request::Run(run_id, reply))
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunSummary>, StoreError>> {
        self.ask(Request::Runs)
    }

    /// Answered on the caller's thread: an indexed read takes a few microseconds, less
    /// than handing the lookup to another thread and back, and a fully cached re-run makes
    /// one per task.
    fn cache_get(
        &self,
        task: &TaskPath,
        key: &CacheKey,
    ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>> {
        let result = self.read(|conn, shown| {
            cache::get(conn, task, key).map_err(|error| from_sqlite(shown, &error))
        });
        Box::pin(std::future::ready(result))
    }

    /// Usually one pass over the table, its halves read by two threads at once: a run waits
    /// for this before any task starts. Each part is its own read transaction, so an entry
    /// committed meanwhile may or may not be seen, like one committed just after the run
    /// read the cache. A cache much bigger than the run is read by task, in one.
    fn cache_entries_of(
        &self,
        tasks: Vec<TaskPath>,
    ) -> BoxFuture<'static, Result<Vec<CacheEntry>, StoreError>> {
        let result = self.entries_of(&tasks);
        Box::pin(std::future::ready(result))
    }

    fn put_blob(&self, path: PathBuf) -> BoxFuture<'static, Result<Blob, StoreError>> {
        Box::pin(blobs::put(self.blobs.clone(), path))
    }

    fn restore_blob(
        &self,
        blob: Blob,
        to: PathBuf,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        Box::pin(blobs::restore(self.blobs.clone(), blob, to))
    }

    /// The tables' part from the writer, which adds the use counts it has not written yet;
    /// the blob directory's part read here.
    fn cache_stats(&self) -> BoxFuture<'static, Result<CacheStats, StoreError>> {
        let tables = self.ask(Request::CacheStats);
        let blobs = self.blobs.clone();
        Box::pin(async move {
            let mut stats = tables.await?;
            (stats.blobs, stats.blob_bytes) = blobs
                .usage()
                .map_err(|error| crate::error::from_io(blobs.root(), &error))?;
            Ok(stats)
        })
    }

    fn cache_gc(&self, gc: CacheGc) -> BoxFuture<'static, Result<CacheGcReport, StoreError>> {
        self.ask(|reply| Request::CacheGc(gc, reply))
    }

    /// Read on the caller's thread, as lookups are: a follower polling a running attempt
    /// never waits for the writer, nor makes it wait.
    fn output(
        &self,
        run_id: &RunId,
        task: &TaskPath,
        attempt: u32,
        stream: OutputStream,
        from: u64,
    ) -> BoxFuture<'static, Result<Option<Output>, StoreError>> {
        let result = self.read(|conn, shown| {
            output::read(conn, run_id, task, attempt, stream, from)
                .map_err(|error| from_sqlite(shown, &error))
        });
        Box::pin(std::future::ready(result))
    }

    fn outputs(&self, run_id: &RunId) -> BoxFuture<'static, Result<Vec<OutputInfo>, StoreError>> {
        let result = self.read(|conn, shown| {
            output::list(conn, run_id).map_err(|error| from_sqlite(shown, &error))
        });
        Box::pin(std::future::ready(result))
    }
}

/// Locks `mutex`; what it guards is plain state a panic elsewhere cannot leave half-written.
fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
