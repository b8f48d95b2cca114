//! A validated workflow, flattened for the scheduler: tasks and barriers in one array,
//! successors in compressed sparse rows, each input wired to the one value that feeds it.

use std::sync::Arc;

use crate::{Diagnostic, InputDecl, OnFailure, Policy, Port, RetryPolicy, Task};

/// Index of a node in a [`Plan`].
pub type NodeId = u32;

/// Where an input value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The run input at this index of [`Plan::inputs`].
    Input(u32),
    /// Output `port` of task `node`.
    Output { node: NodeId, port: u32 },
}

/// A node of the flattened graph.
#[derive(Clone, Debug)]
pub enum NodeKind {
    Task(TaskSlot),
    /// A point with no work of its own, where flow-level ordering meets: every task of a flow
    /// waits for the flow's start barrier; its end barrier waits for every task.
    Barrier {
        flow: Arc<str>,
        end: bool,
    },
}

/// A task as the engine runs it.
#[derive(Clone)]
pub struct TaskSlot {
    pub task: Arc<dyn Task>,
    /// The task's own port names, as `Inputs` shows them to it.
    pub requires: Arc<[Port]>,
    pub provides: Arc<[Port]>,
    /// One per `requires` port.
    pub sources: Box<[Source]>,
    pub policy: Policy,
    pub description: Option<String>,
}

impl std::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSlot")
            .field("kind", &self.task.kind())
            .field("requires", &self.requires)
            .field("provides", &self.provides)
            .field("sources", &self.sources)
            .field("policy", &self.policy)
            .finish()
    }
}

#[derive(Clone)]
pub struct PlanNode {
    /// `flow/sub/task` from the outermost flow (whose own name is left out).
    pub path: Arc<str>,
    pub kind: NodeKind,
    /// The innermost flow with a retry policy that holds this node.
    pub scope: Option<ScopeId>,
}

impl std::fmt::Debug for PlanNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            NodeKind::Task(slot) => slot.task.kind().to_owned(),
            NodeKind::Barrier { end, .. } => if *end { "end" } else { "start" }.to_owned(),
        };
        f.debug_struct("PlanNode")
            .field("path", &self.path)
            .field("kind", &kind)
            .finish()
    }
}

impl PlanNode {
    pub fn task(&self) -> Option<&TaskSlot> {
        match &self.kind {
            NodeKind::Task(slot) => Some(slot),
            NodeKind::Barrier { .. } => None,
        }
    }
}

/// Index of a retry scope in a [`Plan`].
pub type ScopeId = u32;

/// A flow that is retried as a unit.
#[derive(Clone, Debug)]
pub struct RetryScope {
    pub path: Arc<str>,
    pub retry: RetryPolicy,
    pub parent: Option<ScopeId>,
    /// Every node inside, barriers included, in index order.
    pub nodes: Vec<NodeId>,
    /// The barrier that releases the flow's outputs to the rest of the run.
    pub end: NodeId,
}

/// An edge for display: data carries the name it is wired by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataEdge {
    pub from: NodeId,
    pub to: NodeId,
    pub name: Arc<str>,
}

/// Compressed sparse rows: the neighbours of node `i` are `targets[offsets[i]..offsets[i+1]]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct Csr {
    offsets: Vec<u32>,
    targets: Vec<NodeId>,
}

impl Csr {
    /// `edges` must be sorted by source and free of duplicates.
    pub(crate) fn from_sorted(n_nodes: usize, edges: &[(NodeId, NodeId)]) -> Self {
        let mut offsets = vec![0u32; n_nodes + 1];
        for &(from, _) in edges {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n_nodes {
            offsets[i + 1] += offsets[i];
        }
        Csr {
            offsets,
            targets: edges.iter().map(|&(_, to)| to).collect(),
        }
    }

    pub(crate) fn get(&self, node: NodeId) -> &[NodeId] {
        let node = node as usize;
        &self.targets[self.offsets[node] as usize..self.offsets[node + 1] as usize]
    }
}

/// A workflow that passed validation. Cheap to share: run it as often as you like.
#[derive(Clone, Debug)]
pub struct Plan {
    pub(crate) name: Arc<str>,
    pub(crate) nodes: Vec<PlanNode>,
    pub(crate) successors: Csr,
    pub(crate) predecessors: Csr,
    pub(crate) inputs: Vec<InputDecl>,
    pub(crate) outputs: Vec<(Arc<str>, Source)>,
    pub(crate) scopes: Vec<RetryScope>,
    pub(crate) on_failure: OnFailure,
    pub(crate) data_edges: Vec<DataEdge>,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) n_tasks: usize,
}

impl Plan {
    /// The outermost flow's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// How many nodes are tasks (the rest are barriers).
    pub fn n_tasks(&self) -> usize {
        self.n_tasks
    }

    pub fn node(&self, id: NodeId) -> &PlanNode {
        &self.nodes[id as usize]
    }

    pub fn nodes(&self) -> &[PlanNode] {
        &self.nodes
    }

    /// The nodes that wait for `id`.
    pub fn successors(&self, id: NodeId) -> &[NodeId] {
        self.successors.get(id)
    }

    /// The nodes `id` waits for.
    pub fn predecessors(&self, id: NodeId) -> &[NodeId] {
        self.predecessors.get(id)
    }

    pub fn inputs(&self) -> &[InputDecl] {
        &self.inputs
    }

    /// The run's outputs and where each comes from.
    pub fn outputs(&self) -> &[(Arc<str>, Source)] {
        &self.outputs
    }

    pub fn scopes(&self) -> &[RetryScope] {
        &self.scopes
    }

    pub fn on_failure(&self) -> OnFailure {
        self.on_failure
    }

    /// Data dependencies with the names they are wired by, for graphs.
    pub fn data_edges(&self) -> &[DataEdge] {
        &self.data_edges
    }

    /// Warnings validation found (errors stop a plan from being made).
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.warnings
    }

    /// The node with this path.
    pub fn find(&self, path: &str) -> Option<NodeId> {
        self.nodes
            .iter()
            .position(|node| &*node.path == path)
            .map(|idx| idx as NodeId)
    }
}
