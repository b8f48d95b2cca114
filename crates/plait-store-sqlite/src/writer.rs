//! The one thread that owns the connection. Requests queue on a channel; the thread takes
//! every request waiting, checks each one's runs, applies the valid ones in one transaction
//! (a refused request changes nothing), commits once, and answers them all: a group commit,
//! one sync for many tasks. A cache gc runs here too, in a transaction of its own; cache
//! lookups are read on the callers' threads (`SqliteStore::read`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use plait_store::blobs::BlobDir;
use plait_store::{CacheGc, CacheGcReport, NewRun, RunRecord, RunSummary, StoreError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::encode::Encoded;
use crate::error::from_sqlite;
use crate::log::LogBatch;
use crate::{cache, rows};

/// Most requests folded into one commit, so one huge burst cannot delay its first answers
/// without bound.
const MAX_BATCH: usize = 4_096;

/// Waits for a request, then takes every other one already waiting (up to [`MAX_BATCH`]).
/// `None` once every sender is gone.
fn next_batch<T>(requests: &mpsc::Receiver<T>) -> Option<Vec<T>> {
    let mut batch = vec![requests.recv().ok()?];
    while batch.len() < MAX_BATCH {
        match requests.try_recv() {
            Ok(request) => batch.push(request),
            Err(_) => break,
        }
    }
    Some(batch)
}

pub(crate) enum Request {
    CreateRun(NewRun, oneshot::Sender<Result<(), StoreError>>),
    /// Writes encoded on the caller's thread (`encode.rs`).
    Write(Vec<Encoded>, oneshot::Sender<Result<(), StoreError>>),
    Run(
        String,
        oneshot::Sender<Result<Option<RunRecord>, StoreError>>,
    ),
    Runs(oneshot::Sender<Result<Vec<RunSummary>, StoreError>>),
    CacheGc(CacheGc, oneshot::Sender<Result<CacheGcReport, StoreError>>),
}

#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) commits: AtomicU64,
    pub(crate) writes: AtomicU64,
}

pub(crate) fn run(
    mut conn: Connection,
    path: String,
    blobs: BlobDir,
    requests: mpsc::Receiver<Request>,
    stats: Arc<Stats>,
) {
    while let Some(batch) = next_batch(&requests) {
        // Changes commit first, so the reads and gc of the same batch see them.
        let mut changes = Vec::new();
        let mut senders = Vec::new();
        let mut others = Vec::new();
        for request in batch {
            match request {
                Request::CreateRun(run, sender) => {
                    changes.push(Change::CreateRun(run));
                    senders.push(sender);
                }
                Request::Write(writes, sender) => {
                    changes.push(Change::Write(writes));
                    senders.push(sender);
                }
                other => others.push(other),
            }
        }
        if !changes.is_empty() {
            commit(&mut conn, &path, &blobs, changes, senders, &stats);
        }
        for other in others {
            answer(&mut conn, &path, &blobs, other);
        }
    }
    crate::wal::rewind(&mut conn);
}

/// A change and where its answer goes.
enum Change {
    CreateRun(NewRun),
    Write(Vec<Encoded>),
}

/// Applies every change in one transaction and answers each once the commit is durable.
fn commit(
    conn: &mut Connection,
    path: &str,
    blobs: &BlobDir,
    changes: Vec<Change>,
    senders: Vec<oneshot::Sender<Result<(), StoreError>>>,
    stats: &Stats,
) {
    let outcome = (|| -> rusqlite::Result<Vec<Result<(), StoreError>>> {
        // IMMEDIATE takes the write lock up front, through the busy handler: a deferred
        // transaction that reads first and then writes fails at once (SQLITE_BUSY, no retry)
        // when another process committed in between.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Each request is checked first (its runs known, a new run's id free), so the valid
        // ones apply with no savepoint each: a batch is mostly one run's transitions.
        let mut known: HashMap<String, bool> = HashMap::new();
        let mut results = Vec::with_capacity(changes.len());
        let mut log = LogBatch::default();
        for change in &changes {
            let result = match change {
                Change::CreateRun(run) => {
                    if rows::run_exists(&tx, &mut known, &run.run_id)? {
                        Err(StoreError::DuplicateRun {
                            run_id: run.run_id.clone(),
                        })
                    } else {
                        rows::insert_run(&tx, run)?;
                        known.insert(run.run_id.clone(), true);
                        Ok(())
                    }
                }
                Change::Write(writes) => {
                    let mut unknown = None;
                    for write in writes {
                        if !rows::run_exists(&tx, &mut known, write.run_id())? {
                            unknown = Some(write.run_id().to_owned());
                            break;
                        }
                    }
                    match unknown {
                        Some(run_id) => Err(StoreError::UnknownRun { run_id }),
                        None => {
                            rows::apply(&tx, blobs, writes, &mut log)?;
                            Ok(())
                        }
                    }
                }
            };
            results.push(result);
        }
        log.write(&tx)?;
        tx.commit()?;
        Ok(results)
    })();
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats
        .writes
        .fetch_add(senders.len() as u64, Ordering::Relaxed);
    match outcome {
        Ok(results) => {
            for (sender, result) in senders.into_iter().zip(results) {
                let _ = sender.send(result);
            }
        }
        Err(error) => {
            // Nothing of the batch was committed: every request gets the error.
            let error = from_sqlite(path, &error);
            tracing::warn!(%error, "store commit failed");
            for sender in senders {
                let _ = sender.send(Err(error.clone()));
            }
        }
    }
}

/// Answers a read or a gc.
fn answer(conn: &mut Connection, path: &str, blobs: &BlobDir, request: Request) {
    match request {
        Request::Run(run_id, sender) => {
            let _ = sender.send(rows::run(conn, &run_id).map_err(|e| from_sqlite(path, &e)));
        }
        Request::Runs(sender) => {
            let _ = sender.send(rows::runs(conn).map_err(|e| from_sqlite(path, &e)));
        }
        Request::CacheGc(gc, sender) => {
            let _ = sender.send(cache::gc(conn, path, blobs, &gc));
        }
        Request::CreateRun(..) | Request::Write(..) => {
            unreachable!("changes are committed apart")
        }
    }
}
