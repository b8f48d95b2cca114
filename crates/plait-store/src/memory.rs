//! A store in memory: for tests, and for runs that need not survive the process.

use rustc_hash::FxHashMap as HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::blobs::BlobDir;
use crate::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheKey, CacheStats, EntryUse, Json, KeptOutput,
    NewRun, Output, OutputInfo, OutputStream, RunId, RunRecord, RunState, RunSummary, Store,
    StoreError, TaskFold, TaskPath, TaskRecord, Write, now_millis, owner_alive,
};
use plait_core::TaskState;

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<RunId, Run>,
    /// Run ids in creation order.
    order: Vec<RunId>,
    cache: HashMap<CacheKey, CacheEntry>,
    /// Kept files, in a temporary directory of the store's own (made on the first file).
    blobs: Option<(tempfile::TempDir, BlobDir)>,
    /// Each task's last recorded state, to refuse an illegal transition.
    states: crate::RecordedStates,
    /// What each attempt's streams keep, by run, task, attempt and stream.
    outputs: std::collections::BTreeMap<OutputId, KeptOutput>,
}

type OutputId = (RunId, TaskPath, u32, OutputStream);

impl Inner {
    fn blobs(&mut self) -> std::io::Result<&BlobDir> {
        if self.blobs.is_none() {
            let dir = tempfile::Builder::new().prefix("plait-blobs-").tempdir()?;
            let blobs = BlobDir::new(dir.path());
            self.blobs = Some((dir, blobs));
        }
        Ok(&self.blobs.as_ref().expect("made above").1)
    }
}

#[derive(Debug)]
struct Run {
    /// The run, but for its tasks, which `tasks` holds.
    record: RunRecord,
    /// Without their outputs, which `outputs` holds.
    tasks: TaskFold,
    /// Each task's outputs (by its index in `tasks`) as the text they were written as: they
    /// are parsed when the run is read, not on every completion, most of which nobody reads.
    outputs: Vec<Option<Json>>,
}

/// Keeps every record in memory. Writes are atomic per batch, as in every store.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Store for MemoryStore {
    fn create_run(&self, run: NewRun) -> BoxFuture<'static, Result<(), StoreError>> {
        let result = (|| {
            let mut inner = self.lock();
            if inner.runs.contains_key(&run.run_id) {
                return Err(StoreError::DuplicateRun {
                    run_id: run.run_id.to_string(),
                });
            }
            let record = RunRecord {
                summary: RunSummary {
                    run_id: run.run_id.clone(),
                    workflow: run.workflow,
                    source: run.source,
                    state: RunState::Running,
                    started_at: run.started_at,
                    finished_at: None,
                    owner: Some(run.owner),
                    lease_until: Some(run.lease_until),
                },
                definition: run.definition,
                definition_hash: run.definition_hash,
                inputs: run.inputs,
                settings: Some(run.settings),
                cancelled: false,
                processes: Vec::new(),
                spawned: Vec::new(),
                tasks: Vec::new(),
                transitions: Vec::new(),
            };
            inner.order.push(run.run_id.clone());
            inner.states.start(&run.run_id);
            inner.runs.insert(
                run.run_id,
                Run {
                    record,
                    tasks: TaskFold::default(),
                    outputs: Vec::new(),
                },
            );
            Ok(())
        })();
        Box::pin(async move { result })
    }

    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        let result = (|| {
            let mut inner = self.lock();
            // All or nothing: check every run exists before changing any.
            if let Some(missing) = writes.iter().find(|w| !inner.runs.contains_key(w.run_id())) {
                return Err(StoreError::UnknownRun {
                    run_id: missing.run_id().to_string(),
                });
            }
            let now = now_millis();
            for write in &writes {
                let summary = |run_id| &inner.runs[run_id].record.summary;
                let refused = match write {
                    Write::Claim { run_id, .. } => {
                        let RunSummary {
                            owner, lease_until, ..
                        } = summary(run_id);
                        crate::claim_refused(run_id, owner.as_ref(), *lease_until, now)
                    }
                    Write::Renew { run_id, owner, .. } => {
                        crate::renew_refused(run_id, summary(run_id).owner.as_ref(), owner)
                    }
                    _ => None,
                };
                if let Some(refused) = refused {
                    return Err(refused);
                }
            }
            inner.states.admit(&writes)?;
            for write in writes {
                apply(&mut inner, write);
            }
            Ok(())
        })();
        Box::pin(async move { result })
    }

    fn run(&self, run_id: &RunId) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>> {
        let mut record = self.lock().runs.get(run_id).map(|run| RunRecord {
            tasks: run
                .tasks
                .tasks()
                .iter()
                .zip(&run.outputs)
                .map(|(task, outputs)| TaskRecord {
                    outputs: outputs.as_ref().and_then(|json| json.to_value().ok()),
                    ..task.clone()
                })
                .collect(),
            ..run.record.clone()
        });
        if let Some(record) = &mut record {
            settle_state(&mut record.summary);
        }
        Box::pin(async move { Ok(record) })
    }

    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunSummary>, StoreError>> {
        let inner = self.lock();
        let mut runs: Vec<RunSummary> = inner
            .order
            .iter()
            .rev()
            .map(|id| inner.runs[id].record.summary.clone())
            .collect();
        drop(inner);
        runs.iter_mut().for_each(settle_state);
        Box::pin(async move { Ok(runs) })
    }

    fn cache_get(
        &self,
        task: &TaskPath,
        key: &CacheKey,
    ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>> {
        let entry = self
            .lock()
            .cache
            .get(key)
            .filter(|entry| entry.task == *task)
            .cloned();
        Box::pin(async move { Ok(entry) })
    }

    fn cache_entries_of(
        &self,
        tasks: Vec<TaskPath>,
    ) -> BoxFuture<'static, Result<Vec<CacheEntry>, StoreError>> {
        let tasks: std::collections::HashSet<TaskPath> = tasks.into_iter().collect();
        let entries = self
            .lock()
            .cache
            .values()
            .filter(|entry| tasks.contains(&entry.task))
            .cloned()
            .collect();
        Box::pin(async move { Ok(entries) })
    }

    fn put_blob(&self, path: PathBuf) -> BoxFuture<'static, Result<Blob, StoreError>> {
        let mut inner = self.lock();
        let result = inner
            .blobs()
            .and_then(|blobs| blobs.put(&path))
            .map_err(|error| blob_error(&path, &error));
        Box::pin(async move { result })
    }

    fn restore_blob(
        &self,
        blob: Blob,
        to: PathBuf,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        let mut inner = self.lock();
        let result = inner
            .blobs()
            .and_then(|blobs| blobs.restore(&blob, &to))
            .map_err(|error| blob_error(&to, &error));
        Box::pin(async move { result })
    }

    fn cache_stats(&self) -> BoxFuture<'static, Result<CacheStats, StoreError>> {
        let inner = self.lock();
        let (blobs, blob_bytes) = match &inner.blobs {
            Some((_, blobs)) => blobs.usage().unwrap_or_default(),
            None => (0, 0),
        };
        let mut stats = CacheStats {
            entries: inner.cache.len() as u64,
            bytes: inner.cache.values().map(CacheEntry::size).sum(),
            blobs,
            blob_bytes,
            oldest_used_at: inner.cache.values().map(|e| e.used_at).min(),
            newest_used_at: inner.cache.values().map(|e| e.used_at).max(),
            ..CacheStats::default()
        };
        for run in inner.runs.values() {
            for task in run.tasks.tasks() {
                match &task.key {
                    Some(key) if key.cached_from.is_some() => stats.hits += 1,
                    Some(key) if key.key.is_some() => stats.misses += 1,
                    _ => {}
                }
            }
        }
        Box::pin(async move { Ok(stats) })
    }

    fn cache_gc(&self, gc: CacheGc) -> BoxFuture<'static, Result<CacheGcReport, StoreError>> {
        let mut inner = self.lock();
        let uses: Vec<EntryUse> = inner
            .cache
            .values()
            .map(|entry| EntryUse {
                key: entry.key.clone(),
                used_at: entry.used_at,
                size: entry.size(),
            })
            .collect();
        let doomed = gc.select(&uses);
        let mut report = CacheGcReport::default();
        let mut remaining = inner.cache.clone();
        for key in &doomed {
            if let Some(entry) = remaining.remove(key) {
                report.entries_removed += 1;
                report.bytes_removed += entry.size();
            }
        }
        report.entries_kept = remaining.len() as u64;
        report.bytes_kept = remaining.values().map(CacheEntry::size).sum();
        let unneeded: Vec<String> = match &inner.blobs {
            None => Vec::new(),
            Some((_, blobs)) => blobs
                .unneeded(
                    remaining
                        .values()
                        .flat_map(|entry| entry.blobs.iter().map(|(_, blob)| blob.hash.as_str())),
                )
                .unwrap_or_default(),
        };
        report.blobs_removed = unneeded.len() as u64;
        if !gc.dry_run {
            if let Some((_, blobs)) = &inner.blobs {
                for hash in &unneeded {
                    let _ = blobs.remove(hash);
                }
            }
            inner.cache = remaining;
        }
        Box::pin(async move { Ok(report) })
    }

    fn output(
        &self,
        run_id: &RunId,
        task: &TaskPath,
        attempt: u32,
        stream: OutputStream,
        from: u64,
    ) -> BoxFuture<'static, Result<Option<Output>, StoreError>> {
        let id = (run_id.clone(), task.clone(), attempt, stream);
        let output = self.lock().outputs.get(&id).map(|kept| kept.read(from));
        Box::pin(async move { Ok(output) })
    }

    fn outputs(&self, run_id: &RunId) -> BoxFuture<'static, Result<Vec<OutputInfo>, StoreError>> {
        let listed = self
            .lock()
            .outputs
            .iter()
            .filter(|((run, ..), _)| run == run_id)
            .map(|((_, task, attempt, stream), kept)| OutputInfo {
                task: task.clone(),
                attempt: *attempt,
                stream: *stream,
                cut: kept.cut,
                end: kept.end(),
            })
            .collect();
        Box::pin(async move { Ok(listed) })
    }
}

fn blob_error(path: &std::path::Path, error: &std::io::Error) -> StoreError {
    StoreError::Other {
        detail: format!("{}: {error}", path.display()),
    }
}

/// A running run whose owner died, or let go of it, is interrupted.
fn settle_state(summary: &mut RunSummary) {
    let now = now_millis();
    let owned = |owner| owner_alive(owner, summary.lease_until, now);
    if summary.state == RunState::Running && !summary.owner.as_ref().is_some_and(owned) {
        summary.state = RunState::Interrupted;
    }
}

/// The record of a run a write names: checked to exist before any write of the batch applies.
fn run<'a>(inner: &'a mut Inner, run_id: &RunId) -> &'a mut RunRecord {
    &mut inner.runs.get_mut(run_id).expect("checked above").record
}

fn apply(inner: &mut Inner, write: Write) {
    let (transition, outputs) = match write {
        Write::RunFinished {
            run_id, status, at, ..
        } => {
            let record = run(inner, &run_id);
            record.summary.state = RunState::Finished(status);
            record.summary.finished_at = Some(at);
            record.processes.clear();
            return;
        }
        Write::Claim {
            run_id,
            owner,
            lease_until,
        } => {
            let summary = &mut run(inner, &run_id).summary;
            summary.owner = Some(owner);
            summary.lease_until = Some(lease_until);
            return;
        }
        Write::Renew {
            run_id,
            lease_until,
            ..
        } => {
            run(inner, &run_id).summary.lease_until = Some(lease_until);
            return;
        }
        Write::Release { run_id } => {
            run(inner, &run_id).summary.owner = None;
            return;
        }
        Write::Cancel { run_id } => {
            run(inner, &run_id).cancelled = true;
            return;
        }
        Write::Process { run_id, process } => {
            run(inner, &run_id).processes.push(process);
            return;
        }
        Write::Spawned { run_id, child } => {
            run(inner, &run_id).spawned.push(child);
            return;
        }
        Write::Forget { task, key, .. } => {
            if inner
                .cache
                .get(&key)
                .is_some_and(|entry| entry.task == task)
            {
                inner.cache.remove(&key);
            }
            return;
        }
        Write::Used { task, key, at, .. } => {
            if let Some(entry) = inner.cache.get_mut(&key).filter(|entry| entry.task == task) {
                entry.used_at = entry.used_at.max(at);
            }
            return;
        }
        Write::Cache(entry) => {
            // An entry whose files are gone (a gc between the task's put and now) could never
            // be restored.
            let kept = |hash: &str| {
                inner
                    .blobs
                    .as_ref()
                    .is_some_and(|(_, blobs)| blobs.contains(hash))
            };
            if entry.blobs.iter().all(|(_, blob)| kept(&blob.hash)) {
                inner.cache.insert(entry.key.clone(), entry);
            }
            return;
        }
        Write::Output(chunk) => {
            let id = (
                chunk.run_id.clone(),
                chunk.task.clone(),
                chunk.attempt,
                chunk.stream,
            );
            inner.outputs.entry(id).or_default().append(&chunk);
            return;
        }
        Write::Transition(transition) => (transition, None),
        Write::Completed {
            transition,
            outputs,
        } => (transition, Some(outputs)),
    };
    let run = inner
        .runs
        .get_mut(&transition.run_id)
        .expect("checked above");
    let idx = run.tasks.apply(&transition, None);
    if idx == run.outputs.len() {
        run.outputs.push(None);
    }
    // What the fold does with outputs (`TaskRecord::apply`), on their text.
    match transition.state {
        TaskState::Succeeded => run.outputs[idx] = outputs,
        TaskState::Reverted => run.outputs[idx] = None,
        _ => {}
    }
    run.record.transitions.push(transition);
}
