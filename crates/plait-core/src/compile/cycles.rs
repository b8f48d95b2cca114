//! Pass 4: every cycle, each printed as the path that closes it.

use std::collections::VecDeque;

use petgraph::graph::{DiGraph, NodeIndex};
use rustc_hash::{FxHashMap, FxHashSet};

use super::Builder;
use crate::Diagnostic;
use crate::diagnostic::{Code, Location};
use crate::plan::{NodeId, NodeKind};

impl Builder {
    pub(super) fn find_cycles(&mut self) {
        let mut graph = DiGraph::<(), ()>::with_capacity(self.nodes.len(), self.edges.len());
        for _ in 0..self.nodes.len() {
            graph.add_node(());
        }
        for &(from, to) in &self.edges {
            graph.add_edge(
                NodeIndex::new(from as usize),
                NodeIndex::new(to as usize),
                (),
            );
        }
        let mut components = petgraph::algo::tarjan_scc(&graph);
        // Report in the order the tasks were declared, whatever order Tarjan finds them in.
        for component in &mut components {
            component.sort_unstable();
        }
        components.sort_unstable_by_key(|component| component[0]);
        for component in components {
            let looped = component.len() == 1 && graph.contains_edge(component[0], component[0]);
            if component.len() < 2 && !looped {
                continue;
            }
            let members: FxHashSet<NodeIndex> = component.iter().copied().collect();
            // Start from a task so the message begins with a name the user wrote.
            let start = component
                .iter()
                .copied()
                .find(|n| self.nodes[n.index()].node.task().is_some())
                .unwrap_or(component[0]);
            let cycle = shortest_cycle(&graph, &members, start);
            self.report_cycle(&cycle);
        }
    }

    fn report_cycle(&mut self, cycle: &[NodeId]) {
        let mut steps: Vec<String> = Vec::new();
        let mut locations = Vec::new();
        for &node in cycle.iter().chain(cycle.first()) {
            let info = &self.nodes[node as usize].node;
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

/// A shortest path from `start` back to itself inside one strongly connected component.
fn shortest_cycle(
    graph: &DiGraph<(), ()>,
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
                let mut path = vec![node.index() as NodeId];
                let mut cursor = node;
                while cursor != start {
                    cursor = came_from[&cursor];
                    path.push(cursor.index() as NodeId);
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
    vec![start.index() as NodeId]
}
