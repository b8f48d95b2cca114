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
    /// Per state input: the nodes a change to it marks, when they are at most
    /// [`CONE_LIMIT`] and the budget of [`CONES_PER_NODE`] allows (empty otherwise, and for
    /// event inputs). Marking a change walks node to successor, one cache miss after
    /// another in a large graph; knowing the nodes up front lets the driver fetch them all
    /// at once first (`Driver::warm_nodes`).
    pub(crate) input_cones: Vec<Box<[NodeId]>>,
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
        // A live flow's nodes are the plan's: it has nowhere to put work a task asks for.
        if let Some(task) = plan
            .has_spawns()
            .then(|| {
                let spawns = |&(id, _): &(usize, _)| plan.spawns(id as NodeId).next().is_some();
                plan.nodes().iter().enumerate().find(spawns)
            })
            .flatten()
            .map(|(_, node)| node.path.clone())
        {
            return Err(LiveError::Spawns { task });
        }
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
                    Source::Given(_) => unreachable!("a live flow's plan is compiled whole"),
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
                Source::Given(_) => unreachable!("a plan's outputs are compiled"),
            }
        }
        for consumers in &mut input_consumers {
            consumers.dedup();
        }
        let input_cones = small_cones(&plan, &input_consumers, &input_is_event, &is_event);
        Ok(Graph {
            input_index,
            plan,
            input_is_event,
            input_consumers,
            input_cones,
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
            Source::Given(_) => unreachable!("a plan's outputs are compiled"),
        }
    }
}

/// The most nodes a cone is kept for: what a change to an interactive tool's input
/// typically reaches; a larger cone's walk is long anyway.
pub(crate) const CONE_LIMIT: usize = 64;

/// The most cone entries kept in all, per node of the plan: many inputs converging on one
/// sub-graph must not cost memory quadratic in the graph.
const CONES_PER_NODE: usize = 4;

/// Per input, the nodes a change to it marks (`Driver::mark`: its state consumers and what
/// follows them, up to and including event nodes, which marking stops at), or none: for an
/// event input, for a cone of more than [`CONE_LIMIT`] nodes, or once the budget of
/// [`CONES_PER_NODE`] is spent. A walk stops as soon as it knows the cone will not be kept,
/// so each costs at most `CONE_LIMIT` nodes and `CONE_LIMIT` pushes per node.
fn small_cones(
    plan: &Plan,
    input_consumers: &[Vec<NodeId>],
    input_is_event: &[bool],
    is_event: &[bool],
) -> Vec<Box<[NodeId]>> {
    // `seen[node] == stamp` marks a node reached by the current input's walk.
    let mut seen = vec![0u32; plan.len()];
    let mut budget = CONES_PER_NODE * plan.len();
    let mut stack = Vec::new();
    let mut cone = Vec::new();
    input_consumers
        .iter()
        .enumerate()
        .map(|(input, consumers)| {
            let limit = CONE_LIMIT.min(budget);
            if input_is_event[input] || consumers.len() > limit {
                return Box::default();
            }
            let stamp = input as u32 + 1;
            cone.clear();
            stack.clear();
            stack.extend(consumers.iter().filter(|&&node| !is_event[node as usize]));
            while let Some(node) = stack.pop() {
                if std::mem::replace(&mut seen[node as usize], stamp) == stamp {
                    continue;
                }
                if cone.len() == limit {
                    return Box::default();
                }
                cone.push(node);
                if is_event[node as usize] {
                    continue;
                }
                let successors = plan.successors(node);
                // Successors are distinct and each in the cone: more than the limit settles
                // it before they are pushed.
                if successors.len() > limit {
                    return Box::default();
                }
                stack.extend_from_slice(successors);
            }
            budget -= cone.len();
            cone.as_slice().into()
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use plait_core::{Flow, FnTask, Outputs, Port, ValueType, Workflow, compile};

    use super::*;

    fn task(requires: &[&str], provides: &str) -> FnTask {
        let ports = |names: &[&str]| {
            names
                .iter()
                .map(|&name| Port::new(name, ValueType::Int))
                .collect::<Vec<_>>()
        };
        FnTask::raw(ports(requires), ports(&[provides]), |_, _| async {
            Ok(Outputs::new())
        })
    }

    /// `x` feeds a chain of `len` tasks; `y` feeds a diamond (`b` and `c` read `a`, `d`
    /// reads both).
    fn plan(len: usize) -> Arc<Plan> {
        let mut flow = Flow::graph("g");
        for idx in 0..len {
            let input = if idx == 0 {
                "x".to_owned()
            } else {
                format!("v{}", idx - 1)
            };
            flow = flow.task(format!("t{idx}"), task(&[&input], &format!("v{idx}")));
        }
        flow = flow
            .task("a", task(&["y"], "a"))
            .task("b", task(&["a"], "b"))
            .task("c", task(&["a"], "c"))
            .task("d", task(&["b", "c"], "d"));
        let workflow = Workflow::new(flow)
            .input("x", ValueType::Int)
            .input("y", ValueType::Int);
        Arc::new(compile(&workflow).expect("a valid workflow"))
    }

    fn cone_paths(graph: &Graph, input: &str) -> Vec<String> {
        let mut paths: Vec<String> = graph.input_cones[graph.input_index[input]]
            .iter()
            .map(|&node| graph.plan.node(node).path.to_string())
            .collect();
        paths.sort();
        paths
    }

    #[test]
    fn an_inputs_cone_lists_each_node_downstream_once() {
        let graph = Graph::new(plan(3), &[]).unwrap();
        assert_eq!(cone_paths(&graph, "x"), ["t0", "t1", "t2"]);
        assert_eq!(cone_paths(&graph, "y"), ["a", "b", "c", "d"]);
    }

    /// `x` feeds `hub`, which `fan` tasks read.
    fn fan_plan(fan: usize) -> Arc<Plan> {
        let mut flow = Flow::graph("g").task("hub", task(&["x"], "h"));
        for idx in 0..fan {
            flow = flow.task(format!("f{idx}"), task(&["h"], &format!("o{idx}")));
        }
        let workflow = Workflow::new(flow).input("x", ValueType::Int);
        Arc::new(compile(&workflow).expect("a valid workflow"))
    }

    /// (The walk ends at such a node before pushing its successors; what a test can see is
    /// that the cone is not kept.)
    #[test]
    fn a_node_with_more_successors_than_the_limit_ends_the_walk() {
        let graph = Graph::new(fan_plan(CONE_LIMIT - 1), &[]).unwrap();
        assert_eq!(cone_paths(&graph, "x").len(), CONE_LIMIT);
        let graph = Graph::new(fan_plan(CONE_LIMIT + 1), &[]).unwrap();
        assert!(cone_paths(&graph, "x").is_empty());
    }

    /// Ten inputs converge on one chain of five tasks: each input's cone is the chain, and
    /// the cones together may take only `CONES_PER_NODE` entries per node.
    #[test]
    fn converging_cones_stay_within_the_budget() {
        let inputs: Vec<String> = (0..10).map(|idx| format!("x{idx}")).collect();
        let names: Vec<&str> = inputs.iter().map(String::as_str).collect();
        let flow = Flow::graph("g")
            .task("a", task(&names, "a"))
            .task("b", task(&["a"], "b"))
            .task("c", task(&["b"], "c"))
            .task("d", task(&["c"], "d"))
            .task("e", task(&["d"], "e"));
        let mut workflow = Workflow::new(flow);
        for name in &names {
            workflow = workflow.input(*name, ValueType::Int);
        }
        let graph = Graph::new(Arc::new(compile(&workflow).unwrap()), &[]).unwrap();
        let kept = names
            .iter()
            .filter(|name| !cone_paths(&graph, name).is_empty())
            .count();
        assert_eq!(kept, (CONES_PER_NODE * graph.plan.len() / 5).min(10));
        assert!(kept < 10, "the budget binds here");
        assert_eq!(cone_paths(&graph, "x0"), ["a", "b", "c", "d", "e"]);
    }

    /// An event input has no cone, and a state input's cone ends at the event node it
    /// reaches (marking does not go past one).
    #[test]
    fn cones_leave_out_event_inputs_and_what_follows_an_event_node() {
        let flow = Flow::graph("g")
            .task("s", task(&["x"], "s"))
            .task("e", task(&["s", "ev"], "e"))
            .task("after", task(&["e"], "after"));
        let workflow = Workflow::new(flow)
            .input("x", ValueType::Int)
            .input("ev", ValueType::Int);
        let plan = Arc::new(compile(&workflow).unwrap());
        let graph = Graph::new(plan, &["ev".into()]).unwrap();
        assert!(cone_paths(&graph, "ev").is_empty());
        assert_eq!(cone_paths(&graph, "x"), ["e", "s"]);
    }

    #[test]
    fn a_cone_larger_than_the_limit_is_not_kept() {
        let graph = Graph::new(plan(CONE_LIMIT), &[]).unwrap();
        assert_eq!(cone_paths(&graph, "x").len(), CONE_LIMIT);
        let graph = Graph::new(plan(CONE_LIMIT + 1), &[]).unwrap();
        assert!(cone_paths(&graph, "x").is_empty());
        assert_eq!(cone_paths(&graph, "y").len(), 4);
    }
}
