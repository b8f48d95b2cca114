//! Recording a run in the store, when the engine has one.
//!
//! The order is the durability contract: a task's intent (`running`) is committed before it
//! executes; its completion (with its outputs) is committed before any dependent executes,
//! in the same commit as the intent of the dependent its runner goes on with (RELIABILITY.md
//! rule 8), or at once when there is none; every other transition is committed before it is
//! shown. Reused results ride along with the next commit. A staged success is shown to the
//! observer once its commit returns. A store failure stops the run, which then reports no
//! result: nothing is reported done that was not recorded.

use std::time::SystemTime;

use plait_core::{NodeId, RunStatus, TaskError, TaskState};
use plait_store::{Json, NewRun, StoreError, Transition, Write, this_process};

use super::Shared;
use crate::clock::unix_millis;
use crate::sync::lock;

impl Shared {
    pub(super) fn has_store(&self) -> bool {
        self.config.store.is_some()
    }

    pub(super) fn store_failure(&self) -> Option<StoreError> {
        lock(&self.store_error).clone()
    }

    fn fail_store(&self, error: StoreError) {
        lock(&self.store_error).get_or_insert(error);
        self.stop();
    }

    pub(super) async fn create_run(&self, started_at: SystemTime) -> Result<(), StoreError> {
        let Some(store) = &self.config.store else {
            return Ok(());
        };
        let definition = self.config.definition.clone().unwrap_or_default();
        let inputs = self
            .plan
            .inputs()
            .iter()
            .zip(self.inputs.iter())
            .map(|(input, value)| (input.name.to_string(), value.to_json()))
            .collect();
        let workflow = if definition.workflow.is_empty() {
            self.plan.name().to_owned()
        } else {
            definition.workflow
        };
        store
            .create_run(NewRun {
                run_id: self.config.run_id.to_string(),
                workflow,
                source: definition.source,
                definition: definition.text,
                definition_hash: definition.hash,
                inputs: serde_json::Value::Object(inputs),
                started_at: millis(started_at),
                owner: this_process(),
            })
            .await
    }

    pub(super) async fn finish_run(&self, status: RunStatus) -> Result<(), StoreError> {
        let finished = Write::RunFinished {
            run_id: self.config.run_id.to_string(),
            status,
            at: millis(self.now()),
        };
        let Some((written, events)) = self.send_with_staged(vec![finished]) else {
            return Ok(());
        };
        written.await?;
        self.emit_committed(events);
        Ok(())
    }

    pub(super) fn transition(
        &self,
        node: NodeId,
        state: TaskState,
        attempt: u32,
        error: Option<&TaskError>,
    ) -> Transition {
        Transition {
            run_id: self.config.run_id.to_string(),
            task: self.plan.node(node).path.to_string(),
            state,
            attempt,
            at: millis(self.now()),
            error: error.map(TaskError::to_string),
            key: None,
        }
    }

    /// Records a task's intent (`running`) before it executes; the first carries its cache
    /// key, or why it has none.
    pub(super) async fn persist_intent(
        &self,
        node: NodeId,
        attempt: u32,
        key: Option<plait_store::TaskKey>,
    ) -> bool {
        let mut transition = self.transition(node, TaskState::Running, attempt, None);
        transition.key = key;
        self.commit(node, vec![Write::Transition(transition)]).await
    }

    /// Records a transition other than an intent or a success (see `persist_intent`,
    /// `stage_completion`). A revert forgets the result the task left in the cache. False if
    /// the store failed, in which case the run is stopping and the caller must not act on
    /// the transition.
    pub(super) async fn persist(
        &self,
        node: NodeId,
        state: TaskState,
        attempt: u32,
        error: Option<&TaskError>,
    ) -> bool {
        if self.config.store.is_none() {
            return true;
        }
        let write = Write::Transition(self.transition(node, state, attempt, error));
        let forget = match state {
            TaskState::Reverting => self.record(node).cache_key.clone(),
            _ => None,
        };
        match forget {
            Some(key) => self.forget_then(node, key, write).await,
            None => self.commit(node, vec![write]).await,
        }
    }

    /// Commits `writes` for `node`, after the staged ones. False if the store failed: the
    /// run is stopping.
    pub(super) async fn commit(&self, node: NodeId, writes: Vec<Write>) -> bool {
        let Some((written, events)) = self.send_with_staged(writes) else {
            return true;
        };
        match written.await {
            Ok(()) => {
                self.emit_committed(events);
                true
            }
            Err(error) => {
                tracing::error!(%error, task = %self.plan.node(node).path, "recording a transition failed: stopping the run");
                self.fail_store(error);
                false
            }
        }
    }
}

/// Staged writes flushed by the task that stages this many, so a long run of reuses holds
/// bounded memory, and is recorded as it goes by the tasks' threads (each encodes the
/// writes it sends) rather than all at the run's end (1,024 measured a little faster than
/// 4,096 for a fully cached re-run of 10,000 tasks).
const MAX_STAGED: usize = 1_024;

/// Writes to record with the next commit.
#[derive(Default)]
pub(super) struct Stage {
    writes: Vec<Write>,
    /// Completions of executed tasks among them: those must not wait long (see
    /// [`Shared::stage_completion`]).
    executions: usize,
    /// The `succeeded` events of the staged completions and reuses (node, attempt): shown
    /// once they are durable, never before.
    events: Vec<(NodeId, u32)>,
}

impl Shared {
    /// Records `writes` later, with the next commit: a reused result. Nothing runs on it
    /// before then (an execution's intent is a commit, and it carries them), and a crash
    /// before then loses only reuses, which the resume finds again. True when the caller
    /// must commit now: the stage is full, or holds an execution's completion.
    pub(super) fn stage(&self, node: NodeId, writes: Vec<Write>) -> bool {
        let mut stage = lock(&self.staged);
        stage.writes.extend(writes);
        stage.events.push((node, 0));
        stage.writes.len() >= MAX_STAGED || stage.executions > 0
    }

    /// Records an executed task's completion with the next commit, which follows at once:
    /// the intent of the dependent its runner goes on with (RELIABILITY.md rule 8: a
    /// completion and the work it releases in one transaction), or the runner's own flush
    /// when it has none (`flush_completions`). A dependent executes only once its intent is
    /// committed, so never before the completion it depends on is durable.
    pub(super) fn stage_completion(&self, node: NodeId, attempt: u32, outputs: Json) -> bool {
        let write = Write::Completed {
            transition: self.transition(node, TaskState::Succeeded, attempt, None),
            outputs,
        };
        let mut stage = lock(&self.staged);
        stage.writes.push(write);
        stage.executions += 1;
        stage.events.push((node, attempt));
        stage.writes.len() >= MAX_STAGED
    }

    /// Commits the stage if it holds an executed task's completion. False if the store
    /// failed.
    pub(super) async fn flush_completions(&self, node: NodeId) -> bool {
        if lock(&self.staged).executions == 0 {
            return true;
        }
        self.commit(node, Vec::new()).await
    }

    /// Sends the staged writes and `writes` as one request; returns it with the staged
    /// events, to show once it is committed. Taken and sent under the stage's lock, so
    /// requests reach the store in the order their writes were staged (a store commits
    /// requests in the order they were made).
    fn send_with_staged(&self, writes: Vec<Write>) -> Option<(Written, Vec<(NodeId, u32)>)> {
        let store = self.config.store.as_ref()?;
        let mut stage = lock(&self.staged);
        let all = if stage.writes.is_empty() {
            writes
        } else {
            // The next stage starts as big as this one was: a run of reuses stages many.
            let capacity = stage.writes.capacity();
            let mut all = std::mem::replace(&mut stage.writes, Vec::with_capacity(capacity));
            all.extend(writes);
            all
        };
        stage.executions = 0;
        let events = std::mem::take(&mut stage.events);
        Some((store.write(all), events))
    }

    /// Shows the `succeeded` of what a commit made durable.
    fn emit_committed(&self, events: Vec<(NodeId, u32)>) {
        for (node, attempt) in events {
            self.emit(node, TaskState::Succeeded, attempt, None);
        }
    }
}

type Written = futures::future::BoxFuture<'static, Result<(), StoreError>>;

pub(super) fn millis(time: SystemTime) -> i64 {
    i64::try_from(unix_millis(time)).unwrap_or(i64::MAX)
}
