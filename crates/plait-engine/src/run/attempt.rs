//! One task's attempts: isolation, timeout, cancellation, retries with backoff.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use plait_core::{
    BoxFuture, Inputs, Isolation, NodeId, Outputs, TaskContext, TaskError, TaskSlot, TaskState,
    Value,
};
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::cache::{Decision, Keyed};
use super::schedule::RunnerLocal;
use plait_store::CacheEntry;

/// How a task's attempts ended.
pub(super) enum Attempted {
    Succeeded,
    Failed,
    Cancelled,
}

/// How one attempt ended.
pub(crate) enum Outcome {
    Done(Outputs),
    Failed(TaskError),
    Cancelled,
}

pub(super) async fn run_attempts(
    shared: &Arc<Shared>,
    local: &RunnerLocal,
    node: NodeId,
    first_attempt: u32,
) -> Attempted {
    let plan_node = shared.plan.node(node);
    let slot = plan_node.task().expect("only tasks are run");
    let values: Vec<Value> = slot
        .sources
        .iter()
        .map(|&source| shared.value(source))
        .collect();
    let mut keyed = None;
    // The key (or why there is none) recorded with the first intent.
    let mut first_key = None;
    match shared.cache_decision(node, &values).await {
        Decision::Off => {}
        Decision::Uncached(key) => first_key = Some(key),
        Decision::Hit(hit, entry, outputs) => {
            if shared.restore_files(node, &entry, &outputs).await {
                return reuse(shared, node, hit, entry, outputs).await;
            }
            keyed = Some(hit);
        }
        Decision::Run(run) => keyed = Some(run),
    }
    if let Some(keyed) = &keyed {
        first_key = Some(shared.key_record(node, keyed));
        shared.record(node).cache_key = Some(keyed.key.clone());
    }
    let mut inputs = Some(Inputs::new(slot.requires.clone(), values));
    // A revert gets the same inputs, so a task with one keeps them.
    let keep_inputs = slot.task.has_revert();
    let retry = &slot.policy.retry;
    // `claim` made the task running as its first attempt here.
    let mut attempt = first_attempt;
    let last_attempt = first_attempt + retry.attempts.max(1) - 1;
    loop {
        if attempt > first_attempt {
            let mut record = shared.record(node);
            record.attempts = attempt;
            record.state = TaskState::Running;
        }
        // The intent is durable before the task runs: a resume knows it may have started.
        if shared.has_store() && !shared.persist_intent(node, attempt, first_key.take()).await {
            return finish(shared, node, attempt, TaskState::Cancelled, None, inputs).await;
        }
        // With a store, more runners exist than `jobs` (they wait on commits together); only
        // `jobs` execute at once.
        let permit = match &shared.exec_slots {
            Some(slots) => Some(
                slots
                    .acquire()
                    .await
                    .expect("the semaphore is never closed"),
            ),
            None => None,
        };
        if permit.is_some() && shared.is_stopping() {
            return never_started(shared, node, attempt, first_attempt).await;
        }
        shared.emit(node, TaskState::Running, attempt, None);
        let token = shared.attempt_token(node, &slot.policy, local);
        let ctx = TaskContext::new(
            local.run_id.clone(),
            plan_node.path.clone(),
            attempt,
            token.clone(),
        );
        // The last possible attempt takes the inputs; earlier ones need a copy.
        let attempt_inputs = if attempt < last_attempt || keep_inputs {
            inputs.clone()
        } else {
            inputs.take()
        }
        .expect("the inputs are taken by the last attempt only");
        let outcome = attempt_once(slot, ctx, attempt_inputs, &token).await;
        drop(permit);
        let error = match outcome {
            Outcome::Done(outputs) => {
                // Staged, and committed with the first dependent's intent (or at once, see
                // `schedule.rs`): durable before any dependent executes. Unrecorded, the work
                // counts for nothing: a resume runs the task again.
                // Files are kept before any dependent can see them: what the cache keeps is
                // what this task made, not what a dependent changed since.
                // Printed once, for the completion and the cache entry.
                let json = shared.has_store().then(|| {
                    plait_store::Json::serialize(&outputs).expect("outputs have string keys")
                });
                let entry = match (&keyed, &json) {
                    (Some(keyed), Some(json)) => {
                        shared
                            .cache_entry(node, keyed, &outputs, json.clone())
                            .await
                    }
                    _ => None,
                };
                if let Some(json) = json
                    && shared.stage_completion(node, attempt, json)
                    && !shared.commit(node, Vec::new()).await
                {
                    return finish(shared, node, attempt, TaskState::Cancelled, None, inputs).await;
                }
                {
                    let mut record = shared.record(node);
                    record.outputs = Some(outputs);
                    record.state = TaskState::Succeeded;
                    record.finished_at = Some(shared.now());
                    record.released = true;
                    record.inputs = inputs;
                }
                if let Some(entry) = entry {
                    shared.keep_result(entry);
                }
                // With a store, shown once its completion is committed.
                if !shared.has_store() {
                    shared.emit(node, TaskState::Succeeded, attempt, None);
                }
                return Attempted::Succeeded;
            }
            Outcome::Cancelled => {
                return finish(shared, node, attempt, TaskState::Cancelled, None, inputs).await;
            }
            Outcome::Failed(error) => error,
        };
        let may_retry = error.is_retryable() && attempt < last_attempt;
        if !may_retry || shared.is_stopping() {
            return finish(
                shared,
                node,
                attempt,
                TaskState::Failed,
                Some(error),
                inputs,
            )
            .await;
        }
        if shared.has_store()
            && !shared
                .persist(node, TaskState::Retrying, attempt, Some(&error))
                .await
        {
            return finish(
                shared,
                node,
                attempt,
                TaskState::Cancelled,
                Some(error),
                inputs,
            )
            .await;
        }
        shared.record(node).state = TaskState::Retrying;
        shared.emit(node, TaskState::Retrying, attempt, Some(error.clone()));
        let delay = retry.delay(attempt - first_attempt + 1, rand::random::<f64>());
        let cancel = shared.attempt_token(node, &slot.policy, local);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => {
                return finish(shared, node, attempt, TaskState::Cancelled, Some(error), inputs).await;
            }
        }
        attempt += 1;
    }
}

/// An earlier result is reused: staged for the next commit (see `Shared::stage`), then
/// handed to dependents like a fresh one. The task did not run, so it counts no attempt and
/// this run's revert leaves it alone.
async fn reuse(
    shared: &Shared,
    node: NodeId,
    keyed: Keyed,
    entry: CacheEntry,
    outputs: Outputs,
) -> Attempted {
    let writes = shared.reuse_writes(node, keyed, entry);
    if shared.stage(node, writes) && !shared.commit(node, Vec::new()).await {
        let mut record = shared.record(node);
        record.attempts -= 1;
        record.state = TaskState::Cancelled;
        return Attempted::Cancelled;
    }
    let mut record = shared.record(node);
    record.attempts -= 1;
    record.outputs = Some(outputs);
    record.state = TaskState::Succeeded;
    record.finished_at = Some(shared.now());
    record.released = true;
    record.cached = true;
    drop(record);
    // Its `succeeded` is shown once the reuse is committed (see `Shared::stage`).
    Attempted::Succeeded
}

/// The run stopped while the attempt waited for an execution slot: it never started. The
/// store keeps its intent and learns it was cancelled; in memory it is as if it had not been
/// claimed, so this run does not revert what never ran.
async fn never_started(
    shared: &Shared,
    node: NodeId,
    attempt: u32,
    first_attempt: u32,
) -> Attempted {
    if shared.store_failure().is_none() {
        shared
            .persist(node, TaskState::Cancelled, attempt, None)
            .await;
    }
    let mut record = shared.record(node);
    record.attempts = attempt - 1;
    record.state = if attempt == first_attempt {
        TaskState::Pending
    } else {
        TaskState::Cancelled
    };
    if record.attempts == 0 {
        record.started_at = None;
    }
    Attempted::Cancelled
}

async fn finish(
    shared: &Shared,
    node: NodeId,
    attempt: u32,
    state: TaskState,
    error: Option<TaskError>,
    inputs: Option<Inputs>,
) -> Attempted {
    // A broken store is already stopping the run; there is nothing more to record.
    if shared.has_store() && shared.store_failure().is_none() {
        shared.persist(node, state, attempt, error.as_ref()).await;
    }
    {
        let mut record = shared.record(node);
        record.inputs = inputs;
        record.state = state;
        record.error = error.clone();
        record.finished_at = Some(shared.now());
    }
    let event_error = if state == TaskState::Failed {
        error
    } else {
        None
    };
    shared.emit(node, state, attempt, event_error);
    match state {
        TaskState::Cancelled => Attempted::Cancelled,
        _ => Attempted::Failed,
    }
}

/// Executes `slot` once under its isolation and timeout; cancelling `token` stops it (the
/// future dropped, the blocking code's token cancelled, the child's process group killed).
pub(crate) async fn attempt_once(
    slot: &TaskSlot,
    ctx: TaskContext,
    inputs: Inputs,
    token: &CancellationToken,
) -> Outcome {
    let timeout = slot.policy.timeout;
    let future = match std::panic::catch_unwind(AssertUnwindSafe(|| slot.task.execute(ctx, inputs)))
    {
        Ok(future) => future,
        Err(panic) => return Outcome::Failed(panicked(panic)),
    };
    let result = match slot.policy.isolation {
        Isolation::Async => run_async(future, timeout, token).await,
        Isolation::Subprocess => run_to_exit(future, timeout, token).await,
        Isolation::Blocking => run_blocking(future, timeout, token).await,
    };
    match result {
        Some(Ok(outputs)) => match outputs.into_declared(&slot.provides) {
            Ok(outputs) => Outcome::Done(outputs),
            Err(error) => Outcome::Failed(error),
        },
        // A task that fails once it was told to stop failed because it was stopped (a child
        // killed by the engine reports an error): that is a cancellation, not a failure.
        Some(Err(error)) if token.is_cancelled() && !error.is_timeout() => Outcome::Cancelled,
        Some(Err(error)) => Outcome::Failed(error),
        None => Outcome::Cancelled,
    }
}

type Execution = BoxFuture<Result<Outputs, TaskError>>;

/// Polls the task's future here; on timeout or cancellation the future is dropped, which is
/// how async work is cancelled. The token is shared with the rest of the run, so it is only
/// listened to, never cancelled, here.
async fn run_async(
    future: Execution,
    timeout: Option<Duration>,
    token: &CancellationToken,
) -> Option<Result<Outputs, TaskError>> {
    let guarded = AssertUnwindSafe(future).catch_unwind();
    tokio::select! {
        // The task first: most finish on their first poll, before anything else is set up.
        biased;
        result = guarded => Some(result.unwrap_or_else(|panic| Err(panicked(panic)))),
        () = token.cancelled() => None,
        () = sleep_opt(timeout) => Some(Err(TaskError::timeout(timeout.unwrap_or_default()))),
    }
}

/// A subprocess stops gracefully (TERM, grace period, KILL) when its token is cancelled, so
/// on timeout or cancellation the future is cancelled and then awaited to the child's end.
async fn run_to_exit(
    future: Execution,
    timeout: Option<Duration>,
    token: &CancellationToken,
) -> Option<Result<Outputs, TaskError>> {
    let mut guarded = AssertUnwindSafe(future).catch_unwind();
    let timed_out = tokio::select! {
        result = &mut guarded => return Some(result.unwrap_or_else(|panic| Err(panicked(panic)))),
        () = token.cancelled() => false,
        () = sleep_opt(timeout) => true,
    };
    token.cancel();
    let _ = guarded.await;
    if timed_out {
        Some(Err(TaskError::timeout(timeout.unwrap_or_default())))
    } else {
        None
    }
}

/// Blocking code runs on tokio's blocking pool. A thread cannot be stopped from outside: on
/// timeout or cancellation its token is cancelled and its result, whenever it comes, ignored.
async fn run_blocking(
    future: Execution,
    timeout: Option<Duration>,
    token: &CancellationToken,
) -> Option<Result<Outputs, TaskError>> {
    let handle = tokio::task::spawn_blocking(move || futures::executor::block_on(future));
    tokio::select! {
        biased;
        () = token.cancelled() => None,
        joined = handle => Some(match joined {
            Ok(result) => result,
            Err(error) if error.is_panic() => Err(panicked(error.into_panic())),
            Err(error) => Err(TaskError::permanent(format!("the blocking thread stopped: {error}"))),
        }),
        () = sleep_opt(timeout) => {
            token.cancel();
            Some(Err(TaskError::timeout(timeout.unwrap_or_default())))
        }
    }
}

async fn sleep_opt(duration: Option<Duration>) {
    match duration {
        Some(duration) => tokio::time::sleep(duration).await,
        None => std::future::pending().await,
    }
}

fn panicked(panic: Box<dyn std::any::Any + Send>) -> TaskError {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned());
    TaskError::permanent(format!("panicked: {message}"))
}
