//! Tasks a failure kept from running. Under `on_failure = "continue"` the engine settles a
//! task that waits for a failed one as failed without running it, and records nothing of it:
//! a record names only the tasks that started. Derived here from the plan and the recorded
//! failures, as the engine settles them, with the engine's message.

use std::collections::BTreeMap;

use plait_core::{NodeId, NodeKind, OnFailure, Plan, TaskState};

use super::view::{State, TaskView};

/// Adds to `tasks`, the recorded tasks of a run that ended, those that did not run because a
/// task they wait for (directly, or through a flow's boundary) failed.
pub(super) fn add_not_run(plan: &Plan, tasks: &mut BTreeMap<String, TaskView>) {
    if plan.on_failure() != OnFailure::Continue {
        return;
    }
    // Nodes in dependency order (the plan is acyclic), each marked failed from those before.
    let mut failed = vec![false; plan.len()];
    let mut remaining: Vec<usize> = (0..plan.len() as NodeId)
        .map(|node| plan.predecessors(node).len())
        .collect();
    let mut ready: Vec<NodeId> = (0..plan.len() as NodeId)
        .filter(|&node| remaining[node as usize] == 0)
        .collect();
    while let Some(node) = ready.pop() {
        let upstream_failed = plan
            .predecessors(node)
            .iter()
            .any(|&pred| failed[pred as usize]);
        let path = &plan.node(node).path;
        failed[node as usize] = match &plan.node(node).kind {
            NodeKind::Barrier { .. } => upstream_failed,
            NodeKind::Task(_) => match tasks.get(&**path) {
                Some(task) => task.state.0 == TaskState::Failed,
                None if upstream_failed => {
                    tasks.insert(path.to_string(), not_run(plan, node, &failed));
                    true
                }
                None => false,
            },
        };
        for &next in plan.successors(node) {
            remaining[next as usize] -= 1;
            if remaining[next as usize] == 0 {
                ready.push(next);
            }
        }
    }
}

/// The task `node`, failed without an attempt; `failed` says which nodes before it failed.
fn not_run(plan: &Plan, node: NodeId, failed: &[bool]) -> TaskView {
    let failed_tasks: Vec<String> = plan
        .predecessors(node)
        .iter()
        .filter(|&&pred| failed[pred as usize] && plan.node(pred).task().is_some())
        .map(|&pred| format!("`{}`", plan.node(pred).path))
        .collect();
    let error = if failed_tasks.is_empty() {
        "not run: a task it waits for failed".to_owned()
    } else {
        format!("not run: {} failed", failed_tasks.join(", "))
    };
    TaskView {
        state: State(TaskState::Failed),
        error: Some(error),
        ..TaskView::pending()
    }
}
