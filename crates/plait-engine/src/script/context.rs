//! The context a workflow's function calls through: positions, and the driver of each call.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use plait_core::{Child, Spawn, TaskContext, TaskError, Value};
use rustc_hash::FxHashMap;
use tokio::task::AbortHandle;

use super::CallError;
use super::define::ScriptDef;
use super::handle::{Arg, CallResult, Handle, Progress};
use crate::sync::lock;

/// What a workflow may call, by name: its tasks and sub-workflows, and theirs.
pub(super) type Callables = FxHashMap<Arc<str>, Callable>;

#[derive(Clone)]
pub(super) enum Callable {
    /// A spawnable task: a call is a child of the workflow's task.
    Task,
    /// A sub-workflow: its function runs inside this one, its calls numbered under the call.
    Script(Arc<ScriptDef>),
}

/// How a workflow's function calls tasks and sub-workflows.
///
/// Each call takes the next position, when it is made, and returns a [`Handle`] at once. The
/// call starts as soon as the handles among its arguments have values: concurrency follows
/// the data. Cheap to clone; a clone numbers calls in the same sequence.
#[derive(Clone)]
pub struct ScriptContext {
    run: Arc<ScriptRun>,
    /// `` in the workflow itself, `3.` in a sub-workflow called at position 3.
    prefix: Arc<str>,
    next: Arc<AtomicU32>,
}

impl std::fmt::Debug for ScriptContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptContext")
            .field("workflow", &self.run.workflow)
            .field("prefix", &self.prefix)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// One execution of a workflow's task: shared by its function, its sub-workflows and the
/// drivers of their calls.
pub(super) struct ScriptRun {
    ctx: TaskContext,
    workflow: Arc<str>,
    callables: Arc<Callables>,
    in_flight: std::sync::Mutex<InFlight>,
}

#[derive(Default)]
struct InFlight {
    drivers: Vec<AbortHandle>,
    /// The workflow ended: a driver started now is stopped at once.
    closed: bool,
}

impl ScriptRun {
    pub(super) fn new(
        ctx: TaskContext,
        workflow: Arc<str>,
        callables: Arc<Callables>,
    ) -> Arc<ScriptRun> {
        Arc::new(ScriptRun {
            ctx,
            workflow,
            callables,
            in_flight: Default::default(),
        })
    }

    /// Drives a call on the runtime: nobody has to await its handle for it to run.
    fn drive(&self, driver: impl Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(driver).abort_handle();
        let mut in_flight = lock(&self.in_flight);
        if in_flight.closed {
            handle.abort();
        } else {
            in_flight.drivers.push(handle);
        }
    }

    /// Stops every call still being driven: the workflow's result no longer needs them (the
    /// children already spawned run on as tasks of the run).
    pub(super) fn close(&self) {
        let drivers = {
            let mut in_flight = lock(&self.in_flight);
            in_flight.closed = true;
            std::mem::take(&mut in_flight.drivers)
        };
        for driver in drivers {
            driver.abort();
        }
    }

    /// Spawns the call's child, keyed by its position, or finds the one the journal holds.
    fn start(
        &self,
        position: &Arc<str>,
        task: &Arc<str>,
        values: Vec<(Arc<str>, Value)>,
    ) -> Result<Child, CallError> {
        let mut spawn = Spawn::new(task.clone()).key(position.clone());
        for (name, value) in values {
            spawn = spawn.input(name, value);
        }
        self.ctx
            .spawn(spawn)
            .map_err(|error| spawn_error(position, task, error))
    }

    pub(super) async fn join(
        &self,
        position: Arc<str>,
        task: Arc<str>,
        child: Child,
    ) -> CallResult {
        self.ctx
            .join(&child)
            .await
            .map_err(|error| CallError::Failed {
                position,
                task,
                error,
            })
    }
}

/// The child spawn refused for another task under its key is a replay that differs from
/// the journal; every other refusal fails the call.
fn spawn_error(position: &Arc<str>, task: &Arc<str>, error: TaskError) -> CallError {
    let other = std::error::Error::source(&error)
        .and_then(|source| source.downcast_ref::<plait_core::SpawnedOther>());
    match other {
        Some(other) => CallError::Nondeterministic {
            position: position.clone(),
            recorded: other.recorded.clone(),
            called: task.clone(),
        },
        None => CallError::Failed {
            position: position.clone(),
            task: task.clone(),
            error,
        },
    }
}

impl ScriptContext {
    pub(super) fn root(run: Arc<ScriptRun>) -> ScriptContext {
        ScriptContext {
            run,
            prefix: "".into(),
            next: Arc::new(AtomicU32::new(0)),
        }
    }

    /// Calls the task or sub-workflow `task` with `args` by its input names, and returns its
    /// handle at once. A failed handle among the arguments fails the call without running it.
    ///
    /// ```
    /// # use plait_engine::script::{Arg, ScriptContext};
    /// # async fn example(wf: ScriptContext) -> Result<(), plait_engine::script::CallError> {
    /// let square = wf.call("square", [("n", Arg::from(4))]);
    /// let double = wf.call("double", [("n", square.arg("sq"))]); // starts once `square` ends
    /// let doubled = double.output("d").await?;
    /// # Ok(()) }
    /// ```
    pub fn call<N: Into<Arc<str>>>(
        &self,
        task: &str,
        args: impl IntoIterator<Item = (N, Arg)>,
    ) -> Handle {
        let number = self.next.fetch_add(1, Ordering::Relaxed);
        let position: Arc<str> = format!("{}{number}", self.prefix).into();
        let Some((task, callable)) = self.run.callables.get_key_value(task) else {
            let (handle, resolver) = Handle::new(self.run.clone(), position, task.into());
            resolver.send_replace(Some(Progress::Done(Err(CallError::Undeclared {
                workflow: self.run.workflow.clone(),
                task: task.into(),
            }))));
            return handle;
        };
        let (handle, resolver) = Handle::new(self.run.clone(), position.clone(), task.clone());
        let args: Vec<(Arc<str>, Arg)> = args
            .into_iter()
            .map(|(name, arg)| (name.into(), arg))
            .collect();
        let task = task.clone();
        if matches!(callable, Callable::Task) && args.iter().all(|(_, arg)| arg.ready().is_some()) {
            // Nothing to wait for: the child is spawned now, in call order.
            let values = args
                .into_iter()
                .map(|(name, arg)| (name, arg.ready().cloned().expect("ready")))
                .collect();
            resolver.send_replace(Some(match self.run.start(&position, &task, values) {
                Ok(child) => Progress::Spawned(child),
                Err(error) => Progress::Done(Err(error)),
            }));
            return handle;
        }
        let callable = callable.clone();
        let run = self.run.clone();
        self.run.drive(async move {
            let progress = run_call(run, position, task, callable, args).await;
            resolver.send_replace(Some(progress));
        });
        handle
    }

    /// The workflow task's context: its run, path, cancellation and log.
    pub fn task_context(&self) -> &TaskContext {
        &self.run.ctx
    }
}

/// A call whose arguments are not all known yet: waits for them, then spawns its child or
/// runs its sub-workflow.
async fn run_call(
    run: Arc<ScriptRun>,
    position: Arc<str>,
    task: Arc<str>,
    callable: Callable,
    args: Vec<(Arc<str>, Arg)>,
) -> Progress {
    match call_when_ready(run, position, task, callable, args).await {
        Ok(progress) => progress,
        Err(error) => Progress::Done(Err(error)),
    }
}

async fn call_when_ready(
    run: Arc<ScriptRun>,
    position: Arc<str>,
    task: Arc<str>,
    callable: Callable,
    args: Vec<(Arc<str>, Arg)>,
) -> Result<Progress, CallError> {
    let mut values = Vec::with_capacity(args.len());
    for (name, arg) in args {
        match arg.resolve().await {
            Ok(value) => values.push((name, value)),
            Err(cause) => {
                return Err(CallError::Argument {
                    position,
                    task,
                    argument: name,
                    cause: Box::new(cause),
                });
            }
        }
    }
    match callable {
        Callable::Task => Ok(Progress::Spawned(run.start(&position, &task, values)?)),
        Callable::Script(script) => {
            let failed = |error| CallError::Failed {
                position: position.clone(),
                task: task.clone(),
                error,
            };
            let inputs = script.inputs_from(values).map_err(failed)?;
            let context = ScriptContext {
                run: run.clone(),
                prefix: format!("{position}.").into(),
                next: Arc::new(AtomicU32::new(0)),
            };
            let outputs = script.call(context, inputs).await.map_err(failed)?;
            script.check_outputs(&outputs).map_err(failed)?;
            Ok(Progress::Done(Ok(outputs)))
        }
    }
}
