//! Reverting: every executed task of a region (the run, or a retried flow), dependents first,
//! each exactly once, independent ones concurrently up to `jobs`.
//!
//! A node may be reverted once every successor in the region that needs reverting has been
//! (barriers pass the wait through). A failed revert leaves the task's own predecessors as
//! they are, transitively: their effect is still in use. Everything else is still reverted.

use std::sync::Arc;

use futures::stream::{FuturesUnordered, StreamExt};
use plait_core::{NodeId, NodeKind, Outcome, TaskContext, TaskError, TaskState};
use rustc_hash::{FxHashMap, FxHashSet};
use tokio_util::sync::CancellationToken;

use super::Shared;

/// Reverts what ran in `region`. False if any revert failed (now or before).
pub(super) async fn revert_region(shared: &Arc<Shared>, region: &[NodeId]) -> bool {
    // Barriers always take part: they carry the order between tasks of different flows.
    let members: Vec<NodeId> = region
        .iter()
        .copied()
        .filter(|&node| match shared.graph.node(node).kind {
            NodeKind::Barrier { .. } => true,
            NodeKind::Task(_) => {
                let record = shared.record(node);
                record.needs_revert() || record.life.state() == TaskState::RevertFailed
            }
        })
        .collect();
    let member_set: FxHashSet<NodeId> = members.iter().copied().collect();
    let mut waiting: FxHashMap<NodeId, usize> = FxHashMap::default();
    let mut blocked: FxHashSet<NodeId> = FxHashSet::default();
    let mut ready = Vec::new();
    for &node in &members {
        let successors = shared
            .revert_successors(node)
            .into_iter()
            .filter(|s| member_set.contains(s))
            .count();
        if successors == 0 {
            ready.push(node);
        } else {
            waiting.insert(node, successors);
        }
    }
    let mut all_ok = true;
    let mut running = FuturesUnordered::new();
    loop {
        while running.len() < shared.config.jobs {
            let Some(node) = ready.pop() else { break };
            let state = shared.record(node).life.state();
            let skip = blocked.contains(&node) || shared.graph.node(node).task().is_none();
            if state == TaskState::RevertFailed {
                all_ok = false;
                blocked.insert(node);
            }
            if skip || state == TaskState::RevertFailed {
                let is_blocked = blocked.contains(&node);
                done(
                    shared,
                    node,
                    is_blocked,
                    &member_set,
                    &mut waiting,
                    &mut blocked,
                    &mut ready,
                );
                continue;
            }
            running.push(revert_task(shared.clone(), node));
        }
        let Some((node, ok)) = running.next().await else {
            break;
        };
        all_ok &= ok;
        done(
            shared,
            node,
            !ok,
            &member_set,
            &mut waiting,
            &mut blocked,
            &mut ready,
        );
    }
    all_ok
}

/// `node` is settled: its predecessors wait for one fewer; a failure blocks them.
#[allow(
    clippy::too_many_arguments,
    reason = "the wave's state, kept as locals of one loop"
)]
fn done(
    shared: &Shared,
    node: NodeId,
    failed: bool,
    members: &FxHashSet<NodeId>,
    waiting: &mut FxHashMap<NodeId, usize>,
    blocked: &mut FxHashSet<NodeId>,
    ready: &mut Vec<NodeId>,
) {
    for pred in shared.revert_predecessors(node) {
        // Members are in the region: a predecessor outside it is no member.
        if !members.contains(&pred) {
            continue;
        }
        if failed {
            blocked.insert(pred);
        }
        if let Some(count) = waiting.get_mut(&pred) {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&pred);
                ready.push(pred);
            }
        }
    }
}

/// Runs one task's revert. True if it succeeded.
async fn revert_task(shared: Arc<Shared>, node: NodeId) -> (NodeId, bool) {
    let plan_node = shared.graph.node(node);
    let slot = plan_node.task().expect("only tasks are reverted");
    let (outcome, inputs) = {
        let mut record = shared.record(node);
        let outcome = match record.life.state() {
            TaskState::Succeeded => Outcome::Succeeded(record.outputs.clone().unwrap_or_default()),
            TaskState::Failed => Outcome::Failed(
                record
                    .error()
                    .cloned()
                    .unwrap_or_else(|| TaskError::permanent("failed")),
            ),
            _ => Outcome::Cancelled,
        };
        (outcome, record.take_inputs())
    };
    let attempt = shared.step(node, TaskState::Reverting, None);
    if !shared.commit_reverting(node).await {
        // The store is broken: leave the task as it is for a resume to revert.
        return (node, false);
    }
    let result = if slot.task.has_revert() {
        let inputs =
            inputs.unwrap_or_else(|| plait_core::Inputs::new(slot.requires_ports(), Vec::new()));
        let mut ctx = TaskContext::new(
            shared.config.run_id.clone(),
            plan_node.path.clone(),
            attempt,
            Arc::new(CancellationToken::new()),
        );
        if let Some(groups) = shared.child_groups() {
            ctx = ctx.with_child_groups(groups);
        }
        let future = slot.task.revert(ctx, inputs, outcome);
        let guarded = std::panic::AssertUnwindSafe(future);
        let outcome = match slot.policy.timeout {
            Some(limit) => tokio::time::timeout(limit, futures::FutureExt::catch_unwind(guarded))
                .await
                .unwrap_or_else(|_| Ok(Err(TaskError::timeout(limit)))),
            None => futures::FutureExt::catch_unwind(guarded).await,
        };
        outcome.unwrap_or_else(|_| Err(TaskError::permanent("the revert panicked")))
    } else {
        Ok(())
    };
    let (state, error) = match result {
        Ok(()) => (TaskState::Reverted, None),
        Err(error) => (TaskState::RevertFailed, Some(error)),
    };
    {
        let mut record = shared.record(node);
        record.rare().revert_error = error.clone();
        record.outputs = None;
    }
    shared.step(node, state, error.as_ref());
    shared.commit(node).await;
    (node, state == TaskState::Reverted)
}
