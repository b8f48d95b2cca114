//! The write-ahead log, laid out at its full size once and kept from one process to the
//! next.
//!
//! With `synchronous = FULL` (the default) every commit syncs the log. A sync that has to
//! grow the file also commits the file system's journal (the new size and blocks), and
//! costs about twice as much as one that overwrites blocks already written: on the machine
//! of docs/store.md, a store's first thousand frames synced in a median of 300-400 us, the
//! frames written after the first checkpoint had restarted the log in 170-200 us. So the log is written full of zeros when
//! it is smaller than a checkpoint's worth of frames (once per store, a few milliseconds),
//! and SQLite is asked to keep it when the last connection closes (`PERSIST_WAL`) rather
//! than delete it, so the next process overwrites it too. PostgreSQL does the same with its
//! log segments (`wal_init_zero`, `wal_recycle`).
//!
//! Zeros past the end of the log are never read as frames: a reader reads no further than
//! the last commit the log's index knows of, and recovery stops at the first frame whose
//! salt and checksum do not match the header's.

use std::cell::Cell;
use std::ffi::c_int;
use std::fs::OpenOptions;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::hooks::Wal;
use rusqlite::{Connection, TransactionBehavior};

/// The log header's and each frame header's sizes (SQLite's file format).
const LOG_HEADER: u64 = 32;
const FRAME_HEADER: u64 = 24;

/// Frames the log holds before the writer copies them into the database (SQLite's default
/// threshold for its automatic checkpoint).
const CHECKPOINT_FRAMES: c_int = 1_000;

/// Frames laid out beyond the checkpoint threshold: a checkpoint runs after the commit that
/// crosses it, and a commit keeping a batch of cache entries writes some sixty.
const MARGIN_FRAMES: u64 = 128;

/// Zeros written per call.
const CHUNK: usize = 1 << 20;

thread_local! {
    /// Frames in the log after this thread's last commit (see [`checkpoint_after_answers`]).
    /// Per thread because SQLite calls the hook on the committing thread and rusqlite takes
    /// a plain `fn`: right as long as each hooked connection commits on a thread of its own,
    /// as each store's writer does.
    static LOG_FRAMES: Cell<c_int> = const { Cell::new(0) };
}

/// Replaces SQLite's automatic checkpoint with the writer's own. SQLite's runs inside the
/// commit that crosses the threshold, so the requests of that commit wait for it (3-9 ms);
/// the writer checkpoints once it has answered them ([`checkpoint_if_due`]), while their
/// tasks go on.
pub(crate) fn checkpoint_after_answers(conn: &Connection) {
    conn.wal_hook(Some(note_frames));
}

/// Called by SQLite on the committing thread after each commit, with the log's frames.
fn note_frames(_: &Wal, frames: c_int) -> rusqlite::Result<()> {
    LOG_FRAMES.set(frames);
    Ok(())
}

/// Copies the log into the database if it has reached the threshold: a passive checkpoint,
/// as SQLite's own, which copies what no reader still needs; while the log stays past the
/// threshold, the next commit tries again. Best effort, like SQLite's.
pub(crate) fn checkpoint_if_due(conn: &Connection) {
    if LOG_FRAMES.get() < CHECKPOINT_FRAMES {
        return;
    }
    LOG_FRAMES.set(0);
    if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(())) {
        tracing::debug!(%error, "checkpoint failed; the next commit tries again");
    }
}

/// Asks SQLite to keep the log file when this connection is the last to close. Set on
/// every connection of the store: whichever closes last decides. Best effort: without it
/// the log is deleted at close and laid out again by the next opener.
pub(crate) fn keep_on_close(conn: &Connection) {
    let mut keep: c_int = 1;
    // SAFETY: the handle is this open connection's, used on this thread while `conn` is
    // borrowed; "main" is a NUL-terminated name; PERSIST_WAL reads and writes the one
    // `c_int` it is given, which outlives the call.
    #[allow(unsafe_code)]
    let code = unsafe {
        rusqlite::ffi::sqlite3_file_control(
            conn.handle(),
            c"main".as_ptr(),
            rusqlite::ffi::SQLITE_FCNTL_PERSIST_WAL,
            (&raw mut keep).cast(),
        )
    };
    if code != rusqlite::ffi::SQLITE_OK {
        let error = rusqlite::ffi::Error::new(code);
        tracing::debug!(%error, "the write-ahead log will not be kept between processes");
    }
}

/// The log file of the database at `db`.
pub(crate) fn log_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// The size the log is laid out to: a checkpoint's worth of frames and a margin.
fn full_size(conn: &Connection) -> rusqlite::Result<u64> {
    let page_size: u32 = conn.pragma_query_value(None, "page_size", |row| row.get(0))?;
    let frames = CHECKPOINT_FRAMES as u64 + MARGIN_FRAMES;
    Ok(LOG_HEADER + frames * (FRAME_HEADER + u64::from(page_size)))
}

/// Lays the log of the database at `db` out to its full size, if it is smaller; returns
/// the bytes written. Holds the write lock throughout, so no connection of any process
/// appends a frame where the zeros go. Best effort: a store that cannot take them (a full
/// disk, a read-only file) works as it did, and says so when it is written to.
///
/// A log grown to more than twice that (a long reader held the checkpoints back, or a big
/// migration) is first cut back, if it can be without waiting: the file is kept, not
/// deleted, so it would otherwise stay at its largest.
pub(crate) fn lay_out(conn: &mut Connection, db: &Path, busy_timeout: Duration) -> u64 {
    match try_lay_out(conn, db, busy_timeout) {
        Ok(written) => written,
        Err(error) => {
            tracing::debug!(%error, "the write-ahead log was not laid out");
            0
        }
    }
}

fn try_lay_out(
    conn: &mut Connection,
    db: &Path,
    busy_timeout: Duration,
) -> Result<u64, Box<dyn std::error::Error>> {
    let full = full_size(conn)?;
    let size = || std::fs::metadata(log_path(db)).map_or(0, |meta| meta.len());
    if size() > 2 * full {
        // Copies every frame and truncates the log, or gives up at once if another
        // connection is reading or writing it.
        conn.busy_timeout(Duration::ZERO)?;
        let cut = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        conn.busy_timeout(busy_timeout)?;
        if let Err(error) = cut {
            tracing::debug!(%error, "the write-ahead log was not cut back");
        }
    }
    // Laid out already (the common case): no lock taken. Checked again under the lock.
    if size() >= full {
        return Ok(0);
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // Not created here: a connection in WAL mode has made it by now.
    let log = OpenOptions::new().write(true).open(log_path(db))?;
    let mut at = log.metadata()?.len();
    let from = at;
    if at < full {
        let zeros = vec![0u8; CHUNK];
        while at < full {
            let len = (full - at).min(CHUNK as u64) as usize;
            log.write_all_at(&zeros[..len], at)?;
            at += len as u64;
        }
        log.sync_data()?;
    }
    // Nothing was written through SQLite: this commit only lets the lock go.
    tx.commit()?;
    Ok(at - from)
}

/// Before the writer's connection closes: makes the log's next writer start again at its
/// beginning, so the next process to open the store reads one frame in recovery, not the
/// thousand frames the log may still hold (all already in the database). A checkpoint
/// first; once every frame is in the database, a commit restarts the log, writing one frame
/// over its start. Best effort, like any step of closing.
pub(crate) fn rewind(conn: &mut Connection) {
    if let Err(error) = try_rewind(conn) {
        tracing::debug!(%error, "the write-ahead log was not rewound");
    }
}

fn try_rewind(conn: &mut Connection) -> rusqlite::Result<()> {
    let (busy, frames, copied): (i64, i64, i64) =
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?;
    // A reader still on the log's frames, or a log already short: nothing to gain.
    if busy != 0 || frames != copied || frames <= 1 {
        return Ok(());
    }
    // Not worth waiting for another process's write lock: the connection is closing.
    conn.busy_timeout(Duration::ZERO)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // A change that leaves the row as it was still writes its page, which is what
    // restarts the log (an update to the same value writes nothing).
    tx.execute_batch(
        "UPDATE cache_counts SET hits = hits + 1; UPDATE cache_counts SET hits = hits - 1;",
    )?;
    tx.commit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SqliteOptions, open_connection};

    fn open(path: &Path) -> Connection {
        open_connection(path, "test", &SqliteOptions::default()).unwrap()
    }

    fn frames_in_log(path: &Path) -> i64 {
        let conn = Connection::open(path).unwrap();
        keep_on_close(&conn);
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap()
    }

    fn fill(conn: &Connection, rows: usize) {
        conn.execute_batch(&format!(
            "CREATE TABLE IF NOT EXISTS filler (text TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO filler SELECT printf('%.2000c', 'x') FROM n;"
        ))
        .unwrap();
    }

    /// A new store's log is laid out once, to a checkpoint's worth of frames, and what is
    /// then written over the zeros reads back after the store is opened again.
    #[test]
    fn the_log_is_laid_out_once_and_written_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        let mut conn = open(&path);
        let full = full_size(&conn).unwrap();
        let written = lay_out(&mut conn, &path, Duration::from_secs(10));
        assert!(written > 0);
        assert_eq!(std::fs::metadata(log_path(&path)).unwrap().len(), full);
        assert_eq!(
            lay_out(&mut conn, &path, Duration::from_secs(10)),
            0,
            "laid out already"
        );
        fill(&conn, 300);
        drop(conn);

        let conn = open(&path);
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM filler", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 300);
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    /// Closing keeps the log at its size, and rewound: the next opener finds one frame to
    /// recover, not every frame of the last process.
    #[test]
    fn a_closed_store_keeps_its_log_rewound() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        let mut conn = open(&path);
        lay_out(&mut conn, &path, Duration::from_secs(10));
        fill(&conn, 200);
        let before: i64 = conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))
            .unwrap();
        assert!(before > 30, "{before} frames");
        rewind(&mut conn);
        drop(conn);
        let size = std::fs::metadata(log_path(&path)).unwrap().len();
        let full = full_size(&open(&path)).unwrap();
        assert!(size >= full, "kept at {size} bytes");
        assert!(frames_in_log(&path) <= 1, "rewound");
        let conn = open(&path);
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM filler", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 200);
    }

    /// A commit past the threshold is not held up by a checkpoint: the log is copied into the
    /// database only when the writer asks, after answering.
    #[test]
    fn the_checkpoint_waits_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        let mut conn = open(&path);
        lay_out(&mut conn, &path, Duration::from_secs(10));
        checkpoint_after_answers(&conn);
        let db_size = || std::fs::metadata(&path).unwrap().len();
        let before = db_size();
        fill(&conn, 5_000);
        assert!(
            LOG_FRAMES.get() >= CHECKPOINT_FRAMES,
            "{} frames",
            LOG_FRAMES.get()
        );
        assert_eq!(db_size(), before, "nothing copied by the commit");
        checkpoint_if_due(&conn);
        assert!(
            db_size() > before + (8 << 20),
            "copied: {} bytes",
            db_size()
        );
        assert_eq!(LOG_FRAMES.get(), 0);
    }

    /// A log that grew far past its laid-out size is cut back when the store is opened
    /// again, and laid out anew.
    #[test]
    fn a_log_grown_far_past_its_size_is_cut_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        let conn = open(&path);
        // No checkpoint, so the log takes every frame.
        checkpoint_after_answers(&conn);
        fill(&conn, 12_000);
        let full = full_size(&conn).unwrap();
        drop(conn);
        let grown = std::fs::metadata(log_path(&path)).unwrap().len();
        assert!(grown > 2 * full, "{grown} bytes");
        let mut conn = open(&path);
        lay_out(&mut conn, &path, Duration::from_secs(10));
        assert_eq!(std::fs::metadata(log_path(&path)).unwrap().len(), full);
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM filler", [], |row| row.get(0))
            .unwrap();
        assert_eq!(rows, 12_000);
    }
}
