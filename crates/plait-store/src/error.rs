//! Why a store operation failed. Each variant says what the user can do about it.

/// A store failure. Nothing is reported done that was not persisted: a write that returns
/// an error may or may not have been committed, and is resolved by reading back.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error(
        "the store `{path}` is locked by another process: wait for it, or use another store with `--store`"
    )]
    Locked { path: String },
    #[error(
        "the store `{path}` is read-only: make it writable, or use another store with `--store`"
    )]
    ReadOnly { path: String },
    #[error(
        "the store `{path}` is corrupt ({detail}): move it away to start afresh, or restore a backup"
    )]
    Corrupt { path: String, detail: String },
    #[error("the disk holding the store `{path}` is full: free some space and run again")]
    Full { path: String },
    #[error(
        "the store `{path}` has schema version {found}, newer than this plait knows ({known}): upgrade plait"
    )]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
    #[error("run `{run_id}` is not in the store")]
    UnknownRun { run_id: String },
    #[error("run `{run_id}` is already in the store")]
    DuplicateRun { run_id: String },
    /// A claim on a run whose owner is alive.
    #[error(
        "run `{run_id}` is owned by process {pid} on {host}, which is still running: wait for it, or stop it first"
    )]
    RunOwned {
        run_id: String,
        host: String,
        pid: u32,
    },
    /// A renewal by an owner whose lease ran out and whose run another process claimed.
    #[error(
        "run `{run_id}` was taken over by another process after this one's lease ran out: this process stops it"
    )]
    LeaseLost { run_id: String },
    /// A write that records a step the task lifecycle does not allow: a bug in the writer.
    #[error(
        "run `{run_id}`: task `{task}` cannot be recorded as `{to}` after `{from}`: this is a bug in plait, please report it"
    )]
    IllegalTransition {
        run_id: String,
        task: String,
        from: plait_core::TaskState,
        to: plait_core::TaskState,
    },
    #[error("cannot open the store `{path}`: {detail}")]
    Open { path: String, detail: String },
    #[error("the store failed: {detail}")]
    Other { detail: String },
}
