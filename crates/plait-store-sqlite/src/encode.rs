//! Writes turned into what the writer thread stores, on the caller's thread.
//!
//! One thread writes to the file, and every task's intent and completion waits for it: it
//! is the run's bottleneck (docs/store.md). So the work that needs no connection (the log's
//! JSON, a cache row's columns and prefix) is done by the task asking, and the writer only
//! executes statements. (The engine sends under its staging lock, to keep requests in the
//! order their writes were staged, so two tasks' encodings do not overlap; they no longer
//! hold up every commit's writer.)

use plait_store::{RunId, StoreError, Write};

use crate::cache::{self, CacheRow};
use crate::log;

/// A write, ready to apply.
pub(crate) enum Encoded {
    /// A transition (with its outputs when it is a success), as a line of the run's log.
    Log {
        run_id: RunId,
        line: log::Line,
    },
    Cache(CacheRow),
    Output(plait_store::OutputChunk),
    Used {
        run_id: RunId,
        at: plait_store::Millis,
        entry: cache::EntryId,
    },
    Forget {
        run_id: RunId,
        entry: cache::EntryId,
    },
    Claim {
        run_id: RunId,
        owner: plait_store::Owner,
        lease_until: plait_store::Millis,
    },
    Renew {
        run_id: RunId,
        owner: plait_store::Owner,
        lease_until: plait_store::Millis,
    },
    Release {
        run_id: RunId,
    },
    Cancel {
        run_id: RunId,
    },
    Process {
        run_id: RunId,
        process: plait_store::TaskProcess,
    },
    Spawned {
        run_id: RunId,
        child: plait_store::SpawnedChild,
    },
    RunFinished {
        run_id: RunId,
        status: &'static str,
        at: plait_store::Millis,
    },
}

impl Encoded {
    pub(crate) fn run_id(&self) -> &RunId {
        match self {
            Encoded::Log { run_id, .. }
            | Encoded::Used { run_id, .. }
            | Encoded::Forget { run_id, .. }
            | Encoded::Claim { run_id, .. }
            | Encoded::Renew { run_id, .. }
            | Encoded::Release { run_id }
            | Encoded::Cancel { run_id }
            | Encoded::Process { run_id, .. }
            | Encoded::Spawned { run_id, .. }
            | Encoded::RunFinished { run_id, .. } => run_id,
            Encoded::Cache(row) => &row.run_id,
            Encoded::Output(chunk) => &chunk.run_id,
        }
    }
}

/// Encodes a batch; a write that cannot be encoded fails it whole, as a refused write
/// would.
pub(crate) fn encode(writes: Vec<Write>) -> Result<Vec<Encoded>, StoreError> {
    writes.into_iter().map(encode_one).collect()
}

fn encode_one(write: Write) -> Result<Encoded, StoreError> {
    Ok(match write {
        Write::Transition(transition) => Encoded::Log {
            line: log::Line::new(&transition, None).map_err(unencodable)?,
            run_id: transition.run_id,
        },
        Write::Completed {
            transition,
            outputs,
        } => Encoded::Log {
            line: log::Line::new(&transition, Some(&outputs)).map_err(unencodable)?,
            run_id: transition.run_id,
        },
        Write::Cache(entry) => Encoded::Cache(CacheRow::new(entry).map_err(unencodable)?),
        Write::Output(chunk) => Encoded::Output(chunk),
        Write::Used {
            run_id,
            task,
            key,
            at,
        } => Encoded::Used {
            run_id,
            at,
            entry: cache::EntryId::new(task, key),
        },
        Write::Forget { run_id, task, key } => Encoded::Forget {
            run_id,
            entry: cache::EntryId::new(task, key),
        },
        Write::Claim {
            run_id,
            owner,
            lease_until,
        } => Encoded::Claim {
            run_id,
            owner,
            lease_until,
        },
        Write::Renew {
            run_id,
            owner,
            lease_until,
        } => Encoded::Renew {
            run_id,
            owner,
            lease_until,
        },
        Write::Release { run_id } => Encoded::Release { run_id },
        Write::Cancel { run_id } => Encoded::Cancel { run_id },
        Write::Process { run_id, process } => Encoded::Process { run_id, process },
        Write::Spawned { run_id, child } => Encoded::Spawned { run_id, child },
        Write::RunFinished { run_id, status, at } => Encoded::RunFinished {
            run_id,
            status: status.name(),
            at,
        },
    })
}

fn unencodable(error: serde_json::Error) -> StoreError {
    StoreError::Other {
        detail: format!("a write cannot be encoded as JSON: {error}"),
    }
}
