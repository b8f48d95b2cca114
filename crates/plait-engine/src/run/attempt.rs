//! One task's attempts: isolation, timeout, cancellation, retries with backoff.

use std::sync::Arc;

use plait_core::{Inputs, NodeId, Outputs, TaskContext, TaskError, TaskState, Value};

use super::Shared;
use super::cache::{Decision, Keyed};
use super::schedule::RunnerLocal;
use crate::attempt::{Outcome, attempt_once};
use plait_store::CacheEntry;

/// How a task's attempts ended.
pub(super) enum Attempted {
    Succeeded,
    Failed,
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
