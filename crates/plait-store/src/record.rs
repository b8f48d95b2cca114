//! The records a store keeps. Plain data, owned by the store layer: the engine converts its
//! own types at the boundary (STYLE.md rule 6).

use plait_core::{RunStatus, TaskState};

use crate::{CacheEntry, CacheKey, RunId, TaskKey, TaskPath};

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// The process that owns a running run; a run whose owner is gone was interrupted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub host: String,
    pub pid: u32,
    /// When the process started (clock ticks since boot, from
    /// `plait_process::process_start_time`): a pid reused by another process after the owner
    /// died does not pass for the owner.
    pub started: u64,
}

/// A run about to start: what it needs to be shown, explained and resumed later.
#[derive(Clone, Debug, PartialEq)]
pub struct NewRun {
    pub run_id: RunId,
    /// The workflow's name.
    pub workflow: String,
    /// Where the definition came from (a file path), for `plait runs`.
    pub source: String,
    /// The definition itself, as written, so a resume can tell whether it changed.
    pub definition: String,
    pub definition_hash: String,
    /// The run's inputs, as a JSON object.
    pub inputs: serde_json::Value,
    pub settings: RunSettings,
    pub started_at: Millis,
    pub owner: Owner,
    /// Until when the owner's lease holds, unless renewed ([`Write::Renew`]).
    pub lease_until: Millis,
}

/// The options a run was started with, recorded so that a resume runs it the same way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSettings {
    /// At most this many task attempts at once.
    pub jobs: u32,
    /// Every task executed: no earlier result was reused.
    pub no_cache: bool,
}

/// One task's state changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Transition {
    pub run_id: RunId,
    pub task: TaskPath,
    pub state: TaskState,
    pub attempt: u32,
    pub at: Millis,
    pub error: Option<String>,
    /// The cache key the task runs under (on its first `running`), or the key of the result
    /// it reused (on a `succeeded` with `cached_from`).
    pub key: Option<TaskKey>,
    /// Where and since when the attempt executed, on the transition that ends an attempt
    /// (its `running` is recorded earlier, as the intent, before it waits for a slot).
    /// `None` on other transitions, for an attempt that never executed, and for one whose
    /// process died under it (a resume records it `cancelled`, not knowing where it ran).
    pub ran: Option<Ran>,
}

/// Where an attempt executed: what a timeline needs to lay it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ran {
    /// The execution slot, numbered from 0, fewer than the run's `jobs`.
    pub slot: u32,
    /// When it started executing in that slot.
    pub since: Millis,
}

/// A process group a task's attempt started, recorded as soon as it started, so that a
/// resume after plait died can stop the group if it still runs (`plait resume` does, only
/// while the group's leader has the recorded start time: ids are reused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaskProcess {
    pub task: TaskPath,
    pub attempt: u32,
    /// The process group's id: its leader's pid.
    pub pgid: u32,
    /// When the leader started (clock ticks since boot, from
    /// `plait_process::process_start_time`).
    pub started: u64,
}

/// A child a running task spawned, recorded before the child's first step: a resume adds
/// the run's children back before anything runs, so a parent that runs again finds them,
/// and a revert reverts them.
#[derive(Clone, Debug, PartialEq)]
pub struct SpawnedChild {
    /// The child's path: `parent/key`.
    pub task: TaskPath,
    pub parent: TaskPath,
    /// The spawnable task it runs.
    pub spawnable: String,
    /// The inputs its parent gave, as a JSON object by name.
    pub inputs: crate::Json,
}

/// A change to record. A batch of writes passed to [`crate::Store::write`] is committed
/// atomically, and is durable when the call returns.
#[derive(Clone, Debug, PartialEq)]
pub enum Write {
    /// A transition; `running` is the intent recorded before a task executes.
    Transition(Transition),
    /// A task succeeded: the transition and its outputs (a JSON object) in one record. A
    /// reused result's transition names the key and the run it came from.
    Completed {
        transition: Transition,
        outputs: crate::Json,
    },
    /// A result to reuse, computed by `entry.run_id`. It is derived data, written after
    /// the completion it copies (the engine batches them): losing one costs a re-execution.
    /// An entry whose files the store no longer has is not recorded.
    Cache(CacheEntry),
    /// A cached result was reused at `at`: eviction by age goes by its last use. (The
    /// engine sends it only when the entry's last use is older than
    /// [`crate::USE_RESOLUTION`], so a hit costs no write to the cache.)
    Used {
        run_id: RunId,
        /// The task that computed the entry.
        task: TaskPath,
        key: CacheKey,
        at: Millis,
    },
    /// A cached result is no longer valid: the task that produced it was reverted, so its
    /// effect was undone.
    Forget {
        run_id: RunId,
        task: TaskPath,
        key: CacheKey,
    },
    /// `owner` takes an unfinished run over (a resume), with a lease until `lease_until`:
    /// refused with [`crate::StoreError::RunOwned`] while another owner is alive, this
    /// process included (see [`crate::owner_alive`]).
    Claim {
        run_id: RunId,
        owner: Owner,
        lease_until: Millis,
    },
    /// The owner extends its lease to `lease_until`, as it does while the run goes. Refused
    /// with [`crate::StoreError::LeaseLost`] when the run is no longer `owner`'s: its lease
    /// ran out and another process claimed the run, which the owner must then leave alone.
    Renew {
        run_id: RunId,
        owner: Owner,
        lease_until: Millis,
    },
    /// A task's attempt started a process group. Not a step of the task: the store checks
    /// nothing of it against the lifecycle.
    Process { run_id: RunId, process: TaskProcess },
    /// A running task spawned a child. Not a step of a task: the child's steps follow.
    Spawned { run_id: RunId, child: SpawnedChild },
    /// The run was cancelled: it stops and reverts what ran. Recorded before anything is
    /// stopped, so that a resume of a run whose revert did not end (a second Ctrl-C, a
    /// crash) goes on reverting, and ends the run cancelled, instead of running it forward.
    Cancel { run_id: RunId },
    /// The owner lets go of an unfinished run (it stopped without ending: its future was
    /// dropped): the run is interrupted, and anyone may claim it.
    Release { run_id: RunId },
    /// What an attempt wrote to one of its streams, appended to what the store keeps of it
    /// (its last `limit` bytes). Sent while the attempt runs, and its last part with the
    /// step that ends the attempt.
    Output(crate::OutputChunk),
    /// The run ended. The store forgets the process groups recorded for it: none of them
    /// is left to stop.
    RunFinished {
        run_id: RunId,
        status: RunStatus,
        at: Millis,
    },
}

impl Write {
    pub fn run_id(&self) -> &RunId {
        match self {
            Write::Transition(transition) | Write::Completed { transition, .. } => {
                &transition.run_id
            }
            Write::Cache(entry) => &entry.run_id,
            Write::Output(chunk) => &chunk.run_id,
            Write::Used { run_id, .. }
            | Write::Forget { run_id, .. }
            | Write::Claim { run_id, .. }
            | Write::Renew { run_id, .. }
            | Write::Release { run_id }
            | Write::Cancel { run_id }
            | Write::Process { run_id, .. }
            | Write::Spawned { run_id, .. }
            | Write::RunFinished { run_id, .. } => run_id,
        }
    }
}

/// Where a run stands, as the store sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunState {
    /// Its owner is alive and it has not finished.
    Running,
    /// It has not finished and its owner is gone, or let go of it: it can be resumed.
    Interrupted,
    Finished(RunStatus),
}

impl RunState {
    pub fn name(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Interrupted => "interrupted",
            RunState::Finished(status) => status.name(),
        }
    }
}

/// A run in a listing.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub run_id: RunId,
    pub workflow: String,
    pub source: String,
    pub state: RunState,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    /// `None` once its owner let go of it unfinished (see [`Write::Release`]).
    pub owner: Option<Owner>,
    /// Until when the owner's lease holds; `None` for runs recorded before leases.
    pub lease_until: Option<Millis>,
}

/// The latest known state of one task of a run.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskRecord {
    pub task: TaskPath,
    pub state: TaskState,
    pub attempts: u32,
    pub started_at: Option<Millis>,
    pub finished_at: Option<Millis>,
    /// Set once the task succeeded (and cleared when it is reverted).
    pub outputs: Option<serde_json::Value>,
    pub error: Option<String>,
    pub revert_error: Option<String>,
    /// The cache key of its latest attempt, if one was recorded.
    pub key: Option<TaskKey>,
}

impl TaskRecord {
    /// A task not started yet.
    pub fn pending(task: TaskPath) -> Self {
        TaskRecord {
            task,
            state: TaskState::Pending,
            attempts: 0,
            started_at: None,
            finished_at: None,
            outputs: None,
            error: None,
            revert_error: None,
            key: None,
        }
    }

    /// Whether its result was reused rather than executed.
    pub fn cached(&self) -> bool {
        self.key
            .as_ref()
            .is_some_and(|key| key.cached_from.is_some())
    }

    /// Folds a transition into the task's latest state, the same way in every store (which
    /// refuses, when it is written, a transition the lifecycle does not allow: see
    /// [`crate::RecordedStates`]).
    pub fn apply(&mut self, transition: &Transition, outputs: Option<&serde_json::Value>) {
        if let Some(key) = &transition.key {
            self.key = Some(key.clone());
        }
        self.state = transition.state;
        self.attempts = self.attempts.max(transition.attempt);
        match transition.state {
            TaskState::Running => {
                self.started_at.get_or_insert(transition.at);
                self.error = None;
            }
            TaskState::Succeeded => {
                self.finished_at = Some(transition.at);
                self.outputs = outputs.cloned();
            }
            TaskState::Failed => {
                self.finished_at = Some(transition.at);
                self.error = transition.error.clone();
            }
            TaskState::Cancelled => {
                self.finished_at = Some(transition.at);
                self.error = transition.error.clone();
                // An attempt cancelled before it started does not count.
                self.attempts = transition.attempt;
            }
            TaskState::Retrying => self.error = transition.error.clone(),
            TaskState::Reverted => self.outputs = None,
            TaskState::RevertFailed => self.revert_error = transition.error.clone(),
            TaskState::Pending | TaskState::Ready | TaskState::Reverting => {}
        }
    }
}

/// Tasks' latest states, folded from their transitions in the order recorded: the one way
/// every store turns its log into [`RunRecord::tasks`].
#[derive(Clone, Debug, Default)]
pub struct TaskFold {
    tasks: Vec<TaskRecord>,
    /// Task path -> its index in `tasks`.
    index: rustc_hash::FxHashMap<TaskPath, usize>,
}

impl TaskFold {
    /// Folds a transition in; returns the index of its task in [`TaskFold::tasks`].
    pub fn apply(&mut self, transition: &Transition, outputs: Option<&serde_json::Value>) -> usize {
        let tasks = &mut self.tasks;
        let idx = *self
            .index
            .entry(transition.task.clone())
            .or_insert_with(|| {
                tasks.push(TaskRecord::pending(transition.task.clone()));
                tasks.len() - 1
            });
        tasks[idx].apply(transition, outputs);
        idx
    }

    /// In the order tasks first appeared.
    pub fn tasks(&self) -> &[TaskRecord] {
        &self.tasks
    }

    pub fn into_tasks(self) -> Vec<TaskRecord> {
        self.tasks
    }
}

impl RunRecord {
    /// Whether `attempt` of `task` may still write output: the run goes on (its owner is
    /// alive), and the attempt is the task's latest and is running.
    pub fn attempt_running(&self, task: &TaskPath, attempt: u32) -> bool {
        self.summary.state == RunState::Running
            && self.tasks.iter().any(|record| {
                record.task == *task
                    && record.attempts == attempt
                    && record.state == TaskState::Running
            })
    }
}

/// Everything a store knows of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunRecord {
    pub summary: RunSummary,
    pub definition: String,
    pub definition_hash: String,
    pub inputs: serde_json::Value,
    /// `None` for a run recorded before stores kept its options.
    pub settings: Option<RunSettings>,
    /// The run was cancelled ([`Write::Cancel`]).
    pub cancelled: bool,
    /// The process groups its tasks started ([`Write::Process`]), in the order recorded;
    /// none once the run finished.
    pub processes: Vec<TaskProcess>,
    /// The children its tasks spawned ([`Write::Spawned`]), in the order spawned.
    pub spawned: Vec<SpawnedChild>,
    /// Latest state per task, in the order tasks first appeared.
    pub tasks: Vec<TaskRecord>,
    /// Every transition, in the order recorded.
    pub transitions: Vec<Transition>,
}
