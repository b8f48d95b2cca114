//! Plain functions and closures as tasks.
//!
//! ```
//! use plait_core::{task_fn, Task};
//! // requires `n: int`, provides `sq: int`; the types come from the signature.
//! let square = task_fn(["n"], ["sq"], |n: i64| async move { n * n });
//! assert_eq!(square.requires()[0].ty.name(), "int");
//! ```

mod arity;
mod convert;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

pub use arity::{AsyncKind, SyncKind, TaskFunction};
pub use convert::{FromValue, IntoTaskResult, IntoValue, Native};

use crate::{
    BoxFuture, Inputs, Isolation, Outcome, Outputs, Policy, Port, Task, TaskCode, TaskContext,
    TaskError, ValueType,
};

type RevertFn =
    dyn Fn(TaskContext, Inputs, Outcome) -> BoxFuture<Result<(), TaskError>> + Send + Sync;
type CallFn = dyn Fn(TaskContext, Inputs) -> BoxFuture<Result<Outputs, TaskError>> + Send + Sync;

/// A task made from a function or closure. Built by [`task_fn`], [`blocking_fn`] or
/// [`FnTask::raw`].
pub struct FnTask {
    requires: Box<[Port]>,
    provides: Box<[Port]>,
    call: Arc<CallFn>,
    /// Few tasks have either: apart, they cost a workflow of a million tasks a word each.
    extras: Option<Box<Extras>>,
    isolation: Isolation,
    /// The function's type name, for the cache key.
    code: &'static str,
}

#[derive(Default)]
struct Extras {
    revert: Option<Box<RevertFn>>,
    problems: Vec<String>,
}

impl std::fmt::Debug for FnTask {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FnTask")
            .field("requires", &self.requires)
            .field("provides", &self.provides)
            .field("isolation", &self.isolation)
            .finish_non_exhaustive()
    }
}

/// Makes a task of an async function: its arguments are the `requires` (types from the
/// signature, names given here in order), its return value the `provides`.
pub fn task_fn<Args, F, const R: usize, const P: usize>(
    requires: [&str; R],
    provides: [&str; P],
    function: F,
) -> FnTask
where
    F: TaskFunction<Args, AsyncKind>,
{
    FnTask::typed::<Args, AsyncKind, F>(&requires, &provides, function, Isolation::Async)
}

/// Like [`task_fn`] for a plain (blocking or CPU-bound) function, which the engine runs on a
/// blocking thread.
pub fn blocking_fn<Args, F, const R: usize, const P: usize>(
    requires: [&str; R],
    provides: [&str; P],
    function: F,
) -> FnTask
where
    F: TaskFunction<Args, SyncKind>,
{
    FnTask::typed::<Args, SyncKind, F>(&requires, &provides, function, Isolation::Blocking)
}

impl FnTask {
    fn typed<Args, Kind, F: TaskFunction<Args, Kind>>(
        requires: &[&str],
        provides: &[&str],
        function: F,
        isolation: Isolation,
    ) -> FnTask {
        let _ = PhantomData::<(Args, Kind)>;
        let (arg_types, output_types) = (F::arg_types(), F::output_types());
        let mut problems = Vec::new();
        if arg_types.len() != requires.len() {
            problems.push(format!(
                "the function takes {} argument(s) but `requires` names {}",
                arg_types.len(),
                requires.len()
            ));
        }
        if output_types.len() != provides.len() {
            problems.push(format!(
                "the function returns {} value(s) but `provides` names {}",
                output_types.len(),
                provides.len()
            ));
        }
        let ports = |names: &[&str], types: Vec<ValueType>| -> Vec<Port> {
            names
                .iter()
                .zip(types)
                .map(|(name, ty)| Port::new(*name, ty))
                .collect()
        };
        let requires = ports(requires, arg_types);
        let provides = ports(provides, output_types);
        let function = Arc::new(function);
        let provide_names: Arc<[Arc<str>]> = provides.iter().map(|p| p.name.clone()).collect();
        let call =
            move |_ctx: TaskContext, inputs: Inputs| -> BoxFuture<Result<Outputs, TaskError>> {
                let future = function.clone().call(inputs.into_values());
                let names = provide_names.clone();
                Box::pin(async move {
                    let values = future.await?;
                    Ok(names.iter().cloned().zip(values).collect())
                })
            };
        FnTask {
            requires: requires.into(),
            provides: provides.into(),
            call: Arc::new(call),
            extras: (!problems.is_empty()).then(|| {
                Box::new(Extras {
                    revert: None,
                    problems,
                })
            }),
            isolation,
            code: std::any::type_name::<F>(),
        }
    }

    /// A task from a closure over the raw [`Inputs`] and [`TaskContext`], for tasks that need
    /// the context (cancellation, attempt number) or dynamic outputs.
    pub fn raw<F, Fut>(requires: Vec<Port>, provides: Vec<Port>, function: F) -> FnTask
    where
        F: Fn(TaskContext, Inputs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Outputs, TaskError>> + Send + 'static,
    {
        let call = move |ctx, inputs| -> BoxFuture<Result<Outputs, TaskError>> {
            Box::pin(function(ctx, inputs))
        };
        FnTask {
            requires: requires.into(),
            provides: provides.into(),
            call: Arc::new(call),
            extras: None,
            isolation: Isolation::Async,
            code: std::any::type_name::<F>(),
        }
    }

    /// Adds a revert: it gets the same inputs and how the task ended.
    pub fn with_revert<F, Fut>(mut self, revert: F) -> FnTask
    where
        F: Fn(TaskContext, Inputs, Outcome) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), TaskError>> + Send + 'static,
    {
        self.extras.get_or_insert_default().revert =
            Some(Box::new(move |ctx, inputs, outcome| -> BoxFuture<_> {
                Box::pin(revert(ctx, inputs, outcome))
            }));
        self
    }

    pub fn with_isolation(mut self, isolation: Isolation) -> FnTask {
        self.isolation = isolation;
        self
    }
}

impl Task for FnTask {
    fn requires(&self) -> &[Port] {
        &self.requires
    }

    fn provides(&self) -> &[Port] {
        &self.provides
    }

    fn execute(&self, ctx: TaskContext, inputs: Inputs) -> BoxFuture<Result<Outputs, TaskError>> {
        (self.call)(ctx, inputs)
    }

    fn has_revert(&self) -> bool {
        self.extras
            .as_ref()
            .is_some_and(|extras| extras.revert.is_some())
    }

    fn revert(
        &self,
        ctx: TaskContext,
        inputs: Inputs,
        outcome: Outcome,
    ) -> BoxFuture<Result<(), TaskError>> {
        match self
            .extras
            .as_ref()
            .and_then(|extras| extras.revert.as_ref())
        {
            Some(revert) => revert(ctx, inputs, outcome),
            None => Box::pin(async { Ok(()) }),
        }
    }

    fn default_policy(&self) -> Policy {
        Policy {
            isolation: self.isolation,
            ..Policy::default()
        }
    }

    fn code(&self) -> Option<TaskCode> {
        Some(TaskCode::Compiled(self.code))
    }

    fn kind(&self) -> &str {
        "fn"
    }

    fn problems(&self) -> Vec<String> {
        self.extras
            .as_ref()
            .map_or_else(Vec::new, |extras| extras.problems.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;
    use tokio_util::sync::CancellationToken;

    fn context() -> TaskContext {
        TaskContext::new(
            "run".into(),
            "t".into(),
            1,
            Arc::new(CancellationToken::new()),
        )
    }

    #[tokio::test]
    async fn typed_function_reads_and_writes_values() {
        let add = task_fn(["a", "b"], ["sum"], |a: i64, b: i64| async move { a + b });
        let ports: Arc<[Port]> = add.requires().into();
        let inputs = Inputs::new(ports, vec![Value::Int(2), Value::Int(3)]);
        let outputs = add.execute(context(), inputs).await.unwrap();
        assert_eq!(outputs.get("sum"), Some(&Value::Int(5)));
        assert!(add.problems().is_empty());
    }

    #[tokio::test]
    async fn errors_and_tuples_come_through() {
        let split = task_fn(["text"], ["head", "len"], |text: String| async move {
            if text.is_empty() {
                return Err(TaskError::permanent("empty"));
            }
            Ok((text[..1].to_owned(), text.len() as i64))
        });
        assert_eq!(split.provides()[1].ty, ValueType::Int);
        let ports: Arc<[Port]> = split.requires().into();
        let empty = Inputs::new(ports.clone(), vec![Value::from("")]);
        assert_eq!(
            split.execute(context(), empty).await.unwrap_err().message(),
            "empty"
        );
        let word = Inputs::new(ports, vec![Value::from("plait")]);
        let outputs = split.execute(context(), word).await.unwrap();
        assert_eq!(outputs.get("len"), Some(&Value::Int(5)));
    }

    #[tokio::test]
    async fn vecs_are_lists() {
        let lengths = task_fn(["words"], ["lengths"], |words: Vec<String>| async move {
            words
                .iter()
                .map(|word| word.len() as i64)
                .collect::<Vec<i64>>()
        });
        assert_eq!(lengths.requires()[0].ty, ValueType::list(ValueType::String));
        assert_eq!(lengths.provides()[0].ty, ValueType::list(ValueType::Int));
        let ports: Arc<[Port]> = lengths.requires().into();
        let words = ValueType::list(ValueType::String)
            .value_from_json(&serde_json::json!(["a", "bcd"]))
            .unwrap();
        let outputs = lengths
            .execute(context(), Inputs::new(ports, vec![words]))
            .await
            .unwrap();
        let lengths = outputs.get("lengths").unwrap();
        assert_eq!(lengths.to_json(), serde_json::json!([1, 3]));
        assert_eq!(lengths.value_type(), ValueType::list(ValueType::Int));
    }

    #[test]
    fn arity_mismatch_is_a_problem_not_a_panic() {
        let task = blocking_fn(["a", "b"], [], |a: i64| {
            let _ = a;
        });
        assert_eq!(
            task.problems(),
            ["the function takes 1 argument(s) but `requires` names 2"]
        );
        assert_eq!(task.default_policy().isolation, Isolation::Blocking);
    }
}
