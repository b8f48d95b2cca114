//! Refusing a transition the task lifecycle does not allow, when it is written.
//!
//! The engine steps every task through one lifecycle (`TaskState::can_become`); a store
//! holds it to that: a write that records a state a task cannot reach from the one it has
//! recorded is refused whole, as a bug, rather than kept as a history that cannot have
//! happened.

use rustc_hash::FxHashMap;
use std::collections::hash_map::Entry;

use plait_core::TaskState;

use crate::{RunId, StoreError, TaskPath, TaskRecord, Write};

/// The last recorded state of every task of the runs a store writes.
#[derive(Debug, Default)]
pub struct RecordedStates {
    runs: FxHashMap<RunId, FxHashMap<TaskPath, TaskState>>,
}

impl RecordedStates {
    /// Whether the states of `run_id` are known here (a run made by this store, or loaded).
    pub fn knows(&self, run_id: &RunId) -> bool {
        self.runs.contains_key(run_id)
    }

    /// A new run: no task recorded yet.
    pub fn start(&mut self, run_id: &RunId) {
        self.runs.insert(run_id.clone(), FxHashMap::default());
    }

    /// A run recorded before (by another process, or before this store was opened).
    pub fn load(&mut self, run_id: &RunId, tasks: &[TaskRecord]) {
        let states = tasks
            .iter()
            .map(|task| (task.task.clone(), task.state))
            .collect();
        self.runs.insert(run_id.clone(), states);
    }

    /// Forgets a run's states: after a failed commit, what was admitted may not be what was
    /// recorded, so they are read again before the next write.
    pub fn forget(&mut self, run_id: &RunId) {
        self.runs.remove(run_id);
    }

    /// Checks the transitions among `writes`, in order, against what is recorded and what the
    /// batch's earlier writes record, and admits them all, or none: an illegal one refuses
    /// the batch. Every run they name must be known.
    pub fn admit(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        // What each admitted transition replaced, to put back if a later one is refused.
        let mut undo: Vec<(&RunId, &TaskPath, Option<TaskState>)> = Vec::new();
        for write in writes {
            let transition = match write {
                Write::Transition(transition) | Write::Completed { transition, .. } => transition,
                _ => continue,
            };
            let run_id = &transition.run_id;
            let tasks = self
                .runs
                .get_mut(run_id)
                .expect("the caller loads every run it writes");
            // One lookup for the check and the update (the path's clone is a reference
            // count): every transition of every run goes through here.
            let slot = tasks.entry(transition.task.clone());
            let before = match &slot {
                Entry::Occupied(entry) => Some(*entry.get()),
                Entry::Vacant(_) => None,
            };
            let from = before.unwrap_or(TaskState::Pending);
            if !from.can_record(transition.state) {
                for (run_id, task, before) in undo.into_iter().rev() {
                    let tasks = self.runs.get_mut(run_id).expect("admitted above");
                    match before {
                        Some(state) => tasks.insert(task.clone(), state),
                        None => tasks.remove(task),
                    };
                }
                return Err(StoreError::IllegalTransition {
                    run_id: transition.run_id.to_string(),
                    task: transition.task.to_string(),
                    from,
                    to: transition.state,
                });
            }
            slot.insert_entry(transition.state);
            undo.push((run_id, &transition.task, before));
        }
        Ok(())
    }
}
