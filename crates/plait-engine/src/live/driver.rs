//! The one task that owns a live flow's state. Changes and finished executions arrive on
//! channels; the nodes' state is the driver's alone, so tasks and handles never wait on it
//! (the locks it takes are the subscribers' queues, when it publishes).
//!
//! A state node's place in the task lifecycle is its status: `succeeded` or `failed` is
//! clean (its outputs are right for the current revision), `pending` dirty (a change reached
//! it; it waits for its predecessors), `ready` (its predecessors are clean and its inputs
//! changed: it waits for a job slot or for changes to pause) or `running`. Marking walks
//! successors only while they are clean, so a change costs what it reaches, not the
//! size of the graph. Each node counts its predecessors that are not clean; at zero a dirty
//! node is checked: inputs equal to the ones its outputs were computed from make it clean
//! without executing (early cut-off), and the check moves on to its successors.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use plait_core::{NodeId, NodeKind, Plan, Source, TaskSlot, TaskState, Value};
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::graph::Graph;
use super::prefetch::prefetch;
use super::publish::{Board, LiveEvent, LiveFailure, LiveValue, Revision, Update};
use super::same::{Files, same_value, same_values};
use crate::attempt::Outcome;
use crate::content::FileHashes;
use crate::lifecycle::TaskLife;

mod events;
mod execute;

/// One input's new value.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) input: u32,
    pub(crate) value: Value,
}

/// A finished execution, as its spawned task reports it.
struct Done {
    node: NodeId,
    execution: u64,
    outcome: Outcome,
    /// The inputs it ran with (for an event node, `None`: its outputs are not kept).
    inputs: Option<Vec<Value>>,
    /// The hash of each output's content, by port, once a state node's `file` outputs are
    /// hashed (`None` for other values and for files that cannot be read).
    contents: Option<Vec<Option<String>>>,
}

/// A task's outputs, by port, or the failure in their place.
type Results = Result<Arc<[Value]>, LiveFailure>;

// In declaration order, the fields a change walks through first: marking a column of a
// large graph goes node to successor to successor, one cache miss each when the status,
// the count and the successors share the node's first line.
#[repr(C)]
struct Node {
    /// Where the node is in the task lifecycle, which is also its status (see the module's
    /// doc); a stale execution goes through `cancelled`. An event node is `running` while it
    /// executes an event and idle otherwise. Steps only through `Driver::step`.
    life: TaskLife,
    /// A change cancelled this node's last execution: it restarts once changes pause.
    cancelled: bool,
    /// `Graph::is_event`, kept here: read where the node is at hand (marking, a finished
    /// execution), it costs no cache miss of its own in a large graph.
    is_event: bool,
    /// Whether the node has ordering-only predecessors (`Graph::order_preds`) and feeds
    /// plan outputs (`Graph::feeds_outputs`): most nodes have neither, and then checking and
    /// settling them read neither list (each a cache miss of its own in a large graph).
    has_order_preds: bool,
    feeds_outputs: bool,
    /// Predecessors (data or ordering) that are not clean.
    unclean_preds: u32,
    successors: Successors,
    /// What the node's outputs are now: its last execution's, or a failed input's failure.
    results: Option<Results>,
    /// The last execution: the input values it ran with and what it gave (the same `Arc`
    /// as `results` unless an input failed since). Inputs equal to these again restore it
    /// without executing.
    executed_with: Option<Vec<Value>>,
    executed: Option<Results>,
    /// The revision at which `results` last changed, and at which they were last confirmed.
    changed_at: Revision,
    checked_at: Revision,
    /// The current execution's number (given when the node became ready) and token; a
    /// report with another number is stale.
    execution: u64,
    token: Option<Arc<CancellationToken>>,
    /// An event node's waiting events.
    events: VecDeque<LiveValue>,
    /// The revision the running execution computes (an event node's outputs' tag).
    running_revision: Revision,
}

impl Node {
    fn state(&self) -> TaskState {
        self.life.state()
    }
}

/// A ready node waiting for a job slot.
struct Queued {
    node: NodeId,
    /// The number its execution will have, given when it became ready: an entry with
    /// another number is stale (the node was marked again since, and queued anew).
    execution: u64,
    /// The inputs its check gathered, which it executes with; `None` for a node whose
    /// restart waited for changes to pause, which gathers them when it starts.
    inputs: Option<Vec<Value>>,
}

/// A node's successors: a few kept in the node itself, more read from the plan.
#[derive(Clone, Copy)]
enum Successors {
    Few { len: u8, ids: [NodeId; 3] },
    Many,
}

impl Successors {
    fn of(plan: &Plan, node: NodeId) -> Successors {
        let all = plan.successors(node);
        if all.len() > 3 {
            return Successors::Many;
        }
        let mut ids = [0; 3];
        ids[..all.len()].copy_from_slice(all);
        Successors::Few {
            len: all.len() as u8,
            ids,
        }
    }

    /// The successors of `node`, whose copy of this `self` is: the caller holds a copy, so
    /// its loop may change the nodes.
    fn list<'a>(&'a self, plan: &'a Plan, node: NodeId) -> &'a [NodeId] {
        match self {
            Successors::Few { len, ids } => &ids[..usize::from(*len)],
            Successors::Many => plan.successors(node),
        }
    }
}

/// How many changes the driver had applied when it last had nothing left to compute, and
/// that revision. Dropped with the driver, which tells waiting handles it is gone.
pub(crate) type Progress = watch::Sender<(u64, Revision)>;

/// How many of a change's marked nodes `warm_cone` reads ahead: the first ones execute
/// soon; a huge cone would not stay in the caches anyway.
const WARM_LIMIT: usize = 64;

pub(crate) struct Driver {
    graph: Arc<Graph>,
    board: Arc<Board>,
    progress: Progress,
    jobs: usize,
    restart_delay: Duration,
    revision: Revision,
    inputs: Vec<Option<Value>>,
    nodes: Vec<Node>,
    /// Nodes not clean (state nodes) or running (event nodes), and events waiting.
    unsettled: usize,
    running: usize,
    /// Ready nodes waiting for a job slot, in the order they became ready.
    ready: VecDeque<Queued>,
    /// Ready nodes whose last execution a change cancelled, waiting for changes to pause.
    deferred: Vec<NodeId>,
    /// Event nodes that may have an event to deliver.
    to_fire: VecDeque<NodeId>,
    /// The nodes the change being applied marked (see `warm_cone`).
    cone: Vec<NodeId>,
    /// `settle`'s work list, empty between calls.
    settle_work: Vec<(NodeId, bool)>,
    last_change: Instant,
    next_execution: u64,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    /// Changes applied so far, as counted by the handles (the initial inputs are the first).
    applied: u64,
    /// The newest revision at which nothing was left to compute.
    settled_revision: Revision,
    /// Outputs published since then, once each, and per output whether it is listed.
    published: Vec<usize>,
    unsettled_outputs: Vec<bool>,
    run_id: Arc<str>,
    /// The memo of file hashes, shared with the blocking threads that read files.
    file_hashes: Arc<FileHashes>,
    /// The `file` values tasks gave, each content one allocation (see `same.rs`).
    files: Files,
}

impl Driver {
    pub(crate) fn new(
        graph: Arc<Graph>,
        board: Arc<Board>,
        progress: Progress,
        inputs: Vec<Option<Value>>,
        jobs: usize,
        restart_delay: Duration,
    ) -> Driver {
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let graph_outputs = graph.plan.outputs().len();
        let nodes = (0..graph.plan.len() as NodeId)
            .map(|node| Node {
                life: TaskLife::default(),
                is_event: graph.is_event[node as usize],
                has_order_preds: !graph.order_preds[node as usize].is_empty(),
                feeds_outputs: !graph.feeds_outputs[node as usize].is_empty(),
                unclean_preds: 0,
                successors: Successors::of(&graph.plan, node),
                results: None,
                executed_with: None,
                executed: None,
                changed_at: 0,
                checked_at: 0,
                execution: 0,
                token: None,
                cancelled: false,
                events: VecDeque::new(),
                running_revision: 0,
            })
            .collect();
        Driver {
            graph,
            board,
            progress,
            jobs,
            restart_delay,
            revision: 0,
            inputs,
            nodes,
            unsettled: 0,
            running: 0,
            ready: VecDeque::new(),
            deferred: Vec::new(),
            to_fire: VecDeque::new(),
            cone: Vec::new(),
            settle_work: Vec::new(),
            last_change: Instant::now(),
            next_execution: 0,
            done_tx,
            done_rx,
            applied: 1,
            settled_revision: 0,
            published: Vec::new(),
            unsettled_outputs: vec![false; graph_outputs],
            run_id: format!("live-{}", uuid::Uuid::now_v7()).into(),
            file_hashes: Arc::default(),
            files: Files::default(),
        }
    }

    pub(crate) async fn run(mut self, mut changes: mpsc::UnboundedReceiver<Vec<Change>>) {
        self.initial();
        self.after_step();
        loop {
            // `None` (no deadline) also for a delay too long to add to an instant.
            let deadline = if self.deferred.is_empty() {
                None
            } else {
                self.last_change.checked_add(self.restart_delay)
            };
            tokio::select! {
                // Changes first: whatever is waiting joins one revision.
                biased;
                batch = changes.recv() => {
                    let Some(batch) = batch else { break };
                    let mut all = batch;
                    let mut count = 1;
                    while let Ok(more) = changes.try_recv() {
                        all.extend(more);
                        count += 1;
                    }
                    self.apply(all);
                    self.applied += count;
                    // Changes come first, but a steady stream of them must not keep finished
                    // executions waiting.
                    while let Ok(done) = self.done_rx.try_recv() {
                        self.finish(done);
                    }
                }
                Some(done) = self.done_rx.recv() => {
                    self.finish(done);
                    while let Ok(done) = self.done_rx.try_recv() {
                        self.finish(done);
                    }
                }
                () = sleep_until(deadline) => {
                    for node in std::mem::take(&mut self.deferred) {
                        let state = &mut self.nodes[node as usize];
                        if state.state() == TaskState::Ready {
                            state.cancelled = false;
                            self.ready.push_back(Queued {
                                node,
                                execution: state.execution,
                                inputs: None,
                            });
                        }
                    }
                }
            }
            self.after_step();
        }
    }

    /// Starts what can start; records a snapshot when nothing is left to do.
    fn after_step(&mut self) {
        loop {
            // A work list, not recursion: an execution that finishes on its first poll
            // delivers its event here, and a queue of them must not grow the stack.
            while let Some(node) = self.to_fire.pop_front() {
                self.fire(node);
            }
            self.start_ready();
            if self.to_fire.is_empty() {
                break;
            }
        }
        if self.unsettled == 0 {
            if self.settled_revision != self.revision {
                self.settled_revision = self.revision;
                self.board.settle(self.revision, &self.published);
                for output in self.published.drain(..) {
                    self.unsettled_outputs[output] = false;
                }
                self.log(|| LiveEvent::Settled {
                    revision: self.revision,
                });
            }
            self.progress
                .send_replace((self.applied, self.settled_revision));
        }
    }

    /// Takes `node`'s lifecycle through `path`, from where it is. The lifecycle refuses an
    /// illegal step (a bug in the driver): see `TaskLife::go`.
    fn step(&mut self, node: NodeId, path: &[TaskState]) {
        let life = &mut self.nodes[node as usize].life;
        for &to in path {
            if to == TaskState::Running {
                life.start_attempt();
            } else {
                life.go(to);
            }
        }
    }

    fn log(&self, event: impl FnOnce() -> LiveEvent) {
        if self.board.is_listened_to() {
            self.board.log(event());
        }
    }

    fn path(&self, node: NodeId) -> Arc<str> {
        self.graph.plan.node(node).path.clone()
    }

    /// Revision 1: every state node computes.
    fn initial(&mut self) {
        self.revision = 1;
        self.board.revisions.store(1, Ordering::Relaxed);
        let inputs = self
            .graph
            .plan
            .inputs()
            .iter()
            .zip(&self.graph.input_is_event)
            .filter(|(_, event)| !**event)
            .map(|(input, _)| input.name.clone())
            .collect();
        self.log(|| LiveEvent::Revision {
            revision: 1,
            inputs,
        });
        for input in 0..self.inputs.len() {
            self.publish_input(input);
        }
        let n = self.nodes.len() as NodeId;
        // State nodes start `pending`: dirty.
        self.unsettled += self.graph.is_event.iter().filter(|event| !**event).count();
        for node in 0..n {
            if self.graph.is_event[node as usize] {
                continue;
            }
            for &succ in self.graph.plan.successors(node) {
                self.nodes[succ as usize].unclean_preds += 1;
            }
        }
        for node in 0..n {
            let state = &self.nodes[node as usize];
            if !state.is_event && state.state() == TaskState::Pending && state.unclean_preds == 0 {
                self.check_and_settle(node);
            }
        }
    }

    /// Applies a batch of changes as one revision. Every event of the batch sees the
    /// batch's state (the batch is one moment), whatever order the calls came in.
    fn apply(&mut self, changes: Vec<Change>) {
        // Each state input's value before the batch: an input set and set back within it
        // did not change.
        let mut before: Vec<(usize, Option<Value>)> = Vec::new();
        let mut events = Vec::new();
        for Change { input, value } in changes {
            let idx = input as usize;
            if self.graph.input_is_event[idx] {
                events.push((idx, value));
                continue;
            }
            if !before.iter().any(|(seen, _)| *seen == idx) {
                before.push((idx, self.inputs[idx].clone()));
            }
            self.inputs[idx] = Some(value);
        }
        let changed_inputs: Vec<usize> = before
            .into_iter()
            .filter(|(idx, old)| {
                let new = self.inputs[*idx].as_ref().expect("just set");
                // A `file` set again is a change, even to the same path: the driver does not
                // read files (it would wait on the disk), and a caller sets one because it
                // may have changed. What reads it runs again, and what that gives is
                // compared by content. So is a `list<file>` set again.
                new.has_files() || !old.as_ref().is_some_and(|old| same_value(old, new))
            })
            .map(|(idx, _)| idx)
            .collect();
        if changed_inputs.is_empty() && events.is_empty() {
            return;
        }
        self.last_change = Instant::now();
        self.revision += 1;
        self.board.revisions.fetch_add(1, Ordering::Relaxed);
        let revision = self.revision;
        self.log(|| {
            let mut inputs: Vec<usize> = changed_inputs.clone();
            for (idx, _) in &events {
                if !inputs.contains(idx) {
                    inputs.push(*idx);
                }
            }
            LiveEvent::Revision {
                revision,
                inputs: inputs
                    .iter()
                    .map(|&idx| self.graph.plan.inputs()[idx].name.clone())
                    .collect(),
            }
        });
        // Mark everything first, then check: a node reached by two inputs is checked once,
        // with both changes in.
        let graph = self.graph.clone();
        for &input in &changed_inputs {
            self.warm_nodes(&graph.input_cones[input]);
        }
        let mut to_check = Vec::new();
        for &input in &changed_inputs {
            self.publish_input(input);
            for &node in &graph.input_consumers[input] {
                // The node's own copy: the plan-wide vector is a cache miss of its own.
                if !self.nodes[node as usize].is_event {
                    self.mark(node, &mut to_check);
                }
            }
        }
        self.warm_cone();
        for node in to_check {
            let state = &self.nodes[node as usize];
            if state.state() == TaskState::Pending && state.unclean_preds == 0 {
                self.check_and_settle(node);
            }
        }
        for (input, value) in events {
            for &output in &graph.input_outputs[input] {
                self.publish(output, Ok(value.clone()));
            }
            for &node in &graph.input_consumers[input] {
                self.enqueue_event(node, Ok(value.clone()));
            }
        }
    }

    /// Marks `node` and what depends on it dirty, cancelling executions the change makes
    /// stale. `to_check` collects the nodes whose own inputs changed.
    fn mark(&mut self, start: NodeId, to_check: &mut Vec<NodeId>) {
        let graph = self.graph.clone();
        let mut stack = vec![start];
        to_check.push(start);
        while let Some(node) = stack.pop() {
            match self.nodes[node as usize].state() {
                TaskState::Pending => continue,
                TaskState::Ready => {
                    // Checked again once the change settles; its successors are dirty.
                    self.step(node, &[TaskState::Pending]);
                    continue;
                }
                TaskState::Running => {
                    self.cancel(node);
                    self.step(node, &[TaskState::Pending]);
                    continue;
                }
                // Clean.
                TaskState::Succeeded | TaskState::Failed => {
                    self.unsettled += 1;
                    self.cone.push(node);
                    self.step(node, &[TaskState::Pending]);
                }
                other => unreachable!("a live node is never left `{other}`"),
            }
            let successors = self.nodes[node as usize].successors;
            for &succ in successors.list(&graph.plan, node) {
                let succ_state = &mut self.nodes[succ as usize];
                succ_state.unclean_preds += 1;
                if !succ_state.is_event {
                    stack.push(succ);
                }
            }
        }
    }

    /// Fetches the nodes a change will mark, before marking walks them one successor at a
    /// time: loads that do not depend on each other overlap. Each node whole: marking,
    /// checking and executing it read fields on each of its cache lines.
    fn warm_nodes(&self, nodes: &[NodeId]) {
        for &node in nodes {
            prefetch(&self.nodes[node as usize]);
        }
    }

    /// Reads, ahead of time, what checking and executing the nodes a change just marked
    /// will read, in passes of loads that do not depend on each other. The cone executes in
    /// dependency order, and in a large graph each of its tasks' plan data, reference counts
    /// and last inputs is a cache miss of its own: taken one after another they were most of
    /// a change's time at 1,000,000 tasks; issued together here, they overlap.
    fn warm_cone(&mut self) {
        let cone = &self.cone[..self.cone.len().min(WARM_LIMIT)];
        let plan = &self.graph.plan;
        let mut sum = 0usize;
        // Pass 1: the records found by index.
        for &node in cone {
            let plan_node = plan.node(node);
            sum = sum.wrapping_add(plan_node.path.len());
            if let Some(slot) = plan_node.task() {
                sum = sum.wrapping_add(slot.sources.len() + slot.provides().len());
                sum = sum.wrapping_add(slot.policy.timeout.is_some() as usize);
            }
            let state = &self.nodes[node as usize];
            if state.has_order_preds {
                sum = sum.wrapping_add(self.graph.order_preds[node as usize].len());
            }
            if state.feeds_outputs {
                sum = sum.wrapping_add(self.graph.feeds_outputs[node as usize].len());
            }
        }
        // Pass 2: one pointer away: the path's and ports' allocations (whose reference counts
        // an execution takes), the task (all of it: its layout is its own), the sources, the
        // last execution's inputs and results.
        for &node in cone {
            let plan_node = plan.node(node);
            sum = sum.wrapping_add(usize::from(
                plan_node.path.as_bytes().first().copied().unwrap_or(0),
            ));
            if let Some(slot) = plan_node.task() {
                sum = sum.wrapping_add(slot.requires().first().map_or(0, |port| port.name.len()));
                sum = sum.wrapping_add(slot.provides().first().map_or(0, |port| port.name.len()));
                sum = sum.wrapping_add(
                    slot.sources
                        .first()
                        .map_or(0, |source| matches!(source, Source::Input(_)) as usize),
                );
                prefetch(&*slot.task);
            }
            let state = &self.nodes[node as usize];
            if let Some(Some(value)) = state.executed_with.as_ref().map(|with| with.first()) {
                sum = sum.wrapping_add(matches!(value, Value::Int(_)) as usize);
            }
            if let Some(Ok(values)) = &state.results {
                sum = sum.wrapping_add(
                    values
                        .first()
                        .map_or(0, |value| matches!(value, Value::Int(_)) as usize),
                );
            }
        }
        // Pass 3: two pointers away: the output ports' names, whose reference counts an
        // execution takes when it names its outputs (function tasks do).
        for &node in cone {
            if let Some(slot) = plan.node(node).task() {
                for port in slot.provides().iter() {
                    let first = port.name.as_bytes().first().copied().unwrap_or(0);
                    sum = sum.wrapping_add(usize::from(first));
                }
            }
        }
        std::hint::black_box(sum);
        self.cone.clear();
    }

    /// Checks a dirty node whose predecessors are all clean, and settles it (with what
    /// follows) if it needs no execution.
    fn check_and_settle(&mut self, node: NodeId) {
        if let Some(changed) = self.check(node) {
            self.settle(node, changed);
        }
    }

    /// A dirty node whose predecessors are all clean: `Some(changed)` if it is up to date
    /// without executing (the caller settles it), `None` once it is queued to execute.
    fn check(&mut self, node: NodeId) -> Option<bool> {
        let order_changed = self.nodes[node as usize].has_order_preds
            && self.graph.order_preds[node as usize].iter().any(|&pred| {
                self.nodes[pred as usize].changed_at > self.nodes[node as usize].checked_at
            });
        let NodeKind::Task(slot) = &self.graph.plan.node(node).kind else {
            self.step(node, &[TaskState::Ready, TaskState::Succeeded]);
            return Some(order_changed);
        };
        let inputs = match self.gather(slot, None) {
            Ok(inputs) => inputs,
            Err(failure) => {
                // An input failed: the failure stands in for this task's outputs.
                self.step(node, &[TaskState::Failed]);
                return Some(execute::keep_failure(
                    &mut self.nodes[node as usize].results,
                    failure,
                ));
            }
        };
        let state = &mut self.nodes[node as usize];
        let same_inputs = !order_changed
            && state
                .executed_with
                .as_deref()
                .is_some_and(|with| same_values(with, &inputs));
        if same_inputs && let Some(executed) = &state.executed {
            // Its last execution still stands (a failed input in between is gone again).
            let changed = !state
                .results
                .as_ref()
                .is_some_and(|now| same_results(now, executed));
            if changed {
                state.results = Some(executed.clone());
            }
            // Its result is reused; a failure of its own stands as it was.
            let reused: &[TaskState] = if executed.is_ok() {
                &[TaskState::Ready, TaskState::Succeeded]
            } else {
                &[TaskState::Failed]
            };
            self.step(node, reused);
            self.board.unchanged.fetch_add(1, Ordering::Relaxed);
            let revision = self.revision;
            self.log(|| LiveEvent::Unchanged {
                revision,
                task: self.path(node),
            });
            return Some(changed);
        }
        self.step(node, &[TaskState::Ready]);
        let execution = self.new_execution();
        let state = &mut self.nodes[node as usize];
        state.execution = execution;
        if state.cancelled && !self.restart_delay.is_zero() {
            self.deferred.push(node);
        } else {
            state.cancelled = false;
            self.ready.push_back(Queued {
                node,
                execution,
                inputs: Some(inputs),
            });
        }
        None
    }

    /// The values feeding `slot`, in port order; the first failure among them instead.
    /// `event` puts an event node's event in its place.
    fn gather(
        &self,
        slot: &TaskSlot,
        event: Option<(usize, &LiveValue)>,
    ) -> Result<Vec<Value>, LiveFailure> {
        let mut values = Vec::with_capacity(slot.sources.len());
        for (idx, source) in slot.sources.iter().enumerate() {
            if let Some((event_idx, event)) = event
                && event_idx == idx
            {
                values.push(event.clone()?);
                continue;
            }
            let value = match *source {
                Source::Input(input) => self.inputs[input as usize]
                    .clone()
                    .expect("state inputs always have a value"),
                Source::Output { node, port } => match self.nodes[node as usize].results.as_ref() {
                    Some(Ok(values)) => values[port as usize].clone(),
                    Some(Err(failure)) => return Err(failure.clone()),
                    None => unreachable!("a clean predecessor has results"),
                },
                Source::Given(_) => unreachable!("a live flow's plan is compiled whole"),
            };
            values.push(value);
        }
        Ok(values)
    }

    /// A state node is clean for the current revision: publish what changed and check the
    /// successors this was the last unclean predecessor of.
    fn settle(&mut self, start: NodeId, changed: bool) {
        // Its own handle: checking a successor changes the driver while walking the graph.
        let graph = self.graph.clone();
        // The driver's list, so a settle allocates none.
        let mut work = std::mem::take(&mut self.settle_work);
        work.push((start, changed));
        while let Some((node, changed)) = work.pop() {
            let revision = self.revision;
            // Already `succeeded` or `failed`: clean.
            let state = &mut self.nodes[node as usize];
            state.cancelled = false;
            state.checked_at = revision;
            if changed {
                state.changed_at = revision;
            }
            self.unsettled -= 1;
            if changed {
                self.publish_node(node);
            }
            let successors = self.nodes[node as usize].successors;
            for &succ in successors.list(&graph.plan, node) {
                let succ_state = &mut self.nodes[succ as usize];
                succ_state.unclean_preds -= 1;
                if succ_state.unclean_preds != 0 {
                    continue;
                }
                if succ_state.is_event {
                    self.to_fire.push_back(succ);
                } else if succ_state.state() == TaskState::Pending
                    && let Some(changed) = self.check(succ)
                {
                    // On the work list rather than recursing: a long run of cut-offs
                    // must not grow the stack.
                    work.push((succ, changed));
                }
            }
        }
        self.settle_work = work;
    }

    fn publish_input(&mut self, input: usize) {
        let Some(value) = self.inputs[input].clone() else {
            return;
        };
        let graph = self.graph.clone();
        for &output in &graph.input_outputs[input] {
            self.publish(output, Ok(value.clone()));
        }
    }

    fn publish_node(&mut self, node: NodeId) {
        if let Some(results) = self.nodes[node as usize].results.clone() {
            self.publish_results(node, self.revision, &results);
        }
    }

    /// Publishes, as of `revision`, the plan outputs `results` (of `node`) feed.
    fn publish_results(&mut self, node: NodeId, revision: Revision, results: &Results) {
        if !self.nodes[node as usize].feeds_outputs {
            return;
        }
        let graph = self.graph.clone();
        for &output in &graph.feeds_outputs[node as usize] {
            if let Source::Output { port, .. } = graph.plan.outputs()[output].1 {
                self.publish_at(output, revision, port_value(results, port));
            }
        }
    }

    fn publish(&mut self, output: usize, value: LiveValue) {
        self.publish_at(output, self.revision, value);
    }

    fn publish_at(&mut self, output: usize, revision: Revision, value: LiveValue) {
        // Once per output until the next settled revision, however often it changes.
        if !std::mem::replace(&mut self.unsettled_outputs[output], true) {
            self.published.push(output);
        }
        self.log(|| LiveEvent::Published {
            revision,
            output: self.board.names.list[output].clone(),
        });
        self.board.publish(output, Update { revision, value });
    }
}

/// The task at `node`, which the caller knows is one (barriers never execute).
fn task_slot(plan: &Plan, node: NodeId) -> &TaskSlot {
    plan.node(node)
        .task()
        .expect("only tasks execute or take events")
}

/// Whether two results are the same values, or the same failure.
fn same_results(a: &Results, b: &Results) -> bool {
    match (a, b) {
        (Ok(a), Ok(b)) => Arc::ptr_eq(a, b) || same_values(a, b),
        (Err(a), Err(b)) => a.same(b),
        _ => false,
    }
}

/// Port `port` of a task's results, or the failure standing in for all of them.
fn port_value(results: &Results, port: u32) -> LiveValue {
    match results {
        Ok(values) => Ok(values[port as usize].clone()),
        Err(failure) => Err(failure.clone()),
    }
}

/// However the driver ends (its flow dropped, its runtime shut down, a panic), what runs is
/// stopped and subscribers are told.
impl Drop for Driver {
    fn drop(&mut self) {
        for node in &self.nodes {
            if let Some(token) = &node.token {
                token.cancel();
            }
        }
        self.board.close();
    }
}

async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
