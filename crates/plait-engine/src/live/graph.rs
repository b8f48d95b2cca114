//! What a live flow knows of its plan before anything runs: who consumes each input, which
//! nodes carry events, which plan outputs each node feeds.

use std::collections::HashMap;
use std::sync::Arc;

use plait_core::{NodeId, NodeKind, Plan, Source};

use super::{LiveError, unknown_input};

/// The plan, indexed for change propagation.
#[derive(Debug)]
pub(crate) struct Graph {
    pub(crate) plan: Arc<Plan>,
    /// Plan inputs by name: a flow may have one per column of a grid.
    pub(crate) input_index: HashMap<Arc<str>, usize>,
    /// Per plan input: whether it is an event port.
    pub(crate) input_is_event: Vec<bool>,
    /// Per plan input: the tasks that read it.
    pub(crate) input_consumers: Vec<Vec<NodeId>>,
    /// Per node: whether it consumes events (an event input, or an event task's output);
    /// its outputs are then events too.
    pub(crate) is_event: Vec<bool>,
    /// Per event node: the index (in its `sources`) of the one event it consumes.
    pub(crate) event_source: Vec<Option<usize>>,
    /// Per node: predecessors that are not among its data sources (ordering only).
    pub(crate) order_preds: Vec<Vec<NodeId>>,
    /// Per node: the plan outputs (indices into `Plan::outputs`) it feeds.
    pub(crate) feeds_outputs: Vec<Vec<usize>>,
    /// Per plan input: the plan outputs that are that input itself.
    pub(crate) input_outputs: Vec<Vec<usize>>,
}

impl Graph {
    pub(crate) fn new(plan: Arc<Plan>, events: &[Arc<str>]) -> Result<Graph, LiveError> {
        let inputs = plan.inputs();
        let mut input_index = HashMap::with_capacity(inputs.len());
        for (idx, input) in inputs.iter().enumerate() {
            // The first of two inputs with one name, as compiling and runs resolve it.
            input_index.entry(input.name.clone()).or_insert(idx);
        }
        let mut input_is_event = vec![false; inputs.len()];
        for name in events {
            let Some(&idx) = input_index.get(name) else {
                return Err(unknown_input(&plan, name.clone()));
            };
            input_is_event[idx] = true;
        }
        let n = plan.len();
        let mut input_consumers = vec![Vec::new(); inputs.len()];
        let mut is_event = vec![false; n];
        let mut event_source = vec![None; n];
        let mut order_preds = vec![Vec::new(); n];
        // In dependency order, so a node's sources know whether they carry events.
        for id in topological_order(&plan) {
            let node = plan.node(id);
            let NodeKind::Task(slot) = &node.kind else {
                order_preds[id as usize] = plan.predecessors(id).to_vec();
                continue;
            };
            let mut data_preds = Vec::new();
            for (idx, source) in slot.sources.iter().enumerate() {
                let event = match *source {
                    Source::Input(input) => {
                        input_consumers[input as usize].push(id);
                        input_is_event[input as usize]
                    }
                    Source::Output { node: from, .. } => {
                        data_preds.push(from);
                        is_event[from as usize]
                    }
                };
                if event {
                    if event_source[id as usize].is_some() {
                        return Err(LiveError::SeveralEvents {
                            task: node.path.clone(),
                        });
                    }
                    event_source[id as usize] = Some(idx);
                    is_event[id as usize] = true;
                }
            }
            order_preds[id as usize] = plan
                .predecessors(id)
                .iter()
                .copied()
                .filter(|pred| !data_preds.contains(pred))
                .collect();
        }
        let mut feeds_outputs = vec![Vec::new(); n];
        let mut input_outputs = vec![Vec::new(); inputs.len()];
        for (idx, (_, source)) in plan.outputs().iter().enumerate() {
            match *source {
                Source::Input(input) => input_outputs[input as usize].push(idx),
                Source::Output { node, .. } => feeds_outputs[node as usize].push(idx),
            }
        }
        for consumers in &mut input_consumers {
            consumers.dedup();
        }
        Ok(Graph {
            input_index,
            plan,
            input_is_event,
            input_consumers,
            is_event,
            event_source,
            order_preds,
            feeds_outputs,
            input_outputs,
        })
    }

    /// Whether plan output `idx` carries events.
    pub(crate) fn output_is_event(&self, idx: usize) -> bool {
        match self.plan.outputs()[idx].1 {
            Source::Input(input) => self.input_is_event[input as usize],
            Source::Output { node, .. } => self.is_event[node as usize],
        }
    }
}

/// The plan's nodes, each after every node it waits for (Kahn's algorithm; a compiled plan
/// has no cycles).
fn topological_order(plan: &Plan) -> Vec<NodeId> {
    let n = plan.len();
    let mut waiting: Vec<usize> = (0..n as NodeId)
        .map(|id| plan.predecessors(id).len())
        .collect();
    let mut order: Vec<NodeId> = (0..n as NodeId)
        .filter(|&id| waiting[id as usize] == 0)
        .collect();
    let mut next = 0;
    while next < order.len() {
        let id = order[next];
        next += 1;
        for &succ in plan.successors(id) {
            waiting[succ as usize] -= 1;
            if waiting[succ as usize] == 0 {
                order.push(succ);
            }
        }
    }
    debug_assert_eq!(order.len(), n, "a compiled plan has no cycles");
    order
}
