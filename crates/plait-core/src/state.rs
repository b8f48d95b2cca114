//! The states a task and a run go through, shared by the engine, the stores and interfaces.

use std::fmt;

/// A task's state. A task starts `Pending`; each attempt is `Running`; between attempts it is
/// `Retrying`; it ends `Succeeded`, `Failed` or `Cancelled`, and a revert takes it through
/// `Reverting` to `Reverted` or `RevertFailed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskState {
    Pending,
    Running,
    Retrying,
    Succeeded,
    Failed,
    Cancelled,
    Reverting,
    Reverted,
    RevertFailed,
}

impl TaskState {
    pub const ALL: [TaskState; 9] = [
        TaskState::Pending,
        TaskState::Running,
        TaskState::Retrying,
        TaskState::Succeeded,
        TaskState::Failed,
        TaskState::Cancelled,
        TaskState::Reverting,
        TaskState::Reverted,
        TaskState::RevertFailed,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Pending => "pending",
            TaskState::Running => "running",
            TaskState::Retrying => "retrying",
            TaskState::Succeeded => "succeeded",
            TaskState::Failed => "failed",
            TaskState::Cancelled => "cancelled",
            TaskState::Reverting => "reverting",
            TaskState::Reverted => "reverted",
            TaskState::RevertFailed => "revert_failed",
        }
    }

    /// No further transition happens without a revert or a resume.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskState::Succeeded
                | TaskState::Failed
                | TaskState::Cancelled
                | TaskState::Reverted
                | TaskState::RevertFailed
        )
    }
}

impl fmt::Display for TaskState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RunStatus {
    Succeeded,
    /// A failure reached an output (`on_failure = "continue"`).
    Failed,
    /// A task failed and every completed task was reverted.
    Reverted,
    /// A task failed and at least one revert failed too.
    RevertFailed,
    /// The run was cancelled (its completed tasks were reverted).
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Reverted,
        RunStatus::RevertFailed,
        RunStatus::Cancelled,
    ];

    pub fn name(self) -> &'static str {
        match self {
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::Reverted => "reverted",
            RunStatus::RevertFailed => "revert_failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
