//! The one thread that owns the connection. Requests queue on a channel; the thread takes
//! every request waiting, checks each one's runs, applies the valid ones in one transaction
//! (a refused request changes nothing), commits once, and answers them all: a group commit,
//! one sync for many tasks. A cache gc runs here too, in a transaction of its own; cache
//! lookups are read on the callers' threads (`SqliteStore::read`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use plait_store::blobs::BlobDir;
use plait_store::{
    CacheGc, CacheGcReport, CacheStats, NewRun, RunId, RunRecord, RunSummary, StoreError,
};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::encode::Encoded;
use crate::error::from_sqlite;
use crate::log::{Counts, LogBatch};
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
    Write(Vec<Encoded>, WriteReply),
    Run(
        RunId,
        oneshot::Sender<Result<Option<RunRecord>, StoreError>>,
    ),
    Runs(oneshot::Sender<Result<Vec<RunSummary>, StoreError>>),
    CacheGc(CacheGc, oneshot::Sender<Result<CacheGcReport, StoreError>>),
    /// The cache's tables and use counts (the caller adds the blob directory's).
    CacheStats(oneshot::Sender<Result<CacheStats, StoreError>>),
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
    // The cache's use counts of commits since the last that kept entries or ended a run.
    let mut counts = Counts::default();
    while let Some(batch) = next_batch(&requests) {
        // Changes commit first, so the reads and gc of the same batch see them.
        let mut changes = Vec::new();
        let mut senders = Vec::new();
        let mut others = Vec::new();
        for request in batch {
            match request {
                Request::CreateRun(run, sender) => {
                    changes.push(Change::CreateRun(run));
                    senders.push(Reply::Created(sender));
                }
                Request::Write(writes, sender) => {
                    changes.push(Change::Write(writes));
                    senders.push(Reply::Written(sender));
                }
                other => others.push(other),
            }
        }
        if !changes.is_empty() {
            commit(
                &mut conn,
                &path,
                &blobs,
                changes,
                senders,
                &stats,
                &mut counts,
            );
        }
        for other in others {
            answer(&mut conn, &path, &blobs, other, counts);
        }
        crate::wal::checkpoint_if_due(&conn);
    }
    if let Err(error) = write_counts(&mut conn, counts) {
        tracing::warn!(%error, "the cache's last use counts were not recorded");
    }
    crate::wal::rewind(&mut conn);
}

fn write_counts(conn: &mut Connection, counts: Counts) -> rusqlite::Result<()> {
    if counts == Counts::default() {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    counts.write(&tx)?;
    tx.commit()
}

/// Where a write's answer goes, with the write handed back. Its lines were allocated on the
/// caller's thread; freed on the writer's, each went through mimalloc's cross-thread free
/// list, and collecting those lists took a tenth of the runtime threads' time in a first
/// run (docs/store.md). The caller drops them where they were made.
pub(crate) type WriteReply = oneshot::Sender<(Result<(), StoreError>, Vec<Encoded>)>;

/// Where a change's answer goes.
enum Reply {
    Created(oneshot::Sender<Result<(), StoreError>>),
    Written(WriteReply),
}

impl Reply {
    fn send(self, result: Result<(), StoreError>, change: Change) {
        match (self, change) {
            (Reply::Created(sender), _) => {
                let _ = sender.send(result);
            }
            (Reply::Written(sender), Change::Write(writes)) => {
                let _ = sender.send((result, writes));
            }
            (Reply::Written(sender), Change::CreateRun(_)) => {
                let _ = sender.send((result, Vec::new()));
            }
        }
    }
}

/// A change and where its answer goes.
enum Change {
    CreateRun(NewRun),
    Write(Vec<Encoded>),
}

/// A committed batch: each change's result, and the use counts still to be written.
struct Committed {
    results: Vec<Result<(), StoreError>>,
    pending: Counts,
}

/// Applies every change in one transaction and answers each once the commit is durable.
///
/// The cache's use counts are added to `counts`, and written (all those pending) only by a
/// commit that keeps cache entries or ends a run, and when the writer stops: updating the
/// one row of totals in every commit synced one more page each time. A process killed
/// loses the counts since, as it loses the entries it had not kept yet.
fn commit(
    conn: &mut Connection,
    path: &str,
    blobs: &BlobDir,
    changes: Vec<Change>,
    senders: Vec<Reply>,
    stats: &Stats,
    counts: &mut Counts,
) {
    let outcome = (|| -> rusqlite::Result<Committed> {
        // IMMEDIATE takes the write lock up front, through the busy handler: a deferred
        // transaction that reads first and then writes fails at once (SQLITE_BUSY, no retry)
        // when another process committed in between.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        // Each request is checked first (its runs known, a new run's id free), so the valid
        // ones apply with no savepoint each: a batch is mostly one run's transitions.
        let mut known = rows::KnownRuns::default();
        let mut results = Vec::with_capacity(changes.len());
        let mut log = LogBatch::default();
        let mut keeps_results = false;
        for change in &changes {
            let result = match change {
                Change::CreateRun(run) => {
                    if rows::log_key(&tx, &mut known, &run.run_id)?.is_some() {
                        Err(StoreError::DuplicateRun {
                            run_id: run.run_id.to_string(),
                        })
                    } else {
                        let key = rows::insert_run(&tx, run)?;
                        known.insert(run.run_id.clone(), Some(key));
                        Ok(())
                    }
                }
                Change::Write(writes) => {
                    let mut unknown = None;
                    for write in writes {
                        if rows::log_key(&tx, &mut known, write.run_id())?.is_none() {
                            unknown = Some(write.run_id().to_string());
                            break;
                        }
                    }
                    // A claim or a renewal is judged in the transaction that makes it, so
                    // two claimers cannot both win, nor an owner renew a run taken over.
                    let mut refused = None;
                    if unknown.is_none() {
                        let now = plait_store::now_millis();
                        for write in writes {
                            refused = match write {
                                Encoded::Claim { run_id, .. } => {
                                    let (owner, lease) = rows::owner(&tx, run_id)?;
                                    plait_store::claim_refused(run_id, owner.as_ref(), lease, now)
                                }
                                Encoded::Renew { run_id, owner, .. } => {
                                    let (recorded, _) = rows::owner(&tx, run_id)?;
                                    plait_store::renew_refused(run_id, recorded.as_ref(), owner)
                                }
                                _ => None,
                            };
                            if refused.is_some() {
                                break;
                            }
                        }
                    }
                    match (unknown, refused) {
                        (Some(run_id), _) => Err(StoreError::UnknownRun { run_id }),
                        (None, Some(refused)) => Err(refused),
                        (None, None) => {
                            keeps_results |= writes.iter().any(|write| {
                                matches!(write, Encoded::Cache(_) | Encoded::RunFinished { .. })
                            });
                            rows::apply(&tx, blobs, writes, &mut log)?;
                            Ok(())
                        }
                    }
                }
            };
            results.push(result);
        }
        let mut pending = counts.add(log.counts());
        if keeps_results {
            pending.write(&tx)?;
            pending = Counts::default();
        }
        log.write(&tx, &known)?;
        tx.commit()?;
        Ok(Committed { results, pending })
    })();
    stats.commits.fetch_add(1, Ordering::Relaxed);
    stats
        .writes
        .fetch_add(senders.len() as u64, Ordering::Relaxed);
    match outcome {
        Ok(Committed { results, pending }) => {
            *counts = pending;
            for ((sender, result), change) in senders.into_iter().zip(results).zip(changes) {
                sender.send(result, change);
            }
        }
        Err(error) => {
            // Nothing of the batch was committed: every request gets the error, and its
            // caller reports it (a warning here would say it twice).
            let error = from_sqlite(path, &error);
            tracing::debug!(%error, "store commit failed");
            for (sender, change) in senders.into_iter().zip(changes) {
                sender.send(Err(error.clone()), change);
            }
        }
    }
}

/// Answers a read or a gc; `counts` are the cache's use counts not written yet.
fn answer(conn: &mut Connection, path: &str, blobs: &BlobDir, request: Request, counts: Counts) {
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
        Request::CacheStats(sender) => {
            let stats = cache::stats(conn).map(|mut stats| {
                stats.hits += counts.hits as u64;
                stats.misses += counts.misses as u64;
                stats
            });
            let _ = sender.send(stats.map_err(|error| from_sqlite(path, &error)));
        }
        Request::CreateRun(..) | Request::Write(..) => {
            unreachable!("changes are committed apart")
        }
    }
}
