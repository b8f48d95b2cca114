//! The graph a run executes: its compiled plan, and the tasks appended while it runs.
//!
//! Node ids below the plan's length are the plan's; appended nodes follow, in the order
//! they were appended. The plan stays shared and immutable (every run of it reads the same
//! arrays); what a run adds is its own. Appended nodes live in append-only vectors
//! (`boxcar`: a push never moves an element), so runners read nodes and their state while
//! others are appended, with no lock. An edge from an existing node to a new one is kept in
//! the existing node's record (`NodeRecord::more`), where its release reads it.
//!
//! Until something is appended the graph is the plan's alone, and releasing a node costs no
//! more than it did (`Graph::grown`).

use std::ops::Index;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use rustc_hash::FxHashSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use plait_core::{NodeId, Plan, PlanNode};

use crate::sync::lock;

/// A node appended to a running graph: the plan's node type, and what it waits for.
pub(super) struct Appended {
    pub(super) node: PlanNode,
    pub(super) predecessors: Box<[NodeId]>,
}

pub(super) struct Graph {
    plan: Arc<Plan>,
    appended: boxcar::Vec<Appended>,
    /// How many appended nodes are complete (their state pushed too): the graph's length is
    /// the plan's plus this.
    n_appended: AtomicUsize,
    /// Whether anything was appended.
    grown: AtomicBool,
    /// The plan's paths, gathered on the first append (a run that never grows does not pay
    /// for it).
    planned_paths: OnceLock<FxHashSet<Arc<str>>>,
    /// The appended nodes' paths; its lock is held by one append at a time.
    appended_paths: Mutex<FxHashSet<Arc<str>>>,
}

impl Graph {
    pub(super) fn new(plan: Arc<Plan>) -> Graph {
        Graph {
            plan,
            appended: boxcar::Vec::new(),
            n_appended: AtomicUsize::new(0),
            grown: AtomicBool::new(false),
            planned_paths: OnceLock::new(),
            appended_paths: Mutex::default(),
        }
    }

    /// The appended nodes' paths, locked: an append holds it from its checks to its last
    /// node, so appends take turns.
    pub(super) fn appending(&self) -> MutexGuard<'_, FxHashSet<Arc<str>>> {
        lock(&self.appended_paths)
    }

    /// Whether a node of the graph has `path` (`appended` is what `appending` holds).
    pub(super) fn has_path(&self, appended: &FxHashSet<Arc<str>>, path: &str) -> bool {
        appended.contains(path)
            || self
                .planned_paths
                .get_or_init(|| {
                    self.plan
                        .nodes()
                        .iter()
                        .map(|node| node.path.clone())
                        .collect()
                })
                .contains(path)
    }

    /// The compiled plan, for what appending does not change (inputs, outputs, scopes).
    pub(super) fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Nodes in the graph now, appended ones included.
    pub(super) fn len(&self) -> usize {
        self.plan.len() + self.n_appended.load(Ordering::Acquire)
    }

    pub(super) fn ids(&self) -> std::ops::Range<NodeId> {
        0..self.len() as NodeId
    }

    pub(super) fn node(&self, id: NodeId) -> &PlanNode {
        match (id as usize).checked_sub(self.plan.len()) {
            None => self.plan.node(id),
            Some(idx) => &self.appended[idx].node,
        }
    }

    /// The successors the plan gives `id` (an appended node has none of its own: edges
    /// from it are in its record, like every edge added while the run goes).
    pub(super) fn planned_successors(&self, id: NodeId) -> &[NodeId] {
        if (id as usize) < self.plan.len() {
            self.plan.successors(id)
        } else {
            &[]
        }
    }

    /// The predecessors `id` had when it joined the graph (the plan's, or those it was
    /// appended with); more may be in its record.
    pub(super) fn first_predecessors(&self, id: NodeId) -> &[NodeId] {
        match (id as usize).checked_sub(self.plan.len()) {
            None => self.plan.predecessors(id),
            Some(idx) => &self.appended[idx].predecessors,
        }
    }

    pub(super) fn n_tasks(&self) -> usize {
        self.plan.n_tasks() + self.n_appended.load(Ordering::Acquire)
    }

    /// Whether anything was appended: only then may a record hold edges of its own.
    pub(super) fn grown(&self) -> bool {
        self.grown.load(Ordering::Acquire)
    }

    /// Adds a node; its state must be pushed (at the same index) before `publish`.
    pub(super) fn push(&self, node: Appended) -> NodeId {
        self.grown.store(true, Ordering::Release);
        let idx = self.appended.push(node);
        (self.plan.len() + idx) as NodeId
    }

    /// Makes the nodes pushed so far part of the graph's length.
    pub(super) fn publish(&self) {
        self.n_appended
            .store(self.appended.count(), Ordering::Release);
    }
}

/// Per-node state that grows with the graph: the plan's nodes in one dense array, appended
/// ones in an append-only vector.
pub(super) struct Grown<T> {
    planned: Box<[T]>,
    appended: boxcar::Vec<T>,
}

impl<T> Grown<T> {
    pub(super) fn new(planned: Box<[T]>) -> Grown<T> {
        Grown {
            planned,
            appended: boxcar::Vec::new(),
        }
    }

    /// Adds the state of the next appended node; returns its id.
    pub(super) fn push(&self, value: T) -> NodeId {
        (self.planned.len() + self.appended.push(value)) as NodeId
    }
}

impl<T> Index<NodeId> for Grown<T> {
    type Output = T;

    fn index(&self, id: NodeId) -> &T {
        match self.planned.get(id as usize) {
            Some(value) => value,
            None => &self.appended[id as usize - self.planned.len()],
        }
    }
}
