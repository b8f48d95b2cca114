//! Flows: compositions of tasks and flows, and the workflow that wraps the outermost one.

use std::sync::Arc;
use std::time::Duration;

use crate::{Isolation, RetryPolicy, Task, Value, ValueType};

/// How the members of a flow are ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FlowKind {
    /// Each member after the previous one.
    Linear,
    /// No order among members; they must not depend on each other.
    Unordered,
    /// Order from data dependencies plus explicit `after` edges.
    Graph,
}

impl FlowKind {
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::Linear => "linear",
            FlowKind::Unordered => "unordered",
            FlowKind::Graph => "graph",
        }
    }
}

/// What happens to a run when a task fails for good.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum OnFailure {
    /// Stop, cancel running tasks, revert everything that ran, newest first (TaskFlow).
    #[default]
    Revert,
    /// The failure flows to dependents, which do not run; independent branches finish, and
    /// the run fails all the same (`make -k`).
    Continue,
}

/// A task placed in a flow under a name, with its policy and wiring.
#[derive(Clone)]
pub struct TaskNode {
    pub(crate) name: Arc<str>,
    pub(crate) task: Arc<dyn Task>,
    /// Most tasks set none of these: kept apart, they cost a million-task flow one pointer
    /// each rather than two hundred bytes.
    pub(crate) options: Option<Box<TaskOptions>>,
}

/// What a task node may set beyond its name and task.
#[derive(Clone, Debug, Default)]
pub(crate) struct TaskOptions {
    pub(crate) rebind: Vec<(Arc<str>, Arc<str>)>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) isolation: Option<Isolation>,
    pub(crate) cache: Option<bool>,
    pub(crate) version: Option<Arc<str>>,
    pub(crate) after: Vec<Arc<str>>,
    pub(crate) description: Option<String>,
    /// The spawnable tasks it may start while it runs.
    pub(crate) spawns: Vec<Arc<str>>,
    /// Run once per element of a list.
    pub(crate) for_each: Option<crate::fanout::ForEach>,
    pub(crate) max_parallel: Option<usize>,
}

impl std::fmt::Debug for TaskNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskNode")
            .field("name", &self.name)
            .field("kind", &self.task.kind())
            .field("rebind", &self.rebinds())
            .field("after", &self.after_names())
            .finish_non_exhaustive()
    }
}

impl TaskNode {
    pub fn new(name: impl Into<Arc<str>>, task: impl Task) -> Self {
        TaskNode::shared(name, Arc::new(task))
    }

    /// The same task object may be placed several times under different names.
    pub fn shared(name: impl Into<Arc<str>>, task: Arc<dyn Task>) -> Self {
        TaskNode {
            name: name.into(),
            task,
            options: None,
        }
    }

    fn options_mut(&mut self) -> &mut TaskOptions {
        self.options.get_or_insert_default()
    }

    pub(crate) fn rebinds(&self) -> &[(Arc<str>, Arc<str>)] {
        self.options.as_ref().map_or(&[], |o| &o.rebind)
    }

    pub(crate) fn after_names(&self) -> &[Arc<str>] {
        self.options.as_ref().map_or(&[], |o| &o.after)
    }

    /// The spawnable tasks this task may start.
    pub fn spawn_names(&self) -> &[Arc<str>] {
        self.options.as_ref().map_or(&[], |o| &o.spawns)
    }

    /// This task's `port` is the flow's `name`.
    pub fn rebind(mut self, port: impl Into<Arc<str>>, name: impl Into<Arc<str>>) -> Self {
        self.options_mut().rebind.push((port.into(), name.into()));
        self
    }

    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options_mut().retry = Some(retry);
        self
    }

    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options_mut().timeout = Some(timeout);
        self
    }

    pub fn isolation(mut self, isolation: Isolation) -> Self {
        self.options_mut().isolation = Some(isolation);
        self
    }

    /// Whether an earlier result for the same inputs may be reused (default: yes).
    pub fn cache(mut self, cache: bool) -> Self {
        self.options_mut().cache = Some(cache);
        self
    }

    /// Part of the cache key: a new version never reuses an older one's results.
    pub fn version(mut self, version: impl Into<Arc<str>>) -> Self {
        self.options_mut().version = Some(version.into());
        self
    }

    /// Runs after the named sibling members, whatever the data says.
    pub fn after<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        let after = &mut self.options_mut().after;
        after.extend(names.into_iter().map(Into::into));
        self
    }

    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.options_mut().description = Some(description.into());
        self
    }

    /// Declares that the task may spawn the workflow's spawnable task `name` while it runs
    /// ([`crate::TaskContext::spawn`]); spawning one it did not declare fails it.
    pub fn spawns(mut self, name: impl Into<Arc<str>>) -> Self {
        self.options_mut().spawns.push(name.into());
        self
    }

    /// Runs the task once per element of the flow's value `list` (a `list<T>`), each with
    /// the element as its input `binding` (of type T; the task need not require it). Each
    /// output is gathered into a list in the elements' order, under its own name; the
    /// items are `name[0]`, `name[1]`, ... Retry, timeout, cache and version apply to
    /// each item.
    pub fn for_each(mut self, binding: impl Into<Arc<str>>, list: impl Into<Arc<str>>) -> Self {
        self.options_mut().for_each = Some(crate::fanout::ForEach {
            binding: binding.into(),
            list: list.into(),
        });
        self
    }

    /// At most `limit` items of the task's `for_each` run at once.
    pub fn max_parallel(mut self, limit: usize) -> Self {
        self.options_mut().max_parallel = Some(limit);
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn task(&self) -> &Arc<dyn Task> {
        &self.task
    }
}

/// A member of a flow.
#[derive(Clone, Debug)]
pub enum Member {
    Task(TaskNode),
    Flow(Flow),
}

impl Member {
    pub fn name(&self) -> &Arc<str> {
        match self {
            Member::Task(node) => &node.name,
            Member::Flow(flow) => &flow.name,
        }
    }

    pub(crate) fn after(&self) -> &[Arc<str>] {
        match self {
            Member::Task(node) => node.after_names(),
            Member::Flow(flow) => flow.after_names(),
        }
    }
}

impl From<TaskNode> for Member {
    fn from(node: TaskNode) -> Self {
        Member::Task(node)
    }
}

impl From<Flow> for Member {
    fn from(flow: Flow) -> Self {
        Member::Flow(flow)
    }
}

/// A composition of tasks and flows. Validation accepts flows nested up to 256 deep; a tree
/// of any depth can be built and dropped.
#[derive(Clone, Debug)]
pub struct Flow {
    pub(crate) name: Arc<str>,
    pub(crate) kind: FlowKind,
    pub(crate) members: Vec<Member>,
    /// Rarely set, so kept apart: a member is as small as the smaller of a task node and this.
    pub(crate) options: Option<Box<FlowOptions>>,
}

/// What a flow may set beyond its name, kind and members.
#[derive(Clone, Debug, Default)]
pub(crate) struct FlowOptions {
    pub(crate) rebind: Vec<(Arc<str>, Arc<str>)>,
    pub(crate) retry: Option<RetryPolicy>,
    pub(crate) after: Vec<Arc<str>>,
    pub(crate) description: Option<String>,
}

/// Dropping a flow takes its nested flows apart one level at a time, on the heap: the
/// generated drop would recurse once per level and overflow the stack on a deep tree.
impl Drop for Flow {
    fn drop(&mut self) {
        let mut nested: Vec<Flow> = nested_flows(&mut self.members).collect();
        while let Some(mut flow) = nested.pop() {
            nested.extend(nested_flows(&mut flow.members));
            // `flow` drops here with no members left, so its own drop does not descend.
        }
    }
}

/// Empties `members`, yielding the flows among them.
fn nested_flows(members: &mut Vec<Member>) -> impl Iterator<Item = Flow> + '_ {
    members.drain(..).filter_map(|member| match member {
        Member::Flow(flow) => Some(flow),
        Member::Task(_) => None,
    })
}

impl Flow {
    pub fn new(kind: FlowKind, name: impl Into<Arc<str>>) -> Self {
        Flow {
            name: name.into(),
            kind,
            members: Vec::new(),
            options: None,
        }
    }

    fn options_mut(&mut self) -> &mut FlowOptions {
        self.options.get_or_insert_default()
    }

    pub(crate) fn rebinds(&self) -> &[(Arc<str>, Arc<str>)] {
        self.options.as_ref().map_or(&[], |o| &o.rebind)
    }

    pub(crate) fn after_names(&self) -> &[Arc<str>] {
        self.options.as_ref().map_or(&[], |o| &o.after)
    }

    pub(crate) fn retry_policy(&self) -> Option<&RetryPolicy> {
        self.options.as_ref().and_then(|o| o.retry.as_ref())
    }

    pub fn linear(name: impl Into<Arc<str>>) -> Self {
        Flow::new(FlowKind::Linear, name)
    }

    pub fn unordered(name: impl Into<Arc<str>>) -> Self {
        Flow::new(FlowKind::Unordered, name)
    }

    pub fn graph(name: impl Into<Arc<str>>) -> Self {
        Flow::new(FlowKind::Graph, name)
    }

    /// Adds a task or a flow.
    #[allow(
        clippy::should_implement_trait,
        reason = "TaskFlow's word for it; a builder, not arithmetic"
    )]
    pub fn add(mut self, member: impl Into<Member>) -> Self {
        self.members.push(member.into());
        self
    }

    /// Adds `task` under `name` with its default policy.
    pub fn task(self, name: impl Into<Arc<str>>, task: impl Task) -> Self {
        self.add(TaskNode::new(name, task))
    }

    /// The flow's inner `name` is `outer` in the enclosing flow.
    pub fn rebind(mut self, name: impl Into<Arc<str>>, outer: impl Into<Arc<str>>) -> Self {
        self.options_mut().rebind.push((name.into(), outer.into()));
        self
    }

    /// On a failure inside, revert the whole flow and run it again, up to `retry.attempts`
    /// times in all, before the failure goes further. Its outputs reach tasks outside only
    /// once the whole flow has succeeded.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.options_mut().retry = Some(retry);
        self
    }

    pub fn after<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        let after = &mut self.options_mut().after;
        after.extend(names.into_iter().map(Into::into));
        self
    }

    pub fn describe(mut self, description: impl Into<String>) -> Self {
        self.options_mut().description = Some(description.into());
        self
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn kind(&self) -> FlowKind {
        self.kind
    }

    pub fn members(&self) -> &[Member] {
        &self.members
    }
}

/// A run input the workflow declares.
#[derive(Clone, Debug)]
pub struct InputDecl {
    pub name: Arc<str>,
    pub ty: ValueType,
    pub default: Option<Value>,
    pub description: Option<String>,
}

/// The outermost flow plus what a run of it takes and gives.
#[derive(Clone, Debug)]
pub struct Workflow {
    pub(crate) flow: Flow,
    pub(crate) inputs: Vec<InputDecl>,
    pub(crate) outputs: Option<Vec<Arc<str>>>,
    pub(crate) on_failure: OnFailure,
    /// Tasks that run only when a running task spawns them.
    pub(crate) spawnables: Vec<TaskNode>,
}

impl Workflow {
    pub fn new(flow: Flow) -> Self {
        Workflow {
            flow,
            inputs: Vec::new(),
            outputs: None,
            on_failure: OnFailure::default(),
            spawnables: Vec::new(),
        }
    }

    /// A task that is not part of the flow but that its tasks may spawn by its name, with
    /// every input it requires given by the parent. Its options (retry, timeout, cache,
    /// version) hold for every child spawned from it.
    pub fn spawnable(mut self, node: TaskNode) -> Self {
        self.spawnables.push(node);
        self
    }

    pub fn spawnables(&self) -> &[TaskNode] {
        &self.spawnables
    }

    /// Declares a run input.
    pub fn input(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Self {
        self.inputs.push(InputDecl {
            name: name.into(),
            ty,
            default: None,
            description: None,
        });
        self
    }

    /// Declares a run input that may be omitted.
    pub fn input_with_default(mut self, name: impl Into<Arc<str>>, default: Value) -> Self {
        let ty = default.value_type();
        let name = name.into();
        self.inputs.push(InputDecl {
            name,
            ty,
            default: Some(default),
            description: None,
        });
        self
    }

    pub fn declare_input(mut self, input: InputDecl) -> Self {
        self.inputs.push(input);
        self
    }

    /// The run's outputs. Without this, every value no task requires is an output.
    pub fn outputs<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<Arc<str>>,
    {
        self.outputs = Some(names.into_iter().map(Into::into).collect());
        self
    }

    pub fn on_failure(mut self, on_failure: OnFailure) -> Self {
        self.on_failure = on_failure;
        self
    }

    pub fn flow(&self) -> &Flow {
        &self.flow
    }

    pub fn inputs(&self) -> &[InputDecl] {
        &self.inputs
    }
}
