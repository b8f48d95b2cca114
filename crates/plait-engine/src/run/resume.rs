//! Picking up a recorded run where it stopped.
//!
//! A task whose completion was recorded is not executed again: its recorded outputs feed its
//! dependents. A task that started without completing runs again (execution is at least
//! once). A run that was failing, reverting or cancelled keeps reverting and executes
//! nothing.

use std::collections::HashMap;

use plait_core::{NodeId, NodeKind, OnFailure, Outputs, TaskState};
use plait_store::{CacheKey, RunRecord, TaskPath};

use super::Shared;
use crate::lifecycle::TaskLife;

/// What the record says of each task, by path.
pub(crate) struct Prior {
    tasks: HashMap<String, PriorTask>,
    /// Some task failed for good, a revert began, or the run was cancelled: the run resumes
    /// by reverting.
    reverting: bool,
    /// The run was cancelled: it resumes by reverting, and ends cancelled.
    cancelled: bool,
    /// Who owned the run when it was read.
    owner: Option<plait_store::Owner>,
    /// The children its tasks spawned, in order.
    spawned: Vec<plait_store::SpawnedChild>,
}

struct PriorTask {
    state: TaskState,
    /// For a task interrupted in its revert: how it had ended before the revert began.
    before_revert: Option<TaskState>,
    attempts: u32,
    error: Option<String>,
    /// The outputs of its recorded completion, unless reverted since.
    outputs: Option<serde_json::Value>,
    /// Its result was reused, not executed.
    cached: bool,
    /// The cache key it executed under, to forget if it is reverted.
    cache_key: Option<CacheKey>,
}

impl Prior {
    pub(crate) fn from_record(record: &RunRecord, on_failure: OnFailure) -> Prior {
        // A task still to revert has providers not reverted yet (dependents revert first),
        // so the outputs its revert's inputs come from are all still in the record.
        let tasks: HashMap<String, PriorTask> = record
            .tasks
            .iter()
            .map(|task| {
                let prior = PriorTask {
                    state: task.state,
                    before_revert: (task.state == TaskState::Reverting)
                        .then(|| state_before_revert(record, &task.task))
                        .flatten(),
                    attempts: task.attempts,
                    error: task.error.clone(),
                    outputs: task.outputs.clone(),
                    cached: task.cached(),
                    cache_key: task
                        .key
                        .as_ref()
                        .filter(|key| key.cached_from.is_none())
                        .and_then(|key| key.key.clone()),
                };
                (task.task.to_string(), prior)
            })
            .collect();
        // With `on_failure = "continue"` a failure is a value, not the start of a revert.
        let reverting = record.cancelled
            || record.tasks.iter().any(|task| match task.state {
                TaskState::Failed => on_failure == OnFailure::Revert,
                TaskState::Reverting | TaskState::Reverted | TaskState::RevertFailed => true,
                _ => false,
            });
        Prior {
            tasks,
            reverting,
            cancelled: record.cancelled,
            owner: record.summary.owner.clone(),
            spawned: record.spawned.clone(),
        }
    }

    pub(crate) fn reverting(&self) -> bool {
        self.reverting
    }

    pub(crate) fn cancelled(&self) -> bool {
        self.cancelled
    }

    pub(crate) fn owner(&self) -> Option<&plait_store::Owner> {
        self.owner.as_ref()
    }
}

impl Shared {
    /// Applies the record before anything runs. Returns the nodes that are ready.
    pub(super) fn restore(&self, prior: &Prior) -> Vec<NodeId> {
        self.restore_children(&prior.spawned);
        for node in self.graph.ids() {
            let plan_node = self.graph.node(node);
            let NodeKind::Task(slot) = &plan_node.kind else {
                continue;
            };
            let Some(task) = prior.tasks.get(&*plan_node.path) else {
                continue;
            };
            let outputs = task
                .outputs
                .as_ref()
                .and_then(|json| restore_outputs(json, slot.provides()));
            let mut record = self.record(node);
            record.life = TaskLife::restored(TaskState::Pending, task.attempts);
            record.cached = task.cached;
            if let Some(key) = &task.cache_key {
                record.rare().cache_key = Some(key.clone());
            }
            // A revert is told why its task failed.
            record.set_error(task.error.as_deref().map(plait_core::TaskError::permanent));
            match task.state {
                TaskState::Succeeded if outputs.is_some() => {
                    record.life = TaskLife::restored(TaskState::Succeeded, task.attempts);
                    record.outputs = outputs;
                    record.released = !prior.reverting;
                    drop(record);
                    if !prior.reverting {
                        self.recache(node, task);
                    }
                }
                // Started and never finished: it may have had an effect. Its attempt is
                // recorded as cancelled; going forward it runs again (`claim`), and a revert
                // reverts it.
                TaskState::Running | TaskState::Retrying => {
                    record.life = TaskLife::restored(task.state, task.attempts);
                    record.interrupted = true;
                    drop(record);
                    let why = plait_core::TaskError::permanent(
                        "interrupted: the run stopped while it ran",
                    );
                    self.step(node, TaskState::Cancelled, Some(&why));
                }
                // Interrupted in its revert: reverted again, told how it had ended.
                TaskState::Reverting => {
                    let before = task.before_revert.unwrap_or(TaskState::Cancelled);
                    record.life = TaskLife::restored(before, task.attempts);
                    record.outputs = outputs;
                }
                // `on_failure = "continue"`: a recorded failure is an outcome like a result,
                // not run again; it goes on to its dependents.
                TaskState::Failed if !prior.reverting => {
                    record.life = TaskLife::restored(TaskState::Failed, task.attempts);
                    record.released = true;
                    record.poisoned = true;
                }
                TaskState::Pending | TaskState::Ready => {}
                // The revert's starting point: what it ended as, or how far its revert got.
                state if prior.reverting => {
                    record.life = TaskLife::restored(state, task.attempts);
                    record.outputs = outputs;
                }
                _ => {}
            }
        }
        // A restored task may be reverted, now or when this run fails.
        self.rebuild_revert_inputs();
        if prior.reverting {
            return Vec::new();
        }
        // Completed tasks count as finished for their successors; failed ones pass their
        // failure on.
        for node in self.graph.ids() {
            let (released, failed) = {
                let record = self.record(node);
                (record.released, record.poisoned)
            };
            if released {
                // Counted edges only: a child's revert order is no edge its count waits for.
                for next in self.successors(node, true) {
                    if failed {
                        self.record(next).poisoned = true;
                    }
                    self.sched.remaining[next].fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                }
            }
        }
        self.graph
            .ids()
            .filter(|&node| {
                self.sched.remaining[node].load(std::sync::atomic::Ordering::Acquire) == 0
                    && self.record(node).claimable()
            })
            .collect()
    }

    /// Results completed before the interruption may not have reached the cache (entries
    /// are written in batches): queue them again. Not those with files: a file may have
    /// changed since, and the cache must keep what the task made.
    fn recache(&self, node: NodeId, task: &PriorTask) {
        let slot = self
            .graph
            .node(node)
            .task()
            .expect("only tasks are restored");
        let (Some(key), Some(outputs)) = (&task.cache_key, &task.outputs) else {
            return;
        };
        let has_files = slot.provides().iter().any(|port| port.ty.has_files());
        if task.cached || !slot.policy.cache || has_files {
            return;
        }
        let entry = self.new_entry(
            node,
            key.clone(),
            plait_store::Json::from_value(outputs),
            Vec::new(),
        );
        self.keep_result(entry);
    }

    /// A revert gets the inputs its task ran with: the run's inputs and its providers'
    /// recorded outputs.
    fn rebuild_revert_inputs(&self) {
        for node in self.graph.ids() {
            let Some(slot) = self.graph.node(node).task() else {
                continue;
            };
            if !slot.task.has_revert() || !self.record(node).needs_revert() {
                continue;
            }
            let values: Option<Vec<_>> = slot
                .sources
                .iter()
                .map(|&source| self.try_value(source))
                .collect();
            if let Some(values) = values {
                self.record(node)
                    .set_inputs(Some(plait_core::Inputs::new(slot.requires_ports(), values)));
            }
        }
    }
}

/// How `task` had ended before its (interrupted) revert began: its last recorded state but
/// `reverting`.
fn state_before_revert(record: &RunRecord, task: &TaskPath) -> Option<TaskState> {
    record
        .transitions
        .iter()
        .rev()
        .filter(|transition| transition.task == *task)
        .map(|transition| transition.state)
        .find(|state| *state != TaskState::Reverting)
}

/// Typed values from a recorded outputs object; `None` if any is missing or does not fit
/// (a native value has no JSON form: such a task runs again).
pub(super) fn restore_outputs(
    json: &serde_json::Value,
    ports: &[plait_core::Port],
) -> Option<Outputs> {
    let values = restore_values(json, ports)?;
    let mut outputs = Outputs::with_capacity(ports.len());
    for (port, value) in ports.iter().zip(values) {
        outputs.insert(port.name.clone(), value);
    }
    outputs.into_declared(ports).ok()
}

/// Typed values from a recorded object (outputs, or the inputs a parent gave a child), one
/// per port in order; `None` if any is missing or does not fit.
pub(super) fn restore_values(
    json: &serde_json::Value,
    ports: &[plait_core::Port],
) -> Option<Vec<plait_core::Value>> {
    let object = json.as_object()?;
    ports
        .iter()
        .map(|port| port.ty.value_from_json(object.get(&*port.name)?).ok())
        .collect()
}
