//! Pass 4: every cycle, each printed as the path that closes it.

use std::collections::VecDeque;

use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};

use super::Builder;
use crate::Diagnostic;
use crate::diagnostic::{Code, Location};
use crate::plan::{Csr, NodeId, NodeKind};

impl Builder {
    /// Reports every cycle. Nothing here recurses on the graph's depth: a chain of a million
    /// tasks is as easy as a short one.
    pub(super) fn find_cycles(&mut self, successors: &Csr) {
        let stuck = stuck_nodes(successors);
        if stuck.is_empty() {
            return;
        }
        // Only the nodes a topological order cannot place, usually a handful, go into the
        // search for components (Kosaraju's, which is iterative).
        let mut index: FxHashMap<NodeId, NodeIndex> = FxHashMap::default();
        let mut graph = DiGraph::<NodeId, ()>::with_capacity(stuck.len(), stuck.len());
        for &node in &stuck {
            index.insert(node, graph.add_node(node));
        }
        for &from in &stuck {
            for &to in successors.get(from) {
                if let (Some(&from), Some(&to)) = (index.get(&from), index.get(&to)) {
                    graph.add_edge(from, to, ());
                }
            }
        }
        let mut components: Vec<Vec<NodeId>> = petgraph::algo::kosaraju_scc(&graph)
            .into_iter()
            .map(|component| {
                let mut nodes: Vec<NodeId> = component.iter().map(|&n| graph[n]).collect();
                // Report in the order the tasks were declared, whatever order the search
                // finds them in.
                nodes.sort_unstable();
                nodes
            })
            .collect();
        components.sort_unstable_by_key(|component| component[0]);
        for component in components {
            let first = index[&component[0]];
            let looped = component.len() == 1 && graph.contains_edge(first, first);
            if component.len() < 2 && !looped {
                continue;
            }
            let members: FxHashSet<NodeIndex> = component.iter().map(|n| index[n]).collect();
            // Start from a task so the message begins with a name the user wrote.
            let start = component
                .iter()
                .copied()
                .find(|&n| self.nodes[n as usize].task().is_some())
                .unwrap_or(component[0]);
            let cycle = shortest_cycle(&graph, &members, index[&start]);
            self.report_cycle(&cycle);
        }
    }

    fn report_cycle(&mut self, cycle: &[NodeId]) {
        let mut steps: Vec<String> = Vec::new();
        let mut locations = Vec::new();
        for &node in cycle.iter().chain(cycle.first()) {
            let info = &self.nodes[node as usize];
            match &info.kind {
                NodeKind::Task(_) => steps.push(format!("`{}`", info.path)),
                NodeKind::Barrier { flow, .. } => {
                    // A flow's start and end barriers read as one step.
                    let step = format!("flow `{flow}`");
                    if steps.last() != Some(&step) {
                        steps.push(step);
                    }
                }
            }
            let location = Location::Member {
                path: info.path.clone(),
            };
            if !locations.contains(&location) {
                locations.push(location);
            }
        }
        let mut diagnostic = Diagnostic::error(Code::Cycle, format!("cycle: {}", steps.join(" -> ")))
            .help("a task cannot wait, directly or through others, for itself: remove one of these dependencies");
        diagnostic.locations = locations;
        self.report(diagnostic);
    }
}

/// A shortest path from `start` back to itself inside one strongly connected component
/// (breadth-first, so iterative).
fn shortest_cycle(
    graph: &DiGraph<NodeId, ()>,
    members: &FxHashSet<NodeIndex>,
    start: NodeIndex,
) -> Vec<NodeId> {
    let mut came_from: FxHashMap<NodeIndex, NodeIndex> = FxHashMap::default();
    let mut queue = VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for next in graph.neighbors(node) {
            if !members.contains(&next) {
                continue;
            }
            if next == start {
                let mut path = vec![graph[node]];
                let mut cursor = node;
                while cursor != start {
                    cursor = came_from[&cursor];
                    path.push(graph[cursor]);
                }
                path.reverse();
                return path;
            }
            if let std::collections::hash_map::Entry::Vacant(entry) = came_from.entry(next) {
                entry.insert(node);
                queue.push_back(next);
            }
        }
    }
    // Unreachable for a strongly connected component; keep the start so the report still shows.
    vec![graph[start]]
}

/// The nodes Kahn's algorithm cannot order: those on a cycle and those behind one. Empty when
/// the graph is acyclic.
fn stuck_nodes(successors: &Csr) -> Vec<NodeId> {
    let n_nodes = successors.len();
    let mut in_degree = vec![0u32; n_nodes];
    for node in 0..n_nodes as NodeId {
        for &next in successors.get(node) {
            in_degree[next as usize] += 1;
        }
    }
    let mut queue: Vec<NodeId> = (0..n_nodes as NodeId)
        .filter(|&node| in_degree[node as usize] == 0)
        .collect();
    let mut ordered = 0;
    while let Some(node) = queue.pop() {
        ordered += 1;
        for &next in successors.get(node) {
            in_degree[next as usize] -= 1;
            if in_degree[next as usize] == 0 {
                queue.push(next);
            }
        }
    }
    if ordered == n_nodes {
        return Vec::new();
    }
    (0..n_nodes as NodeId)
        .filter(|&node| in_degree[node as usize] > 0)
        .collect()
}
