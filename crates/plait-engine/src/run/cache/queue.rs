//! Keeping results: a finished task's entry (its files kept first), queued and written in
//! batches sorted by key, off the critical path; a reverted task's entry forgotten.

use std::sync::Mutex;

use plait_core::{NodeId, Outputs};
use plait_store::{CacheEntry, CacheKey, Json, Write};

use super::Keyed;
use crate::run::Shared;
use crate::run::persist::millis;
use crate::sync::lock;

/// Queued results written in one batch.
const FLUSH_ENTRIES: usize = 512;

/// Results waiting to be written to the cache in a batch. Tasks add to `pending` without
/// waiting; a batch being written holds `writing`, which a forget takes too (see
/// [`Shared::forget_then`]).
#[derive(Default)]
pub(crate) struct ResultQueue {
    pending: Mutex<Vec<CacheEntry>>,
    writing: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The result of a task that ran under `keyed`, for the cache: its file outputs are kept
    /// in the store first, one blob per file under its output's name (a `list<file>`'s in
    /// its order, which is how `restore_files` puts them back). `None` (logged) if a file
    /// cannot be kept.
    pub(crate) async fn cache_entry(
        &self,
        node: NodeId,
        keyed: &Keyed,
        outputs: &Outputs,
        outputs_json: Json,
    ) -> Option<CacheEntry> {
        let store = self.recorder.store.as_ref()?;
        let plan_node = self.graph.node(node);
        let mut blobs = Vec::new();
        for (name, value) in outputs.iter() {
            for path in value.files() {
                match store.put_blob(path.to_path_buf()).await {
                    Ok(blob) => blobs.push((name.to_owned(), blob)),
                    Err(error) => {
                        tracing::warn!(%error, task = %plan_node.path, output = name, "cannot keep the file output; the result is not cached");
                        return None;
                    }
                }
            }
        }
        Some(self.new_entry(node, keyed.key.clone(), outputs_json, blobs))
    }

    /// An entry for a result `node` computed in this run, now.
    pub(crate) fn new_entry(
        &self,
        node: NodeId,
        key: CacheKey,
        outputs: Json,
        blobs: Vec<(String, plait_store::Blob)>,
    ) -> CacheEntry {
        let now = millis(self.now());
        CacheEntry {
            key,
            task: self.graph.node(node).path.clone().into(),
            run_id: self.config.run_id.clone().into(),
            outputs,
            blobs,
            created_at: now,
            used_at: now,
        }
    }

    /// Queues a result for the cache. Entries are derived data, written in batches sorted
    /// by key (one commit, neighbouring pages) rather than one random insert per task on
    /// the critical path; a crash loses only the queue, which costs re-executions.
    pub(crate) fn keep_result(&self, entry: CacheEntry) {
        lock(&self.cache.queue.pending).push(entry);
    }

    /// Writes the queued results once there are enough for a batch; called after a task's
    /// dependents were released, so they do not wait for it.
    pub(crate) async fn flush_results_if_many(&self) {
        if self.has_store() && lock(&self.cache.queue.pending).len() >= FLUSH_ENTRIES {
            self.flush_results().await;
        }
    }

    /// Writes every queued result.
    pub(crate) async fn flush_results(&self) {
        let Some(store) = &self.recorder.store else {
            return;
        };
        let _writing = self.cache.queue.writing.lock().await;
        let mut entries = std::mem::take(&mut *lock(&self.cache.queue.pending));
        if entries.is_empty() {
            return;
        }
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let writes = entries.into_iter().map(Write::Cache).collect();
        // Losing entries costs re-executions, not correctness: the run goes on.
        if let Err(error) = store.write(writes).await {
            tracing::warn!(%error, "keeping results in the cache failed");
        }
    }

    /// Commits a task's `reverting`, forgetting the result it left in the cache in the same
    /// commit. With the queue's writing lock held, so a queued entry is dropped and one being
    /// written is deleted after it lands, never before. False if the store failed.
    pub(crate) async fn commit_reverting(&self, node: NodeId) -> bool {
        let Some(key) = self.record(node).cache_key().cloned() else {
            return self.commit(node).await;
        };
        let _writing = self.cache.queue.writing.lock().await;
        lock(&self.cache.queue.pending).retain(|entry| entry.key != key);
        self.stage_write(Write::Forget {
            run_id: self.config.run_id.clone().into(),
            task: self.graph.node(node).path.clone().into(),
            key,
        });
        self.commit(node).await
    }
}
