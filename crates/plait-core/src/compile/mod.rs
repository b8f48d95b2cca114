//! From a [`Workflow`] to a [`Plan`], finding every problem on the way.
//!
//! Four passes: flatten the flow tree into nodes, wire each input to its provider (lexical
//! scoping: the innermost flow whose members provide the name wins), add ordering edges, and
//! look for cycles. Each pass records diagnostics and goes on, so one `check` shows them all.

mod cycles;
mod flatten;
mod order;
mod outputs;
mod wiring;

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::plan::{Csr, DataEdge, NodeId, NodeKind, Plan, PlanNode, RetryScope, ScopeId, Source};
use crate::{Diagnostic, FlowKind, Invalid, RetryPolicy, Workflow};

/// Validates `workflow` and flattens it for the engine. On success the plan carries the
/// warnings; on failure every diagnostic is returned, errors and warnings.
pub fn compile(workflow: &Workflow) -> Result<Plan, Invalid> {
    let mut builder = Builder::default();
    for (idx, input) in workflow.inputs.iter().enumerate() {
        // The first of two inputs with one name wins, as a scan would find it.
        builder.input_index.entry(input.name.clone()).or_insert(idx);
    }
    builder.flatten(&workflow.flow);
    builder.collect_provides();
    builder.wire(workflow);
    builder.order();
    builder.find_cycles();
    let outputs = builder.outputs(workflow);
    builder.finish(workflow, outputs)
}

/// A flow while it is being compiled.
#[derive(Debug)]
struct FlowInfo {
    path: Arc<str>,
    kind: FlowKind,
    parent: Option<usize>,
    /// The flow's inner name -> its name in the parent.
    rebind: FxHashMap<Arc<str>, Arc<str>>,
    members: Vec<(Arc<str>, MemberRef)>,
    after: Vec<Vec<Arc<str>>>,
    /// Every task below this flow, at any depth.
    tasks: Vec<NodeId>,
    /// Name (in this flow's namespace) -> the task ports below that provide it.
    provides: FxHashMap<Arc<str>, Vec<(NodeId, u32)>>,
    retry: Option<RetryPolicy>,
    start: Option<NodeId>,
    end: Option<NodeId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberRef {
    Task(NodeId),
    Flow(usize),
}

/// A task or barrier while it is being compiled.
struct NodeInfo {
    node: PlanNode,
    /// The flow the node is a direct member of.
    parent: usize,
    /// The task's port name -> its name in the parent flow.
    rebind: FxHashMap<Arc<str>, Arc<str>>,
    sources: Vec<Option<Source>>,
}

#[derive(Default)]
struct Builder {
    flows: Vec<FlowInfo>,
    nodes: Vec<NodeInfo>,
    edges: Vec<(NodeId, NodeId)>,
    data_edges: Vec<DataEdge>,
    /// Provider ports and inputs some consumer asked for, bound or not: a port asked for in a
    /// broken wiring is not "unused", it is already reported.
    claimed: rustc_hash::FxHashSet<Source>,
    diagnostics: Vec<Diagnostic>,
    /// The workflow's inputs by name: a grid of tasks may have one input per column, so
    /// looking one up must not cost a scan of them all.
    input_index: rustc_hash::FxHashMap<Arc<str>, usize>,
}

impl Builder {
    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn edge(&mut self, from: NodeId, to: NodeId) {
        self.edges.push((from, to));
    }

    /// The flows from `flow` out to the outermost, `flow` first.
    fn ancestors(&self, flow: usize) -> impl Iterator<Item = usize> + '_ {
        std::iter::successors(Some(flow), |&f| self.flows[f].parent)
    }

    /// The barrier every task of `flow` waits for, made on first use.
    fn start_barrier(&mut self, flow: usize) -> NodeId {
        if let Some(start) = self.flows[flow].start {
            return start;
        }
        let start = self.barrier(flow, false);
        self.flows[flow].start = Some(start);
        for task in self.flows[flow].tasks.clone() {
            self.edge(start, task);
        }
        if self.flows[flow].tasks.is_empty() {
            // An empty flow starts and ends at once.
            self.flows[flow].end = Some(start);
        }
        start
    }

    /// The barrier that waits for every task of `flow`, made on first use.
    fn end_barrier(&mut self, flow: usize) -> NodeId {
        if let Some(end) = self.flows[flow].end {
            return end;
        }
        if self.flows[flow].tasks.is_empty() {
            return self.start_barrier(flow);
        }
        let end = self.barrier(flow, true);
        self.flows[flow].end = Some(end);
        for task in self.flows[flow].tasks.clone() {
            self.edge(task, end);
        }
        end
    }

    fn barrier(&mut self, flow: usize, end: bool) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let path = self.flows[flow].path.clone();
        // A flow's barriers belong to the enclosing flow: retrying the flow re-runs its tasks,
        // not the point where it started, and outsiders wait on its end.
        let parent = self.flows[flow].parent.unwrap_or(flow);
        self.nodes.push(NodeInfo {
            node: PlanNode {
                path: path.clone(),
                kind: NodeKind::Barrier { flow: path, end },
                scope: None,
            },
            parent,
            rebind: FxHashMap::default(),
            sources: Vec::new(),
        });
        id
    }

    /// The node others wait for when they wait for this member.
    fn exit(&mut self, member: MemberRef) -> NodeId {
        match member {
            MemberRef::Task(id) => id,
            MemberRef::Flow(flow) => self.end_barrier(flow),
        }
    }

    /// The node that waits when this member waits.
    fn entry(&mut self, member: MemberRef) -> NodeId {
        match member {
            MemberRef::Task(id) => id,
            MemberRef::Flow(flow) => self.start_barrier(flow),
        }
    }

    fn finish(
        mut self,
        workflow: &Workflow,
        outputs: Vec<(Arc<str>, Source)>,
    ) -> Result<Plan, Invalid> {
        if self.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Invalid {
                diagnostics: self.diagnostics,
            });
        }
        let scopes = self.retry_scopes();
        let n_nodes = self.nodes.len();
        let mut forward = std::mem::take(&mut self.edges);
        forward.sort_unstable();
        forward.dedup();
        let mut backward: Vec<(NodeId, NodeId)> = forward.iter().map(|&(a, b)| (b, a)).collect();
        backward.sort_unstable();
        let n_tasks = self
            .nodes
            .iter()
            .filter(|n| n.node.task().is_some())
            .count();
        let nodes = self
            .nodes
            .into_iter()
            .map(|mut info| {
                if let NodeKind::Task(slot) = &mut info.node.kind {
                    // Wiring succeeded (no errors), so every source is set.
                    slot.sources = info.sources.into_iter().flatten().collect();
                }
                info.node
            })
            .collect();
        Ok(Plan {
            name: workflow.flow.name.clone(),
            nodes,
            successors: Csr::from_sorted(n_nodes, &forward),
            predecessors: Csr::from_sorted(n_nodes, &backward),
            inputs: workflow.inputs.clone(),
            outputs,
            scopes,
            on_failure: workflow.on_failure,
            data_edges: self.data_edges,
            warnings: self.diagnostics,
            n_tasks,
        })
    }

    /// Gives each flow with a retry policy a scope, and each node its innermost scope.
    fn retry_scopes(&mut self) -> Vec<RetryScope> {
        let mut scopes: Vec<RetryScope> = Vec::new();
        let mut scope_of_flow: FxHashMap<usize, ScopeId> = FxHashMap::default();
        // Parents come before children in `flows`, so a parent's scope exists first.
        for flow in 0..self.flows.len() {
            let Some(retry) = self.flows[flow].retry.clone() else {
                continue;
            };
            let parent = self.flows[flow].parent.and_then(|p| {
                self.ancestors(p)
                    .find_map(|f| scope_of_flow.get(&f).copied())
            });
            let end = self.end_barrier(flow);
            scope_of_flow.insert(flow, scopes.len() as ScopeId);
            scopes.push(RetryScope {
                path: self.flows[flow].path.clone(),
                retry,
                parent,
                nodes: Vec::new(),
                end,
            });
        }
        for id in 0..self.nodes.len() {
            let scope = self
                .ancestors(self.nodes[id].parent)
                .find_map(|f| scope_of_flow.get(&f).copied());
            self.nodes[id].node.scope = scope;
            let mut cursor = scope;
            while let Some(s) = cursor {
                scopes[s as usize].nodes.push(id as NodeId);
                cursor = scopes[s as usize].parent;
            }
        }
        scopes
    }
}

#[cfg(test)]
mod tests;
