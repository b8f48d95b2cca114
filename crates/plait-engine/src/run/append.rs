//! Appending tasks to a running graph: what the work a running task asks for (a fan-out, a
//! sub-workflow) is added through. See `graph.rs` for where appended nodes live.
//!
//! A batch is checked whole before anything changes, then added in an order that keeps the
//! counts right while runners go on around it:
//! 1. each existing node a new task must come before gets one more unfinished predecessor,
//!    unless it has become ready (then the batch is refused, and nothing changed);
//! 2. the new nodes are pushed, each held by one extra count so none starts half-wired;
//! 3. each edge from an existing node is added under that node's record lock: a node that
//!    has not finished will count the new one down when it does; one that finished is not
//!    waited for (and passes on its failure, as its release would have);
//! 4. the holds are let go: a new task whose predecessors are all done is ready at once.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use plait_core::{NodeId, NodeKind, PlanNode, Source, TaskSlot, TaskState};

use super::Shared;
use super::graph::Appended;
use super::record::NodeRecord;

/// A task to add to a running graph.
pub(crate) struct NewTask {
    /// Unique in the run.
    pub(crate) path: Arc<str>,
    /// Its sources name the providers of its inputs: nodes of the graph, or tasks earlier in
    /// the same batch (whose ids follow the graph's last).
    pub(crate) slot: TaskSlot,
    /// Nodes it runs after, beyond its inputs' providers.
    pub(crate) after: Vec<NodeId>,
    /// Nodes of the graph that must wait for it; none may have become ready.
    pub(crate) before: Vec<NodeId>,
    /// The retried flow it belongs to: a child is retried with its parent's flow.
    pub(crate) scope: Option<plait_core::ScopeId>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AppendError {
    #[error("the run is stopping: no task can be added to it")]
    Stopping,
    #[error("task `{task}` names node {node}, which the run does not have")]
    NoSuchNode { task: String, node: NodeId },
    #[error("task `{task}` reads output {port} of `{provider}`, which has no such output")]
    NoSuchOutput {
        task: String,
        provider: String,
        port: u32,
    },
    #[error("a task named `{0}` is in the run already")]
    Duplicate(String),
    #[error("task `{task}` cannot come before `{node}`: it is ready or running already")]
    Started { task: String, node: String },
}

impl Shared {
    /// Adds `tasks` to the running graph and returns their ids. To be called while a task of
    /// the run is running (the one asking for the work), so the run cannot end under it.
    pub(super) fn append(
        self: &Arc<Self>,
        tasks: Vec<NewTask>,
    ) -> Result<Vec<NodeId>, AppendError> {
        let (ids, ready) = self.add(tasks, true)?;
        super::schedule::make_ready(self, ready, None);
        Ok(ids)
    }

    /// Adds the tasks back that a resumed run's record says were added, before anything
    /// runs: nothing is shown or started (the resume does both for every task).
    pub(super) fn append_restored(&self, tasks: Vec<NewTask>) -> Result<Vec<NodeId>, AppendError> {
        self.add(tasks, false).map(|(ids, _)| ids)
    }

    /// The steps of the module's header; returns the new nodes and those of them ready.
    fn add(
        &self,
        tasks: Vec<NewTask>,
        announce: bool,
    ) -> Result<(Vec<NodeId>, Vec<NodeId>), AppendError> {
        let mut paths = self.graph.appending();
        if announce && self.is_stopping() {
            return Err(AppendError::Stopping);
        }
        let first = self.graph.len() as NodeId;
        let predecessors = self.check_batch(&tasks, first, &paths)?;
        self.hold_successors(&tasks)?;
        let mut ids = Vec::with_capacity(tasks.len());
        for (task, predecessors) in tasks.iter().zip(&predecessors) {
            let id = self.graph.push(Appended {
                node: PlanNode {
                    path: task.path.clone(),
                    kind: NodeKind::Task(task.slot.clone()),
                    scope: task.scope,
                },
                predecessors: predecessors.clone().into_boxed_slice(),
            });
            let mut record = NodeRecord::default();
            if !task.before.is_empty() {
                record.more_mut().successors =
                    task.before.iter().map(|&node| (node, true)).collect();
            }
            let record_id = self.records.push(std::sync::Mutex::new(record));
            // The hold: let go once every edge into it is in place.
            let count_id = self
                .sched
                .remaining
                .push(std::sync::atomic::AtomicU32::new(1));
            debug_assert_eq!((id, record_id), (count_id, count_id));
            paths.insert(task.path.clone());
            ids.push(id);
        }
        self.graph.publish();
        for (&id, task) in ids.iter().zip(&tasks) {
            for &node in &task.before {
                self.record(node).more_mut().predecessors.push(id);
            }
        }
        for (&id, predecessors) in ids.iter().zip(&predecessors) {
            for &pred in predecessors {
                self.wire(pred, id);
            }
        }
        drop(paths);
        let mut ready = Vec::new();
        for &id in &ids {
            if announce {
                self.emit(id, TaskState::Pending, 0, None);
            }
            if self.sched.remaining[id].fetch_sub(1, Ordering::AcqRel) == 1 {
                ready.push(id);
            }
        }
        Ok((ids, ready))
    }

    /// Checks the batch against the graph; returns each task's predecessors.
    fn check_batch(
        &self,
        tasks: &[NewTask],
        first: NodeId,
        paths: &rustc_hash::FxHashSet<Arc<str>>,
    ) -> Result<Vec<Vec<NodeId>>, AppendError> {
        let mut batch = rustc_hash::FxHashSet::default();
        let mut all = Vec::with_capacity(tasks.len());
        for (idx, task) in tasks.iter().enumerate() {
            let id = first + idx as NodeId;
            let name = || task.path.to_string();
            if !batch.insert(task.path.clone()) || self.graph.has_path(paths, &task.path) {
                return Err(AppendError::Duplicate(name()));
            }
            let mut predecessors = Vec::new();
            for source in &task.slot.sources {
                let Source::Output { node, port } = *source else {
                    continue;
                };
                if node >= id {
                    return Err(AppendError::NoSuchNode { task: name(), node });
                }
                let (provider, outputs) = self.provider(tasks, first, node);
                if port as usize >= outputs {
                    return Err(AppendError::NoSuchOutput {
                        task: name(),
                        provider: provider.to_owned(),
                        port,
                    });
                }
                predecessors.push(node);
            }
            for &node in &task.after {
                if node >= id {
                    return Err(AppendError::NoSuchNode { task: name(), node });
                }
                predecessors.push(node);
            }
            if let Some(&node) = task.before.iter().find(|&&node| node >= first) {
                return Err(AppendError::NoSuchNode { task: name(), node });
            }
            predecessors.sort_unstable();
            predecessors.dedup();
            all.push(predecessors);
        }
        Ok(all)
    }

    /// The path and number of outputs of a node of the graph, or of the batch about to be
    /// appended after it (a barrier has none).
    fn provider<'a>(
        &'a self,
        tasks: &'a [NewTask],
        first: NodeId,
        node: NodeId,
    ) -> (&'a str, usize) {
        match node.checked_sub(first) {
            None => {
                let provider = self.graph.node(node);
                let outputs = provider.task().map_or(0, |slot| slot.provides().len());
                (&provider.path, outputs)
            }
            Some(idx) => {
                let task = &tasks[idx as usize];
                (&task.path, task.slot.provides().len())
            }
        }
    }

    /// Gives each existing node a new task comes before one more unfinished predecessor;
    /// refused, with every count given back, if one is ready already.
    fn hold_successors(&self, tasks: &[NewTask]) -> Result<(), AppendError> {
        let mut held: Vec<NodeId> = Vec::new();
        for task in tasks {
            for &node in &task.before {
                let added = self.sched.remaining[node]
                    .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                        (count > 0).then_some(count + 1)
                    })
                    .is_ok();
                if !added {
                    for &node in &held {
                        self.sched.remaining[node].fetch_sub(1, Ordering::AcqRel);
                    }
                    return Err(AppendError::Started {
                        task: task.path.to_string(),
                        node: self.graph.node(node).path.to_string(),
                    });
                }
                held.push(node);
            }
        }
        Ok(())
    }

    /// Makes `next` wait for `pred`, unless `pred` has finished (see the module's steps).
    fn wire(&self, pred: NodeId, next: NodeId) {
        let failed = {
            let mut record = self.record(pred);
            let waits = !record.released;
            if waits {
                // Counted before the edge is visible: `pred`'s release may follow at once.
                self.sched.remaining[next].fetch_add(1, Ordering::AcqRel);
            }
            record.more_mut().successors.push((next, waits));
            !waits && (record.poisoned || record.life.state() == TaskState::Failed)
        };
        if failed {
            self.record(next).poisoned = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use plait_core::{
        Flow, FnTask, Outputs, Plan, Policy, Port, RunStatus, Value, ValueType, Workflow, compile,
    };
    use tokio::sync::Notify;
    use tokio_util::sync::CancellationToken;

    use super::*;
    use crate::run::{RunConfig, drive};

    type Log = Arc<Mutex<Vec<String>>>;

    fn port(name: &str) -> Port {
        Port::new(name, ValueType::Int)
    }

    /// Logs its name, then provides `out` = the sum of its inputs + 1.
    fn counting(name: &'static str, requires: &[&str], out: &str, log: &Log) -> FnTask {
        let log = log.clone();
        let out: Arc<str> = out.into();
        FnTask::raw(
            requires.iter().map(|name| port(name)).collect(),
            vec![port(&out)],
            move |_, inputs| {
                log.lock().unwrap().push(name.to_owned());
                let sum: i64 = inputs.values().iter().filter_map(Value::as_int).sum();
                let out = out.clone();
                async move { Ok(Outputs::new().set(out, sum + 1)) }
            },
        )
    }

    fn slot(task: FnTask, sources: Vec<Source>) -> TaskSlot {
        TaskSlot {
            task: Arc::new(task),
            sources: sources.into_boxed_slice(),
            policy: Arc::new(Policy::default()),
        }
    }

    /// A counting task at `path` that reads output 0 of `provider` under `name`.
    fn reader(
        path: &'static str,
        (name, provider): (&str, NodeId),
        out: &str,
        before: Vec<NodeId>,
        log: &Log,
    ) -> NewTask {
        NewTask {
            path: path.into(),
            slot: slot(
                counting(path, &[name], out, log),
                vec![Source::Output {
                    node: provider,
                    port: 0,
                }],
            ),
            after: Vec::new(),
            before,
            scope: None,
        }
    }

    fn shared(plan: Plan) -> Arc<Shared> {
        let config = RunConfig {
            run_id: "r1".into(),
            jobs: 2,
            clock: Arc::new(crate::SystemClock),
            observer: None,
            cancel: CancellationToken::new(),
            store: None,
            definition: None,
            reuse_cached: true,
            output_limit: 0,
        };
        Arc::new(Shared::new(Arc::new(plan), Box::new([]), config))
    }

    /// `gate -> end`, where `gate` waits until `open` is notified once it has started.
    fn gated(log: &Log, started: &Arc<Notify>, open: &Arc<Notify>) -> Plan {
        let (log2, started, open) = (log.clone(), started.clone(), open.clone());
        let gate = FnTask::raw(Vec::new(), vec![port("g")], move |_, _| {
            let (log, started, open) = (log2.clone(), started.clone(), open.clone());
            async move {
                started.notify_one();
                open.notified().await;
                log.lock().unwrap().push("gate".to_owned());
                Ok(Outputs::new().set("g", 1))
            }
        });
        let flow = Flow::graph("main")
            .task("gate", gate)
            .task("end", counting("end", &["g"], "e", log));
        compile(&Workflow::new(flow).outputs(["e"])).unwrap()
    }

    /// Tasks appended while `gate` runs: `c` reads `gate`'s output, `d` reads `c`'s, and the
    /// planned `end` waits for `d`. They run, in order, with the values they were wired to.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn tasks_appended_to_a_running_plan_run_in_order() {
        let log = Log::default();
        let (started, open) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let plan = gated(&log, &started, &open);
        let (gate, end) = (plan.find("gate").unwrap(), plan.find("end").unwrap());
        let first = plan.len() as NodeId;
        let shared = shared(plan);
        let run = tokio::spawn({
            let shared = shared.clone();
            async move { drive(&shared, None).await }
        });
        started.notified().await;
        let ids = shared
            .append(vec![
                reader("c", ("g", gate), "c", Vec::new(), &log),
                reader("d", ("c", first), "d", vec![end], &log),
            ])
            .unwrap();
        assert_eq!(ids, [first, first + 1]);
        assert!(
            log.lock().unwrap().is_empty(),
            "nothing ran before `gate` ended"
        );
        open.notify_one();
        let report = run.await.unwrap().unwrap();
        assert_eq!(report.status, RunStatus::Succeeded);
        assert_eq!(*log.lock().unwrap(), ["gate", "c", "d", "end"]);
        let states: Vec<(&str, TaskState)> = report
            .tasks
            .iter()
            .map(|task| (&*task.path, task.state))
            .collect();
        assert_eq!(states.len(), 4, "{states:?}");
        assert!(
            states
                .iter()
                .all(|(_, state)| *state == TaskState::Succeeded)
        );
        let record = shared.record(first + 1);
        let d = record
            .outputs
            .as_ref()
            .and_then(|outputs| outputs.value_at(0));
        assert_eq!(d, Some(&Value::Int(3)), "d = c + 1 = (g + 1) + 1");
    }

    /// A task appended after its provider finished is ready at once; a batch that names a
    /// node the run lacks, reuses a path or comes before a started node changes nothing.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_late_task_is_ready_at_once_and_bad_batches_change_nothing() {
        let log = Log::default();
        let (started, open) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let plan = gated(&log, &started, &open);
        let gate = plan.find("gate").unwrap();
        let first = plan.len() as NodeId;
        let shared = shared(plan);
        let run = tokio::spawn({
            let shared = shared.clone();
            async move { drive(&shared, None).await }
        });
        started.notified().await;
        let late = |path: &'static str, node: NodeId, before: Vec<NodeId>| {
            reader(path, ("g", node), "l", before, &log)
        };
        assert_eq!(
            shared.append(vec![late("x", first + 5, Vec::new())]),
            Err(AppendError::NoSuchNode {
                task: "x".to_owned(),
                node: first + 5
            })
        );
        assert_eq!(
            shared.append(vec![late("end", gate, Vec::new())]),
            Err(AppendError::Duplicate("end".to_owned()))
        );
        // `gate` is running: nothing may be put before it.
        assert!(matches!(
            shared.append(vec![late("x", gate, vec![gate])]),
            Err(AppendError::Started { .. })
        ));
        assert_eq!(shared.graph.len(), first as usize, "nothing was added");
        // Let `gate` finish, then wait until `end` has run, while a task keeps the run up.
        let hold = Arc::new(Notify::new());
        shared
            .append(vec![NewTask {
                path: "hold".into(),
                slot: slot(
                    FnTask::raw(Vec::new(), vec![port("h")], {
                        let hold = hold.clone();
                        move |_, _| {
                            let hold = hold.clone();
                            async move {
                                hold.notified().await;
                                Ok(Outputs::new().set("h", 0))
                            }
                        }
                    }),
                    Vec::new(),
                ),
                after: Vec::new(),
                before: Vec::new(),
                scope: None,
            }])
            .unwrap();
        open.notify_one();
        while !log.lock().unwrap().iter().any(|name| name == "end") {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        let ids = shared.append(vec![late("late", gate, Vec::new())]).unwrap();
        while !log.lock().unwrap().iter().any(|name| name == "late") {
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
        }
        hold.notify_one();
        let report = run.await.unwrap().unwrap();
        assert_eq!(report.status, RunStatus::Succeeded);
        let late = shared.record(ids[0]);
        assert_eq!(
            late.outputs
                .as_ref()
                .and_then(|outputs| outputs.value_at(0)),
            Some(&Value::Int(2))
        );
    }
}
