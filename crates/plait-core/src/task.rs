//! The `Task` trait and what flows in and out of it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::{
    Child, Children, OutputSink, OutputStream, Policy, Spawn, TaskError, Value, ValueType,
};

/// A boxed, sendable future: what `execute` and `revert` return.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A named, typed input or output of a task.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Port {
    pub name: Arc<str>,
    pub ty: ValueType,
}

impl Port {
    pub fn new(name: impl Into<Arc<str>>, ty: ValueType) -> Self {
        Port {
            name: name.into(),
            ty,
        }
    }
}

/// A unit of work: it requires some named values, provides others, and may undo itself.
///
/// Most tasks are built from functions with [`crate::task_fn`]; implement the trait for a struct
/// when the task carries configuration or needs a `revert`.
pub trait Task: Send + Sync + 'static {
    /// The inputs, by the task's own names (a flow may rebind them).
    fn requires(&self) -> &[Port];

    /// The outputs, by the task's own names.
    fn provides(&self) -> &[Port];

    /// Does the work. Called once per attempt; `inputs` holds one value per `requires` port.
    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>>;

    /// Whether [`Task::revert`] does anything: the engine skips the call otherwise.
    fn has_revert(&self) -> bool {
        false
    }

    /// Undoes the effect of `execute`, given the same inputs and how the task ended (it may
    /// have failed or been cancelled half-way, so a revert must cope with a partial effect).
    fn revert(
        &self,
        ctx: TaskContext,
        inputs: Inputs,
        outcome: Outcome,
    ) -> BoxFuture<Result<(), TaskError>> {
        let _ = (ctx, inputs, outcome);
        Box::pin(async { Ok(()) })
    }

    /// The policy this task wants unless its flow says otherwise.
    fn default_policy(&self) -> Policy {
        Policy::default()
    }

    /// What the task does, as far as the cache key needs it: the result of the same code on
    /// the same inputs is reused. `None` (the default): the task cannot be cached.
    fn code(&self) -> Option<TaskCode> {
        None
    }

    /// A short word for graphs and logs: `fn`, `command`, ...
    fn kind(&self) -> &str {
        "task"
    }

    /// Problems with how the task was built (a function's arity not matching its names),
    /// reported by validation rather than at construction so every problem shows at once.
    fn problems(&self) -> Vec<String> {
        Vec::new()
    }
}

/// What a task does, for its cache key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TaskCode {
    /// The task describes itself completely, as text that changes whenever its behaviour
    /// does: a command's arguments, environment and working directory.
    Text(String),
    /// Compiled code, known by its type name. The code itself cannot be read, so the engine
    /// adds the running program's identity to the key: rebuilding the program invalidates
    /// the results of its compiled tasks (bump the task's `version` to do it without one).
    Compiled(&'static str),
}

/// How an executed task ended, as its revert sees it.
#[derive(Clone, Debug)]
pub enum Outcome {
    Succeeded(Outputs),
    Failed(TaskError),
    Cancelled,
}

/// A process group a task started: its id and its leader's start time (clock ticks since
/// boot, as the host gives it), which tell the group from a later one that reuses the id.
/// All the engine knows, and records, of a task's processes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChildGroup {
    pub pgid: u32,
    pub started: u64,
}

/// Told of the process groups tasks start, through [`TaskContext::spawned`]: the engine
/// records them, so that a resume after plait died can stop any still running.
pub trait ChildGroups: Send + Sync + std::fmt::Debug + 'static {
    fn spawned(&self, task: &TaskContext, group: ChildGroup);
}

/// What a running task may know about its run and ask of the engine.
#[derive(Clone, Debug)]
pub struct TaskContext {
    run_id: Arc<str>,
    task: Arc<str>,
    attempt: u32,
    // Shared, not a child token per attempt: cloning a token takes a lock on its tree, which
    // the scheduler's hot path cannot afford.
    cancel: Arc<CancellationToken>,
    child_groups: Option<Arc<dyn ChildGroups>>,
    /// Where the attempt's output goes; `None`: nowhere (no store, or none kept).
    output: Option<Arc<dyn OutputSink>>,
    /// How the task spawns children; `None` for a task that declares none.
    children: Option<Arc<dyn Children>>,
}

impl TaskContext {
    pub fn new(
        run_id: Arc<str>,
        task: Arc<str>,
        attempt: u32,
        cancel: Arc<CancellationToken>,
    ) -> Self {
        TaskContext {
            run_id,
            task,
            attempt,
            cancel,
            child_groups: None,
            output: None,
            children: None,
        }
    }

    /// Tells `groups` of the process groups this attempt starts.
    pub fn with_child_groups(mut self, groups: Arc<dyn ChildGroups>) -> Self {
        self.child_groups = Some(groups);
        self
    }

    /// A task that starts a process group says so here, as soon as it started it: the
    /// engine records it, so that a resume after plait died can stop the group if it still
    /// runs. [`ChildGroup::started`] tells the group from a later one with the same id.
    pub fn spawned(&self, group: ChildGroup) {
        if let Some(groups) = &self.child_groups {
            groups.spawned(self, group);
        }
    }

    /// Sends what the task writes ([`TaskContext::log`], [`TaskContext::write_output`]) to
    /// `sink`. The engine sets it; without one, output goes nowhere.
    pub fn with_output(mut self, sink: Arc<dyn OutputSink>) -> Self {
        self.output = Some(sink);
        self
    }

    /// Lets the task spawn children through `children`. The engine sets it for a task that
    /// declares children.
    pub fn with_children(mut self, children: Arc<dyn Children>) -> Self {
        self.children = Some(children);
        self
    }

    /// Starts a child task and returns at once (see [`crate::Spawn`]). Fails if the task
    /// did not declare the child, or the inputs do not fit it.
    pub fn spawn(&self, spawn: Spawn) -> Result<Child, TaskError> {
        match &self.children {
            Some(children) => children.spawn(self, spawn),
            None => Err(TaskError::permanent(format!(
                "task `{}` spawned `{}`, but it declares no children: declare it with \
                 `TaskNode::spawns(\"{}\")`",
                self.task,
                spawn.task(),
                spawn.task()
            ))),
        }
    }

    /// Starts every child at once and returns (see [`Children::spawn_many`]): cheaper than
    /// spawning each in turn, and all or nothing.
    pub fn spawn_many(
        &self,
        spawns: impl IntoIterator<Item = Spawn>,
    ) -> Result<Vec<Child>, TaskError> {
        match &self.children {
            Some(children) => children.spawn_many(self, spawns.into_iter().collect()),
            None => spawns.into_iter().map(|spawn| self.spawn(spawn)).collect(),
        }
    }

    /// Waits for one child; its job slot is given back meanwhile.
    pub async fn join(&self, child: &Child) -> Result<Outputs, TaskError> {
        self.join_all(std::slice::from_ref(child))
            .await
            .pop()
            .expect("one result per child")
    }

    /// Waits for every child at once (Pants' `MultiGet`); results in the same order.
    pub async fn join_all(&self, children: &[Child]) -> Vec<Result<Outputs, TaskError>> {
        match &self.children {
            Some(host) => host.wait(self, children.to_vec()).await,
            None => children
                .iter()
                .map(|child| {
                    Err(TaskError::permanent(format!(
                        "`{}` is not a child of `{}`",
                        child.path(),
                        self.task
                    )))
                })
                .collect(),
        }
    }

    /// Spawns every child in one step ([`TaskContext::spawn_many`]), then waits for them all:
    /// one call for a fan-out.
    pub async fn spawn_all(
        &self,
        spawns: impl IntoIterator<Item = Spawn>,
    ) -> Result<Vec<Result<Outputs, TaskError>>, TaskError> {
        let children = self.spawn_many(spawns)?;
        Ok(self.join_all(&children).await)
    }

    /// Whether output is kept: a task may skip producing output nobody keeps.
    pub fn keeps_output(&self) -> bool {
        self.output.is_some()
    }

    /// Records `bytes` as written by this attempt to `stream` (a command's pipes go here).
    /// Never blocks; does nothing when output is not kept.
    pub fn write_output(&self, stream: OutputStream, bytes: &[u8]) {
        if let Some(sink) = &self.output
            && !bytes.is_empty()
        {
            sink.write(&self.task, self.attempt, stream, bytes);
        }
    }

    /// Records a log line of this attempt, on its stderr, where a command's messages go too
    /// (`plait logs` shows them). A line break is added unless `line` ends with one.
    pub fn log(&self, line: impl AsRef<str>) {
        let Some(sink) = &self.output else {
            return;
        };
        let line = line.as_ref();
        if line.ends_with('\n') {
            sink.write(
                &self.task,
                self.attempt,
                OutputStream::Stderr,
                line.as_bytes(),
            );
        } else {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            sink.write(&self.task, self.attempt, OutputStream::Stderr, &bytes);
        }
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The task's path in its flow, such as `build/compile`.
    pub fn task(&self) -> &str {
        &self.task
    }

    /// 1 for the first attempt.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Stable across attempts and resumes of the same run, so an external side effect can be
    /// made exactly once.
    pub fn idempotency_key(&self) -> String {
        format!("{}/{}", self.run_id, self.task)
    }

    /// Resolves when the engine wants this attempt to stop (the run was cancelled, the
    /// attempt timed out). Async tasks are also dropped; blocking code must poll this.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.cancel
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }
}

/// A list of ports, shared rather than copied: either a list of its own or a task's
/// `requires`, read from the task itself, so a plan holds no second copy of every task's ports.
#[derive(Clone)]
pub struct Ports(PortList);

#[derive(Clone)]
enum PortList {
    Own(Arc<[Port]>),
    Requires(Arc<dyn Task>),
}

impl Ports {
    /// The task's `requires`.
    pub fn requires_of(task: Arc<dyn Task>) -> Self {
        Ports(PortList::Requires(task))
    }
}

impl std::ops::Deref for Ports {
    type Target = [Port];

    fn deref(&self) -> &[Port] {
        match &self.0 {
            PortList::Own(ports) => ports,
            PortList::Requires(task) => task.requires(),
        }
    }
}

impl std::fmt::Debug for Ports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl From<Arc<[Port]>> for Ports {
    fn from(ports: Arc<[Port]>) -> Self {
        Ports(PortList::Own(ports))
    }
}

impl From<Vec<Port>> for Ports {
    fn from(ports: Vec<Port>) -> Self {
        Ports(PortList::Own(ports.into()))
    }
}

/// The values a task receives, one per `requires` port, in the task's own names.
#[derive(Clone, Debug)]
pub struct Inputs {
    ports: Ports,
    values: Vec<Value>,
}

impl Inputs {
    /// `values` are in the order of `ports`.
    pub fn new(ports: impl Into<Ports>, values: Vec<Value>) -> Self {
        let ports = ports.into();
        debug_assert_eq!(ports.len(), values.len());
        Inputs { ports, values }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        let idx = self.ports.iter().position(|port| &*port.name == name)?;
        self.values.get(idx)
    }

    /// The input, or a permanent error naming it.
    pub fn require(&self, name: &str) -> Result<&Value, TaskError> {
        self.get(name)
            .ok_or_else(|| TaskError::permanent(format!("no input named `{name}`")))
    }

    pub fn int(&self, name: &str) -> Result<i64, TaskError> {
        self.typed(name, Value::as_int, "int")
    }

    pub fn float(&self, name: &str) -> Result<f64, TaskError> {
        self.typed(name, Value::as_float, "float")
    }

    pub fn str(&self, name: &str) -> Result<&str, TaskError> {
        self.typed(name, Value::as_str, "string")
    }

    fn typed<'a, T>(
        &'a self,
        name: &str,
        get: impl FnOnce(&'a Value) -> Option<T>,
        ty: &str,
    ) -> Result<T, TaskError> {
        let value = self.require(name)?;
        get(value).ok_or_else(|| TaskError::permanent(format!("input `{name}` is not {ty}")))
    }

    pub fn ports(&self) -> &[Port] {
        &self.ports
    }

    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn into_values(self) -> Vec<Value> {
        self.values
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.ports.iter().map(|port| &*port.name).zip(&self.values)
    }

    /// The inputs as one JSON object, for commands.
    pub fn to_json(&self) -> serde_json::Value {
        let map = self
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_json()))
            .collect();
        serde_json::Value::Object(map)
    }
}

/// The values a task produced, by its own output names.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outputs {
    entries: Vec<(Arc<str>, Value)>,
}

impl Outputs {
    pub fn new() -> Self {
        Outputs::default()
    }

    pub fn with_capacity(capacity: usize) -> Self {
        Outputs {
            entries: Vec::with_capacity(capacity),
        }
    }

    /// Adds (or replaces) an output.
    pub fn set(mut self, name: impl Into<Arc<str>>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    pub fn insert(&mut self, name: impl Into<Arc<str>>, value: impl Into<Value>) {
        let name = name.into();
        let value = value.into();
        match self
            .entries
            .iter_mut()
            .find(|(existing, _)| *existing == name)
        {
            Some(entry) => entry.1 = value,
            None => self.entries.push((name, value)),
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.entries
            .iter()
            .find(|(existing, _)| &**existing == name)
            .map(|(_, value)| value)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(name, value)| (&**name, value))
    }

    /// The outputs as one JSON object (their [`serde::Serialize`] form, as a tree).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("outputs have string keys")
    }

    /// Orders the outputs as `ports` declares them, checking that each is present, has the
    /// declared type, and that nothing undeclared came back. Afterwards [`Outputs::value_at`]
    /// reads them by port index.
    pub fn into_declared(self, ports: &[Port]) -> Result<Outputs, TaskError> {
        // The common case (a function task) already has them in order, under the very same
        // names: no search and no new allocation.
        let in_order = self.entries.len() == ports.len()
            && self
                .entries
                .iter()
                .zip(ports)
                .all(|((name, _), port)| Arc::ptr_eq(name, &port.name) || *name == port.name);
        let mut entries = self.entries;
        if !in_order {
            if let Some((name, _)) = entries
                .iter()
                .find(|(name, _)| !ports.iter().any(|port| port.name == *name))
            {
                return Err(TaskError::permanent(format!(
                    "returned output `{name}`, which the task does not declare in `provides`"
                )));
            }
            let mut ordered = Vec::with_capacity(ports.len());
            for port in ports {
                let idx = entries
                    .iter()
                    .position(|(name, _)| *name == port.name)
                    .ok_or_else(|| {
                        TaskError::permanent(format!(
                            "did not return declared output `{}`",
                            port.name
                        ))
                    })?;
                ordered.push(entries.swap_remove(idx));
            }
            entries = ordered;
        }
        for ((name, value), port) in entries.iter().zip(ports) {
            if !value.fits(&port.ty) {
                return Err(TaskError::permanent(format!(
                    "output `{name}` is {}, but the task declares {}",
                    value.value_type(),
                    port.ty
                )));
            }
        }
        Ok(Outputs { entries })
    }

    /// The value at position `idx` (after [`Outputs::into_declared`], the port's index).
    pub fn value_at(&self, idx: usize) -> Option<&Value> {
        self.entries.get(idx).map(|(_, value)| value)
    }
}

/// One JSON object, each output by its name: what a store records and a revert's command
/// receives. Serialized straight to text, with no tree in between.
impl serde::Serialize for Outputs {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter())
    }
}

impl<N: Into<Arc<str>>, V: Into<Value>> FromIterator<(N, V)> for Outputs {
    fn from_iter<I: IntoIterator<Item = (N, V)>>(iter: I) -> Self {
        let mut outputs = Outputs::new();
        for (name, value) in iter {
            outputs.insert(name, value);
        }
        outputs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ports(spec: &[(&str, ValueType)]) -> Vec<Port> {
        spec.iter()
            .map(|(name, ty)| Port::new(*name, ty.clone()))
            .collect()
    }

    #[test]
    fn outputs_are_ordered_and_checked_against_provides() {
        let declared = ports(&[("a", ValueType::Int), ("b", ValueType::String)]);
        let outputs = Outputs::new().set("b", "x").set("a", 1);
        let outputs = outputs.into_declared(&declared).unwrap();
        assert_eq!(outputs.value_at(0), Some(&Value::Int(1)));
        assert_eq!(outputs.value_at(1), Some(&Value::from("x")));

        let missing = Outputs::new()
            .set("a", 1)
            .into_declared(&declared)
            .unwrap_err();
        assert_eq!(missing.message(), "did not return declared output `b`");
        assert!(!missing.is_retryable());

        let extra = Outputs::new().set("a", 1).set("b", "x").set("c", true);
        let extra = extra.into_declared(&declared).unwrap_err();
        assert_eq!(
            extra.message(),
            "returned output `c`, which the task does not declare in `provides`"
        );

        let wrong = Outputs::new()
            .set("a", "1")
            .set("b", "x")
            .into_declared(&declared)
            .unwrap_err();
        assert_eq!(
            wrong.message(),
            "output `a` is string, but the task declares int"
        );
    }
}
