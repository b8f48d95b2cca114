//! Executions: starting ready tasks within `jobs`, polling each once in place, cancelling a
//! stale one, and taking a finished one's outcome.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plait_core::{Inputs, NodeId, TaskContext, TaskError, TaskState, Value};
use tokio_util::sync::CancellationToken;

use super::{Done, Driver, Queued, Results, same_results, task_slot};
use crate::attempt::{Outcome, attempt_once};
use crate::live::publish::{LiveEvent, LiveFailure};

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
            // An event node runs once per event, from wherever its last one left it.
            if self.nodes[node as usize].life.state() != TaskState::Pending {
                self.step(node, &[TaskState::Pending]);
            }
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
        let task_inputs = Inputs::new(task_slot(&plan, node).requires.clone(), inputs);
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
        let results = self.results(node, done.outcome, done.contents);
        let ended = if results.is_ok() {
            TaskState::Succeeded
        } else {
            TaskState::Failed
        };
        self.step(node, &[ended]);
        self.board.finished.fetch_add(1, Ordering::Relaxed);
        if self.nodes[node as usize].is_event {
            self.finish_event(node, results);
            return;
        }
        let state = &mut self.nodes[node as usize];
        let changed = !state
            .results
            .as_ref()
            .is_some_and(|old| same_results(old, &results));
        let failed = results.is_err();
        // Keep the old values when equal, so later comparisons are by pointer.
        if changed {
            // The node's other reference goes first, so its results can be rewritten in
            // place.
            state.executed = None;
            keep_results(&mut state.results, results);
        }
        // A failure is kept like a value: the task runs again when an input changes.
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

    /// An execution's outputs as the node keeps them (with `contents`, its `file` values
    /// by content: see `Files::canonical`), or its failure.
    pub(super) fn results(
        &mut self,
        node: NodeId,
        outcome: Outcome,
        mut contents: Option<Vec<Option<String>>>,
    ) -> Results {
        let failure = |error| LiveFailure {
            task: self.path(node),
            error,
        };
        match outcome {
            Outcome::Done(outputs) => Ok((0..outputs.len())
                .map(|idx| {
                    let value = outputs
                        .value_at(idx)
                        .expect("outputs are in declared order")
                        .clone();
                    match contents.as_mut() {
                        Some(contents) => self.files.canonical(value, contents[idx].take()),
                        None => value,
                    }
                })
                .collect()),
            Outcome::Failed(error) => Err(failure(error)),
            // Only this execution's own token could have stopped it, and the driver cancels
            // that only with the execution it makes stale, whose report it never reads: a
            // task that gave up on its own says so as a failure.
            Outcome::Cancelled => Err(failure(TaskError::permanent(
                "the task stopped as cancelled, though nothing cancelled it",
            ))),
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

/// Stores `fresh` as a node's results: into the allocation the node already holds, when no
/// one shares it and it has as many ports.
///
/// Why: in a large flow a node's results were allocated long ago, among other nodes', in
/// memory now cold. Freeing them there and keeping a new allocation made the allocator touch
/// a cold page for each execution, and later allocations come from those scattered pages:
/// about a fifth of a change's time at 1,000,000 tasks. Copied into the old slots, the
/// values leave only the fresh allocation to free, still in the caches.
fn keep_results(slot: &mut Option<Results>, fresh: Results) {
    if let (Some(Ok(old)), Ok(new)) = (slot.as_mut(), &fresh)
        && let Some(old) = Arc::get_mut(old)
        && old.len() == new.len()
    {
        // Copied: a swap moves whole values (56 bytes each) where a clone usually writes
        // only its variant's (an integer's 16); the two measured within noise of each
        // other. The inputs are swapped (`keep_inputs`), which spares the reference counts
        // of the values that have them.
        old.clone_from_slice(new);
        return;
    }
    *slot = Some(fresh);
}

/// Stores the inputs an execution ran with, into the node's old vector as
/// [`keep_results`] does, for the same reason.
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

    fn values(results: &Option<Results>) -> Vec<i64> {
        match results {
            Some(Ok(values)) => values.iter().filter_map(Value::as_int).collect(),
            other => panic!("not values: {other:?}"),
        }
    }

    #[test]
    fn unshared_results_of_the_same_length_are_rewritten_in_place() {
        let mut slot = Some(ints(&[1, 2]));
        let before = match &slot {
            Some(Ok(values)) => Arc::as_ptr(values),
            _ => unreachable!(),
        };
        keep_results(&mut slot, ints(&[3, 4]));
        assert_eq!(values(&slot), [3, 4]);
        let Some(Ok(after)) = &slot else {
            unreachable!()
        };
        assert_eq!(Arc::as_ptr(after), before, "the old allocation is kept");
    }

    #[test]
    fn shared_or_resized_results_and_failures_are_replaced() {
        // Shared: the other holder keeps what it had.
        let old = ints(&[1]);
        let mut slot = Some(old.clone());
        keep_results(&mut slot, ints(&[2]));
        assert_eq!(values(&slot), [2]);
        assert_eq!(values(&Some(old)), [1]);
        // Another length.
        let mut slot = Some(ints(&[1]));
        keep_results(&mut slot, ints(&[2, 3]));
        assert_eq!(values(&slot), [2, 3]);
        // A failure replaces values, and values a failure.
        let failure = LiveFailure {
            task: "t".into(),
            error: TaskError::permanent("no"),
        };
        keep_results(&mut slot, Err(failure));
        assert!(matches!(slot, Some(Err(_))));
        keep_results(&mut slot, ints(&[5]));
        assert_eq!(values(&slot), [5]);
        // Nothing yet.
        let mut slot = None;
        keep_results(&mut slot, ints(&[6]));
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
