//! Event nodes: each value queued, delivered once when the node's state inputs are clean,
//! its outcome passed on to the subscribers and event tasks downstream. An event node never
//! becomes dirty: a state change holds its queue back but does not re-deliver anything, and
//! an execution already under way is not cancelled (its event was delivered).

use plait_core::{NodeId, Source, TaskState};

use super::{Driver, Results, port_value, task_slot};
use crate::live::publish::{LiveValue, Revision};

impl Driver {
    pub(super) fn enqueue_event(&mut self, node: NodeId, event: LiveValue) {
        self.nodes[node as usize].events.push_back(event);
        self.unsettled += 1;
        self.to_fire.push_back(node);
    }

    /// Delivers an event node's next event if its state inputs are clean and it is idle.
    pub(super) fn fire(&mut self, node: NodeId) {
        loop {
            let state = &self.nodes[node as usize];
            if state.state() == TaskState::Running || state.unclean_preds != 0 {
                return;
            }
            let Some(event) = self.nodes[node as usize].events.pop_front() else {
                return;
            };
            let slot = task_slot(&self.graph.plan, node);
            let event_idx = self.graph.event_source[node as usize].expect("an event node");
            match self.gather(slot, Some((event_idx, &event))) {
                Ok(inputs) => {
                    // Tagged with the current revision: its state inputs are clean at it.
                    // The event stays counted in `unsettled` until its execution ends.
                    let execution = self.new_execution();
                    self.spawn(node, execution, inputs, true);
                    return;
                }
                Err(failure) => {
                    // Not run: an input failed.
                    self.next_event(node);
                    self.step(node, &[TaskState::Failed]);
                    // Tagged like an execution would be, so an output's revisions only grow.
                    self.unsettled -= 1;
                    self.deliver_results(node, self.revision, Err(failure));
                }
            }
        }
    }

    /// Takes an event node back to `pending` for its next event, from wherever its last
    /// one left it: it runs once per event.
    pub(super) fn next_event(&mut self, node: NodeId) {
        if self.nodes[node as usize].state() != TaskState::Pending {
            self.step(node, &[TaskState::Pending]);
        }
    }

    pub(super) fn finish_event(&mut self, node: NodeId, results: Results) {
        // Already `succeeded` or `failed`: idle.
        self.unsettled -= 1;
        let revision = self.nodes[node as usize].running_revision;
        self.log_finished(node, true, results.is_err());
        self.deliver_results(node, revision, results);
        self.to_fire.push_back(node);
    }

    /// An event node's outcome for one event: to the subscribers of the outputs it feeds,
    /// and to each event task reading them.
    fn deliver_results(&mut self, node: NodeId, revision: Revision, results: Results) {
        self.publish_results(node, revision, &results);
        let plan = self.graph.plan.clone();
        for &succ in plan.successors(node) {
            if !self.graph.is_event[succ as usize] {
                continue;
            }
            let slot = task_slot(&plan, succ);
            let Some(idx) = self.graph.event_source[succ as usize] else {
                continue;
            };
            let Source::Output { node: from, port } = slot.sources[idx] else {
                continue;
            };
            if from != node {
                continue;
            }
            self.enqueue_event(succ, port_value(&results, port));
        }
    }
}
