//! How a call of a workflow written as code fails.

use std::sync::Arc;

use plait_core::{ErrorKind, TaskError};

/// Why a call's handle holds no value. Clone: one failure reaches every call it flows into.
#[derive(Clone, Debug, thiserror::Error)]
pub enum CallError {
    /// The called task (or sub-workflow) ran and failed.
    #[error("call {position} (`{task}`) failed: {error}")]
    Failed {
        position: Arc<str>,
        task: Arc<str>,
        error: TaskError,
    },
    /// A handle the call was given failed, so the call did not run.
    #[error("call {position} (`{task}`) did not run: its argument `{argument}` failed: {cause}")]
    Argument {
        position: Arc<str>,
        task: Arc<str>,
        argument: Arc<str>,
        cause: Box<CallError>,
    },
    /// A replayed workflow made another call at a position than the run's journal holds.
    #[error(
        "call {position} differs from the run's journal: it recorded `{recorded}`, but the \
         workflow called `{called}` there; a replayed workflow must make the same calls in the \
         same order"
    )]
    Nondeterministic {
        position: Arc<str>,
        recorded: Arc<str>,
        called: Arc<str>,
    },
    /// The call succeeded but did not provide the output asked for.
    #[error("call {position} (`{task}`) has no output `{output}`")]
    NoOutput {
        position: Arc<str>,
        task: Arc<str>,
        output: Arc<str>,
    },
    /// The workflow calls a name it does not declare.
    #[error(
        "workflow `{workflow}` calls `{task}`, which it does not declare: declare it with \
         `.task(\"{task}\", ..)` or `.script(..)`"
    )]
    Undeclared { workflow: Arc<str>, task: Arc<str> },
    /// The workflow ended (or was stopped) before the call finished.
    #[error("call {position} (`{task}`) was abandoned: its workflow ended before it finished")]
    Abandoned { position: Arc<str>, task: Arc<str> },
}

impl From<CallError> for TaskError {
    /// A failed call fails the workflow for good: its task's retries were already spent.
    fn from(error: CallError) -> Self {
        TaskError::from_error(ErrorKind::Permanent, error)
    }
}
