//! What the engine knows of one node during a run.

use std::time::SystemTime;

use plait_core::{Inputs, Outputs, TaskError, TaskState};

#[derive(Debug)]
pub(super) struct NodeRecord {
    pub(super) state: TaskState,
    pub(super) attempts: u32,
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
    /// Its result was reused from the cache, not executed.
    pub(super) cached: bool,
    /// The cache key it executed under: forgotten from the cache if the task is reverted.
    pub(super) cache_key: Option<String>,
}

impl Default for NodeRecord {
    fn default() -> Self {
        NodeRecord {
            state: TaskState::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            outputs: None,
            error: None,
            revert_error: None,
            inputs: None,
            poisoned: false,
            released: false,
            cached: false,
            cache_key: None,
        }
    }
}

impl NodeRecord {
    /// Whether the task ran and its effect may need undoing.
    pub(super) fn needs_revert(&self) -> bool {
        self.attempts > 0
            && matches!(
                self.state,
                TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled
            )
    }
}
