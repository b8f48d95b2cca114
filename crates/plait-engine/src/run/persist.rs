//! Recording a run in the store, when the engine has one.
//!
//! Every step of a task goes through [`Shared::step`] and its variants: the lifecycle checks
//! it, the store's record of it is staged, and its event is shown once that record is
//! durable.
//!
//! The order is the durability contract: a task's intent (`running`) is committed before it
//! executes; its completion (with its outputs) is committed before any dependent executes,
//! in the same commit as the intent of the dependent its runner goes on with (RELIABILITY.md
//! rule 8), or at once when there is none; every other transition is committed before the
//! runner acts on it. Reused results ride along with the next commit. A store failure stops
//! the run, which then reports no result: nothing is reported done that was not recorded.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::SystemTime;

use plait_core::{ChildGroup, ChildGroups, NodeId, RunStatus, TaskContext, TaskError, TaskState};
use plait_store::{
    Json, NewRun, RunSettings, Store, StoreError, TaskProcess, Transition, Write, this_process,
};

use super::Shared;
use super::durable::Durable;
use super::record::NodeRecord;
use crate::clock::unix_millis;
use crate::sync::lock;

/// The store's record of the run: what is staged for the next commit, whether this
/// execution holds the record, and the first failure of the store.
pub(super) struct Recorder {
    pub(super) store: Option<Arc<dyn Store>>,
    /// Writes recorded with the next commit (reused results, completions).
    pub(super) staged: Mutex<Stage>,
    /// The first store failure; the run stops where its record stops.
    pub(super) store_error: Mutex<Option<StoreError>>,
    /// The run's record was created or claimed by this execution: only then may it let go
    /// of it (a run id already taken belongs to someone else).
    pub(super) owns_record: AtomicBool,
    /// Which of the requests sent are durable.
    durable: Durable,
    /// The renewals of the run's lease on its record (see `lease.rs`).
    pub(super) lease: super::lease::Renewals,
    /// What records the process groups tasks start (see `Shared::child_groups`).
    groups: std::sync::OnceLock<Arc<dyn ChildGroups>>,
}

impl Recorder {
    pub(super) fn new(store: Option<Arc<dyn Store>>) -> Recorder {
        Recorder {
            store,
            staged: Mutex::new(Stage::default()),
            store_error: Mutex::new(None),
            owns_record: AtomicBool::new(false),
            durable: Durable::default(),
            lease: super::lease::Renewals::default(),
            groups: std::sync::OnceLock::new(),
        }
    }
}

impl Shared {
    pub(super) fn has_store(&self) -> bool {
        self.recorder.store.is_some()
    }

    pub(super) fn store_failure(&self) -> Option<StoreError> {
        lock(&self.recorder.store_error).clone()
    }

    pub(super) fn fail_store(&self, error: StoreError) {
        lock(&self.recorder.store_error).get_or_insert(error);
        self.stop();
    }

    pub(super) async fn create_run(&self, started_at: SystemTime) -> Result<(), StoreError> {
        let Some(store) = &self.recorder.store else {
            return Ok(());
        };
        let definition = self.config.definition.clone().unwrap_or_default();
        let inputs = self
            .named_inputs()
            .map(|(name, value)| (name.to_string(), value.to_json()))
            .collect();
        let workflow = if definition.workflow.is_empty() {
            self.graph.plan().name().to_owned()
        } else {
            definition.workflow
        };
        store
            .create_run(NewRun {
                run_id: self.config.run_id.clone().into(),
                workflow,
                source: definition.source,
                definition: definition.text,
                definition_hash: definition.hash,
                inputs: serde_json::Value::Object(inputs),
                settings: RunSettings {
                    jobs: u32::try_from(self.config.jobs).unwrap_or(u32::MAX),
                    no_cache: !self.config.reuse_cached,
                },
                started_at: millis(started_at),
                owner: this_process(),
                lease_until: super::lease::lease_from_now(),
            })
            .await
    }

    /// Records that the run was cancelled (`Write::Cancel`); a store failure stops the run
    /// as any does.
    pub(super) async fn record_cancel(&self) {
        if !self.has_store() {
            return;
        }
        let cancel = Write::Cancel {
            run_id: self.config.run_id.clone().into(),
        };
        // A failure is recorded by `settle`, which stops the run as any does.
        let _ = self.settle(self.send_staged(vec![cancel])).await;
    }

    /// Takes over the recorded run this one resumes: refused while its owner is alive. When
    /// the owner is this process, no execution here holds the run any more (`Active`): it
    /// ended without finishing the run and without letting go of it (its store failed), so
    /// it is let go of here first.
    pub(super) async fn claim_run(
        &self,
        owner: Option<&plait_store::Owner>,
    ) -> Result<(), StoreError> {
        let Some(store) = &self.recorder.store else {
            return Ok(());
        };
        if owner == Some(&this_process()) {
            store
                .write(vec![Write::Release {
                    run_id: self.config.run_id.clone().into(),
                }])
                .await?;
        }
        store
            .write(vec![Write::Claim {
                run_id: self.config.run_id.clone().into(),
                owner: this_process(),
                lease_until: super::lease::lease_from_now(),
            }])
            .await
    }

    /// Lets go of a run that stops unfinished (see `Shared::abandon`): what is staged is
    /// recorded first, then the run is left with no owner.
    pub(super) async fn release(&self) {
        self.let_go_of_lease();
        if self.store_failure().is_some() || !self.recorder.owns_record.load(Ordering::Acquire) {
            return;
        }
        self.flush_results().await;
        let release = Write::Release {
            run_id: self.config.run_id.clone().into(),
        };
        if let Err(error) = self.settle(self.send_staged(vec![release])).await {
            tracing::warn!(%error, run = %self.config.run_id, "releasing an abandoned run failed; it shows as interrupted once this process exits");
        }
    }

    pub(super) async fn finish_run(&self, status: RunStatus) -> Result<(), StoreError> {
        self.let_go_of_lease();
        let finished = Write::RunFinished {
            run_id: self.config.run_id.clone().into(),
            status,
            at: millis(self.now()),
        };
        self.settle(self.send_staged(vec![finished])).await
    }

    /// A transition of `node`, now. The run and the task are named by sharing the engine's
    /// text (a reference count each), not by copying it.
    pub(super) fn transition(
        &self,
        node: NodeId,
        state: TaskState,
        attempt: u32,
        error: Option<&TaskError>,
    ) -> Transition {
        Transition {
            run_id: self.config.run_id.clone().into(),
            task: self.graph.node(node).path.clone().into(),
            state,
            attempt,
            at: millis(self.now()),
            error: error.map(TaskError::to_string),
            key: None,
            ran: None,
        }
    }

    /// Makes everything staged so far durable (see [`Shared::step`]), whoever sends it, and
    /// shows its events. False if the store failed: the run is stopping.
    pub(super) async fn commit(&self, node: NodeId) -> bool {
        match self.settle(self.send_staged(Vec::new())).await {
            Ok(()) => true,
            Err(error) => {
                // `settle` recorded the failure, which stops the run.
                tracing::error!(%error, task = %self.graph.node(node).path, "recording a transition failed: stopping the run");
                false
            }
        }
    }
}

/// Records the process groups a run's tasks start ([`TaskContext::spawned`]): each in a
/// request of its own, sent at once rather than staged, since the group runs already and the
/// next commit may be far off (a long task commits nothing while it runs). Nothing waits
/// for it: a crash before it lands loses a group that plait's death killed anyway (see
/// `plait-process`); a failure stops the run, as any store failure does.
pub(super) struct GroupRecorder {
    shared: Weak<Shared>,
}

impl std::fmt::Debug for GroupRecorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupRecorder").finish_non_exhaustive()
    }
}

impl ChildGroups for GroupRecorder {
    fn spawned(&self, task: &TaskContext, group: ChildGroup) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let Some(store) = &shared.recorder.store else {
            return;
        };
        let write = Write::Process {
            run_id: shared.config.run_id.clone().into(),
            process: TaskProcess {
                task: task.task().into(),
                attempt: task.attempt(),
                pgid: group.pgid,
                started: group.started,
            },
        };
        let written = store.write(vec![write]);
        let runtime = shared.sched.runtime.clone();
        runtime.spawn(async move {
            if let Err(error) = written.await {
                tracing::error!(%error, run = %shared.config.run_id, "recording a task's process group failed: stopping the run");
                shared.fail_store(error);
            }
        });
    }
}

impl Shared {
    /// What tells the store of the process groups tasks start, when the run has a store.
    pub(super) fn child_groups(self: &Arc<Self>) -> Option<Arc<dyn ChildGroups>> {
        if !self.has_store() {
            return None;
        }
        // One for the run, made by the first runner that asks.
        let recorder = self.recorder.groups.get_or_init(|| {
            Arc::new(GroupRecorder {
                shared: Arc::downgrade(self),
            })
        });
        Some(recorder.clone())
    }
}

/// Staged writes flushed by the task that stages this many, so a long run of reuses holds
/// bounded memory, and is recorded as it goes by the tasks' threads (each encodes the
/// writes it sends) rather than all at the run's end (1,024 measured a little faster than
/// 4,096 for a fully cached re-run of 10,000 tasks).
const MAX_STAGED: usize = 1_024;

/// Writes to record with the next commit, and the events to show once it is durable.
#[derive(Default)]
pub(super) struct Stage {
    writes: Vec<Write>,
    /// Requests sent so far; the next is number `sent + 1` (see `durable.rs`).
    sent: u64,
    /// Completions of executed tasks among them: those must not wait long (see
    /// [`Shared::step_completed`]).
    executions: usize,
    events: Vec<Shown>,
}

/// A step to show: the node, its new state, the attempt, and the error if the state has one.
type Shown = (NodeId, TaskState, u32, Option<TaskError>);

impl Shared {
    /// The one way a task of a run changes state: the lifecycle takes the step (and refuses
    /// an illegal one), the store's record of it is staged for the next commit, and its
    /// event is shown once that commit is durable: at once without a store, or when the
    /// state is one no store records and nothing staged is waiting to be shown. Returns the
    /// attempt the step belongs to. Callers commit (`commit`) when the step must be durable
    /// before they go on.
    pub(super) fn step(&self, node: NodeId, to: TaskState, error: Option<&TaskError>) -> u32 {
        self.steps_if(node, &[to], error, |_| true)
            .expect("an unconditional step is taken")
    }

    /// Takes the steps `path` in order, if `check` holds for the node's record (it may update
    /// the record for them): checked and stepped under one lock, so two runners cannot both
    /// take them. Each is recorded and shown as [`Shared::step`] says; `error` goes with the
    /// last.
    pub(super) fn steps_if(
        &self,
        node: NodeId,
        path: &[TaskState],
        error: Option<&TaskError>,
        check: impl FnOnce(&mut NodeRecord) -> bool,
    ) -> Option<u32> {
        let (attempt, ran) = {
            let mut record = self.record(node);
            if !check(&mut record) {
                return None;
            }
            for &to in path {
                record.life.go(to);
            }
            (record.life.attempts(), record.take_ran())
        };
        for (idx, &to) in path.iter().enumerate() {
            let last = idx + 1 == path.len();
            let error = if last { error } else { None };
            let writes = if self.has_store() && to.is_recorded() {
                let mut transition = self.transition(node, to, attempt, error);
                // Where the attempt ran goes with the step that ends it.
                transition.ran = ran.filter(|_| last);
                vec![Write::Transition(transition)]
            } else {
                Vec::new()
            };
            let shown = matches!(
                to,
                TaskState::Failed | TaskState::Retrying | TaskState::RevertFailed
            )
            .then(|| error.cloned())
            .flatten();
            self.stage(writes, (node, to, attempt, shown), false);
        }
        Some(attempt)
    }

    /// Starts an attempt: `running`, recorded as the intent that must be durable before the
    /// task executes; the first carries its cache key, or why it has none.
    pub(super) fn step_intent(&self, node: NodeId, key: Option<plait_store::TaskKey>) -> u32 {
        let attempt = {
            let mut record = self.record(node);
            let attempt = record.life.start_attempt();
            record.started_at.get_or_insert_with(|| self.now());
            attempt
        };
        if self.has_store() {
            let mut transition = self.transition(node, TaskState::Running, attempt, None);
            transition.key = key;
            // Shown by `show_started`, when the attempt holds an execution slot.
            lock(&self.recorder.staged)
                .writes
                .push(Write::Transition(transition));
        }
        attempt
    }

    /// Shows the `running` step of an attempt that holds its execution slot: with a store,
    /// many more intents than `jobs` wait for slots at once, and a task is shown running
    /// when it runs, not when its intent is durable.
    pub(super) fn show_started(&self, node: NodeId, attempt: u32) {
        self.emit(node, TaskState::Running, attempt, None);
    }

    /// An executed task succeeded: its completion (with its outputs, `json`) is committed
    /// with the next commit, which follows at once: the intent of the dependent its runner
    /// goes on with (RELIABILITY.md rule 8: a completion and the work it releases in one
    /// transaction), or the runner's own flush when it has none (`flush_completions`). A
    /// dependent executes only once its intent is committed, so never before the completion
    /// it depends on is durable. True when the caller must commit now.
    pub(super) fn step_completed(&self, node: NodeId, json: Option<Json>) -> bool {
        let (attempt, ran) = {
            let mut record = self.record(node);
            record.life.go(TaskState::Succeeded);
            (record.life.attempts(), record.take_ran())
        };
        let writes = match json {
            Some(outputs) => vec![Write::Completed {
                transition: Transition {
                    ran,
                    ..self.transition(node, TaskState::Succeeded, attempt, None)
                },
                outputs,
            }],
            None => Vec::new(),
        };
        self.stage(writes, (node, TaskState::Succeeded, attempt, None), true)
    }

    /// An earlier result is reused (`writes` record it): it rides along with the next
    /// commit. Nothing runs on it before then (an execution's intent is a commit, and it
    /// carries them), and a crash before then loses only reuses, which the resume finds
    /// again. True when the caller must commit now.
    pub(super) fn step_reused(&self, node: NodeId, writes: Vec<Write>) -> bool {
        self.record(node).life.go(TaskState::Succeeded);
        // A reuse is shown as attempt 0: the task did not execute.
        self.stage(writes, (node, TaskState::Succeeded, 0, None), false)
    }

    /// Adds a step's writes and event to the stage, or shows the event at once when there is
    /// nothing to wait for. True when the caller must commit now: the stage is full, or
    /// (for any step but an execution's completion) holds an execution's completion.
    fn stage(&self, writes: Vec<Write>, shown: Shown, execution: bool) -> bool {
        let show_now = |(node, state, attempt, error): Shown| {
            self.emit(node, state, attempt, error);
            false
        };
        if !self.has_store() {
            return show_now(shown);
        }
        let watched = self.config.observer.is_some();
        if writes.is_empty() && !watched {
            // Nothing to record and nobody to show it to: the stage's lock is shared by
            // every runner, so it is not taken for nothing.
            return false;
        }
        let mut stage = lock(&self.recorder.staged);
        if writes.is_empty() && stage.events.is_empty() {
            drop(stage);
            return show_now(shown);
        }
        stage.writes.extend(writes);
        if watched {
            stage.events.push(shown);
        }
        let full = stage.writes.len() >= MAX_STAGED;
        if execution {
            // It waits for the dependent's intent (see `step_completed`).
            stage.executions += 1;
            return full;
        }
        full || stage.executions > 0
    }

    /// Adds a write that is no step of its own (a forgotten cache entry) to the stage.
    pub(super) fn stage_write(&self, write: Write) {
        if self.has_store() {
            lock(&self.recorder.staged).writes.push(write);
        }
    }

    /// Commits the stage if it holds an executed task's completion. False if the store
    /// failed.
    pub(super) async fn flush_completions(&self, node: NodeId) -> bool {
        if lock(&self.recorder.staged).executions == 0 {
            return true;
        }
        self.commit(node).await
    }

    /// Sends the staged writes and `writes` as one request, if there are any. Taken and sent
    /// under the stage's lock, so requests reach the store in the order their writes were
    /// staged and numbered (a store commits requests in the order they were made).
    fn send_staged(&self, writes: Vec<Write>) -> Sent {
        let Some(store) = self.recorder.store.as_ref() else {
            return Sent::default();
        };
        let mut stage = lock(&self.recorder.staged);
        let events = std::mem::take(&mut stage.events);
        if stage.writes.is_empty() && writes.is_empty() {
            // Nothing new, but what was staged may be in a request still on its way.
            return Sent {
                upto: stage.sent,
                request: None,
                events,
            };
        }
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
        stage.sent += 1;
        Sent {
            upto: stage.sent,
            request: Some(store.write(all)),
            events,
        }
    }

    /// Waits for what `send_staged` sent, and every request before it, to be durable, then
    /// shows the events that waited for them.
    async fn settle(&self, sent: Sent) -> Result<(), StoreError> {
        let Sent {
            upto,
            request,
            events,
        } = sent;
        if let Some(request) = request {
            if let Err(error) = request.await {
                // Recorded before the waiters wake, so they report this failure.
                self.fail_store(error.clone());
                self.recorder.durable.answered(upto, false);
                return Err(error);
            }
            self.recorder.durable.answered(upto, true);
        }
        if !self.recorder.durable.wait(upto).await {
            return Err(self.store_failure().unwrap_or_else(|| StoreError::Other {
                detail: "an earlier write of the run failed".into(),
            }));
        }
        self.emit_all(events);
        Ok(())
    }

    /// Shows steps that are durable.
    fn emit_all(&self, events: Vec<Shown>) {
        for (node, state, attempt, error) in events {
            self.emit(node, state, attempt, error);
        }
    }
}

type Written = futures::future::BoxFuture<'static, Result<(), StoreError>>;

/// What `send_staged` did: the number of the last request sent, the request if it sent one,
/// and the events to show once everything up to that number is durable.
#[derive(Default)]
struct Sent {
    upto: u64,
    request: Option<Written>,
    events: Vec<Shown>,
}

pub(super) fn millis(time: SystemTime) -> i64 {
    i64::try_from(unix_millis(time)).unwrap_or(i64::MAX)
}
