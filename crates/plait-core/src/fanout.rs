//! Fan-out: a task run once per element of a list, its outputs gathered into lists.
//!
//! Compiling a member with `for_each` puts a [`FanOut`] in the plan where the member would
//! be: it requires the list (and the member's other inputs), spawns one child per element
//! (the member's task, with the element bound to its `item` input, at `member[i]`), and
//! provides each of the member's outputs as a list in the elements' order. Each item is a
//! task of the run like any spawned child: cached, retried and reverted on its own.

use std::sync::Arc;

use futures::stream::{self, StreamExt};

use crate::{
    BoxFuture, Inputs, Outcome, Outputs, Policy, Port, Spawn, Task, TaskCode, TaskContext,
    TaskError, Value, ValueType,
};

/// What a fan-out runs for each element.
#[derive(Clone, Debug)]
pub(crate) struct ForEach {
    /// The input each item gets its element as.
    pub(crate) binding: Arc<str>,
    /// The flow's value to run over: a `list<T>`.
    pub(crate) list: Arc<str>,
}

/// The plan's node for a member with `for_each`.
pub struct FanOut {
    /// The list first, then the member's inputs but the binding.
    requires: Vec<Port>,
    /// The member's outputs, each as a list.
    provides: Vec<Port>,
    /// The spawnable each item runs.
    item: Arc<str>,
    binding: Arc<str>,
    max_parallel: Option<usize>,
}

impl FanOut {
    /// The fan-out of `task` over the list `for_each.list` of `element`s, running the
    /// spawnable `item` for each.
    /// At most `max_parallel` items run at once (none: as many as the run's jobs allow).
    pub(crate) fn new(
        task: &dyn Task,
        for_each: &ForEach,
        element: ValueType,
        item: Arc<str>,
        max_parallel: Option<usize>,
    ) -> FanOut {
        let mut requires = vec![Port::new(for_each.list.clone(), ValueType::list(element))];
        requires.extend(
            task.requires()
                .iter()
                .filter(|port| port.name != for_each.binding)
                .cloned(),
        );
        let provides = task
            .provides()
            .iter()
            .map(|port| Port::new(port.name.clone(), ValueType::list(port.ty.clone())))
            .collect();
        FanOut {
            requires,
            provides,
            item,
            binding: for_each.binding.clone(),
            max_parallel,
        }
    }

    /// The item task's path for element `index`, as a fan-out's children are shown.
    fn spawn(&self, index: usize, element: &Value, inputs: &Inputs) -> Spawn {
        let mut spawn = Spawn::new(self.item.clone())
            .item(index)
            .input(self.binding.clone(), element.clone());
        for (port, value) in self.requires[1..].iter().zip(&inputs.values()[1..]) {
            spawn = spawn.input(port.name.clone(), value.clone());
        }
        spawn
    }
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOut")
            .field("item", &self.item)
            .field("binding", &self.binding)
            .finish_non_exhaustive()
    }
}

impl Task for FanOut {
    fn requires(&self) -> &[Port] {
        &self.requires
    }

    fn provides(&self) -> &[Port] {
        &self.provides
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        let Some(elements) = inputs.values().first().and_then(Value::as_list) else {
            return Box::pin(async { Err(TaskError::permanent("for_each got no list")) });
        };
        let spawns: Vec<Spawn> = elements
            .iter()
            .enumerate()
            .map(|(index, element)| self.spawn(index, element, &inputs))
            .collect();
        let provides = self.provides.clone();
        let max_parallel = self.max_parallel;
        Box::pin(async move {
            let results = match max_parallel {
                None => ctx.spawn_all(spawns).await?,
                Some(limit) => {
                    let ctx = &ctx;
                    stream::iter(spawns)
                        .map(|spawn| async move {
                            let child = ctx.spawn(spawn)?;
                            ctx.join(&child).await
                        })
                        .buffered(limit.max(1))
                        .collect()
                        .await
                }
            };
            gather(ctx.task(), &provides, results)
        })
    }

    fn default_policy(&self) -> Policy {
        // The items have the member's policy; the fan-out itself only waits for them.
        Policy::default()
    }

    fn code(&self) -> Option<TaskCode> {
        // Never reused whole: it runs each time, and each item is reused on its own, so a
        // changed element re-runs one item and the run shows every one.
        None
    }

    fn kind(&self) -> &str {
        "for_each"
    }
}

/// Each output as a list in the elements' order; the first failed item fails the fan-out.
fn gather(
    path: &str,
    provides: &[Port],
    results: Vec<Result<Outputs, TaskError>>,
) -> Result<Outputs, TaskError> {
    let mut columns: Vec<Vec<Value>> = provides
        .iter()
        .map(|_| Vec::with_capacity(results.len()))
        .collect();
    for (index, result) in results.into_iter().enumerate() {
        let outputs = result.map_err(|error| {
            TaskError::permanent(format!("item `{path}[{index}]` failed: {error}"))
        })?;
        for (column, port) in columns.iter_mut().zip(provides) {
            let value = outputs.get(&port.name).cloned().ok_or_else(|| {
                TaskError::permanent(format!(
                    "item `{path}[{index}]` did not provide `{}`",
                    port.name
                ))
            })?;
            column.push(value);
        }
    }
    let mut outputs = Outputs::with_capacity(provides.len());
    for (column, port) in columns.into_iter().zip(provides) {
        let element = port
            .ty
            .element()
            .cloned()
            .expect("a fan-out provides lists");
        outputs.insert(port.name.clone(), Value::list(Arc::new(element), column));
    }
    Ok(outputs)
}

/// A member's task run as one item of its fan-out, when it does not require the binding
/// itself: the element is handed to it as one more input (a command sees it as
/// `PLAIT_IN_<ITEM>`, `{item}` and in its stdin).
pub(crate) struct Item {
    inner: Arc<dyn Task>,
    /// The inner task's inputs, then the binding.
    requires: Vec<Port>,
}

impl Item {
    pub(crate) fn new(inner: Arc<dyn Task>, binding: Port) -> Item {
        let mut requires = inner.requires().to_vec();
        requires.push(binding);
        Item { inner, requires }
    }
}

impl Task for Item {
    fn requires(&self) -> &[Port] {
        &self.requires
    }

    fn provides(&self) -> &[Port] {
        self.inner.provides()
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        self.inner.execute(ctx, inputs)
    }

    fn has_revert(&self) -> bool {
        self.inner.has_revert()
    }

    fn revert(
        &self,
        ctx: TaskContext,
        inputs: Inputs,
        outcome: Outcome,
    ) -> BoxFuture<Result<(), TaskError>> {
        self.inner.revert(ctx, inputs, outcome)
    }

    fn default_policy(&self) -> Policy {
        self.inner.default_policy()
    }

    fn code(&self) -> Option<TaskCode> {
        self.inner.code()
    }

    fn kind(&self) -> &str {
        self.inner.kind()
    }
}
