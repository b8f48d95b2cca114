//! Readiness and the runner loops.
//!
//! At most `jobs` runner loops exist. A runner runs a task, releases its dependents (each
//! dependent's counter of unfinished predecessors goes down; at zero it is ready), keeps one
//! ready dependent for itself and queues the rest, then takes the next from the queue or
//! retires. Barriers and tasks that cannot run (a failed input) are settled inline.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use futures::FutureExt;
use plait_core::{NodeId, NodeKind, OnFailure, Plan, TaskError, TaskState};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::attempt::{self, Attempted};
use super::graph::Grown;
use super::slots::Slots;
use crate::sync::lock;

/// What runs when: each node's count of unfinished predecessors, the ready queue, the
/// runner loops and the execution slots, and whether new tasks may start at all.
pub(super) struct Scheduler {
    /// Predecessors not yet completed, per node.
    pub(super) remaining: Grown<AtomicU32>,
    pub(super) queue: Mutex<Queue>,
    /// Signalled when the last runner retires.
    pub(super) idle: Notify,
    /// Signalled when a runner retires while more run than the lent count allows: a task
    /// done waiting for its children may take its runner back.
    pub(super) reclaimed: Notify,
    /// No new task starts: a failure is being reverted, or the run was cancelled.
    pub(super) stopping: AtomicBool,
    pub(super) user_cancelled: AtomicBool,
    /// Parent of every attempt's token.
    pub(super) run_token: Arc<CancellationToken>,
    pub(super) runtime: tokio::runtime::Handle,
    /// Runner loops allowed at once: `jobs`, or more with a store (see `slots`).
    pub(super) max_runners: usize,
    /// With a store, a task spends most of its time waiting for its records to commit, which
    /// is not work: extra runners wait on commits together (one commit carries all their
    /// writes) while these `jobs` slots bound what actually executes.
    pub(super) slots: Option<Slots>,
}

/// The ready queue and how many runner loops exist, under one lock so a runner retiring and a
/// task becoming ready can never miss each other.
pub(super) struct Queue {
    pub(super) ready: VecDeque<NodeId>,
    pub(super) active: usize,
    /// Runners lent by tasks waiting for their children: that many more may run.
    pub(super) lent: usize,
    /// Tasks done waiting that wait to take their runner back (`reclaimed`).
    pub(super) reclaiming: usize,
}

/// Runners beyond `jobs` that may wait on the store's commits at once.
const COMMIT_RUNNERS: usize = 256;

impl Scheduler {
    pub(super) fn new(plan: &Plan, jobs: usize, has_store: bool) -> Scheduler {
        Scheduler {
            remaining: Grown::new(
                (0..plan.len() as NodeId)
                    .map(|node| AtomicU32::new(plan.predecessors(node).len() as u32))
                    .collect(),
            ),
            queue: Mutex::new(Queue {
                ready: VecDeque::new(),
                active: 0,
                lent: 0,
                reclaiming: 0,
            }),
            reclaimed: Notify::new(),
            idle: Notify::new(),
            stopping: AtomicBool::new(false),
            user_cancelled: AtomicBool::new(false),
            run_token: Arc::new(CancellationToken::new()),
            runtime: tokio::runtime::Handle::current(),
            max_runners: if has_store {
                jobs + COMMIT_RUNNERS
            } else {
                jobs
            },
            slots: has_store.then(|| Slots::new(jobs)),
        }
    }

    /// No runner is running and none is waiting to.
    pub(super) fn is_idle(&self) -> bool {
        let queue = lock(&self.queue);
        queue.active == 0 && queue.ready.is_empty()
    }
}

/// Makes every node without predecessors ready.
pub(super) fn seed(shared: &Arc<Shared>) {
    let roots: Vec<NodeId> = shared
        .graph
        .ids()
        .filter(|&node| shared.graph.first_predecessors(node).is_empty())
        .collect();
    make_ready(shared, roots, None);
}

/// Settles or queues each ready node; with `keep`, the first runnable task goes there instead
/// of the queue (the calling runner will run it next).
pub(super) fn make_ready(
    shared: &Arc<Shared>,
    nodes: Vec<NodeId>,
    mut keep: Option<&mut Option<NodeId>>,
) {
    // First in, first out, so tasks start in the order they became ready.
    let mut pending = std::collections::VecDeque::from(nodes);
    while let Some(node) = pending.pop_front() {
        match &shared.graph.node(node).kind {
            NodeKind::Barrier { .. } => {
                let poisoned = {
                    // A barrier has no work and no record: it passes, silently.
                    let mut record = shared.record(node);
                    if record.life.state() != TaskState::Pending {
                        continue;
                    }
                    record.life.go(TaskState::Ready);
                    record.life.go(TaskState::Succeeded);
                    record.released = true;
                    record.poisoned
                };
                release(shared, node, poisoned, &mut pending);
            }
            NodeKind::Task(_) => {
                let poisoned = shared.record(node).poisoned;
                if poisoned {
                    settle_poisoned(shared, node, &mut pending);
                    continue;
                }
                match keep.as_deref_mut() {
                    Some(slot @ None) => *slot = Some(node),
                    _ => enqueue(shared, node),
                }
            }
        }
    }
}

/// A task whose input failed does not run: it fails in turn and passes the failure on.
fn settle_poisoned(shared: &Arc<Shared>, node: NodeId, pending: &mut impl Extend<NodeId>) {
    let failed_inputs: Vec<String> = shared
        .predecessors(node)
        .filter(|&pred| shared.record(pred).life.state() == TaskState::Failed)
        .map(|pred| format!("`{}`", shared.graph.node(pred).path))
        .collect();
    let error = TaskError::permanent(if failed_inputs.is_empty() {
        "not run: a task it waits for failed".to_owned()
    } else {
        format!("not run: {} failed", failed_inputs.join(", "))
    });
    let settled = shared.steps_if(node, &[TaskState::Failed], Some(&error), |record| {
        record.life.state() == TaskState::Pending
    });
    if settled.is_none() {
        return;
    }
    {
        let mut record = shared.record(node);
        record.set_error(Some(error));
        record.released = true;
    }
    release(shared, node, true, pending);
}

/// Counts `node` as finished for each successor; those now ready go to `ready`.
pub(super) fn release(
    shared: &Shared,
    node: NodeId,
    poisoned: bool,
    ready: &mut impl Extend<NodeId>,
) {
    let count_down = |next: NodeId| {
        if poisoned {
            shared.record(next).poisoned = true;
        }
        // AcqRel: the decrement that reaches zero sees every predecessor's stored outputs.
        shared.sched.remaining[next].fetch_sub(1, Ordering::AcqRel) == 1
    };
    // An edge appended after `node` finished is not counted by its successor (see
    // `append.rs`).
    for next in shared.successors(node, true) {
        if count_down(next) {
            ready.extend([next]);
        }
    }
}

/// Hands a ready task to an idle slot, or queues it if all `jobs` slots are busy.
fn enqueue(shared: &Arc<Shared>, node: NodeId) {
    let spawn = {
        let mut sched = lock(&shared.sched.queue);
        if sched.active < shared.sched.max_runners + sched.lent {
            sched.active += 1;
            true
        } else {
            sched.ready.push_back(node);
            false
        }
    };
    if spawn {
        shared.sched.runtime.spawn(runner(shared.clone(), node));
    }
}

impl Shared {
    /// A running task waits for its children: its runner and job slot are lent to the run
    /// meanwhile (a run with `--jobs 1` whose task spawns would wait forever otherwise).
    pub(super) fn sched_lend(self: &Arc<Self>) {
        if let Some(slots) = &self.sched.slots {
            slots.lend();
        }
        let next = {
            let mut sched = lock(&self.sched.queue);
            sched.lent += 1;
            if sched.reclaiming > 0 {
                self.sched.reclaimed.notify_waiters();
            }
            let next = sched.ready.pop_front();
            if next.is_some() {
                sched.active += 1;
            }
            next
        };
        if let Some(node) = next {
            self.sched.runtime.spawn(runner(self.clone(), node));
        }
    }

    /// A waiting task stopped waiting and will not go on (its attempt was dropped): the
    /// slot it lent is taken back whenever one is free, without it.
    pub(super) fn sched_unlend(self: &Arc<Self>) {
        lock(&self.sched.queue).lent -= 1;
        if self.sched.slots.is_some() {
            let shared = self.clone();
            self.sched.runtime.spawn(async move {
                if let Some(slots) = &shared.sched.slots {
                    slots.reclaim().await;
                }
            });
        }
    }

    /// The waiting task goes on: it takes a job slot back, waiting for one to be free.
    pub(super) async fn sched_reclaim(&self) {
        {
            let mut sched = lock(&self.sched.queue);
            sched.lent -= 1;
            sched.reclaiming += 1;
        }
        // Counted out however the wait ends (its task may be dropped while it waits).
        let _reclaiming = scopeguard::guard((), |()| lock(&self.sched.queue).reclaiming -= 1);
        // Room comes when a runner retires, or another task lends its runner: both wake
        // every reclaiming task, which looks again.
        loop {
            let reclaimed = self.sched.reclaimed.notified();
            tokio::pin!(reclaimed);
            reclaimed.as_mut().enable();
            {
                let sched = lock(&self.sched.queue);
                if sched.active <= self.sched.max_runners + sched.lent {
                    break;
                }
            }
            reclaimed.await;
        }
        if let Some(slots) = &self.sched.slots {
            slots.reclaim().await;
        }
    }
}

/// The next queued task, or `None` after retiring this runner.
fn next_or_retire(shared: &Shared) -> Option<NodeId> {
    let mut sched = lock(&shared.sched.queue);
    // A task taking its lent runner back makes one too many: this one retires for it.
    if sched.active > shared.sched.max_runners + sched.lent {
        sched.active -= 1;
        shared.sched.reclaimed.notify_waiters();
        return None;
    }
    if let Some(node) = sched.ready.pop_front() {
        return Some(node);
    }
    sched.active -= 1;
    if sched.reclaiming > 0 {
        shared.sched.reclaimed.notify_waiters();
    }
    if sched.active == 0 {
        shared.sched.idle.notify_one();
    }
    None
}

/// A runner's own copies of what every attempt's context holds. A reference count lives in
/// its allocation, so clones of one shared `Arc` by two runners on two cores bounce one cache
/// line between them on every task; separate allocations keep each runner's counts local.
pub(super) struct RunnerLocal {
    pub(super) run_id: Arc<str>,
    pub(super) run_token: Arc<CancellationToken>,
    /// Told of the process groups tasks start, with a store (see `persist.rs`).
    pub(super) child_groups: Option<Arc<dyn plait_core::ChildGroups>>,
}

impl RunnerLocal {
    fn new(shared: &Arc<Shared>) -> Self {
        RunnerLocal {
            run_id: Arc::from(&*shared.config.run_id),
            run_token: Arc::new((*shared.sched.run_token).clone()),
            child_groups: shared.child_groups(),
        }
    }
}

async fn runner(shared: Arc<Shared>, first: NodeId) {
    let local = RunnerLocal::new(&shared);
    let mut next = Some(first);
    while let Some(node) = next {
        let mut keep = None;
        // A panic here is a bug in the engine (an illegal step of the lifecycle): the run
        // stops and says so, rather than wait forever for this runner to retire.
        let ran = AssertUnwindSafe(run_task(&shared, &local, node, &mut keep))
            .catch_unwind()
            .await;
        if let Err(panic) = ran {
            shared.fail_internal(&crate::attempt::panic_message(&*panic));
            keep = None;
        }
        next = keep.or_else(|| next_or_retire(&shared));
    }
}

/// Runs one task through all its attempts and settles what follows from how it ended.
async fn run_task(
    shared: &Arc<Shared>,
    local: &RunnerLocal,
    node: NodeId,
    keep: &mut Option<NodeId>,
) {
    if shared.is_stopping() {
        return;
    }
    let scopes = shared.scope_chain(node);
    // Count the attempt in its flows before looking at them, so a flow that starts failing
    // now either sees this attempt or this attempt sees the failure (see scope.rs).
    shared.enter_scopes(&scopes);
    let claimed = !shared.any_failing(&scopes) && claim(shared, node);
    if !claimed {
        // The completion that made this task ready may be waiting for its intent.
        shared.flush_completions(node).await;
        shared.leave_scopes(&scopes).await;
        return;
    };
    let outcome = attempt::run_attempts(shared, local, node).await;
    if node as usize >= shared.graph.plan().len() {
        shared.child_finished(node);
    }
    match outcome {
        Attempted::Succeeded => {
            let mut ready = Vec::new();
            release(shared, node, false, &mut ready);
            make_ready(shared, ready, Some(keep));
            // The dependent this runner goes on with commits the completion with its intent;
            // with none, it is committed now, not left waiting for some other commit.
            if keep.is_none() {
                shared.flush_completions(node).await;
            }
            shared.flush_results_if_many().await;
        }
        Attempted::Cancelled => {}
        Attempted::Failed => on_failure(shared, node, &scopes, keep),
    }
    shared.leave_scopes(&scopes).await;
}

/// Moves the task from pending to ready for this runner; false if another path already took
/// it.
fn claim(shared: &Shared, node: NodeId) -> bool {
    let interrupted = shared.record(node).interrupted;
    let path: &[TaskState] = if interrupted {
        &[TaskState::Pending, TaskState::Ready]
    } else {
        &[TaskState::Ready]
    };
    shared
        .steps_if(node, path, None, |record| {
            let take = record.claimable() && record.interrupted == interrupted;
            if take {
                record.interrupted = false;
            }
            take
        })
        .is_some()
}

/// A task failed for good: its retried flow takes it, or the run reverts, or the failure
/// flows on to its dependents.
fn on_failure(shared: &Arc<Shared>, node: NodeId, scopes: &[u32], keep: &mut Option<NodeId>) {
    if shared.fail_scope(scopes) {
        return;
    }
    match shared.graph.plan().on_failure() {
        OnFailure::Revert => shared.stop(),
        OnFailure::Continue => {
            let mut ready = Vec::new();
            shared.record(node).released = true;
            release(shared, node, true, &mut ready);
            make_ready(shared, ready, Some(keep));
        }
    }
}
