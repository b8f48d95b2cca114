//! What plait persists, and the trait the engine persists it through.
//!
//! The engine knows a store only as [`Store`]: it records a run's intent before a task
//! executes and its completion before any dependent starts, so a killed run can resume where
//! it stopped. Implementations: [`MemoryStore`] here (tests, `--store :memory:`), SQLite in
//! `plait-store-sqlite` (the default), PostgreSQL later. See `docs/store.md`.

pub mod blobs;
mod cache;
mod error;
mod ids;
mod json;
mod lifecycle;
mod memory;
mod output;
mod ownership;
mod record;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use cache::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheStats, EntryUse, TaskKey, USE_RESOLUTION,
};
pub use error::StoreError;
pub use ids::{CacheKey, RunId, TaskPath};
pub use json::Json;
pub use lifecycle::RecordedStates;
pub use memory::MemoryStore;
pub use output::{KeptOutput, Output, OutputChunk, OutputInfo};
pub use ownership::{LEASE, claim_refused, now_millis, owner_alive, renew_refused, this_process};
pub use plait_core::OutputStream;
pub use record::{
    Millis, NewRun, Owner, Ran, RunRecord, RunSettings, RunState, RunSummary, SpawnedChild,
    TaskFold, TaskProcess, TaskRecord, Transition, Write,
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
    fn run(&self, run_id: &RunId) -> BoxFuture<'static, Result<Option<RunRecord>, StoreError>>;

    /// Every run, newest first.
    fn runs(&self) -> BoxFuture<'static, Result<Vec<RunSummary>, StoreError>>;

    /// The cached result for `key`, computed by `task` (by path), if any. A key is computed
    /// over its task's identity, so it belongs to one task; a store may index entries by
    /// task. Entries are written by [`Write::Cache`] and removed by [`Write::Forget`] and
    /// [`Store::cache_gc`].
    fn cache_get(
        &self,
        task: &TaskPath,
        key: &CacheKey,
    ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>>;

    /// Every entry computed by one of `tasks` (by path): a run reads its candidates once,
    /// instead of asking once per task. A store may read them in parts: an entry written or
    /// replaced meanwhile may then be missed or come back twice (any of them is a result
    /// for its key).
    fn cache_entries_of(
        &self,
        tasks: Vec<TaskPath>,
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

    /// What is kept of an attempt's stream from offset `from` on (written by
    /// [`Write::Output`]); `None` if the attempt wrote nothing to it. A follower reads again
    /// from the returned [`Output::end`]; whether the attempt still runs is its task's record
    /// ([`RunRecord::attempt_running`]).
    fn output(
        &self,
        run_id: &RunId,
        task: &TaskPath,
        attempt: u32,
        stream: OutputStream,
        from: u64,
    ) -> BoxFuture<'static, Result<Option<Output>, StoreError>>;

    /// Every attempt's stream of the run that has output, by task, attempt and stream.
    fn outputs(&self, run_id: &RunId) -> BoxFuture<'static, Result<Vec<OutputInfo>, StoreError>>;
}
