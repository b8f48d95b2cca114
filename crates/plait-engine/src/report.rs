//! What a run returns.

use std::sync::Arc;
use std::time::SystemTime;

use plait_core::{RunStatus, TaskError, TaskState, TypeMismatch, Value};

/// How one task of a run ended.
#[derive(Clone, Debug)]
pub struct TaskReport {
    pub path: Arc<str>,
    pub state: TaskState,
    /// Attempts made, retries included (0: the task never started).
    pub attempts: u32,
    pub started_at: Option<SystemTime>,
    pub finished_at: Option<SystemTime>,
    /// Why the task failed (or was cancelled).
    pub error: Option<TaskError>,
    /// Why its revert failed.
    pub revert_error: Option<TaskError>,
    /// Its result was reused from the cache: it was not executed.
    pub cached: bool,
}

/// The result of a run.
#[derive(Clone, Debug)]
pub struct RunReport {
    pub run_id: Arc<str>,
    pub status: RunStatus,
    /// The inputs the run started with, in the plan's order, defaults filled in.
    pub inputs: Vec<(Arc<str>, Value)>,
    /// The run's outputs that were produced (all of them when the run succeeded).
    pub outputs: Vec<(Arc<str>, Value)>,
    /// Every task, in the plan's order.
    pub tasks: Vec<TaskReport>,
    pub started_at: SystemTime,
    pub finished_at: SystemTime,
}

impl RunReport {
    pub fn output(&self, name: &str) -> Option<&Value> {
        self.outputs
            .iter()
            .find(|(n, _)| &**n == name)
            .map(|(_, value)| value)
    }

    pub fn task(&self, path: &str) -> Option<&TaskReport> {
        self.tasks.iter().find(|task| &*task.path == path)
    }

    /// The tasks whose own execution failed (not those that failed because an input did).
    pub fn failures(&self) -> impl Iterator<Item = &TaskReport> {
        self.tasks.iter().filter(|task| {
            task.error.is_some() && task.attempts > 0 && task.state != TaskState::Cancelled
        })
    }

    /// The reverts that failed.
    pub fn revert_failures(&self) -> impl Iterator<Item = &TaskReport> {
        self.tasks.iter().filter(|task| task.revert_error.is_some())
    }

    pub fn count(&self, state: TaskState) -> usize {
        self.tasks.iter().filter(|task| task.state == state).count()
    }

    /// Tasks that were executed (at least one attempt), as opposed to reused or not reached.
    pub fn executed(&self) -> usize {
        self.tasks.iter().filter(|task| task.attempts > 0).count()
    }

    /// Tasks whose result was reused from the cache.
    pub fn cached(&self) -> usize {
        self.tasks.iter().filter(|task| task.cached).count()
    }
}

/// The run could not start: its inputs do not fit the workflow.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error("the workflow needs input `{name}`, which was not given")]
    MissingInput { name: Arc<str> },
    #[error("the workflow takes no input named `{name}`")]
    UnknownInput {
        name: Arc<str>,
        known: Vec<Arc<str>>,
    },
    #[error("input `{name}`: {mismatch}")]
    InputType {
        name: Arc<str>,
        mismatch: TypeMismatch,
    },
    /// A `file` input names a path with nothing there: the run does not start.
    #[error("input `{name}` is a file, and there is nothing at `{}`", path.display())]
    MissingFile {
        name: Arc<str>,
        path: std::path::PathBuf,
    },
    /// A `list<file>` input lists a path with nothing there: the run does not start.
    #[error("input `{name}` lists the file `{}`, and there is nothing there", path.display())]
    MissingListedFile {
        name: Arc<str>,
        path: std::path::PathBuf,
    },
    /// A resume of a run that already ended.
    #[error("run `{run_id}` already ended ({status}): there is nothing to resume")]
    Ended { run_id: Arc<str>, status: RunStatus },
    /// A bug in the engine stopped the run where it was; its record is left as it was.
    #[error("internal error: {message}: this is a bug in plait, please report it")]
    Internal { message: String },
    /// The store failed: the run stopped where its record stops, and can be resumed.
    #[error(transparent)]
    Store(#[from] plait_store::StoreError),
}
