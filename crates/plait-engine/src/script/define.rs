//! A workflow written as an async function ([`Script`]), and the task that runs it.

use std::future::Future;
use std::sync::Arc;

use plait_core::{
    BoxFuture, Flow, Inputs, Outputs, Port, RetryPolicy, Task, TaskContext, TaskError, TaskNode,
    Value, ValueType, Workflow,
};

use super::context::{Callable, Callables, ScriptContext, ScriptRun};

type ScriptFn =
    Arc<dyn Fn(ScriptContext, Inputs) -> BoxFuture<Result<Outputs, TaskError>> + Send + Sync>;

/// A workflow written as an async function: each task it calls through its
/// [`ScriptContext`] is a child of the one task that runs the function, keyed by the
/// call's position.
///
/// The children are the run's journal: a workflow that runs again (retried, or resumed after
/// a crash) replays its function, and a call whose child finished gets that child's result
/// without executing it again.
///
/// ```
/// use std::sync::Arc;
/// use plait_core::{compile, task_fn, Outputs, ValueType};
/// use plait_engine::script::{Arg, Script};
/// use plait_engine::{Engine, RunOptions};
///
/// # async fn example() -> anyhow::Result<()> {
/// let script = Script::new("sums", |wf, inputs| async move {
///     let n = inputs.int("n")?;
///     // Independent calls run at the same time; `total` starts when both have ended.
///     let square = wf.call("square", [("n", Arg::from(n))]);
///     let double = wf.call("double", [("n", Arg::from(n))]);
///     let total = wf.call("add", [("a", square.arg("sq")), ("b", double.arg("d"))]);
///     Ok(Outputs::new().set("total", total.output("sum").await?))
/// })
/// .input("n", ValueType::Int)
/// .provides("total", ValueType::Int)
/// .task("square", task_fn(["n"], ["sq"], |n: i64| async move { n * n }))
/// .task("double", task_fn(["n"], ["d"], |n: i64| async move { 2 * n }))
/// .task("add", task_fn(["a", "b"], ["sum"], |a: i64, b: i64| async move { a + b }));
///
/// let plan = Arc::new(compile(&script.workflow())?);
/// let report = Engine::new().run(&plan, [("n", 4i64)], RunOptions::new()).await?;
/// assert_eq!(report.output("total").and_then(|v| v.as_int()), Some(24));
/// // The calls are the children of the workflow's task, at their positions.
/// assert!(report.task("sums/2").is_some());
/// # Ok(()) }
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct Script {
    def: ScriptDef,
}

#[derive(Clone)]
pub(super) struct ScriptDef {
    name: Arc<str>,
    function: ScriptFn,
    inputs: Vec<Port>,
    provides: Vec<Port>,
    tasks: Vec<TaskNode>,
    scripts: Vec<Arc<ScriptDef>>,
    retry: Option<RetryPolicy>,
}

impl std::fmt::Debug for ScriptDef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptDef")
            .field("name", &self.name)
            .field("inputs", &self.inputs)
            .field("provides", &self.provides)
            .field("tasks", &self.tasks)
            .field("scripts", &self.scripts)
            .finish_non_exhaustive()
    }
}

impl Script {
    /// The workflow `name`, running `function` on its inputs. The function's outputs are the
    /// workflow's (declare them with [`Script::provides`]).
    pub fn new<F, Fut>(name: impl Into<Arc<str>>, function: F) -> Script
    where
        F: Fn(ScriptContext, Inputs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Outputs, TaskError>> + Send + 'static,
    {
        let function: ScriptFn = Arc::new(move |wf, inputs| Box::pin(function(wf, inputs)));
        Script {
            def: ScriptDef {
                name: name.into(),
                function,
                inputs: Vec::new(),
                provides: Vec::new(),
                tasks: Vec::new(),
                scripts: Vec::new(),
                retry: None,
            },
        }
    }

    /// Declares an input of the workflow (a run input, or a sub-workflow call's argument).
    pub fn input(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Script {
        self.def.inputs.push(Port::new(name, ty));
        self
    }

    /// Declares an output the function returns.
    pub fn provides(mut self, name: impl Into<Arc<str>>, ty: ValueType) -> Script {
        self.def.provides.push(Port::new(name, ty));
        self
    }

    /// A task the function may call by `name`.
    pub fn task(self, name: impl Into<Arc<str>>, task: impl Task) -> Script {
        self.node(TaskNode::new(name, task))
    }

    /// A task the function may call by its node's name, with the node's policy (retry,
    /// timeout, cache) for every call.
    pub fn node(mut self, node: TaskNode) -> Script {
        self.def.tasks.push(node);
        self
    }

    /// A workflow the function may call by its name, as one step: its calls are numbered
    /// under the call's position (`3.0`, `3.1`, ...). A workflow and its sub-workflows call
    /// from one set of names: each task is declared once, in any of them.
    pub fn script(mut self, script: Script) -> Script {
        self.def.scripts.push(Arc::new(script.def));
        self
    }

    /// Retries the whole function (a replay: calls that finished keep their results).
    pub fn retry(mut self, retry: RetryPolicy) -> Script {
        self.def.retry = Some(retry);
        self
    }

    /// The workflow to compile and run: one task, named after the script, that runs the
    /// function and may spawn every task the script and its sub-workflows declare.
    pub fn workflow(&self) -> Workflow {
        let mut nodes = Vec::new();
        let mut callables = Callables::default();
        collect(&self.def, &mut nodes, &mut callables);
        let def = &self.def;
        let task = ScriptTask {
            def: Arc::new(def.clone()),
            callables: Arc::new(callables),
        };
        let mut root = TaskNode::new(def.name.clone(), task);
        if let Some(retry) = &def.retry {
            root = root.retry(retry.clone());
        }
        for node in &nodes {
            root = root.spawns(node.name());
        }
        let mut workflow = Workflow::new(Flow::graph(def.name.clone()).add(root));
        for port in &def.inputs {
            workflow = workflow.input(port.name.clone(), port.ty.clone());
        }
        for node in nodes {
            workflow = workflow.spawnable(node);
        }
        workflow
    }
}

/// Every task `def` and its sub-workflows declare, and what each name calls.
fn collect(def: &ScriptDef, nodes: &mut Vec<TaskNode>, callables: &mut Callables) {
    for node in &def.tasks {
        // A name declared twice is reported by compile, as two spawnables.
        callables.insert(node.name().into(), Callable::Task);
        nodes.push(node.clone());
    }
    for script in &def.scripts {
        callables.insert(script.name.clone(), Callable::Script(script.clone()));
        collect(script, nodes, callables);
    }
}

impl ScriptDef {
    /// Runs the function, as a sub-workflow's call does.
    pub(super) fn call(
        &self,
        wf: ScriptContext,
        inputs: Inputs,
    ) -> BoxFuture<Result<Outputs, TaskError>> {
        (self.function)(wf, inputs)
    }

    /// A sub-workflow's inputs from its call's arguments: each declared input given once,
    /// of its type, and nothing else.
    pub(super) fn inputs_from(&self, args: Vec<(Arc<str>, Value)>) -> Result<Inputs, TaskError> {
        let values = plait_core::match_named(&self.inputs, &args).map_err(|mismatch| {
            TaskError::permanent(match mismatch {
                plait_core::NamedMismatch::Unknown(extra) => {
                    format!("workflow `{}` takes no input `{extra}`", self.name)
                }
                plait_core::NamedMismatch::Missing(port) => format!(
                    "workflow `{}` was called without its input `{}` ({})",
                    self.name,
                    port.name,
                    port.ty.name()
                ),
                plait_core::NamedMismatch::WrongType { port, found } => format!(
                    "workflow `{}` was given its input `{}` as {}, but it takes {}",
                    self.name,
                    port.name,
                    found.name(),
                    port.ty.name()
                ),
            })
        })?;
        Ok(Inputs::new(self.inputs.clone(), values))
    }

    /// A sub-workflow's outputs are all it declares, as a task's are.
    pub(super) fn check_outputs(&self, outputs: &Outputs) -> Result<(), TaskError> {
        match self
            .provides
            .iter()
            .find(|port| outputs.get(&port.name).is_none())
        {
            Some(port) => Err(TaskError::permanent(format!(
                "workflow `{}` did not provide its output `{}`",
                self.name, port.name
            ))),
            None => Ok(()),
        }
    }
}

/// The task that runs a script's function; its calls are its children.
struct ScriptTask {
    def: Arc<ScriptDef>,
    callables: Arc<Callables>,
}

impl Task for ScriptTask {
    fn requires(&self) -> &[Port] {
        &self.def.inputs
    }

    fn provides(&self) -> &[Port] {
        &self.def.provides
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        let run = ScriptRun::new(ctx, self.def.name.clone(), self.callables.clone());
        let function = self.def.function.clone();
        Box::pin(async move {
            let _close = CloseOnDrop(run.clone());
            function(ScriptContext::root(run), inputs).await
        })
    }

    fn kind(&self) -> &str {
        "script"
    }
}

/// Stops the calls still driven when the function ends, or its future is dropped.
struct CloseOnDrop(Arc<ScriptRun>);

impl Drop for CloseOnDrop {
    fn drop(&mut self) {
        self.0.close();
    }
}
