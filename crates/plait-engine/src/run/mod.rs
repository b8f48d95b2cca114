//! One run of a plan: shared state, the forward phase, the revert phase, the report.
//!
//! The state is shared by a bounded set of runner loops (see `schedule.rs`) rather than owned
//! by one driver: a runner that finishes a task releases its dependents itself and carries on
//! with one of them, so a chain runs with no hand-offs at all and a wide graph with one lock
//! per task.

mod active;
mod append;
mod attempt;
mod cache;
mod durable;
mod graph;
mod lease;
mod output;
mod persist;
mod record;
mod resume;
mod revert;
mod schedule;
mod scope;
mod slots;
mod spawn;

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, MutexGuard};

use crate::sync::lock;

use plait_core::{NodeId, NodeKind, Plan, RunStatus, Source, TaskError, TaskState, Value};
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::event::{Event, Observer};
use crate::report::{RunReport, TaskReport};

use record::NodeRecord;
pub(crate) use resume::Prior;
use scope::ScopeCell;

pub(crate) struct RunConfig {
    pub(crate) run_id: Arc<str>,
    pub(crate) jobs: usize,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) observer: Option<Arc<dyn Observer>>,
    pub(crate) cancel: CancellationToken,
    pub(crate) store: Option<Arc<dyn plait_store::Store>>,
    pub(crate) definition: Option<crate::engine::RunDefinition>,
    /// Whether earlier results may be reused (results are kept either way).
    pub(crate) reuse_cached: bool,
    /// Each attempt's stdout and stderr keep their last this many bytes (0: none).
    pub(crate) output_limit: u64,
}

/// A run's state, in parts with one job each: the scheduler decides what runs when, the
/// recorder keeps the store's record of the run, the cache reuses and keeps results; each
/// node's record (its lifecycle, outputs and times) is what they share.
struct Shared {
    graph: graph::Graph,
    inputs: Box<[Value]>,
    config: RunConfig,
    records: graph::Grown<Mutex<NodeRecord>>,
    sched: schedule::Scheduler,
    recorder: persist::Recorder,
    cache: cache::Caching,
    /// Where attempts' output goes, with a store that keeps it.
    output: Option<Arc<output::OutputRecorder>>,
    /// The retried flows' attempts and failures (see `scope.rs`).
    scopes: Box<[ScopeCell]>,
    /// The children running tasks spawned (see `spawn.rs`).
    spawned: spawn::Spawned,
    /// A bug in the engine stopped the run (see `Shared::fail_internal`).
    internal_error: Mutex<Option<String>>,
}

impl Shared {
    fn record(&self, node: NodeId) -> MutexGuard<'_, NodeRecord> {
        lock(&self.records[node])
    }

    /// Every node that waits for `node`, appended ones included; with `counted`, of the
    /// appended ones only those whose count of unfinished predecessors includes `node`.
    /// Takes `node`'s record's lock once the graph has grown: not to be called with it held.
    fn successors(&self, node: NodeId, counted: bool) -> impl Iterator<Item = NodeId> + '_ {
        let added = self.added_successors(node, counted);
        self.graph
            .planned_successors(node)
            .iter()
            .copied()
            .chain(added)
    }

    /// The successors `node` gained while the run goes, read under its record's lock (none
    /// before the graph grows, and then no lock is taken); with `counted`, only those whose
    /// count of unfinished predecessors includes `node`.
    fn added_successors(&self, node: NodeId, counted: bool) -> Vec<NodeId> {
        if !self.graph.grown() {
            return Vec::new();
        }
        self.record(node).more().map_or_else(Vec::new, |more| {
            more.successors
                .iter()
                .filter(|&&(_, is_counted)| is_counted || !counted)
                .map(|&(next, _)| next)
                .collect()
        })
    }

    /// The nodes reverted before `node`: its successors, and the children it spawned (see
    /// `spawn.rs`).
    fn revert_successors(&self, node: NodeId) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.successors(node, false).collect();
        if self.graph.grown() {
            nodes.extend(self.revert_order(node).0);
        }
        nodes
    }

    /// The nodes whose revert waits for `node`'s: its predecessors, and the parent that
    /// spawned it.
    fn revert_predecessors(&self, node: NodeId) -> Vec<NodeId> {
        let mut nodes: Vec<NodeId> = self.predecessors(node).collect();
        if self.graph.grown() {
            nodes.extend(self.revert_order(node).1);
        }
        nodes
    }

    /// Every node `node` waits for, as `successors` does.
    fn predecessors(&self, node: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let more: Vec<NodeId> = if self.graph.grown() {
            self.record(node)
                .more()
                .map_or_else(Vec::new, |more| more.predecessors.clone())
        } else {
            Vec::new()
        };
        self.graph
            .first_predecessors(node)
            .iter()
            .copied()
            .chain(more)
    }

    /// The run's inputs with their names, in the plan's order.
    fn named_inputs(&self) -> impl Iterator<Item = (&Arc<str>, &Value)> {
        let declared = self.graph.plan().inputs().iter();
        declared.map(|input| &input.name).zip(self.inputs.iter())
    }

    fn now(&self) -> std::time::SystemTime {
        self.config.clock.now()
    }

    fn emit(&self, node: NodeId, state: TaskState, attempt: u32, error: Option<TaskError>) {
        if let Some(observer) = &self.config.observer {
            observer.on_event(&Event {
                run_id: self.config.run_id.clone(),
                node,
                task: self.graph.node(node).path.clone(),
                state,
                attempt,
                at: self.now(),
                error,
            });
        }
    }

    fn is_stopping(&self) -> bool {
        self.sched.stopping.load(Ordering::Acquire)
    }

    /// A bug in the engine: the run stops where it is, reverting nothing (the states it
    /// would go by are wrong), and the caller is told; its record is left to a resume.
    fn fail_internal(&self, message: &str) {
        tracing::error!(message, "the engine stopped a run on an internal error");
        lock(&self.internal_error).get_or_insert_with(|| message.to_owned());
        self.stop();
    }

    /// The run's future was dropped before the run ended:
    /// nothing new starts, and running attempts are cancelled (async ones dropped, blocking
    /// ones told through their token, processes sent TERM, then KILL). Once every runner is
    /// done, the run is released in the store: interrupted, with no owner, for a resume to
    /// claim, in this process or another. That happens on the runtime, after the future is
    /// gone; if the runtime shuts down first, the process's exit leaves the run interrupted
    /// all the same.
    fn abandon(self: Arc<Self>, active: active::Active) {
        self.stop();
        let runtime = self.sched.runtime.clone();
        runtime.spawn(async move {
            self.let_go().await;
            drop(active);
        });
    }

    /// A stopped run's last act: once no runner is left, it lets go of its record for a
    /// resume.
    async fn let_go(&self) {
        self.wait_idle().await;
        self.release().await;
    }

    /// Waits until no runner is left.
    async fn wait_idle(&self) {
        loop {
            let notified = self.sched.idle.notified();
            if self.sched.is_idle() {
                return;
            }
            notified.await;
        }
    }

    /// Stops starting tasks and cancels the running ones.
    fn stop(&self) {
        self.sched.stopping.store(true, Ordering::Release);
        self.sched.run_token.cancel();
    }

    /// The value, if its provider has one (a provider that failed, or was not restored on
    /// resume, has none).
    fn try_value(&self, source: Source) -> Option<Value> {
        match source {
            Source::Input(idx) => Some(self.inputs[idx as usize].clone()),
            Source::Output { node, port } => self
                .record(node)
                .outputs
                .as_ref()
                .and_then(|outputs| outputs.value_at(port as usize))
                .cloned(),
            Source::Given(idx) => self.spawned.given.get(idx as usize).cloned(),
        }
    }

    fn value(&self, source: Source) -> Value {
        self.try_value(source)
            .expect("a task starts only after its providers stored their outputs")
    }
}

/// Runs the plan to its end. Fails only if the store fails (or on a bug in the engine): the
/// run then stops where its record stops, interrupted, to be resumed. Dropping the future
/// stops the run too (see `Shared::abandon`).
pub(crate) async fn execute(
    plan: Arc<Plan>,
    inputs: Box<[Value]>,
    config: RunConfig,
    prior: Option<Prior>,
) -> Result<RunReport, crate::RunError> {
    let Some(active) = active::Active::enter(config.store.as_ref(), &config.run_id) else {
        return Err(crate::RunError::Store(plait_store::StoreError::RunOwned {
            run_id: config.run_id.to_string(),
            host: plait_store::this_process().host,
            pid: std::process::id(),
        }));
    };
    let shared = Arc::new(Shared::new(plan, inputs, config));
    let mut guard = AbandonOnDrop(Some((shared.clone(), active)));
    let result = drive(&shared, prior).await;
    let (shared, active) = guard.0.take().expect("taken only here and on drop");
    if result.is_err() {
        shared.stop();
        shared.let_go().await;
    }
    drop(active);
    result
}

/// The run from its record's start to its end.
async fn drive(shared: &Arc<Shared>, prior: Option<Prior>) -> Result<RunReport, crate::RunError> {
    let started_at = shared.config.clock.now();
    let user_cancel = shared.config.cancel.clone();
    match &prior {
        None => shared.create_run(started_at).await?,
        Some(prior) => shared.claim_run(prior.owner()).await?,
    }
    shared.recorder.owns_record.store(true, Ordering::Release);
    shared.keep_lease();
    let ready = prior.as_ref().map(|prior| shared.restore(prior));
    shared.preload_cache().await;
    for node in shared.graph.ids() {
        if shared.graph.node(node).task().is_some()
            && shared.record(node).life.state() == TaskState::Pending
        {
            shared.emit(node, TaskState::Pending, 0, None);
        }
    }
    match ready {
        None => schedule::seed(shared),
        // A run that was reverting goes straight to its revert phase; one that was cancelled
        // ends cancelled.
        Some(_) if prior.as_ref().is_some_and(Prior::reverting) => {
            if prior.as_ref().is_some_and(Prior::cancelled) {
                shared.sched.user_cancelled.store(true, Ordering::Release);
            }
            shared.stop();
        }
        Some(ready) => schedule::make_ready(shared, ready, None),
    }
    loop {
        if shared.sched.is_idle() {
            break;
        }
        tokio::select! {
            () = shared.sched.idle.notified() => {}
            () = user_cancel.cancelled(), if !shared.sched.user_cancelled.load(Ordering::Acquire) => {
                shared.sched.user_cancelled.store(true, Ordering::Release);
                // Durable before anything stops: a resume of this run reverts it.
                shared.record_cancel().await;
                shared.stop();
            }
        }
    }
    if let Some(message) = lock(&shared.internal_error).clone() {
        return Err(crate::RunError::Internal { message });
    }
    // Reverts are recorded too: with a broken store, leave the run to a resume instead.
    if shared.is_stopping() && shared.store_failure().is_none() {
        let all: Vec<NodeId> = shared.graph.ids().collect();
        revert::revert_region(shared, &all).await;
    }
    if let Some(error) = shared.store_failure() {
        return Err(error.into());
    }
    shared.flush_results().await;
    let report = shared.report(started_at);
    shared.finish_run(report.status).await?;
    Ok(report)
}

/// Abandons the run when `execute`'s future is dropped before the run ended; the run stays
/// held in this process until it is released.
struct AbandonOnDrop(Option<(Arc<Shared>, active::Active)>);

impl Drop for AbandonOnDrop {
    fn drop(&mut self) {
        if let Some((shared, active)) = self.0.take() {
            shared.abandon(active);
        }
    }
}

impl Shared {
    fn new(plan: Arc<Plan>, inputs: Box<[Value]>, mut config: RunConfig) -> Shared {
        let records = graph::Grown::new(
            (0..plan.len())
                .map(|_| Mutex::new(NodeRecord::default()))
                .collect(),
        );
        let sched = schedule::Scheduler::new(&plan, config.jobs, config.store.is_some());
        let scopes = scope::cells(&plan, &sched.run_token);
        let output = config
            .store
            .clone()
            .filter(|_| config.output_limit > 0)
            .map(|store| {
                output::OutputRecorder::new(
                    store,
                    config.run_id.clone().into(),
                    config.output_limit,
                    sched.runtime.clone(),
                )
            });
        let recorder = persist::Recorder::new(config.store.take());
        Shared {
            graph: graph::Graph::new(plan),
            inputs,
            config,
            records,
            sched,
            recorder,
            cache: cache::Caching::default(),
            output,
            scopes,
            spawned: spawn::Spawned::default(),
            internal_error: Mutex::new(None),
        }
    }

    fn report(&self, started_at: std::time::SystemTime) -> RunReport {
        let mut tasks = Vec::with_capacity(self.graph.n_tasks());
        for id in self.graph.ids() {
            let node = self.graph.node(id);
            if !matches!(node.kind, NodeKind::Task(_)) {
                continue;
            }
            let record = self.record(id);
            tasks.push(TaskReport {
                path: node.path.clone(),
                state: record.life.state(),
                attempts: record.life.attempts(),
                started_at: record.started_at,
                finished_at: record.finished_at,
                error: record.error().cloned(),
                revert_error: record.revert_error().cloned(),
                cached: record.cached,
            });
        }
        let status = self.status(&tasks);
        let outputs = match status {
            RunStatus::Succeeded | RunStatus::Failed => self
                .graph
                .plan()
                .outputs()
                .iter()
                .filter_map(|(name, source)| {
                    self.try_value(*source).map(|value| (name.clone(), value))
                })
                .collect(),
            _ => Vec::new(),
        };
        let inputs = self
            .named_inputs()
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect();
        RunReport {
            run_id: self.config.run_id.clone(),
            status,
            inputs,
            outputs,
            tasks,
            started_at,
            finished_at: self.now(),
        }
    }

    fn status(&self, tasks: &[TaskReport]) -> RunStatus {
        if self.sched.user_cancelled.load(Ordering::Acquire) {
            return RunStatus::Cancelled;
        }
        if tasks
            .iter()
            .any(|task| task.state == TaskState::RevertFailed)
        {
            return RunStatus::RevertFailed;
        }
        if self.is_stopping() {
            return RunStatus::Reverted;
        }
        // Under `on_failure = "continue"` too, as with `make -k`: the run went on past a
        // failure, and still failed.
        let failed = tasks.iter().any(|task| task.state != TaskState::Succeeded)
            || self
                .graph
                .plan()
                .outputs()
                .iter()
                .any(|(_, source)| self.try_value(*source).is_none());
        if failed {
            RunStatus::Failed
        } else {
            RunStatus::Succeeded
        }
    }
}
