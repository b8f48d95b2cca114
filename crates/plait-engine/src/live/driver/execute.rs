//! Executions: starting ready tasks within `jobs`, polling each once in place, cancelling a
//! stale one, and taking a finished one's outcome.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plait_core::{Inputs, NodeId, Outputs, TaskContext, TaskError, TaskState, Value};
use tokio_util::sync::CancellationToken;

use super::{Done, Driver, Queued, Results, task_slot};
use crate::attempt::{Outcome, attempt_once};
use crate::live::publish::{LiveEvent, LiveFailure};
use crate::live::same::{same_value, same_values};

impl Driver {
    pub(super) fn cancel(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        if let Some(token) = state.token.take() {
            token.cancel();
        }
        state.cancelled = true;
        // A later report of this execution is stale.
        state.execution = 0;
        self.step(node, &[TaskState::Cancelled]);
        let state = &mut self.nodes[node as usize];
        self.running -= 1;
        self.board.cancelled.fetch_add(1, Ordering::Relaxed);
        let revision = state.running_revision;
        self.log(|| LiveEvent::Cancelled {
            revision,
            task: self.path(node),
        });
    }

    pub(super) fn start_ready(&mut self) {
        while self.running < self.jobs {
            let Some(Queued {
                node,
                execution,
                inputs,
            }) = self.ready.pop_front()
            else {
                break;
            };
            let state = &self.nodes[node as usize];
            // Not ready any more, an older entry of a node queued again, or one now waiting
            // in `deferred`.
            if state.state() != TaskState::Ready || state.execution != execution || state.cancelled
            {
                continue;
            }
            let inputs = match inputs {
                Some(inputs) => inputs,
                None => {
                    let plan = self.graph.plan.clone();
                    match self.gather(task_slot(&plan, node), None) {
                        Ok(inputs) => inputs,
                        Err(_) => unreachable!("a ready node's inputs are values"),
                    }
                }
            };
            self.spawn(node, execution, inputs, false);
        }
    }

    /// A number no execution had.
    pub(super) fn new_execution(&mut self) -> u64 {
        self.next_execution += 1;
        self.next_execution
    }

    pub(super) fn spawn(&mut self, node: NodeId, execution: u64, inputs: Vec<Value>, event: bool) {
        let token = Arc::new(CancellationToken::new());
        if event {
            self.next_event(node);
            self.step(node, &[TaskState::Ready]);
        }
        self.step(node, &[TaskState::Running]);
        let state = &mut self.nodes[node as usize];
        state.execution = execution;
        state.token = Some(token.clone());
        state.running_revision = self.revision;
        self.running += 1;
        self.board.started.fetch_add(1, Ordering::Relaxed);
        let revision = self.revision;
        self.log(|| LiveEvent::Started {
            revision,
            task: self.path(node),
        });
        let path = self.path(node);
        let ctx = TaskContext::new(self.run_id.clone(), path, 1, token.clone());
        let kept = (!event).then(|| inputs.clone());
        // The future owns the plan and borrows the slot from it: cheaper than a copy of
        // the slot per execution.
        let plan = self.graph.plan.clone();
        let task_inputs = Inputs::new(task_slot(&plan, node).requires_ports(), inputs);
        let mut attempt = Box::pin(async move {
            attempt_once(task_slot(&plan, node), ctx, task_inputs, &token).await
        });
        // Polled here first: most in-process tasks finish on their first poll, and then
        // cost no spawn and no trip through the channel. A pending one moves to its own
        // task, whose first poll gives it the real waker (a future must accept a new one).
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match attempt.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(outcome) => self.finish(Done {
                node,
                execution,
                outcome,
                inputs: kept,
                contents: None,
            }),
            std::task::Poll::Pending => {
                let done = self.done_tx.clone();
                tokio::spawn(async move {
                    let outcome = attempt.await;
                    let _ = done.send(Done {
                        node,
                        execution,
                        outcome,
                        inputs: kept,
                        contents: None,
                    });
                });
            }
        }
    }

    /// An execution ended.
    pub(super) fn finish(&mut self, done: Done) {
        let node = done.node;
        if self.nodes[node as usize].execution != done.execution {
            // Cancelled by a newer revision: already counted, its result is stale.
            return;
        }
        // A state node's `file` outputs are compared by content: hashed first. An event
        // node's outputs are never compared.
        if done.contents.is_none() && !self.nodes[node as usize].is_event && gave_files(&done) {
            self.hash_files(done);
            return;
        }
        self.running -= 1;
        let state = &mut self.nodes[node as usize];
        state.token = None;
        state.cancelled = false;
        state.execution = 0;
        // Only outputs become values (see `failure`).
        let failed = !matches!(done.outcome, Outcome::Done(_));
        let ended = if failed {
            TaskState::Failed
        } else {
            TaskState::Succeeded
        };
        self.step(node, &[ended]);
        self.board.finished.fetch_add(1, Ordering::Relaxed);
        if self.nodes[node as usize].is_event {
            let results = self.event_results(node, done.outcome);
            self.finish_event(node, results);
            return;
        }
        let changed = self.keep_results(node, done.outcome, done.contents);
        // A failure is kept like a value: the task runs again when an input changes.
        let state = &mut self.nodes[node as usize];
        state.executed = state.results.clone();
        keep_inputs(&mut state.executed_with, done.inputs);
        self.log_finished(node, changed, failed);
        self.settle(node, changed);
    }

    /// Logs the end of `node`'s execution, tagged with the revision it computed.
    pub(super) fn log_finished(&self, node: NodeId, changed: bool, failed: bool) {
        let revision = self.nodes[node as usize].running_revision;
        self.log(|| LiveEvent::Finished {
            revision,
            task: self.path(node),
            changed,
            failed,
        });
    }

    /// Hashes a finished execution's `file` outputs on a blocking thread and reports the
    /// execution again with their hashes: reading files must not hold up the driver. The execution
    /// keeps its job slot meanwhile, and a change that reaches the node cancels it as it
    /// would a running one (its report is then stale).
    fn hash_files(&self, mut done: Done) {
        let hashes = self.file_hashes.clone();
        let report = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            if let Outcome::Done(outputs) = &done.outcome {
                let contents = outputs.iter().map(|(_, value)| match value {
                    Value::File(path) => hashes.hash_blocking(path).ok(),
                    _ => None,
                });
                done.contents = Some(contents.collect());
            }
            let _ = report.send(done);
        });
    }

    /// Takes a state node's execution outcome as its results, and says whether they changed.
    /// Values that are the same as before stay as they were, so later comparisons are by
    /// pointer.
    ///
    /// Outputs are written into the allocation the node already holds, when no one shares it
    /// and it has as many ports. Why: in a large flow a node's results were allocated long
    /// ago, among other nodes', in memory now cold. Freeing them there and keeping a new
    /// allocation made the allocator touch a cold page for each execution, and later
    /// allocations come from those scattered pages: about a fifth of a change's time at
    /// 1,000,000 tasks. Written in place, the outputs also cost no allocation of their own.
    fn keep_results(
        &mut self,
        node: NodeId,
        outcome: Outcome,
        mut contents: Option<Vec<Option<String>>>,
    ) -> bool {
        let state = &mut self.nodes[node as usize];
        // The last execution's reference to the results goes first, so they can be
        // rewritten in place; the caller sets it again.
        state.executed = None;
        let Outcome::Done(outputs) = &outcome else {
            let failure = self.failure(node, outcome);
            return keep_failure(&mut self.nodes[node as usize].results, failure);
        };
        let files = &mut self.files;
        let fresh = (0..outputs.len()).map(|idx| {
            let value = output_at(outputs, idx);
            match contents.as_mut() {
                Some(contents) => files.canonical(value, contents[idx].take()),
                None => value,
            }
        });
        keep_values(&mut state.results, fresh)
    }

    /// An event node's execution's outputs, or its failure. Its `file` values are taken as
    /// they are: an event node's outputs are never compared, so never hashed.
    fn event_results(&self, node: NodeId, outcome: Outcome) -> Results {
        match outcome {
            Outcome::Done(outputs) => Ok((0..outputs.len())
                .map(|idx| output_at(&outputs, idx))
                .collect()),
            failed => Err(self.failure(node, failed)),
        }
    }

    /// The failure an execution that gave no outputs ended in.
    fn failure(&self, node: NodeId, outcome: Outcome) -> LiveFailure {
        let error = match outcome {
            Outcome::Failed(error) => error,
            // Only this execution's own token could have stopped it, and the driver cancels
            // that only with the execution it makes stale, whose report it never reads: a
            // task that gave up on its own says so as a failure.
            Outcome::Cancelled => {
                TaskError::permanent("the task stopped as cancelled, though nothing cancelled it")
            }
            Outcome::Done(_) => unreachable!("outputs are not a failure"),
        };
        LiveFailure {
            task: self.path(node),
            error,
        }
    }
}

/// Whether a finished execution gave a `file` value.
fn gave_files(done: &Done) -> bool {
    match &done.outcome {
        Outcome::Done(outputs) => outputs
            .iter()
            .any(|(_, value)| matches!(value, Value::File(_))),
        _ => false,
    }
}

/// Output `idx` of an execution's outputs, which are in declared order.
fn output_at(outputs: &Outputs, idx: usize) -> Value {
    outputs
        .value_at(idx)
        .expect("outputs are in declared order")
        .clone()
}

/// Takes an execution's output values as the results in `slot`, and says whether they
/// changed: in place when no one shares the old values and they are as many (see
/// `Driver::keep_results`), where each value that is the same as before stays as it was;
/// otherwise as a new allocation, unless every value is the same.
fn keep_values(slot: &mut Option<Results>, fresh: impl ExactSizeIterator<Item = Value>) -> bool {
    if let Some(Ok(old)) = slot
        && let Some(old) = Arc::get_mut(old)
        && old.len() == fresh.len()
    {
        let mut changed = false;
        for (kept, value) in old.iter_mut().zip(fresh) {
            if !same_value(kept, &value) {
                *kept = value;
                changed = true;
            }
        }
        return changed;
    }
    let fresh: Arc<[Value]> = fresh.collect();
    let changed = !matches!(slot, Some(Ok(old)) if same_values(old, &fresh));
    if changed {
        *slot = Some(Ok(fresh));
    }
    changed
}

/// Takes a failure as the results in `slot`, and says whether they changed.
pub(super) fn keep_failure(slot: &mut Option<Results>, failure: LiveFailure) -> bool {
    let changed = !matches!(slot, Some(Err(old)) if old.same(&failure));
    if changed {
        *slot = Some(Err(failure));
    }
    changed
}

/// Stores the inputs an execution ran with, into the node's old vector when it has as
/// many, for the reason `Driver::keep_results` gives.
fn keep_inputs(slot: &mut Option<Vec<Value>>, fresh: Option<Vec<Value>>) {
    match (slot.as_mut(), fresh) {
        (Some(old), Some(mut new)) if old.len() == new.len() => old.swap_with_slice(&mut new),
        (_, fresh) => *slot = fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ints(values: &[i64]) -> Results {
        Ok(values.iter().map(|&v| Value::Int(v)).collect())
    }

    fn fresh(values: &[i64]) -> impl ExactSizeIterator<Item = Value> {
        values.iter().copied().map(Value::Int)
    }

    fn values(results: &Option<Results>) -> Vec<i64> {
        match results {
            Some(Ok(values)) => values.iter().filter_map(Value::as_int).collect(),
            other => panic!("not values: {other:?}"),
        }
    }

    fn allocation(results: &Option<Results>) -> *const [Value] {
        match results {
            Some(Ok(values)) => Arc::as_ptr(values),
            other => panic!("not values: {other:?}"),
        }
    }

    #[test]
    fn unshared_results_of_the_same_length_are_rewritten_in_place() {
        let mut slot = Some(ints(&[1, 2]));
        let before = allocation(&slot);
        assert!(keep_values(&mut slot, fresh(&[3, 4])));
        assert_eq!(values(&slot), [3, 4]);
        assert_eq!(allocation(&slot), before, "the old allocation is kept");
        assert!(!keep_values(&mut slot, fresh(&[3, 4])), "the same values");
        assert_eq!(allocation(&slot), before);
    }

    #[test]
    fn a_value_that_is_the_same_stays_as_it_was() {
        let text = Value::json(serde_json::json!({"a": 1}));
        let mut slot = Some(Ok(Arc::from([text.clone(), Value::Int(1)])));
        let again = Value::json(serde_json::json!({"a": 1}));
        assert!(keep_values(&mut slot, [again, Value::Int(2)].into_iter()));
        let Some(Ok(kept)) = &slot else {
            unreachable!()
        };
        let (Value::Json(kept), Value::Json(text)) = (&kept[0], &text) else {
            unreachable!()
        };
        assert!(Arc::ptr_eq(kept, text), "compared by pointer from now on");
    }

    #[test]
    fn shared_or_resized_results_and_failures_are_replaced() {
        // Shared: the other holder keeps what it had.
        let old = ints(&[1]);
        let mut slot = Some(old.clone());
        assert!(keep_values(&mut slot, fresh(&[2])));
        assert_eq!(values(&slot), [2]);
        assert_eq!(values(&Some(old.clone())), [1]);
        // Shared and the same: kept.
        let mut slot = Some(old.clone());
        assert!(!keep_values(&mut slot, fresh(&[1])));
        assert_eq!(allocation(&slot), allocation(&Some(old)));
        // Another length.
        let mut slot = Some(ints(&[1]));
        assert!(keep_values(&mut slot, fresh(&[2, 3])));
        assert_eq!(values(&slot), [2, 3]);
        // A failure replaces values, the same failure changes nothing, and values replace
        // a failure.
        let failure = LiveFailure {
            task: "t".into(),
            error: TaskError::permanent("no"),
        };
        assert!(keep_failure(&mut slot, failure.clone()));
        assert!(matches!(slot, Some(Err(_))));
        assert!(!keep_failure(&mut slot, failure));
        assert!(keep_values(&mut slot, fresh(&[5])));
        assert_eq!(values(&slot), [5]);
        // Nothing yet.
        let mut slot = None;
        assert!(keep_values(&mut slot, fresh(&[6])));
        assert_eq!(values(&slot), [6]);
    }

    #[test]
    fn inputs_are_kept_in_the_old_vector_when_they_fit() {
        let mut slot = Some(vec![Value::Int(1)]);
        let before = slot.as_ref().unwrap().as_ptr();
        keep_inputs(&mut slot, Some(vec![Value::Int(2)]));
        assert_eq!(slot.as_ref().unwrap().as_ptr(), before);
        assert_eq!(slot.as_ref().unwrap()[0].as_int(), Some(2));
        keep_inputs(&mut slot, Some(vec![Value::Int(3), Value::Int(4)]));
        assert_eq!(slot.as_ref().unwrap().len(), 2);
        keep_inputs(&mut slot, None);
        assert!(slot.is_none());
    }
}
