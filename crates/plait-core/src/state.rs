//! The states a task and a run go through, shared by the engine, the stores and interfaces.

use std::fmt;

/// A task's state. A task starts `Pending`; it is `Ready` once its inputs are; each attempt
/// is `Running`; between attempts it is `Retrying`; it ends `Succeeded`, `Failed` or
/// `Cancelled`, and a revert takes it through `Reverting` to `Reverted` or `RevertFailed`.
/// [`TaskState::can_become`] says which steps are legal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TaskState {
    Pending,
    Ready,
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
    pub const ALL: [TaskState; 10] = [
        TaskState::Pending,
        TaskState::Ready,
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
            TaskState::Ready => "ready",
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

impl TaskState {
    /// Whether a task may step from `self` to `next` within one run (docs/scheduling.md draws
    /// the machine):
    ///
    /// - `pending -> ready` when its inputs are; `pending -> failed` when one failed (it is
    ///   not run);
    /// - `ready -> running` when an attempt starts, `ready -> succeeded` when an earlier
    ///   result is reused, `ready -> pending` when the run stops before it starts;
    /// - `running -> succeeded | failed | cancelled`, or `retrying` and back to `running`
    ///   (`retrying -> cancelled` when the run stops during the backoff);
    /// - `succeeded | failed | cancelled -> reverting -> reverted | revert_failed`;
    /// - `succeeded | failed | cancelled | reverted -> pending` when a retried flow holding
    ///   the task starts again.
    pub fn can_become(self, next: TaskState) -> bool {
        use TaskState::*;
        matches!(
            (self, next),
            (Pending, Ready | Failed)
                | (Ready, Running | Succeeded | Pending)
                | (Running, Succeeded | Failed | Cancelled | Retrying)
                | (Retrying, Running | Cancelled)
                | (Succeeded | Failed | Cancelled, Reverting)
                | (Reverting, Reverted | RevertFailed)
                | (Succeeded | Failed | Cancelled | Reverted, Pending)
        )
    }

    /// Whether a store records this state: `pending` and `ready` are what every task is
    /// until it starts, and are derived again when a run is resumed.
    pub fn is_recorded(self) -> bool {
        !matches!(self, TaskState::Pending | TaskState::Ready)
    }

    /// Whether a store may record `next` after `self` (the last recorded state, `pending`
    /// for a task not recorded yet). The unrecorded states in between are implied:
    /// `reverted -> running` is a retried flow's new attempt. A revert that an interruption
    /// cut short starts again: `reverting -> reverting`.
    pub fn can_record(self, next: TaskState) -> bool {
        use TaskState::*;
        // The unrecorded steps back to `pending` and on to `ready` may come in between.
        let through_ready = (self == Pending || self.can_become(Pending)) && Ready.can_become(next);
        (self, next) == (Reverting, Reverting) || self.can_become(next) || through_ready
    }
}

/// A step the lifecycle does not allow: a bug in whatever asked for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a task cannot go from `{from}` to `{to}`")]
pub struct IllegalTransition {
    pub from: TaskState,
    pub to: TaskState,
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
    /// A task failed and the run went on past it (`on_failure = "continue"`): what did not
    /// depend on the failure finished, and its outputs are reported.
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

#[cfg(test)]
mod tests {
    use super::TaskState::{self, *};

    #[test]
    fn the_lifecycle_allows_what_a_run_does_and_nothing_else() {
        let legal: Vec<String> = TaskState::ALL
            .iter()
            .flat_map(|&from| {
                TaskState::ALL
                    .iter()
                    .filter(move |&&to| from.can_become(to))
                    .map(move |to| format!("{from} -> {to}"))
            })
            .collect();
        expect_test::expect![[r#"
            pending -> ready
            pending -> failed
            ready -> pending
            ready -> running
            ready -> succeeded
            running -> retrying
            running -> succeeded
            running -> failed
            running -> cancelled
            retrying -> running
            retrying -> cancelled
            succeeded -> pending
            succeeded -> reverting
            failed -> pending
            failed -> reverting
            cancelled -> pending
            cancelled -> reverting
            reverting -> reverted
            reverting -> revert_failed
            reverted -> pending"#]]
        .assert_eq(&legal.join("\n"));
    }

    #[test]
    fn a_store_sees_the_same_machine_without_pending_and_ready() {
        assert!(Pending.can_record(Running));
        assert!(Pending.can_record(Succeeded), "a reused result");
        assert!(
            Reverted.can_record(Running),
            "a retried flow's next attempt"
        );
        assert!(
            Succeeded.can_record(Running),
            "a reused result in a retried flow"
        );
        assert!(
            Cancelled.can_record(Running),
            "a resumed task's new attempt"
        );
        assert!(Reverting.can_record(Reverting), "a resumed revert");
        assert!(!Running.can_record(Running));
        assert!(!Running.can_record(Reverting));
        assert!(!Succeeded.can_record(Reverted));
        assert!(!Reverting.can_record(Succeeded));
        assert!(!Running.can_record(Reverted));
        assert!(!RevertFailed.can_record(Running));
        assert!(!Pending.can_record(Reverted));
        assert!(!Succeeded.can_record(Failed));
    }
}
