//! Flows retried as a unit (TaskFlow's retry controllers).
//!
//! When a task of a retried flow fails for good, the flow is marked failing: its running
//! attempts are cancelled and none of its tasks starts. Every attempt counts itself in each
//! flow around it; the last one to leave a failing flow reverts the flow's executed tasks,
//! resets them to pending, undoes their releases of successors, waits the flow's backoff and
//! makes its ready tasks ready again. When the flow has no attempts left, the failure goes to
//! the enclosing retried flow, or to the run.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use plait_core::{Isolation, NodeId, Plan, Policy, ScopeId, TaskState};
use tokio_util::sync::CancellationToken;

use super::schedule::RunnerLocal;
use super::{Shared, revert, schedule};
use crate::sync::lock;

pub(super) struct ScopeCell {
    /// Attempts of this flow made so far (1 while the first runs).
    attempt: AtomicU32,
    failing: AtomicBool,
    /// Task attempts (and restarts of inner flows) in progress inside.
    running: AtomicU32,
    /// Parent of the tokens of attempts inside; replaced at each restart.
    token: Mutex<Arc<CancellationToken>>,
}

pub(super) fn cells(plan: &Plan, run_token: &Arc<CancellationToken>) -> Box<[ScopeCell]> {
    let mut cells: Vec<ScopeCell> = Vec::with_capacity(plan.scopes().len());
    for scope in plan.scopes() {
        let parent = match scope.parent {
            Some(parent) => cells[parent as usize].current_token(),
            None => run_token.clone(),
        };
        cells.push(ScopeCell {
            attempt: AtomicU32::new(1),
            failing: AtomicBool::new(false),
            running: AtomicU32::new(0),
            token: Mutex::new(Arc::new(parent.child_token())),
        });
    }
    cells.into_boxed_slice()
}

impl ScopeCell {
    fn current_token(&self) -> Arc<CancellationToken> {
        lock(&self.token).clone()
    }
}

impl Shared {
    /// The retried flows around `node`, innermost first.
    pub(super) fn scope_chain(&self, node: NodeId) -> Vec<ScopeId> {
        let scopes = self.graph.plan().scopes();
        std::iter::successors(self.graph.node(node).scope, |&s| scopes[s as usize].parent).collect()
    }

    /// The token for a new attempt of `node`: cancelled with the run, with its flow, or for a
    /// spawned child with the parent's attempt that spawned it. Only attempts the engine may
    /// have to stop on their own (a timeout, a thread or a child process to signal) get a
    /// token of their own.
    pub(super) fn attempt_token(
        &self,
        node: NodeId,
        policy: &Policy,
        local: &RunnerLocal,
    ) -> Arc<CancellationToken> {
        let spawned_by = self.spawner_token(node);
        let own = spawned_by.is_some()
            || policy.timeout.is_some()
            || policy.isolation != Isolation::Async
            || self.spawns(node);
        let parent = match (spawned_by, self.graph.node(node).scope) {
            (Some(token), _) => token,
            (None, Some(scope)) => self.scopes[scope as usize].current_token(),
            (None, None) => local.run_token.clone(),
        };
        if own {
            Arc::new(parent.child_token())
        } else {
            parent
        }
    }

    pub(super) fn enter_scopes(&self, scopes: &[ScopeId]) {
        for &scope in scopes {
            self.scopes[scope as usize]
                .running
                .fetch_add(1, Ordering::SeqCst);
        }
    }

    pub(super) fn any_failing(&self, scopes: &[ScopeId]) -> bool {
        scopes
            .iter()
            .any(|&scope| self.scopes[scope as usize].failing.load(Ordering::SeqCst))
    }

    /// Leaves each flow; the last attempt out of a failing flow restarts it.
    pub(super) async fn leave_scopes(self: &Arc<Self>, scopes: &[ScopeId]) {
        for (depth, &scope) in scopes.iter().enumerate() {
            let cell = &self.scopes[scope as usize];
            let last = cell.running.fetch_sub(1, Ordering::SeqCst) == 1;
            if last
                && cell.failing.load(Ordering::SeqCst)
                && !self.any_failing(&scopes[depth + 1..])
            {
                // The restart counts as work inside the enclosing flows, which therefore wait
                // for it before they can restart themselves.
                let outer = &scopes[depth + 1..];
                self.enter_scopes(outer);
                Box::pin(self.restart(scope)).await;
                Box::pin(self.leave_scopes(outer)).await;
            }
        }
    }

    /// A task inside `scopes` failed for good. True if a retried flow takes the failure.
    pub(super) fn fail_scope(&self, scopes: &[ScopeId]) -> bool {
        for &scope in scopes {
            let cell = &self.scopes[scope as usize];
            let attempts = self.graph.plan().scopes()[scope as usize].retry.attempts;
            if cell.attempt.load(Ordering::SeqCst) < attempts {
                if !cell.failing.swap(true, Ordering::SeqCst) {
                    cell.current_token().cancel();
                }
                return true;
            }
        }
        false
    }

    async fn restart(self: &Arc<Self>, scope: ScopeId) {
        let info = &self.graph.plan().scopes()[scope as usize];
        let cell = &self.scopes[scope as usize];
        if self.is_stopping() {
            return;
        }
        // The children its tasks spawned are reverted and run again with them.
        let nodes = self.with_descendants(&info.nodes);
        if !revert::revert_region(self, &nodes).await {
            // Its effect cannot be undone, so it cannot be run again: the run reverts.
            self.stop();
            return;
        }
        self.reset(&nodes);
        let attempt = cell.attempt.fetch_add(1, Ordering::SeqCst);
        let delay = info.retry.delay(attempt, rand::random::<f64>());
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            () = self.sched.run_token.cancelled() => return,
        }
        let parent = match info.parent {
            Some(parent) => self.scopes[parent as usize].current_token(),
            None => self.sched.run_token.clone(),
        };
        *lock(&cell.token) = Arc::new(parent.child_token());
        self.renew_inner_scopes(scope);
        cell.failing.store(false, Ordering::SeqCst);
        let ready: Vec<NodeId> = info
            .nodes
            .iter()
            .copied()
            .filter(|&node| self.sched.remaining[node].load(Ordering::Acquire) == 0)
            .collect();
        schedule::make_ready(self, ready, None);
    }

    /// Flows nested in a restarted flow start afresh too: new tokens under the new parent,
    /// a full set of attempts.
    fn renew_inner_scopes(&self, scope: ScopeId) {
        let scopes = self.graph.plan().scopes();
        // Parents come before children, so each parent's token is renewed first.
        for inner in scope as usize + 1..scopes.len() {
            let Some(parent) = scopes[inner].parent else {
                continue;
            };
            let inside = std::iter::successors(Some(parent), |&s| scopes[s as usize].parent)
                .any(|s| s == scope);
            if !inside {
                continue;
            }
            let token = Arc::new(self.scopes[parent as usize].current_token().child_token());
            let cell = &self.scopes[inner];
            *lock(&cell.token) = token;
            cell.attempt.store(1, Ordering::SeqCst);
            cell.failing.store(false, Ordering::SeqCst);
        }
    }

    /// Puts the flow's nodes back to pending and gives back the counts they released.
    fn reset(&self, nodes: &[NodeId]) {
        for &node in nodes {
            let (released, state) = {
                let mut record = self.record(node);
                let was = record.released;
                record.outputs = None;
                record.set_error(None);
                record.set_inputs(None);
                record.poisoned = false;
                record.released = false;
                (was, record.life.state())
            };
            if released {
                // Every successor waits for it again, those appended after it finished too.
                let mut record = self.record(node);
                if record.more().is_some() {
                    for (_, counted) in &mut record.more_mut().successors {
                        *counted = true;
                    }
                }
                drop(record);
                for next in self.successors(node, false) {
                    self.sched.remaining[next].fetch_add(1, Ordering::AcqRel);
                }
            }
            if state == TaskState::Pending {
                continue;
            }
            if self.graph.node(node).task().is_some() {
                self.step(node, TaskState::Pending, None);
            } else {
                self.record(node).life.go(TaskState::Pending);
            }
        }
    }
}
