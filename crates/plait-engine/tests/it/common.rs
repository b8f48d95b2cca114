//! Small tasks and a `run` helper shared by the tests.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use futures::future::BoxFuture;
use plait_store::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheKey, CacheStats, MemoryStore, NewRun, RunId,
    RunRecord, RunState, RunSummary, Store, StoreError, TaskPath, Write,
};
use std::time::Duration;

use plait_core::{FnTask, Outputs, Plan, Port, TaskError, ValueType, Workflow, compile};
use plait_engine::{Engine, EventLog, RunOptions, RunReport, TokioClock};

pub(crate) fn ints(names: &[&str]) -> Vec<Port> {
    names
        .iter()
        .map(|name| Port::new(*name, ValueType::Int))
        .collect()
}

/// Sums its int inputs plus one into each of its outputs.
pub(crate) fn sum_task(requires: &[&str], provides: &[&str]) -> FnTask {
    let provides_names: Vec<String> = provides.iter().map(|s| s.to_string()).collect();
    FnTask::raw(ints(requires), ints(provides), move |_, inputs| {
        let total: i64 = inputs
            .values()
            .iter()
            .filter_map(|v| v.as_int())
            .sum::<i64>()
            + 1;
        let outputs: Outputs = provides_names
            .iter()
            .map(|name| (name.as_str(), total))
            .collect();
        async move { Ok(outputs) }
    })
}

/// Fails `failures` times (retryably), then behaves like `sum_task`.
pub(crate) fn flaky_task(requires: &[&str], provides: &[&str], failures: u32) -> FnTask {
    let calls = Arc::new(AtomicU32::new(0));
    let inner = sum_task(requires, provides);
    let provides = ints(provides);
    FnTask::raw(ints(requires), provides, move |ctx, inputs| {
        let call = calls.fetch_add(1, Ordering::SeqCst);
        let result =
            (call >= failures).then(|| plait_core::Task::execute(&inner, ctx.clone(), inputs));
        async move {
            match result {
                Some(future) => future.await,
                None => Err(TaskError::retryable(format!("flaked on call {}", call + 1))),
            }
        }
    })
}

/// Always fails, permanently.
pub(crate) fn failing_task(requires: &[&str], provides: &[&str], message: &'static str) -> FnTask {
    FnTask::raw(ints(requires), ints(provides), move |_, _| async move {
        Err(TaskError::permanent(message))
    })
}

/// Sleeps, then sums.
pub(crate) fn sleepy_task(requires: &[&str], provides: &[&str], sleep: Duration) -> FnTask {
    let inner = Arc::new(sum_task(requires, provides));
    FnTask::raw(ints(requires), ints(provides), move |ctx, inputs| {
        let inner = inner.clone();
        async move {
            tokio::time::sleep(sleep).await;
            plait_core::Task::execute(&*inner, ctx, inputs).await
        }
    })
}

/// Adds a revert that records `revert <task>` in `log` (or fails, if `fail`).
pub(crate) fn with_logged_revert(task: FnTask, log: &Arc<EventLogLines>, fail: bool) -> FnTask {
    let log = log.clone();
    task.with_revert(move |ctx, _, outcome| {
        let log = log.clone();
        async move {
            let how = match outcome {
                plait_core::Outcome::Succeeded(_) => "succeeded".to_owned(),
                plait_core::Outcome::Failed(error) => format!("failed: {error}"),
                plait_core::Outcome::Cancelled => "cancelled".to_owned(),
            };
            log.push(format!("revert {} ({how})", ctx.task()));
            if fail {
                Err(TaskError::permanent("revert refused"))
            } else {
                Ok(())
            }
        }
    })
}

/// Lines appended by reverts, in order.
#[derive(Debug, Default)]
pub(crate) struct EventLogLines(std::sync::Mutex<Vec<String>>);

impl EventLogLines {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(EventLogLines::default())
    }
    pub(crate) fn push(&self, line: String) {
        self.0.lock().unwrap().push(line);
    }
    pub(crate) fn lines(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
}

pub(crate) fn plan(workflow: Workflow) -> Arc<Plan> {
    Arc::new(compile(&workflow).unwrap_or_else(|invalid| panic!("{:#?}", invalid.diagnostics)))
}

/// Runs with one job on paused time, so the transcript is deterministic.
pub(crate) async fn run_serial(
    plan: &Arc<Plan>,
    inputs: Vec<(&str, i64)>,
) -> (RunReport, Arc<EventLog>) {
    run_with(plan, inputs, 1).await
}

pub(crate) async fn run_with(
    plan: &Arc<Plan>,
    inputs: Vec<(&str, i64)>,
    jobs: usize,
) -> (RunReport, Arc<EventLog>) {
    let log = EventLog::new();
    let engine = Engine::new()
        .with_jobs(jobs)
        .with_clock(Arc::new(TokioClock::from_epoch()));
    let report = engine
        .run(
            plan,
            inputs,
            RunOptions::new().run_id("test").observer(log.clone()),
        )
        .await
        .expect("inputs fit");
    (report, log)
}

/// The `Store` methods a test wrapper passes through to its `inner` memory store unchanged.
macro_rules! pass_through_to_inner {
    () => {
        fn create_run(&self, run: NewRun) -> BoxFuture<'static, Result<(), StoreError>> {
            self.inner.create_run(run)
        }
        fn run(&self, run_id: &RunId) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>> {
            self.inner.run(run_id)
        }
        fn runs(&self) -> BoxFuture<'static, Result<Vec<RunSummary>, StoreError>> {
            self.inner.runs()
        }
        fn cache_get(
            &self,
            task: &TaskPath,
            key: &CacheKey,
        ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>> {
            self.inner.cache_get(task, key)
        }
        fn cache_entries_of(
            &self,
            tasks: Vec<TaskPath>,
        ) -> BoxFuture<'static, Result<Vec<CacheEntry>, StoreError>> {
            self.inner.cache_entries_of(tasks)
        }
        fn put_blob(&self, path: PathBuf) -> BoxFuture<'static, Result<Blob, StoreError>> {
            self.inner.put_blob(path)
        }
        fn restore_blob(
            &self,
            blob: Blob,
            to: PathBuf,
        ) -> BoxFuture<'static, Result<bool, StoreError>> {
            self.inner.restore_blob(blob, to)
        }
        fn cache_stats(&self) -> BoxFuture<'static, Result<CacheStats, StoreError>> {
            self.inner.cache_stats()
        }
        fn cache_gc(&self, gc: CacheGc) -> BoxFuture<'static, Result<CacheGcReport, StoreError>> {
            self.inner.cache_gc(gc)
        }
        fn output(
            &self,
            run_id: &RunId,
            task: &TaskPath,
            attempt: u32,
            stream: plait_store::OutputStream,
            from: u64,
        ) -> BoxFuture<'static, Result<Option<plait_store::Output>, StoreError>> {
            self.inner.output(run_id, task, attempt, stream, from)
        }
        fn outputs(
            &self,
            run_id: &RunId,
        ) -> BoxFuture<'static, Result<Vec<plait_store::OutputInfo>, StoreError>> {
            self.inner.outputs(run_id)
        }
    };
}

/// A store that fails every write after the first `ok` ones.
#[derive(Debug)]
pub(crate) struct Failing {
    pub(crate) inner: MemoryStore,
    pub(crate) ok: usize,
    pub(crate) writes: AtomicUsize,
}

impl Store for Failing {
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        if self.writes.fetch_add(1, Ordering::SeqCst) >= self.ok {
            return Box::pin(async {
                Err(StoreError::Full {
                    path: "test.db".into(),
                })
            });
        }
        self.inner.write(writes)
    }
    pass_through_to_inner!();
}

/// A memory store that counts the renewals of a run's lease, and refuses them if `lost`.
#[derive(Debug, Default)]
pub(crate) struct Leases {
    pub(crate) inner: MemoryStore,
    pub(crate) lost: bool,
    pub(crate) renewals: AtomicUsize,
}

impl Store for Leases {
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        if let Some(Write::Renew { run_id, .. }) = writes.first() {
            self.renewals.fetch_add(1, Ordering::SeqCst);
            if self.lost {
                let lost = StoreError::LeaseLost {
                    run_id: run_id.to_string(),
                };
                return Box::pin(async move { Err(lost) });
            }
        }
        self.inner.write(writes)
    }
    pass_through_to_inner!();
}

/// A memory store that takes its time to make writes durable, as a disk's sync does: each
/// request is applied `delay` after the previous one, in the order they were made, and
/// answered then. Nothing is visible in `inner` before its answer.
#[derive(Debug)]
pub(crate) struct Slow {
    pub(crate) inner: MemoryStore,
    requests: tokio::sync::mpsc::UnboundedSender<SlowWrite>,
}

type SlowWrite = (
    Vec<Write>,
    tokio::sync::oneshot::Sender<Result<(), StoreError>>,
);

impl Slow {
    /// Spawns the store's writer on the current runtime.
    pub(crate) fn new(inner: MemoryStore, delay: Duration) -> Slow {
        let (requests, mut queue) = tokio::sync::mpsc::unbounded_channel::<SlowWrite>();
        let applied = inner.clone();
        tokio::spawn(async move {
            while let Some((writes, answer)) = queue.recv().await {
                tokio::time::sleep(delay).await;
                let _ = answer.send(applied.write(writes).await);
            }
        });
        Slow { inner, requests }
    }
}

impl Store for Slow {
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let sent = self.requests.send((writes, answer));
        Box::pin(async move {
            let closed = || StoreError::Other {
                detail: "the slow store's writer stopped".into(),
            };
            sent.map_err(|_| closed())?;
            answered.await.unwrap_or_else(|_| Err(closed()))
        })
    }
    pass_through_to_inner!();
}

/// Random DAGs of up to `max_tasks - 1` tasks: task `i` depends on the listed earlier
/// tasks, at most `max_deps` of them.
pub(crate) fn dags(
    max_tasks: usize,
    max_deps: usize,
) -> impl proptest::strategy::Strategy<Value = Vec<Vec<usize>>> {
    use proptest::strategy::Strategy;
    (1usize..max_tasks).prop_flat_map(move |n| {
        (0..n)
            .map(|i| {
                proptest::collection::vec(0..i.max(1), 0..=i.min(max_deps)).prop_map(move |deps| {
                    let mut deps: Vec<usize> = deps.into_iter().filter(|&d| d < i).collect();
                    deps.sort_unstable();
                    deps.dedup();
                    deps
                })
            })
            .collect::<Vec<_>>()
    })
}

/// The value of each task of a DAG from `dags`, evaluated in order: 1 + its index + its
/// dependencies' values.
pub(crate) fn sequential(dag: &[Vec<usize>]) -> Vec<i64> {
    let mut values: Vec<i64> = Vec::with_capacity(dag.len());
    for (idx, deps) in dag.iter().enumerate() {
        values.push(1 + idx as i64 + deps.iter().map(|&d| values[d]).sum::<i64>());
    }
    values
}

/// Waits (up to a generous bound) until the dropped run is released: interrupted, unowned.
pub(crate) async fn released(store: &MemoryStore, run_id: &str) -> plait_store::RunRecord {
    for _ in 0..400 {
        let record = store
            .run(&run_id.into())
            .await
            .unwrap()
            .expect("the run was created");
        if record.summary.state == RunState::Interrupted && record.summary.owner.is_none() {
            return record;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the dropped run was not released within 20 s");
}

/// Resumes the released run `record` in this process, on `store`.
pub(crate) async fn resume_released(
    store: &MemoryStore,
    plan: &Arc<Plan>,
    record: &RunRecord,
) -> RunReport {
    Engine::new()
        .with_store(Arc::new(store.clone()))
        .resume(plan, record, RunOptions::new())
        .await
        .expect("the released run can be claimed")
}
