//! One attempt of a task: its isolation, its timeout and its cancellation, ending in an
//! [`Outcome`]. Batch runs wrap it in their retry loop; live flows call it per execution.

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures::FutureExt;
use plait_core::{BoxFuture, Inputs, Isolation, Outputs, TaskContext, TaskError, TaskSlot};
use tokio_util::sync::CancellationToken;

/// How one attempt ended.
pub(crate) enum Outcome {
    Done(Outputs),
    Failed(TaskError),
    Cancelled,
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
        Some(Ok(outputs)) => match outputs.into_declared(slot.provides()) {
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
    TaskError::permanent(format!("panicked: {}", panic_message(&*panic)))
}

/// What a panic said, if it said it in text.
pub(crate) fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string payload".to_owned())
}
