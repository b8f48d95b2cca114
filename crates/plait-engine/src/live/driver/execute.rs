//! Executions: starting ready tasks within `jobs`, polling each once in place, cancelling a
//! stale one, and taking a finished one's outcome.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use plait_core::{Inputs, NodeId, TaskContext, TaskError, Value};
use tokio_util::sync::CancellationToken;

use super::{Done, Driver, Results, Status, same_results, task_slot};
use crate::live::publish::{LiveEvent, LiveFailure};
use crate::run::attempt::{Outcome, attempt_once};

impl Driver {
    pub(super) fn cancel(&mut self, node: NodeId) {
        let state = &mut self.nodes[node as usize];
        if let Some(token) = state.token.take() {
            token.cancel();
        }
        state.cancelled = true;
        // A later report of this execution is stale.
        state.execution = 0;
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
            let Some(node) = self.ready.pop_front() else {
                break;
            };
            let state = &mut self.nodes[node as usize];
            // Not ready any more, or an older entry of a node now waiting in `deferred`.
            if state.status != Status::Ready || state.cancelled {
                continue;
            }
            let plan = self.graph.plan.clone();
            let inputs = match self.gather(task_slot(&plan, node), None) {
                Ok(inputs) => inputs,
                Err(_) => unreachable!("a ready node's inputs are values"),
            };
            self.spawn(node, inputs, false);
        }
    }

    pub(super) fn spawn(&mut self, node: NodeId, inputs: Vec<Value>, event: bool) {
        self.next_execution += 1;
        let execution = self.next_execution;
        let token = Arc::new(CancellationToken::new());
        let state = &mut self.nodes[node as usize];
        state.status = Status::Running;
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
        self.running -= 1;
        let state = &mut self.nodes[node as usize];
        state.token = None;
        state.cancelled = false;
        state.execution = 0;
        let results = self.results(node, done.outcome);
        self.board.finished.fetch_add(1, Ordering::Relaxed);
        if self.graph.is_event[node as usize] {
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
            state.results = Some(results);
        }
        // A failure is kept like a value: the task runs again when an input changes.
        state.executed = state.results.clone();
        state.executed_with = done.inputs;
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

    pub(super) fn results(&self, node: NodeId, outcome: Outcome) -> Results {
        let failure = |error| LiveFailure {
            task: self.path(node),
            error,
        };
        match outcome {
            Outcome::Done(outputs) => Ok((0..outputs.len())
                .map(|idx| {
                    outputs
                        .value_at(idx)
                        .expect("outputs are in declared order")
                        .clone()
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
