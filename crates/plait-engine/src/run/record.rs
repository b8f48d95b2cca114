//! What the engine knows of one node during a run.

use std::time::SystemTime;

use plait_core::{Inputs, NodeId, Outputs, TaskError, TaskState};

use crate::lifecycle::TaskLife;

#[derive(Debug, Default)]
pub(super) struct NodeRecord {
    /// State and attempts: changed only by the lifecycle's steps (`Shared::step`).
    pub(super) life: TaskLife,
    pub(super) started_at: Option<SystemTime>,
    pub(super) finished_at: Option<SystemTime>,
    /// Set once the task succeeded; read by dependents.
    pub(super) outputs: Option<Outputs>,
    pub(super) error: Option<TaskError>,
    pub(super) revert_error: Option<TaskError>,
    /// Kept only for tasks with a revert, which gets the same inputs.
    pub(super) inputs: Option<Inputs>,
    /// An input (or an ordering predecessor) failed: the task will not run
    /// (`on_failure = "continue"`).
    pub(super) poisoned: bool,
    /// The node has decremented its successors' counters (undone when a retried flow resets).
    pub(super) released: bool,
    /// Its last attempt was interrupted (a resumed run found it running): it is `cancelled`
    /// and runs again when the run goes forward.
    pub(super) interrupted: bool,
    /// Its result was reused from the cache, not executed.
    pub(super) cached: bool,
    /// Where its current attempt executes (with a store; see `slots.rs`), taken by the step
    /// that ends the attempt.
    pub(super) ran: Option<plait_store::Ran>,
    /// Edges added while the run goes (see `graph.rs`); `None` until one is.
    pub(super) more: Option<Box<MoreEdges>>,
    /// The cache key it executed under: forgotten from the cache if the task is reverted.
    pub(super) cache_key: Option<plait_store::CacheKey>,
}

/// A node's edges added while the run goes.
#[derive(Debug, Default)]
pub(super) struct MoreEdges {
    /// The nodes that wait for this one, each with whether its count of unfinished
    /// predecessors includes this node: a node appended after this one finished does not
    /// wait for it (until a retried flow puts this one back to pending).
    pub(super) successors: Vec<(NodeId, bool)>,
    /// Nodes appended before this one that it waits for.
    pub(super) predecessors: Vec<NodeId>,
}

impl NodeRecord {
    /// Whether a runner may take the task: pending, or cancelled by an interruption.
    pub(super) fn claimable(&self) -> bool {
        !self.poisoned
            && (self.life.state() == TaskState::Pending
                || (self.interrupted && self.life.state() == TaskState::Cancelled))
    }

    /// Whether the task ran and its effect may need undoing.
    pub(super) fn needs_revert(&self) -> bool {
        self.life.attempts() > 0
            && matches!(
                self.life.state(),
                TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled
            )
    }
}
