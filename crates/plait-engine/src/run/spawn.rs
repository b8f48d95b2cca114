//! Children a running task spawns: each is appended to the running graph as a task of its
//! own (see `append.rs`), with the values its parent gave as its sources, and its parent
//! waits for it without holding a job slot.
//!
//! A child's path is `parent/key`; spawning a key the parent spawned before (a retried
//! parent, a resumed run) finds the child that is there. A revert reads its order from each
//! parent's list of children (`Shared::revert_order`): the parent waits for each child's
//! revert, and each child for its younger sibling's, so children are reverted newest first,
//! before their parent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use plait_core::{
    BoxFuture, Child, Children, ErrorKind, Inputs, NamedMismatch, NodeId, Outputs, Plan, Source,
    Spawn, Spawnable, SpawnedOther, TaskContext, TaskError, TaskSlot, TaskState, Value,
    match_named,
};
use plait_store::{Json, SpawnedChild, Write};
use rustc_hash::FxHashMap;
use tokio::sync::Notify;

use super::Shared;
use super::append::NewTask;
use crate::sync::lock;

/// A run's spawned children.
#[derive(Default)]
pub(super) struct Spawned {
    /// The values parents gave, indexed by `Source::Given`.
    pub(super) given: boxcar::Vec<Value>,
    /// Each child's node by path, and each parent's children: one spawn at a time.
    children: Mutex<Family>,
    /// The parents waiting, by the child they wait for.
    waiting: Mutex<FxHashMap<NodeId, Vec<Arc<Countdown>>>>,
    /// The token of the parent's attempt that spawned each child (none for children a
    /// resume added back): the child is cancelled with it.
    spawners: Mutex<FxHashMap<NodeId, Arc<tokio_util::sync::CancellationToken>>>,
}

#[derive(Default)]
struct Family {
    /// Each child's node and the spawnable it runs.
    by_path: FxHashMap<Arc<str>, (NodeId, Arc<str>)>,
    /// Each parent's children, in the order spawned (the last is the youngest).
    children: FxHashMap<NodeId, Vec<NodeId>>,
    /// Each child's parent and its place among the parent's children.
    parent_of: FxHashMap<NodeId, (NodeId, u32)>,
}

/// The children one wait is still waiting for.
struct Countdown {
    left: AtomicUsize,
    done: Notify,
}

/// How a task spawns and waits: one per attempt of a task that declares children.
pub(super) struct ParentHost {
    shared: Arc<Shared>,
    parent: NodeId,
    /// Its waits under way: the first lends the parent's slot, the last takes it back (a
    /// parent waiting for several children at once, each on its own, lends one slot).
    waits: Arc<AtomicUsize>,
}

impl std::fmt::Debug for ParentHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParentHost")
            .field("parent", &self.parent)
            .finish_non_exhaustive()
    }
}

impl ParentHost {
    /// The host for `parent`'s attempt, if it declares children.
    pub(super) fn for_task(shared: &Arc<Shared>, parent: NodeId) -> Option<Arc<dyn Children>> {
        // `spawns` asks the plan's map only when some task spawns: every attempt comes here.
        shared.spawns(parent).then(|| {
            Arc::new(ParentHost {
                shared: shared.clone(),
                parent,
                waits: Arc::default(),
            }) as Arc<dyn Children>
        })
    }

    /// Checks a child its parent asks for: declared, given the inputs it requires, with a
    /// good key; and works out its path.
    fn ask<'a>(
        &self,
        ctx: &TaskContext,
        plan: &'a Plan,
        spawn: &Spawn,
    ) -> Result<Asked<'a>, TaskError> {
        let Some(spawnable) = plan.spawns(self.parent).find(|s| s.name == *spawn.task()) else {
            return Err(TaskError::permanent(format!(
                "task `{}` spawned `{}`, which it does not declare: declare it with \
                 `.spawns(\"{}\")` on the task's node",
                ctx.task(),
                spawn.task(),
                spawn.task()
            )));
        };
        let values = inputs_for(ctx.task(), spawnable, spawn)?;
        if let Some(key) = spawn.given_key()
            && (key.is_empty() || key.contains('/'))
        {
            return Err(TaskError::permanent(format!(
                "task `{}` gave a child the key `{key}`: a key is not empty and has no `/`",
                ctx.task()
            )));
        }
        let parent = ctx.task();
        let path: Arc<str> = match (spawn.item_index(), spawn.given_key()) {
            (Some(index), _) => format!("{parent}[{index}]"),
            (None, Some(key)) => format!("{parent}/{key}"),
            (None, None) => format!("{parent}/{}", derived_key(parent, spawnable, &values)?),
        }
        .into();
        Ok(Asked {
            spawnable,
            values,
            path,
        })
    }

    /// A child spawned again: it follows this attempt's token now, and one a retried flow
    /// put back to pending, or that was cancelled with the parent's earlier attempt, runs
    /// again.
    fn found(&self, ctx: &TaskContext, node: NodeId) {
        let shared = &self.shared;
        lock(&shared.spawned.spawners).insert(node, Arc::new(ctx.cancellation().clone()));
        let again = {
            let mut record = shared.record(node);
            match record.life.state() {
                TaskState::Pending => true,
                TaskState::Cancelled if !record.interrupted => {
                    record.interrupted = true;
                    true
                }
                _ => false,
            }
        };
        if again {
            super::schedule::make_ready(shared, vec![node], None);
        }
    }

    /// Adds `new` children, none of them in the run yet, in one batch; returns their nodes.
    /// Each child's values are taken: its node holds them.
    fn add_children(
        &self,
        ctx: &TaskContext,
        family: &mut Family,
        new: &mut [Asked],
    ) -> Result<Vec<NodeId>, TaskError> {
        let shared = &self.shared;
        let mut tasks = Vec::with_capacity(new.len());
        for asked in new.iter_mut() {
            let values = std::mem::take(&mut asked.values);
            if shared.has_store() {
                // Recorded before the child's first step, which may follow as soon as it is
                // added.
                let inputs = Inputs::new(asked.spawnable.slot.requires_ports(), values.clone());
                shared.stage_write(Write::Spawned {
                    run_id: shared.config.run_id.to_string().into(),
                    child: SpawnedChild {
                        task: asked.path.as_ref().into(),
                        parent: ctx.task().into(),
                        spawnable: asked.spawnable.name.to_string(),
                        inputs: Json::from_value(&inputs.to_json()),
                    },
                });
            }
            tasks.push(shared.child_task(self.parent, asked.path.clone(), asked.spawnable, values));
        }
        // Known before the children are added, since they may start at once: spawns take
        // turns under the family's lock, so the batch's ids follow the graph's last.
        let first = shared.graph.len() as NodeId;
        {
            let token = Arc::new(ctx.cancellation().clone());
            let mut spawners = lock(&shared.spawned.spawners);
            for node in first..first + tasks.len() as NodeId {
                spawners.insert(node, token.clone());
            }
        }
        let nodes = shared
            .append(tasks)
            .map_err(|error| TaskError::permanent(error.to_string()))?;
        debug_assert_eq!(nodes.first(), Some(&first));
        for (asked, &node) in new.iter().zip(&nodes) {
            shared.adopt(
                family,
                self.parent,
                node,
                asked.path.clone(),
                asked.spawnable,
            );
        }
        Ok(nodes)
    }
}

/// A child its parent asked for, checked.
struct Asked<'a> {
    spawnable: &'a Spawnable,
    /// Its inputs, in its `requires` order.
    values: Vec<Value>,
    path: Arc<str>,
}

/// A parent that runs again (a retry, a resume, a replayed workflow) must ask for the same
/// work under the same keys: `path` is `task` in this run.
fn same_task(
    ctx: &TaskContext,
    path: &str,
    task: &Arc<str>,
    asked: &Spawnable,
) -> Result<(), TaskError> {
    if *task == asked.name {
        return Ok(());
    }
    let other = SpawnedOther {
        path: path.into(),
        parent: ctx.task().into(),
        recorded: task.clone(),
        called: asked.name.clone(),
    };
    Err(TaskError::from_error(ErrorKind::Permanent, other))
}

impl Children for ParentHost {
    fn spawn(&self, ctx: &TaskContext, spawn: Spawn) -> Result<Child, TaskError> {
        let asked = self.ask(ctx, self.shared.graph.plan(), &spawn)?;
        let mut family = lock(&self.shared.spawned.children);
        if let Some(&(node, ref task)) = family.by_path.get(&asked.path) {
            same_task(ctx, &asked.path, task, asked.spawnable)?;
            drop(family);
            self.found(ctx, node);
            return Ok(Child::new(u64::from(node), asked.path));
        }
        let mut new = [asked];
        let node = self.add_children(ctx, &mut family, &mut new)?[0];
        let [asked] = new;
        Ok(Child::new(u64::from(node), asked.path))
    }

    /// Checks every child, then adds the new ones to the run in one batch (see
    /// `append.rs`), under one lock of the family.
    fn spawn_many(&self, ctx: &TaskContext, spawns: Vec<Spawn>) -> Result<Vec<Child>, TaskError> {
        let plan = self.shared.graph.plan();
        let asked = spawns
            .iter()
            .map(|spawn| self.ask(ctx, plan, spawn))
            .collect::<Result<Vec<_>, _>>()?;
        let mut family = lock(&self.shared.spawned.children);
        // Each child found (`Ok`), or the index of a new one (`Err`): a key met earlier in the
        // batch finds the child it asked for there.
        let mut children: Vec<Result<Child, usize>> = Vec::with_capacity(asked.len());
        let mut new: Vec<Asked> = Vec::with_capacity(asked.len());
        let mut found = Vec::new();
        let mut batch: FxHashMap<Arc<str>, usize> =
            FxHashMap::with_capacity_and_hasher(asked.len(), Default::default());
        for asked in asked {
            if let Some(&(node, ref task)) = family.by_path.get(&asked.path) {
                same_task(ctx, &asked.path, task, asked.spawnable)?;
                found.push(node);
                children.push(Ok(Child::new(u64::from(node), asked.path)));
            } else if let Some(&idx) = batch.get(&asked.path) {
                same_task(ctx, &asked.path, &new[idx].spawnable.name, asked.spawnable)?;
                children.push(Err(idx));
            } else {
                batch.insert(asked.path.clone(), new.len());
                children.push(Err(new.len()));
                new.push(asked);
            }
        }
        let nodes = if new.is_empty() {
            Vec::new()
        } else {
            self.add_children(ctx, &mut family, &mut new)?
        };
        drop(family);
        for node in found {
            self.found(ctx, node);
        }
        Ok(children
            .into_iter()
            .map(|child| {
                child.unwrap_or_else(|idx| Child::new(u64::from(nodes[idx]), new[idx].path.clone()))
            })
            .collect())
    }

    fn wait(
        &self,
        ctx: &TaskContext,
        children: Vec<Child>,
    ) -> BoxFuture<Vec<Result<Outputs, TaskError>>> {
        let shared = self.shared.clone();
        let cancel = ctx.cancellation().clone();
        let parent = ctx.task().to_owned();
        let waits = self.waits.clone();
        Box::pin(async move {
            let nodes: Vec<NodeId> = children
                .iter()
                .map(|child| NodeId::try_from(child.id()).unwrap_or(NodeId::MAX))
                .collect();
            if let Some(bad) = nodes.iter().zip(&children).find_map(|(&node, child)| {
                (node as usize >= shared.graph.len()
                    || shared.graph.node(node).path != *child.path())
                .then_some(child)
            }) {
                let error =
                    TaskError::permanent(format!("`{}` is not a child of this run", bad.path()));
                return children.iter().map(|_| Err(error.clone())).collect();
            }
            if let Some(countdown) = shared.watch(&nodes) {
                let lent = Lending::start(&shared, waits);
                tokio::select! {
                    () = countdown.done.notified() => {}
                    () = cancel.cancelled() => {}
                }
                lent.end().await;
            }
            nodes
                .iter()
                .zip(&children)
                .map(|(&node, child)| shared.child_result(node, child, &parent))
                .collect()
        })
    }
}

/// One wait of a parent's, while it goes: the first of the parent's waits lends its slot,
/// the last takes it back. A wait dropped half-way (its parent timed out) gives the lent
/// slot back on its own, in the background.
struct Lending {
    shared: Arc<Shared>,
    waits: Option<Arc<AtomicUsize>>,
}

impl Lending {
    fn start(shared: &Arc<Shared>, waits: Arc<AtomicUsize>) -> Lending {
        if waits.fetch_add(1, Ordering::AcqRel) == 0 {
            shared.sched_lend();
        }
        Lending {
            shared: shared.clone(),
            waits: Some(waits),
        }
    }

    /// The parent goes on: once it holds a slot again, if this was its last wait.
    async fn end(mut self) {
        let waits = self.waits.take().expect("ended once");
        if waits.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.sched_reclaim().await;
        }
    }
}

impl Drop for Lending {
    fn drop(&mut self) {
        if let Some(waits) = self.waits.take()
            && waits.fetch_sub(1, Ordering::AcqRel) == 1
        {
            self.shared.sched_unlend();
        }
    }
}

/// The child's inputs in its `requires` order, each given and of its port's type.
fn inputs_for(parent: &str, spawnable: &Spawnable, spawn: &Spawn) -> Result<Vec<Value>, TaskError> {
    let name = &spawnable.name;
    let requires = spawnable.slot.requires();
    match_named(requires, spawn.inputs()).map_err(|mismatch| {
        TaskError::permanent(match mismatch {
            NamedMismatch::Unknown(extra) => format!(
                "task `{parent}` gave `{name}` an input `{extra}` it does not require; it requires: {}",
                names(requires)
            ),
            NamedMismatch::Missing(port) => format!(
                "task `{parent}` spawned `{name}` without its input `{}` ({})",
                port.name,
                port.ty.name()
            ),
            NamedMismatch::WrongType { port, found } => format!(
                "task `{parent}` gave `{name}` its input `{}` as {}, but it takes {}",
                port.name,
                found.name(),
                port.ty.name()
            ),
        })
    })
}

fn names(ports: &[plait_core::Port]) -> String {
    if ports.is_empty() {
        return "nothing".to_owned();
    }
    let names: Vec<&str> = ports.iter().map(|port| &*port.name).collect();
    names.join(", ")
}

/// `task#` and 8 hex digits of a hash of the task's name and its inputs' JSON: the same
/// child spawned again gets the same key.
fn derived_key(parent: &str, spawnable: &Spawnable, values: &[Value]) -> Result<String, TaskError> {
    let mut hasher = blake3::Hasher::new();
    hasher.update(spawnable.name.as_bytes());
    for (port, value) in spawnable.slot.requires().iter().zip(values) {
        // A Rust value (or a list of them) has no JSON form to hash: only its type's name.
        if !value.value_type().has_json_form() {
            return Err(TaskError::permanent(format!(
                "task `{parent}` spawned `{}` with a Rust value as `{}`, which plait cannot \
                 hash into a key: give the child a key with `Spawn::key`",
                spawnable.name, port.name
            )));
        }
        hasher.update(&[0]);
        hasher.update(port.name.as_bytes());
        hasher.update(&[0]);
        hasher.update(value.to_json().to_string().as_bytes());
    }
    let hash = hasher.finalize();
    let hex = hash.to_hex();
    Ok(format!("{}#{}", spawnable.name, &hex[..8]))
}

impl Shared {
    /// `nodes` and every child spawned from them, at any depth.
    pub(super) fn with_descendants(&self, nodes: &[NodeId]) -> Vec<NodeId> {
        let family = lock(&self.spawned.children);
        let mut all = nodes.to_vec();
        let mut idx = 0;
        while let Some(&node) = all.get(idx) {
            if let Some(children) = family.children.get(&node) {
                all.extend(children);
            }
            idx += 1;
        }
        all
    }

    /// Adds back the children a resumed run's record holds, before anything runs. A child
    /// whose spawnable the plan no longer has, or whose inputs do not fit it (a Rust value
    /// has no recorded form), is left out: a parent that runs again spawns it anew.
    pub(super) fn restore_children(&self, spawned: &[SpawnedChild]) {
        let plan = self.graph.plan();
        let mut family = lock(&self.spawned.children);
        for child in spawned {
            let parent = plan.find(child.parent.as_str());
            let spawnable = plan.spawnable(&child.spawnable);
            let (Some(parent), Some(spawnable)) = (parent, spawnable) else {
                tracing::warn!(child = %child.task.as_str(), "a recorded child's parent or task is not in the plan: not restored");
                continue;
            };
            let values = child.inputs.to_value().ok().and_then(|inputs| {
                super::resume::restore_values(&inputs, spawnable.slot.requires())
            });
            let Some(values) = values else {
                tracing::warn!(child = %child.task.as_str(), "a recorded child's inputs cannot be restored: not restored");
                continue;
            };
            let path: Arc<str> = child.task.as_str().into();
            let task = self.child_task(parent, path.clone(), spawnable, values);
            match self.append_restored(vec![task]) {
                Ok(nodes) => self.adopt(&mut family, parent, nodes[0], path, spawnable),
                Err(error) => {
                    tracing::warn!(%error, "a recorded child cannot be added back: not restored");
                }
            }
        }
    }

    /// A child of `parent` as a task to append: the given values are its sources, and it is
    /// retried with its parent's flow.
    fn child_task(
        &self,
        parent: NodeId,
        path: Arc<str>,
        spawnable: &Spawnable,
        values: Vec<Value>,
    ) -> NewTask {
        let sources = values
            .into_iter()
            .map(|value| Source::Given(self.spawned.given.push(value) as u32))
            .collect();
        NewTask {
            path,
            slot: TaskSlot {
                task: spawnable.slot.task.clone(),
                sources,
                policy: spawnable.slot.policy.clone(),
            },
            after: Vec::new(),
            before: Vec::new(),
            scope: self.graph.node(parent).scope,
        }
    }

    /// `node` is `parent`'s newest child: found by its path, and reverted before its parent
    /// and its elder siblings (`revert_order`).
    fn adopt(
        &self,
        family: &mut Family,
        parent: NodeId,
        node: NodeId,
        path: Arc<str>,
        spawnable: &Spawnable,
    ) {
        let siblings = family.children.entry(parent).or_default();
        family
            .parent_of
            .insert(node, (parent, siblings.len() as u32));
        siblings.push(node);
        family.by_path.insert(path, (node, spawnable.name.clone()));
    }

    /// The order of revert spawning adds, read only by the revert: `first` are the
    /// nodes reverted before `node` (a parent's children; a child's next younger sibling),
    /// `next` those reverted after it (a child's parent and next elder sibling). Children
    /// are thus reverted newest first, before their parent. Read from the family rather than
    /// kept as edges: only a revert needs them.
    pub(super) fn revert_order(&self, node: NodeId) -> (Vec<NodeId>, Vec<NodeId>) {
        let family = lock(&self.spawned.children);
        let mut first = family.children.get(&node).cloned().unwrap_or_default();
        let mut next = Vec::new();
        if let Some(&(parent, place)) = family.parent_of.get(&node) {
            let siblings = &family.children[&parent];
            next.push(parent);
            if let Some(&elder) = place.checked_sub(1).and_then(|p| siblings.get(p as usize)) {
                next.push(elder);
            }
            if let Some(&younger) = siblings.get(place as usize + 1) {
                first.push(younger);
            }
        }
        (first, next)
    }

    /// Whether `node` may spawn children (its attempts then get tokens of their own, which
    /// its children's follow).
    pub(super) fn spawns(&self, node: NodeId) -> bool {
        let plan = self.graph.plan();
        plan.has_spawns() && plan.spawns(node).next().is_some()
    }

    /// The token of the parent attempt that spawned `node`, if it is a child spawned in this
    /// process.
    pub(super) fn spawner_token(
        &self,
        node: NodeId,
    ) -> Option<Arc<tokio_util::sync::CancellationToken>> {
        if (node as usize) < self.graph.plan().len() {
            return None;
        }
        lock(&self.spawned.spawners).get(&node).cloned()
    }

    /// A countdown of the `nodes` not finished yet, or `None` if all are.
    fn watch(&self, nodes: &[NodeId]) -> Option<Arc<Countdown>> {
        let countdown = Arc::new(Countdown {
            left: AtomicUsize::new(0),
            done: Notify::new(),
        });
        let mut waiting = lock(&self.spawned.waiting);
        for &node in nodes {
            // Under the lock `child_finished` takes after the state is final: a child
            // either is final here or will count this wait down.
            if !is_final(&self.record(node)) {
                countdown.left.fetch_add(1, Ordering::AcqRel);
                waiting.entry(node).or_default().push(countdown.clone());
            }
        }
        (countdown.left.load(Ordering::Acquire) > 0).then_some(countdown)
    }

    /// A child's attempts ended: the parents waiting for it are told.
    pub(super) fn child_finished(&self, node: NodeId) {
        let waits = lock(&self.spawned.waiting).remove(&node);
        for countdown in waits.into_iter().flatten() {
            if countdown.left.fetch_sub(1, Ordering::AcqRel) == 1 {
                // `notify_one` keeps the permit if the parent is not waiting yet.
                countdown.done.notify_one();
            }
        }
    }

    fn child_result(
        &self,
        node: NodeId,
        child: &Child,
        parent: &str,
    ) -> Result<Outputs, TaskError> {
        let record = self.record(node);
        match record.life.state() {
            TaskState::Succeeded => Ok(record.outputs.clone().unwrap_or_default()),
            TaskState::Failed => Err(record.error().cloned().unwrap_or_else(|| {
                TaskError::permanent(format!("child `{}` failed", child.path()))
            })),
            state => Err(TaskError::permanent(format!(
                "child `{}` of `{parent}` did not finish: it is {}",
                child.path(),
                state.name()
            ))),
        }
    }
}

/// Whether a child's attempts are over, as far as a waiting parent is concerned (one
/// interrupted by a crash runs again when its resumed run goes on).
fn is_final(record: &super::record::NodeRecord) -> bool {
    !record.interrupted
        && matches!(
            record.life.state(),
            TaskState::Succeeded | TaskState::Failed | TaskState::Cancelled
        )
}
