//! The task lifecycle: one task's state and attempt count, changed only here, and only by
//! the steps [`TaskState::can_become`] allows. Batch runs, resumes and live flows keep their
//! tasks' states in a [`TaskLife`]; whatever records or shows a transition does it for a step
//! taken here.

use plait_core::{IllegalTransition, TaskState};

/// Where one task is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskLife {
    state: TaskState,
    /// Attempts started, retries included; a retried flow's restart counts on.
    attempts: u32,
}

impl Default for TaskLife {
    fn default() -> Self {
        TaskLife {
            state: TaskState::Pending,
            attempts: 0,
        }
    }
}

impl TaskLife {
    /// A task where a recorded run left it: the starting point of a resume, not a step.
    pub(crate) fn restored(state: TaskState, attempts: u32) -> Self {
        TaskLife { state, attempts }
    }

    pub(crate) fn state(&self) -> TaskState {
        self.state
    }

    pub(crate) fn attempts(&self) -> u32 {
        self.attempts
    }

    /// Steps to `to`.
    ///
    /// # Panics
    ///
    /// On a step the lifecycle does not allow: that is a bug in the engine, and going on
    /// would record a history that cannot have happened. The check stays on in release
    /// builds; the run reports it as an internal error.
    pub(crate) fn go(&mut self, to: TaskState) {
        if let Err(illegal) = self.try_go(to) {
            panic!("{illegal}");
        }
    }

    /// Steps to `to`, or says why it may not.
    pub(crate) fn try_go(&mut self, to: TaskState) -> Result<(), IllegalTransition> {
        if !self.state.can_become(to) {
            return Err(IllegalTransition {
                from: self.state,
                to,
            });
        }
        self.state = to;
        Ok(())
    }

    /// Steps to `running` for a new attempt, and returns its number (1 for the first).
    pub(crate) fn start_attempt(&mut self) -> u32 {
        self.go(TaskState::Running);
        self.attempts += 1;
        self.attempts
    }

    /// The attempt just started never executed (the run stopped while it waited for a
    /// slot): it does not count.
    pub(crate) fn forget_attempt(&mut self) {
        self.attempts -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_count_only_steps_into_running() {
        let mut life = TaskLife::default();
        life.go(TaskState::Ready);
        assert_eq!(life.start_attempt(), 1);
        life.go(TaskState::Retrying);
        assert_eq!(life.start_attempt(), 2);
        life.go(TaskState::Succeeded);
        assert_eq!(life.attempts(), 2);
        assert_eq!(
            life.try_go(TaskState::Running),
            Err(IllegalTransition {
                from: TaskState::Succeeded,
                to: TaskState::Running
            })
        );
        assert_eq!(life.state(), TaskState::Succeeded);
    }

    #[test]
    #[allow(clippy::panic, reason = "the panic is what is tested")]
    fn an_illegal_step_panics_with_both_states() {
        let result = std::panic::catch_unwind(|| TaskLife::default().go(TaskState::Reverted));
        let message = result.unwrap_err();
        assert_eq!(
            message.downcast_ref::<String>().map(String::as_str),
            Some("a task cannot go from `pending` to `reverted`")
        );
    }
}
