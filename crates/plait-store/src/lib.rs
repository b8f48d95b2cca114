//! What plait persists, and the trait the engine persists it through.
//!
//! The engine knows a store only as [`Store`]: it records a run's intent before a task
//! executes and its completion before any dependent starts, so a killed run can resume where
//! it stopped. Implementations: [`MemoryStore`] here (tests, `--store :memory:`), SQLite in
//! `plait-store-sqlite` (the default), PostgreSQL later. See `docs/store.md`.

pub mod blobs;
mod cache;
mod error;
mod json;
mod lifecycle;
mod memory;
mod record;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use cache::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheStats, EntryUse, TaskKey, USE_RESOLUTION,
};
pub use error::StoreError;
pub use json::Json;
pub use lifecycle::RecordedStates;
pub use memory::MemoryStore;
pub use record::{
    Millis, NewRun, Owner, RunRecord, RunState, RunSummary, TaskFold, TaskRecord, Transition, Write,
};

use std::path::PathBuf;

use futures::future::BoxFuture;

/// Where runs are recorded.
///
/// Every method is asynchronous and returns only once its effect is durable (or known to have
/// failed). Implementations batch concurrent [`Store::write`] calls into one commit (group
/// commit), so many tasks finishing at once cost one sync, not one each.
pub trait Store: Send + Sync + std::fmt::Debug + 'static {
    /// Records a new run. Fails with [`StoreError::DuplicateRun`] if the id is taken.
    fn create_run(&self, run: NewRun) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Commits `writes` atomically. Every run they name must exist. Requests commit in the
    /// order the calls were made (a call made after another returned its future commits
    /// no earlier than that one), though the futures may be awaited in any order.
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Everything known of one run.
    fn run(&self, run_id: &str) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>>;

    /// Every run, newest first.
    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunSummary>, StoreError>>;

    /// The cached result for `key`, computed by `task` (by path), if any. A key is computed
    /// over its task's identity, so it belongs to one task; a store may index entries by
    /// task. Entries are written by [`Write::Cache`] and removed by [`Write::Forget`] and
    /// [`Store::cache_gc`].
    fn cache_get(
        &self,
        task: &str,
        key: &str,
    ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>>;

    /// Every entry computed by one of `tasks` (by path): a run reads its candidates once,
    /// instead of asking once per task. A store may read them in parts: an entry written or
    /// replaced meanwhile may then be missed or come back twice (any of them is a result
    /// for its key).
    fn cache_entries_of(
        &self,
        tasks: Vec<String>,
    ) -> BoxFuture<'static, Result<Vec<CacheEntry>, StoreError>>;

    /// Keeps a copy of the file at `path`, for a cache entry to name.
    fn put_blob(&self, path: PathBuf) -> BoxFuture<'static, Result<Blob, StoreError>>;

    /// Puts a kept file back at `to`; `false` if the store no longer has it intact.
    fn restore_blob(&self, blob: Blob, to: PathBuf)
    -> BoxFuture<'static, Result<bool, StoreError>>;

    fn cache_stats(&self) -> BoxFuture<'static, Result<CacheStats, StoreError>>;

    /// Removes entries as `gc` says (see [`CacheGc::select`]), then the files no remaining
    /// entry names.
    fn cache_gc(&self, gc: CacheGc) -> BoxFuture<'static, Result<CacheGcReport, StoreError>>;
}

/// Whether the process that owns a run is still alive, for telling `running` from
/// `interrupted`. A run owned by another host is taken to be alive: only a store that many
/// hosts share can tell, with leases (the job board).
pub fn owner_alive(owner: &Owner, this_host: &str) -> bool {
    if owner.host != this_host {
        return true;
    }
    // Alive: /proc has it, it is not a zombie, and it is the same process (start time).
    match process_start(owner.pid) {
        Some(started) => started == owner.started,
        None => false,
    }
}

/// The start time of a live (not zombie) process, from `/proc/PID/stat`.
fn process_start(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is the first, start time the 20th.
    let (_, rest) = stat.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if matches!(fields.first(), Some(&("Z" | "X"))) {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// This machine's name, as recorded in [`Owner::host`] (read once: listing runs asks for
/// every unfinished one).
pub fn host_name() -> String {
    static NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|name| name.trim().to_owned())
            .unwrap_or_else(|_| "localhost".to_owned())
    })
    .clone()
}

/// The current process as an owner.
pub fn this_process() -> Owner {
    let pid = std::process::id();
    Owner {
        host: host_name(),
        pid,
        started: process_start(pid).unwrap_or(0),
    }
}
