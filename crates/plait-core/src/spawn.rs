//! Work a running task asks for: children it spawns by name and waits for.
//!
//! A child is a task the plan knows (a [`crate::Workflow::spawnable`]), named by its parent
//! (which declares it with [`crate::TaskNode::spawns`]) and given every input it requires.
//! Naming rather than passing a closure keeps the whole graph checkable before the run, and
//! lets a child run wherever its parent's plan is known.
//!
//! A child has a key, unique among its parent's children: given, or derived from its task
//! and inputs. A retried (or resumed) parent that spawns the same key again gets the child
//! it spawned before, not a second one.

use std::sync::Arc;

use crate::{BoxFuture, Outputs, TaskContext, TaskError, Value};

/// A child to start: a spawnable task by name, its inputs, and optionally its key.
#[derive(Clone, Debug)]
pub struct Spawn {
    task: Arc<str>,
    key: Option<Arc<str>>,
    /// The element of a fan-out this child runs for: its path is `parent[item]`.
    item: Option<usize>,
    inputs: Vec<(Arc<str>, Value)>,
}

impl Spawn {
    /// A child running the spawnable task `task`.
    pub fn new(task: impl Into<Arc<str>>) -> Self {
        Spawn {
            task: task.into(),
            key: None,
            item: None,
            inputs: Vec::new(),
        }
    }

    /// Gives the child its input `name`.
    pub fn input(mut self, name: impl Into<Arc<str>>, value: impl Into<Value>) -> Self {
        self.inputs.push((name.into(), value.into()));
        self
    }

    /// The child's key among its parent's children (its path is `parent/key`). Without one,
    /// the key is derived from the task and its inputs: `task#` and 8 hex digits.
    pub fn key(mut self, key: impl Into<Arc<str>>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// The child is item `index` of its parent's fan-out: its path is `parent[index]`.
    pub fn item(mut self, index: usize) -> Self {
        self.item = Some(index);
        self
    }

    pub fn task(&self) -> &Arc<str> {
        &self.task
    }

    pub fn item_index(&self) -> Option<usize> {
        self.item
    }

    pub fn given_key(&self) -> Option<&Arc<str>> {
        self.key.as_ref()
    }

    pub fn inputs(&self) -> &[(Arc<str>, Value)] {
        &self.inputs
    }

    pub fn into_inputs(self) -> Vec<(Arc<str>, Value)> {
        self.inputs
    }
}

/// A spawned child: what its parent waits for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Child {
    /// The engine's handle on the child's node.
    id: u64,
    path: Arc<str>,
}

impl Child {
    pub fn new(id: u64, path: Arc<str>) -> Self {
        Child { id, path }
    }

    pub fn id(&self) -> u64 {
        self.id
    }

    /// `parent/key`.
    pub fn path(&self) -> &Arc<str> {
        &self.path
    }
}

/// What the engine does when a task spawns and waits: set on the context of tasks that
/// declare children ([`TaskContext::with_children`]).
pub trait Children: Send + Sync + std::fmt::Debug + 'static {
    /// Adds the child to the run (or finds the one spawned with its key before) and returns
    /// at once; it starts when a job slot is free.
    fn spawn(&self, parent: &TaskContext, spawn: Spawn) -> Result<Child, TaskError>;

    /// Spawns every one of `spawns` as [`Children::spawn`] would in turn (a key met again,
    /// here or before, finds its child), in one step: if one is refused, none is added.
    fn spawn_many(
        &self,
        parent: &TaskContext,
        spawns: Vec<Spawn>,
    ) -> Result<Vec<Child>, TaskError> {
        spawns
            .into_iter()
            .map(|spawn| self.spawn(parent, spawn))
            .collect()
    }

    /// Waits for every one of `children`, giving the parent's job slot back meanwhile;
    /// results in the same order. Ends early, cancelled, when the parent is.
    fn wait(
        &self,
        parent: &TaskContext,
        children: Vec<Child>,
    ) -> BoxFuture<Vec<Result<Outputs, TaskError>>>;
}

/// A parent that runs again (a retry, a resume, a replayed workflow) spawned another task
/// under a key it used before: the source of the [`crate::TaskError`] that fails it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "child `{path}` is `{recorded}` in this run, but `{parent}` spawned `{called}` with its key: a parent that runs again must spawn the same children"
)]
pub struct SpawnedOther {
    pub path: Arc<str>,
    pub parent: Arc<str>,
    /// The task the child under that key runs.
    pub recorded: Arc<str>,
    /// The task spawned now.
    pub called: Arc<str>,
}

/// Why values given by name do not fit a list of ports ([`match_named`]).
#[derive(Clone, Debug, PartialEq)]
pub enum NamedMismatch {
    /// A name no port has.
    Unknown(Arc<str>),
    /// A port no value was given for.
    Missing(crate::Port),
    /// A value of another type than its port's.
    WrongType {
        port: crate::Port,
        found: crate::ValueType,
    },
}

/// The values `given` by name, one per port in `ports`' order (the last of a name given
/// twice), each of its port's type: how a child's or a sub-workflow's inputs are checked.
pub fn match_named(
    ports: &[crate::Port],
    given: &[(Arc<str>, Value)],
) -> Result<Vec<Value>, NamedMismatch> {
    if let Some((unknown, _)) = given
        .iter()
        .find(|(name, _)| !ports.iter().any(|port| port.name == *name))
    {
        return Err(NamedMismatch::Unknown(unknown.clone()));
    }
    ports
        .iter()
        .map(|port| {
            let Some((_, value)) = given.iter().rev().find(|(name, _)| *name == port.name) else {
                return Err(NamedMismatch::Missing(port.clone()));
            };
            if !value.fits(&port.ty) {
                return Err(NamedMismatch::WrongType {
                    port: port.clone(),
                    found: value.value_type(),
                });
            }
            Ok(value.clone())
        })
        .collect()
}
