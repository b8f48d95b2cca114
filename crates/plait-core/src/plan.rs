//! A validated workflow, flattened for the scheduler: tasks and barriers in one array,
//! successors in compressed sparse rows, each input wired to the one value that feeds it.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::{Diagnostic, InputDecl, OnFailure, Policy, Port, Ports, RetryPolicy, Task};

/// Index of a node in a [`Plan`].
pub type NodeId = u32;

/// Where an input value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Source {
    /// The run input at this index of [`Plan::inputs`].
    Input(u32),
    /// Output `port` of task `node`.
    Output { node: NodeId, port: u32 },
    /// A value given to a task added while the run goes (a spawned child's input), by its
    /// index among the run's given values. Compiling never makes one.
    Given(u32),
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

/// A task as the engine runs it. Only what the scheduler reads for every task is here: the
/// descriptions are kept apart ([`Plan::description`]), and the ports are the task's own,
/// read from it rather than copied (a plan of a million tasks holds a million slots).
#[derive(Clone)]
pub struct TaskSlot {
    pub task: Arc<dyn Task>,
    /// One per `requires` port.
    pub sources: Box<[Source]>,
    /// Shared by the tasks with the same policy, which is usually all of them.
    pub policy: Arc<Policy>,
}

// A plan holds one node per task: the scheduler reads a node in one cache line.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(size_of::<PlanNode>() <= 64);

impl TaskSlot {
    /// The task's own port names, as `Inputs` shows them to it.
    pub fn requires(&self) -> &[Port] {
        self.task.requires()
    }

    pub fn provides(&self) -> &[Port] {
        self.task.provides()
    }

    /// The task's `requires`, shared with the task: what an `Inputs` is named by.
    pub fn requires_ports(&self) -> Ports {
        Ports::requires_of(self.task.clone())
    }
}

impl std::fmt::Debug for TaskSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskSlot")
            .field("kind", &self.task.kind())
            .field("requires", &self.requires())
            .field("provides", &self.provides())
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
    /// The rows of `edges` by source, each in order and free of duplicates: a counting sort,
    /// linear in the edges, where sorting the pairs would cost a log factor.
    pub(crate) fn from_edges(n_nodes: usize, edges: &[(NodeId, NodeId)]) -> Self {
        let mut csr = Csr::bucket(n_nodes, edges.len(), || edges.iter().copied());
        csr.sort_rows();
        csr
    }

    /// The `(from, to)` pairs `edges` yields, `n_edges` of them, in rows by `from`, each row
    /// in the order the pairs come (a counting sort: `edges` is walked once to count, once
    /// to fill).
    fn bucket<I>(n_nodes: usize, n_edges: usize, edges: impl Fn() -> I) -> Self
    where
        I: Iterator<Item = (NodeId, NodeId)>,
    {
        let mut offsets = vec![0u32; n_nodes + 1];
        for (from, _) in edges() {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n_nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut targets = vec![0 as NodeId; n_edges];
        let mut fill = offsets.clone();
        for (from, to) in edges() {
            targets[fill[from as usize] as usize] = to;
            fill[from as usize] += 1;
        }
        Csr { offsets, targets }
    }

    /// Sorts each row and drops its duplicates, closing up the gaps in place.
    fn sort_rows(&mut self) {
        let mut write = 0usize;
        let mut start = self.offsets[0] as usize;
        for node in 0..self.offsets.len() - 1 {
            let end = self.offsets[node + 1] as usize;
            let row = &mut self.targets[start..end];
            row.sort_unstable();
            let mut last = None;
            let row_start = write;
            for idx in start..end {
                let target = self.targets[idx];
                if last != Some(target) {
                    self.targets[write] = target;
                    write += 1;
                    last = Some(target);
                }
            }
            self.offsets[node] = row_start as u32;
            start = end;
        }
        let n = self.offsets.len() - 1;
        self.offsets[n] = write as u32;
        self.targets.truncate(write);
        self.targets.shrink_to_fit();
    }

    /// The same edges, each turned around.
    pub(crate) fn reversed(&self) -> Csr {
        let n_nodes = self.len();
        // Sources in increasing order fill each row in order, and rows hold no duplicates.
        Csr::bucket(n_nodes, self.targets.len(), || {
            (0..n_nodes as NodeId).flat_map(|from| self.get(from).iter().map(move |&to| (to, from)))
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
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
    /// The names data edges are wired by where that is not the provider's own port name
    /// (a rebind), by consumer and input port; every other edge's name is its provider's.
    pub(crate) edge_names: FxHashMap<(NodeId, u32), Arc<str>>,
    /// By node, in node order: few tasks have one.
    pub(crate) descriptions: Vec<(NodeId, String)>,
    pub(crate) warnings: Vec<Diagnostic>,
    pub(crate) n_tasks: usize,
    pub(crate) spawnables: Vec<Spawnable>,
    /// The spawnables each parent may spawn (indices into `spawnables`), for the few tasks
    /// that spawn.
    pub(crate) spawns: FxHashMap<NodeId, Box<[u32]>>,
}

/// A task the plan's tasks may spawn by name.
#[derive(Clone, Debug)]
pub struct Spawnable {
    pub name: Arc<str>,
    /// Its sources are empty: a child's are the values its parent gives.
    pub slot: TaskSlot,
}

impl Plan {
    /// The spawnable task named `name`.
    pub fn spawnable(&self, name: &str) -> Option<&Spawnable> {
        self.spawnables.iter().find(|s| &*s.name == name)
    }

    pub fn spawnables(&self) -> &[Spawnable] {
        &self.spawnables
    }

    /// The spawnables `node` declares it may spawn.
    pub fn spawns(&self, node: NodeId) -> impl Iterator<Item = &Spawnable> + '_ {
        self.spawns
            .get(&node)
            .into_iter()
            .flat_map(|indices| indices.iter().map(|&idx| &self.spawnables[idx as usize]))
    }

    /// Whether any task of the plan spawns.
    pub fn has_spawns(&self) -> bool {
        !self.spawns.is_empty()
    }

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

    /// Data dependencies with the names they are wired by, for graphs: by consumer, then by
    /// its input port. Made from the tasks' sources on each call, as only displays ask.
    pub fn data_edges(&self) -> Vec<DataEdge> {
        let mut edges = Vec::new();
        for (to, node) in self.nodes.iter().enumerate() {
            let Some(slot) = node.task() else { continue };
            let to = to as NodeId;
            for (port_idx, source) in slot.sources.iter().enumerate() {
                let Source::Output { node: from, port } = *source else {
                    continue;
                };
                let name = match self.edge_names.get(&(to, port_idx as u32)) {
                    Some(name) => name.clone(),
                    None => self.nodes[from as usize]
                        .task()
                        .expect("a source's provider is a task")
                        .provides()[port as usize]
                        .name
                        .clone(),
                };
                edges.push(DataEdge { from, to, name });
            }
        }
        edges
    }

    /// What the task says it does, if it says.
    pub fn description(&self, id: NodeId) -> Option<&str> {
        let idx = self
            .descriptions
            .binary_search_by_key(&id, |(node, _)| *node)
            .ok()?;
        Some(&self.descriptions[idx].1)
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
