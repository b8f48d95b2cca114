//! The public entry point: an [`Engine`] runs [`Plan`]s.

use std::sync::Arc;

use plait_core::{Plan, Value};
use tokio_util::sync::CancellationToken;

use crate::clock::{Clock, SystemClock};
use crate::event::Observer;
use crate::report::{RunError, RunReport};
use crate::run;
use plait_store::Store;

/// Runs plans. Cheap to clone; one engine can run many plans at once.
#[derive(Clone, Debug)]
pub struct Engine {
    jobs: usize,
    clock: Arc<dyn Clock>,
    store: Option<Arc<dyn Store>>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// An engine running at most as many tasks at once as the machine has cores.
    pub fn new() -> Self {
        let jobs = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        Engine {
            jobs,
            clock: Arc::new(SystemClock),
            store: None,
        }
    }

    /// At most `jobs` task attempts (and reverts) at once; at least one.
    pub fn with_jobs(mut self, jobs: usize) -> Self {
        self.jobs = jobs.max(1);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Records every run in `store`: each task's intent before it executes, its completion
    /// (with its outputs) before any dependent starts, every other transition as it happens.
    /// The store also keeps results for reuse: a task whose key (its code, version and input
    /// values) matches an earlier result is not executed again (see `docs/cache.md`).
    pub fn with_store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    pub fn jobs(&self) -> usize {
        self.jobs
    }

    /// Runs `plan` with `inputs` to the end: success, a reverted failure, or cancellation.
    /// Must be called within a tokio runtime; tasks run on that runtime. Refuses to start
    /// when an input is missing or of the wrong type, or a `file` input names nothing.
    pub async fn run<K, V>(
        &self,
        plan: &Arc<Plan>,
        inputs: impl IntoIterator<Item = (K, V)>,
        options: RunOptions,
    ) -> Result<RunReport, RunError>
    where
        K: Into<Arc<str>>,
        V: Into<Value>,
    {
        let inputs = crate::inputs::resolve_inputs(plan, inputs)?;
        crate::inputs::check_files(plan, &inputs)?;
        let run_id: Arc<str> = match &options.run_id {
            Some(id) => id.as_str().into(),
            None => new_run_id().into(),
        };
        run::execute(plan.clone(), inputs, self.config(run_id, options), None).await
    }
}

/// A fresh run id: a UUID v7, so ids sort by when the runs started.
pub fn new_run_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// What a store records about where a run's plan came from, so it can be shown and a
/// resume can tell whether it changed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunDefinition {
    pub workflow: String,
    /// Where it came from: a file path, or a description.
    pub source: String,
    /// The definition as written (a workflow file's text).
    pub text: String,
    pub hash: String,
}

impl Engine {
    fn config(&self, run_id: Arc<str>, options: RunOptions) -> run::RunConfig {
        run::RunConfig {
            run_id,
            jobs: self.jobs,
            clock: self.clock.clone(),
            observer: options.observer,
            cancel: options.cancel,
            store: self.store.clone(),
            definition: options.definition,
            reuse_cached: !options.no_cache,
            output_limit: options.output_limit.unwrap_or(DEFAULT_OUTPUT_LIMIT),
        }
    }

    /// Continues the recorded run `record` of `plan`: tasks whose completion was recorded are
    /// not executed again, tasks that started without completing run again, and a run that
    /// was failing or reverting keeps reverting. The caller checks that `plan` is the
    /// definition the run started with, and chooses the options: `record.settings` holds
    /// those the run started with (its jobs, `no_cache`), for a resume to keep.
    pub async fn resume(
        &self,
        plan: &Arc<Plan>,
        record: &plait_store::RunRecord,
        options: RunOptions,
    ) -> Result<RunReport, RunError> {
        if let plait_store::RunState::Finished(status) = record.summary.state {
            return Err(RunError::Ended {
                run_id: record.summary.run_id.as_str().into(),
                status,
            });
        }
        let recorded = record.inputs.as_object().cloned().unwrap_or_default();
        let mut inputs: Vec<(Arc<str>, Value)> = Vec::new();
        for input in plan.inputs() {
            let Some(json) = recorded.get(&*input.name) else {
                continue;
            };
            let value = input
                .ty
                .value_from_json(json)
                .map_err(|mismatch| RunError::InputType {
                    name: input.name.clone(),
                    mismatch,
                })?;
            inputs.push((input.name.clone(), value));
        }
        let inputs = crate::inputs::resolve_inputs(plan, inputs)?;
        let config = self.config(record.summary.run_id.as_str().into(), options);
        run::execute(
            plan.clone(),
            inputs,
            config,
            Some(run::Prior::from_record(record, plan.on_failure())),
        )
        .await
    }
}

/// Per-run settings.
#[derive(Clone, Default)]
pub struct RunOptions {
    /// Recorded with the run when the engine has a store.
    pub definition: Option<RunDefinition>,
    /// Default: a fresh UUIDv7.
    pub run_id: Option<String>,
    pub observer: Option<Arc<dyn Observer>>,
    /// Cancelling it stops the run: running tasks are cancelled, completed ones reverted.
    pub cancel: CancellationToken,
    /// Execute every task even where the store has a result for the same key; the new
    /// results replace the old ones.
    pub no_cache: bool,
    /// With a store, each attempt's stdout and stderr (a command's pipes, a task's
    /// `ctx.log` lines) keep their last this many bytes; `Some(0)` keeps none. Default:
    /// [`DEFAULT_OUTPUT_LIMIT`].
    pub output_limit: Option<u64>,
}

/// How much of each attempt's stdout and of its stderr a store keeps unless told otherwise:
/// their last 1 MiB.
pub const DEFAULT_OUTPUT_LIMIT: u64 = 1024 * 1024;

impl std::fmt::Debug for RunOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("run_id", &self.run_id)
            .field("observer", &self.observer.is_some())
            .field("cancel", &self.cancel)
            .field("definition", &self.definition)
            .field("no_cache", &self.no_cache)
            .field("output_limit", &self.output_limit)
            .finish()
    }
}

impl RunOptions {
    pub fn new() -> Self {
        RunOptions::default()
    }

    pub fn run_id(mut self, run_id: impl Into<String>) -> Self {
        self.run_id = Some(run_id.into());
        self
    }

    pub fn observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn definition(mut self, definition: RunDefinition) -> Self {
        self.definition = Some(definition);
        self
    }

    pub fn cancel(mut self, cancel: CancellationToken) -> Self {
        self.cancel = cancel;
        self
    }

    /// See [`RunOptions::no_cache`].
    pub fn no_cache(mut self, no_cache: bool) -> Self {
        self.no_cache = no_cache;
        self
    }

    /// See [`RunOptions::output_limit`].
    pub fn output_limit(mut self, bytes: u64) -> Self {
        self.output_limit = Some(bytes);
        self
    }
}
