//! The thread that answers cache lookups, on a connection of its own. A fully cached re-run
//! asks once per task before doing anything else, so a lookup must not queue behind the
//! writer's commits and their syncs: in WAL mode a reader never waits for the writer, and
//! sees every commit made before its read began (so a lookup after a write returned sees
//! it). Like the writer, it takes every request waiting and answers them in one read
//! transaction: one snapshot for the batch, not one per lookup.

use std::sync::mpsc;

use plait_store::blobs::BlobDir;
use plait_store::{CacheEntry, CacheStats, StoreError};
use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::cache;
use crate::error::{from_io, from_sqlite};

pub(crate) enum Read {
    CacheGet(
        String,
        oneshot::Sender<Result<Option<CacheEntry>, StoreError>>,
    ),
    CacheStats(oneshot::Sender<Result<CacheStats, StoreError>>),
}

pub(crate) fn run(
    mut conn: Connection,
    path: String,
    blobs: BlobDir,
    requests: mpsc::Receiver<Read>,
) {
    while let Some(batch) = crate::writer::next_batch(&requests) {
        let tx = match conn.transaction() {
            Ok(tx) => tx,
            Err(error) => {
                let error = from_sqlite(&path, &error);
                for read in batch {
                    fail(read, error.clone());
                }
                continue;
            }
        };
        for read in batch {
            match read {
                Read::CacheGet(key, sender) => {
                    let _ = sender.send(cache::get(&tx, &key).map_err(|e| from_sqlite(&path, &e)));
                }
                Read::CacheStats(sender) => {
                    let _ = sender.send(stats(&tx, &path, &blobs));
                }
            }
        }
        // Nothing was written: ending the transaction only lets go of its snapshot, and a
        // failure to (which SQLite does not report for a read) changes no answer given.
        if let Err(error) = tx.commit() {
            tracing::warn!(error = %from_sqlite(&path, &error), "ending a cache read failed");
        }
    }
}

fn stats(conn: &Connection, path: &str, blobs: &BlobDir) -> Result<CacheStats, StoreError> {
    let mut stats = cache::stats(conn).map_err(|error| from_sqlite(path, &error))?;
    let kept = blobs
        .list()
        .map_err(|error| from_io(blobs.root(), &error))?;
    stats.blobs = kept.len() as u64;
    stats.blob_bytes = kept.iter().map(|blob| blob.size).sum();
    Ok(stats)
}

fn fail(read: Read, error: StoreError) {
    match read {
        Read::CacheGet(_, sender) => {
            let _ = sender.send(Err(error));
        }
        Read::CacheStats(sender) => {
            let _ = sender.send(Err(error));
        }
    }
}
