//! What the engine knows of one node during a run.

use std::time::SystemTime;

use plait_core::{Inputs, NodeId, Outputs, TaskError, TaskState};

use crate::lifecycle::TaskLife;

/// A node's state in a run, read and changed under its own lock. What most tasks never
/// have (an error, kept inputs, a cache key, added edges) is boxed apart, so the record of a
/// plain task is small: a run of a million tasks holds a million of them.
#[derive(Debug, Default)]
pub(super) struct NodeRecord {
    /// State and attempts: changed only by the lifecycle's steps (`Shared::step`).
    pub(super) life: TaskLife,
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
    pub(super) started_at: Option<SystemTime>,
    pub(super) finished_at: Option<SystemTime>,
    /// Set once the task succeeded; read by dependents.
    pub(super) outputs: Option<Outputs>,
    rare: Option<Box<Rare>>,
}

/// The part of a record most tasks never fill.
#[derive(Debug, Default)]
pub(super) struct Rare {
    pub(super) error: Option<TaskError>,
    pub(super) revert_error: Option<TaskError>,
    /// Kept only for tasks with a revert, which gets the same inputs.
    pub(super) inputs: Option<Inputs>,
    /// The cache key it executed under: forgotten from the cache if the task is reverted.
    pub(super) cache_key: Option<plait_store::CacheKey>,
    /// Where its current attempt executes (with a store; see `slots.rs`), taken by the step
    /// that ends the attempt.
    pub(super) ran: Option<plait_store::Ran>,
    /// Edges added while the run goes (see `graph.rs`): boxed again, since a run with a
    /// store fills the rest of this part for every task, and few tasks gain edges.
    pub(super) more: Option<Box<MoreEdges>>,
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
    /// The rare part, made on first use.
    pub(super) fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }

    pub(super) fn error(&self) -> Option<&TaskError> {
        self.rare.as_ref()?.error.as_ref()
    }

    pub(super) fn revert_error(&self) -> Option<&TaskError> {
        self.rare.as_ref()?.revert_error.as_ref()
    }

    pub(super) fn cache_key(&self) -> Option<&plait_store::CacheKey> {
        self.rare.as_ref()?.cache_key.as_ref()
    }

    pub(super) fn more(&self) -> Option<&MoreEdges> {
        self.rare.as_ref()?.more.as_deref()
    }

    pub(super) fn more_mut(&mut self) -> &mut MoreEdges {
        self.rare().more.get_or_insert_with(Box::default)
    }

    /// Sets the error; clearing one that was never set makes no rare part.
    pub(super) fn set_error(&mut self, error: Option<TaskError>) {
        if error.is_some() || self.rare.is_some() {
            self.rare().error = error;
        }
    }

    /// Keeps (or drops) the inputs, as `set_error` does.
    pub(super) fn set_inputs(&mut self, inputs: Option<Inputs>) {
        if inputs.is_some() || self.rare.is_some() {
            self.rare().inputs = inputs;
        }
    }

    pub(super) fn take_inputs(&mut self) -> Option<Inputs> {
        self.rare.as_mut()?.inputs.take()
    }

    pub(super) fn take_ran(&mut self) -> Option<plait_store::Ran> {
        self.rare.as_mut()?.ran.take()
    }

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

// A million-task run holds a million records: a field added here should be a rare one.
// With a store every task has a rare part too (its cache key, its slot).
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<NodeRecord>() <= 80 && size_of::<Rare>() <= 112);
