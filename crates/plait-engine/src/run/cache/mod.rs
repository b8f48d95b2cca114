//! The result cache, on the engine's side: a task's key, reusing a result, keeping one.
//!
//! A key is the blake3 hash of what decides a task's result: its path in the plan, its
//! `version`, its code (a command's arguments and environment; a Rust function's type name
//! and the program's build) and the hash of each input value (a `file` by its content).
//! Upstream keys are not part of it, only upstream *values*: a task that re-runs and
//! produces what it produced before leaves its dependents' keys unchanged, so they are
//! reused (early cut-off).
//!
//! The components are recorded with the run, so `plait explain` can say which one changed.
//! Here: reading the entries a run may reuse, deciding per task, reusing; `key.rs` makes
//! keys, `components.rs` writes what went into one, `queue.rs` keeps results. See
//! `docs/cache.md`.

mod components;
mod key;
mod queue;

use std::path::Path;

use plait_core::{NodeId, Outputs, Value};
use plait_store::{Blob, CacheEntry, TaskKey, TaskPath, Write};
use serde_json::json;

use super::Shared;
use crate::sync::lock;

pub(crate) use crate::content::FileHashes;
pub(crate) use key::Keyed;
pub(crate) use queue::ResultQueue;

/// The cache's part of a run: the entries it may reuse, the files it hashed, the results
/// it keeps.
#[derive(Default)]
pub(crate) struct Caching {
    pub(crate) files: FileHashes,
    pub(crate) queue: ResultQueue,
    /// The entries this run may reuse, by key (sharing each entry's own), read when it
    /// started (see `preload_cache`); `None`: looked up one by one.
    pub(crate) preloaded:
        std::sync::Mutex<Option<rustc_hash::FxHashMap<plait_store::CacheKey, CacheEntry>>>,
}

/// Plans up to this many tasks read their cache entries up front.
const PRELOAD_MAX_TASKS: usize = 200_000;

/// What the cache says about a task about to run.
pub(crate) enum Decision {
    /// The run has no store: nothing to record.
    Off,
    /// The task runs and its result is not kept; the record says why.
    Uncached(TaskKey),
    /// The task runs and its result is kept for later runs.
    Run(Keyed),
    /// An earlier result for the same key, its outputs decoded.
    Hit(Keyed, CacheEntry, Outputs),
}

impl Shared {
    /// Reads every entry the plan's tasks could reuse, in one go: a lookup per task costs
    /// a read transaction each, more than the task itself when it is small. A plan too big
    /// to hold its entries in memory looks them up one by one instead. The run sees the
    /// cache as it was when it started (give or take an entry written meanwhile, see
    /// `Store::cache_entries_of`; of two copies of one key, the later wins, and either is a
    /// result for that key).
    pub(crate) async fn preload_cache(&self) {
        let Some(store) = &self.recorder.store else {
            return;
        };
        if !self.config.reuse_cached || self.graph.n_tasks() > PRELOAD_MAX_TASKS {
            return;
        }
        let tasks = self
            .graph
            .plan()
            .nodes()
            .iter()
            .filter(|node| node.task().is_some_and(|slot| slot.policy.cache))
            .map(|node| TaskPath::from(node.path.clone()))
            .collect();
        match store.cache_entries_of(tasks).await {
            Ok(entries) => {
                let entries = entries
                    .into_iter()
                    .map(|entry| (entry.key.clone(), entry))
                    .collect();
                *lock(&self.cache.preloaded) = Some(entries);
            }
            Err(error) => {
                tracing::warn!(%error, "reading the cache failed; looking results up one by one");
            }
        }
    }

    /// Computes the task's key and looks it up.
    pub(crate) async fn cache_decision(&self, node: NodeId, values: &[Value]) -> Decision {
        let Some(store) = self.recorder.store.clone() else {
            return Decision::Off;
        };
        let slot = self.graph.node(node).task().expect("only tasks are run");
        let keyed = match self.cache_key(node, slot, values).await {
            Ok(keyed) => keyed,
            Err(why) => {
                return Decision::Uncached(TaskKey {
                    key: None,
                    components: json!({ "disabled": why }).to_string(),
                    cached_from: None,
                });
            }
        };
        if !self.config.reuse_cached {
            let mut keyed = keyed;
            keyed.not_reused = true;
            return Decision::Run(keyed);
        }
        // The preload holds every entry of the plan's tasks, so a miss there is a miss; a task
        // added while the run goes (a spawned child) was not preloaded.
        let preloaded = lock(&self.cache.preloaded)
            .as_mut()
            .filter(|_| (node as usize) < self.graph.plan().len())
            .map(|entries| entries.remove(&keyed.key));
        let entry = match preloaded {
            Some(entry) => entry,
            None => match store
                .cache_get(&self.graph.node(node).path.clone().into(), &keyed.key)
                .await
            {
                Ok(entry) => entry,
                Err(error) => {
                    // A lookup that fails costs a re-execution, not the run.
                    tracing::warn!(%error, task = %self.graph.node(node).path, "cache lookup failed; running the task");
                    None
                }
            },
        };
        let decoded = entry.and_then(|entry| {
            // Parsed here, on the task's thread: the preload keeps the text.
            let json = entry
                .outputs
                .to_value()
                .inspect_err(|error| {
                    tracing::warn!(%error, task = %self.graph.node(node).path, "a cached result cannot be read; running the task");
                })
                .ok()?;
            let outputs = super::resume::restore_outputs(&json, slot.provides())?;
            Some((entry, outputs))
        });
        match decoded {
            Some((entry, outputs)) => Decision::Hit(keyed, entry, outputs),
            None => Decision::Run(keyed),
        }
    }

    /// Puts a hit's files back, where its decoded `outputs` say they go: each output's blobs,
    /// in order, to the paths it holds (one for a `file`, one per element for a
    /// `list<file>`). False if one cannot be, or the blobs do not match the paths: the task
    /// runs instead.
    pub(crate) async fn restore_files(
        &self,
        node: NodeId,
        entry: &CacheEntry,
        outputs: &Outputs,
    ) -> bool {
        if self.recorder.store.is_none() {
            return false;
        }
        let mut restored = 0;
        for (name, value) in outputs.iter() {
            let paths = value.files();
            let blobs = entry
                .blobs
                .iter()
                .filter(|(blob_name, _)| blob_name == name);
            if blobs.clone().count() != paths.len() {
                return false;
            }
            for ((_, blob), path) in blobs.zip(paths) {
                if !self.restore_file(node, name, blob, path).await {
                    return false;
                }
                restored += 1;
            }
        }
        // A blob for no output: the entry is not what these outputs were kept as.
        restored == entry.blobs.len()
    }

    async fn restore_file(&self, node: NodeId, name: &str, blob: &Blob, path: &Path) -> bool {
        let Some(store) = &self.recorder.store else {
            return false;
        };
        match store
            .restore_blob(Blob::clone(blob), path.to_path_buf())
            .await
        {
            Ok(restored) => restored,
            Err(error) => {
                tracing::warn!(%error, task = %self.graph.node(node).path, output = %name, "cannot restore a cached file; running the task");
                false
            }
        }
    }

    /// The writes recording a reused result: a completion naming the key and the run that
    /// computed it (the components are that run's, so they are not repeated), and the
    /// entry's use when the last one is old.
    pub(crate) fn reuse_writes(&self, node: NodeId, keyed: Keyed, entry: CacheEntry) -> Vec<Write> {
        let mut transition = self.transition(node, plait_core::TaskState::Succeeded, 0, None);
        let mut writes = Vec::with_capacity(2);
        if entry.used_at <= transition.at - plait_store::USE_RESOLUTION {
            writes.push(Write::Used {
                run_id: transition.run_id.clone(),
                task: transition.task.clone(),
                key: keyed.key.clone(),
                at: transition.at,
            });
        }
        transition.key = Some(TaskKey {
            key: Some(keyed.key),
            components: String::new(),
            cached_from: Some(entry.run_id),
        });
        writes.push(Write::Completed {
            transition,
            outputs: entry.outputs,
        });
        writes
    }
}
