//! From a [`Workflow`] to a [`Plan`], finding every problem on the way.
//!
//! Four passes: flatten the flow tree into nodes, wire each input to its provider (lexical
//! scoping: the innermost flow whose members provide the name wins), add ordering edges, and
//! look for cycles. Each pass records diagnostics and goes on, so one `check` shows them all.
//!
//! A workflow may hold a million tasks, so the builder keeps per task only what the plan will
//! keep anyway (the plan's nodes are built in place) plus a few words; maps are per flow.

mod claims;
mod cycles;
mod fanout;
mod flatten;
mod order;
mod outputs;
mod provides;
mod scopes;
mod spawns;
mod wiring;

use std::ops::Range;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::plan::{Csr, NodeId, NodeKind, Plan, PlanNode, Source};
use crate::{Diagnostic, FlowKind, InputDecl, Invalid, OnFailure, Policy, RetryPolicy, Workflow};
use claims::Claims;
use provides::Provides;

/// Validates `workflow` and flattens it for the engine. On success the plan carries the
/// warnings; on failure every diagnostic is returned, errors and warnings.
pub fn compile(workflow: &Workflow) -> Result<Plan, Invalid> {
    let mut builder = Builder::new(&workflow.inputs);
    builder.flatten(flatten::Tree::Borrowed(&workflow.flow));
    builder.build(
        workflow.flow.name.clone(),
        workflow.inputs.clone(),
        workflow.outputs.as_deref(),
        workflow.on_failure,
        &workflow.spawnables,
    )
}

/// [`compile`] for a caller that has no further use for the workflow: its tasks and names
/// move into the plan rather than being shared with it, and the rest of the tree is freed as
/// it is read, so the two are never held whole at once.
pub fn compile_owned(workflow: Workflow) -> Result<Plan, Invalid> {
    let Workflow {
        flow,
        inputs,
        outputs,
        on_failure,
        spawnables,
    } = workflow;
    let mut builder = Builder::new(&inputs);
    let name = flow.name.clone();
    builder.flatten(flatten::Tree::Owned(flow));
    builder.build(name, inputs, outputs.as_deref(), on_failure, &spawnables)
}

/// A flow while it is being compiled.
#[derive(Debug)]
struct FlowInfo {
    path: Arc<str>,
    kind: FlowKind,
    parent: Option<usize>,
    /// The flow's inner name -> its name in the parent.
    rebind: FxHashMap<Arc<str>, Arc<str>>,
    members: Vec<MemberRef>,
    /// The members' names, kept only when some member runs `after` others and they must be
    /// looked up.
    names: Vec<Arc<str>>,
    /// Member index -> the siblings it runs after, for the members that name any.
    after: Vec<(usize, Vec<Arc<str>>)>,
    /// Every task below this flow, at any depth: flattening numbers them depth first, so
    /// they are consecutive.
    tasks: Range<NodeId>,
    /// Name (in this flow's namespace) -> the task ports below that provide it.
    provides: Provides,
    retry: Option<RetryPolicy>,
    start: Option<NodeId>,
    end: Option<NodeId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum MemberRef {
    Task(NodeId),
    Flow(u32),
}

struct Builder {
    flows: Vec<FlowInfo>,
    /// The plan's nodes, built in place; a task's sources are filled in by wiring.
    nodes: Vec<PlanNode>,
    /// The flow each node is a direct member of.
    parents: Vec<u32>,
    /// Port name -> its name in the parent flow, for the tasks that rebind any.
    task_rebinds: FxHashMap<NodeId, FxHashMap<Arc<str>, Arc<str>>>,
    edges: Vec<(NodeId, NodeId)>,
    /// How many input ports the tasks have in all: about as many data edges are coming.
    n_requires: usize,
    /// See [`Plan::data_edges`].
    edge_names: FxHashMap<(NodeId, u32), Arc<str>>,
    descriptions: Vec<(NodeId, String)>,
    /// The tasks that declare children, with the names they declare.
    spawns: Vec<(NodeId, Vec<Arc<str>>)>,
    /// The members with `for_each`, finished after wiring (see `fanout.rs`).
    fan_outs: Vec<fanout::FanOutNode>,
    /// The fan-outs whose list port takes any list until they are finished.
    any_list: rustc_hash::FxHashSet<NodeId>,
    /// Provider ports and inputs some consumer asked for, bound or not: a port asked for in a
    /// broken wiring is not "unused", it is already reported.
    claims: Claims,
    /// The distinct policies so far: tasks with equal policies share one.
    policies: Vec<Arc<Policy>>,
    diagnostics: Vec<Diagnostic>,
    /// The workflow's inputs by name: a grid of tasks may have one input per column, so
    /// looking one up must not cost a scan of them all.
    input_index: FxHashMap<Arc<str>, usize>,
}

/// Where a source is not yet known. Wiring sets every one, or reports why it could not.
const UNBOUND: Source = Source::Input(u32::MAX);

impl Builder {
    fn new(inputs: &[InputDecl]) -> Builder {
        let mut input_index = FxHashMap::default();
        for (idx, input) in inputs.iter().enumerate() {
            // The first of two inputs with one name wins, as a scan would find it.
            input_index.entry(input.name.clone()).or_insert(idx);
        }
        Builder {
            flows: Vec::new(),
            nodes: Vec::new(),
            parents: Vec::new(),
            task_rebinds: FxHashMap::default(),
            edges: Vec::new(),
            n_requires: 0,
            edge_names: FxHashMap::default(),
            descriptions: Vec::new(),
            spawns: Vec::new(),
            fan_outs: Vec::new(),
            any_list: rustc_hash::FxHashSet::default(),
            claims: Claims::new(inputs.len()),
            policies: Vec::new(),
            diagnostics: Vec::new(),
            input_index,
        }
    }

    /// The passes after flattening.
    fn build(
        mut self,
        name: Arc<str>,
        inputs: Vec<InputDecl>,
        outputs: Option<&[Arc<str>]>,
        on_failure: OnFailure,
        spawnables: &[crate::TaskNode],
    ) -> Result<Plan, Invalid> {
        self.collect_provides();
        let (mut spawnables, mut spawns) = self.spawnables(spawnables);
        self.wire(&inputs, outputs);
        self.finish_fan_outs(&inputs, &mut spawnables, &mut spawns);
        self.order();
        let scopes = self.retry_scopes();
        let successors = Csr::from_edges(self.nodes.len(), &std::mem::take(&mut self.edges));
        self.find_cycles(&successors);
        let outputs = self.outputs(outputs);
        if self.diagnostics.iter().any(Diagnostic::is_error) {
            return Err(Invalid {
                diagnostics: self.diagnostics,
            });
        }
        // The flows' maps are the builder's largest part: gone before the plan's last arrays.
        drop(std::mem::take(&mut self.flows));
        let predecessors = successors.reversed();
        let n_tasks = self.nodes.iter().filter(|n| n.task().is_some()).count();
        Ok(Plan {
            name,
            nodes: self.nodes,
            successors,
            predecessors,
            inputs,
            outputs,
            scopes,
            on_failure,
            edge_names: self.edge_names,
            descriptions: self.descriptions,
            warnings: self.diagnostics,
            n_tasks,
            spawnables,
            spawns,
        })
    }

    fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    fn edge(&mut self, from: NodeId, to: NodeId) {
        self.edges.push((from, to));
    }

    fn parent(&self, node: NodeId) -> usize {
        self.parents[node as usize] as usize
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
        self.nodes.push(PlanNode {
            path: path.clone(),
            kind: NodeKind::Barrier { flow: path, end },
            scope: None,
        });
        self.parents.push(parent as u32);
        id
    }

    /// The node others wait for when they wait for this member.
    fn exit(&mut self, member: MemberRef) -> NodeId {
        match member {
            MemberRef::Task(id) => id,
            MemberRef::Flow(flow) => self.end_barrier(flow as usize),
        }
    }

    /// The node that waits when this member waits.
    fn entry(&mut self, member: MemberRef) -> NodeId {
        match member {
            MemberRef::Task(id) => id,
            MemberRef::Flow(flow) => self.start_barrier(flow as usize),
        }
    }

    /// The policy, shared with an earlier task's if equal: a plan of a million tasks then
    /// holds a handful.
    fn share_policy(&mut self, policy: Policy) -> Arc<Policy> {
        // Few tasks differ, and those that do mostly repeat their neighbour's: a short scan,
        // newest first, finds nearly every one, and a miss costs one allocation.
        const LOOK_BACK: usize = 8;
        if let Some(shared) = self
            .policies
            .iter()
            .rev()
            .take(LOOK_BACK)
            .find(|p| ***p == policy)
        {
            return shared.clone();
        }
        let shared = Arc::new(policy);
        if self.policies.len() == LOOK_BACK {
            self.policies.remove(0);
        }
        self.policies.push(shared.clone());
        shared
    }
}

#[cfg(test)]
mod tests;
