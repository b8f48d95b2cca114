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
) -> Attempted {
    let plan_node = shared.graph.node(node);
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
        shared.record(node).rare().cache_key = Some(keyed.key.clone());
    }
    let mut inputs = Some(Inputs::new(slot.requires_ports(), values));
    // A revert gets the same inputs, so a task with one keeps them.
    let keep_inputs = slot.task.has_revert();
    let retry = &slot.policy.retry;
    // Attempts count on across restarts of a retried flow.
    let first_attempt = shared.record(node).life.attempts() + 1;
    let last_attempt = first_attempt + retry.attempts.max(1) - 1;
    loop {
        // The intent is durable before the task runs: a resume knows it may have started.
        let attempt = shared.step_intent(node, first_key.take());
        if !shared.commit(node).await {
            return Attempted::Cancelled;
        }
        // With a store, more runners exist than `jobs` (they wait on commits together); only
        // `jobs` execute at once.
        let held = match &shared.sched.slots {
            Some(slots) => Some(slots.acquire().await),
            None => None,
        };
        if let Some(held) = &held {
            if shared.is_stopping() {
                return never_started(shared, node, attempt, inputs).await;
            }
            shared.record(node).rare().ran = Some(plait_store::Ran {
                slot: held.number,
                since: super::persist::millis(shared.now()),
            });
        }
        shared.show_started(node, attempt);
        let token = shared.attempt_token(node, &slot.policy, local);
        let mut ctx = TaskContext::new(
            local.run_id.clone(),
            plan_node.path.clone(),
            attempt,
            token.clone(),
        );
        if let Some(groups) = &local.child_groups {
            ctx = ctx.with_child_groups(groups.clone());
        }
        if let Some(sink) = shared.output_sink() {
            ctx = ctx.with_output(sink);
        }
        if let Some(children) = super::spawn::ParentHost::for_task(shared, node) {
            ctx = ctx.with_children(children);
        }
        // The last possible attempt takes the inputs; earlier ones need a copy.
        let attempt_inputs = if attempt < last_attempt || keep_inputs {
            inputs.clone()
        } else {
            inputs.take()
        }
        .expect("the inputs are taken by the last attempt only");
        let outcome = attempt_once(slot, ctx, attempt_inputs, &token).await;
        drop(held);
        // A parent that did not succeed takes the children still running with it (the
        // token is its attempt's own: see `attempt_token`).
        if !matches!(outcome, Outcome::Done(_)) && shared.spawns(node) {
            token.cancel();
        }
        // Recorded with the step that ends the attempt, whichever it is.
        shared.stage_output(node, attempt);
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
                {
                    let mut record = shared.record(node);
                    record.outputs = Some(outputs);
                    record.finished_at = Some(shared.now());
                    record.released = true;
                    record.set_inputs(inputs);
                }
                if shared.step_completed(node, json) && !shared.commit(node).await {
                    return Attempted::Cancelled;
                }
                if let Some(entry) = entry {
                    shared.keep_result(entry);
                }
                return Attempted::Succeeded;
            }
            Outcome::Cancelled => {
                return finish(shared, node, TaskState::Cancelled, None, inputs).await;
            }
            Outcome::Failed(error) => error,
        };
        let may_retry = error.is_retryable() && attempt < last_attempt;
        if !may_retry || shared.is_stopping() {
            return finish(shared, node, TaskState::Failed, Some(error), inputs).await;
        }
        shared.step(node, TaskState::Retrying, Some(&error));
        if !shared.commit(node).await {
            return Attempted::Cancelled;
        }
        let delay = retry.delay(attempt - first_attempt + 1, rand::random::<f64>());
        let cancel = shared.attempt_token(node, &slot.policy, local);
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = cancel.cancelled() => {
                return finish(shared, node, TaskState::Cancelled, Some(error), inputs).await;
            }
        }
    }
}

/// An earlier result is reused: staged for the next commit (see `Shared::step`), then
/// handed to dependents like a fresh one. The task did not run, so it counts no attempt and
/// this run's revert leaves it alone.
async fn reuse(
    shared: &Shared,
    node: NodeId,
    keyed: Keyed,
    entry: CacheEntry,
    outputs: Outputs,
) -> Attempted {
    {
        let mut record = shared.record(node);
        record.outputs = Some(outputs);
        record.finished_at = Some(shared.now());
        record.released = true;
        record.cached = true;
    }
    let writes = shared.reuse_writes(node, keyed, entry);
    if shared.step_reused(node, writes) && !shared.commit(node).await {
        return Attempted::Cancelled;
    }
    Attempted::Succeeded
}

/// The run stopped while the attempt waited for an execution slot: it never started. The
/// store keeps its intent and learns it was cancelled; the attempt does not count, so this
/// run does not revert what never ran (an earlier attempt did run: its revert gets the
/// inputs).
async fn never_started(
    shared: &Shared,
    node: NodeId,
    attempt: u32,
    inputs: Option<Inputs>,
) -> Attempted {
    // Its `running` (recorded with the intent, shown when a slot is taken) is shown now, so
    // the events follow the lifecycle the record does: running, then cancelled.
    shared.show_started(node, attempt);
    {
        let mut record = shared.record(node);
        record.set_inputs(inputs);
        record.life.forget_attempt();
        if record.life.attempts() == 0 {
            record.started_at = None;
        }
    }
    // Recorded with the attempts that did run, so a resume does not revert it either.
    shared.step(node, TaskState::Cancelled, None);
    shared.commit(node).await;
    Attempted::Cancelled
}

/// The task ends failed or cancelled.
async fn finish(
    shared: &Shared,
    node: NodeId,
    state: TaskState,
    error: Option<TaskError>,
    inputs: Option<Inputs>,
) -> Attempted {
    {
        let mut record = shared.record(node);
        record.set_inputs(inputs);
        record.set_error(error.clone());
        record.finished_at = Some(shared.now());
    }
    shared.step(node, state, error.as_ref());
    shared.commit(node).await;
    match state {
        TaskState::Cancelled => Attempted::Cancelled,
        _ => Attempted::Failed,
    }
}
