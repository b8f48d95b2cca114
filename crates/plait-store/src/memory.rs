//! A store in memory: for tests, and for runs that need not survive the process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;

use crate::{
    NewRun, RunRecord, RunState, RunSummary, Store, StoreError, TaskFold, Write, host_name,
    owner_alive,
};

#[derive(Debug, Default)]
struct Inner {
    runs: HashMap<String, Run>,
    /// Run ids in creation order.
    order: Vec<String>,
}

#[derive(Debug)]
struct Run {
    /// The run, but for its tasks, which `tasks` holds.
    record: RunRecord,
    tasks: TaskFold,
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
                return Err(StoreError::DuplicateRun { run_id: run.run_id });
            }
            let record = RunRecord {
                summary: RunSummary {
                    run_id: run.run_id.clone(),
                    workflow: run.workflow,
                    source: run.source,
                    state: RunState::Running,
                    started_at: run.started_at,
                    finished_at: None,
                    owner: run.owner,
                },
                definition: run.definition,
                definition_hash: run.definition_hash,
                inputs: run.inputs,
                tasks: Vec::new(),
                transitions: Vec::new(),
            };
            inner.order.push(run.run_id.clone());
            inner.runs.insert(
                run.run_id,
                Run {
                    record,
                    tasks: TaskFold::default(),
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
                    run_id: missing.run_id().to_owned(),
                });
            }
            for write in writes {
                let run = inner.runs.get_mut(write.run_id()).expect("checked above");
                apply(run, write);
            }
            Ok(())
        })();
        Box::pin(async move { result })
    }

    fn run(&self, run_id: &str) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>> {
        let mut record = self.lock().runs.get(run_id).map(|run| RunRecord {
            tasks: run.tasks.tasks().to_vec(),
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
}

/// A running run whose owner died is interrupted.
fn settle_state(summary: &mut RunSummary) {
    if summary.state == RunState::Running && !owner_alive(&summary.owner, &host_name()) {
        summary.state = RunState::Interrupted;
    }
}

fn apply(run: &mut Run, write: Write) {
    let record = &mut run.record;
    let (transition, outputs) = match write {
        Write::RunFinished { status, at, .. } => {
            record.summary.state = RunState::Finished(status);
            record.summary.finished_at = Some(at);
            return;
        }
        Write::Transition(transition) => (transition, None),
        Write::Completed {
            transition,
            outputs,
        } => (transition, Some(outputs)),
    };
    run.tasks.apply(&transition, outputs.as_ref());
    record.transitions.push(transition);
}
