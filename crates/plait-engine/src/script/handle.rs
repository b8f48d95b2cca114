//! What a call returns at once ([`Handle`]) and what a call is given ([`Arg`]).

use std::future::IntoFuture;
use std::sync::Arc;

use plait_core::{BoxFuture, Child, Outputs, Value};
use tokio::sync::{OnceCell, watch};

use super::CallError;
use super::context::ScriptRun;

/// What a finished call holds: its outputs or why it has none.
pub(super) type CallResult = Result<Outputs, CallError>;

/// How far a call has come.
#[derive(Clone, Debug)]
pub(super) enum Progress {
    /// Its child is spawned: its result is the child's, joined by the first who asks.
    Spawned(Child),
    /// It ended (a sub-workflow returned, or the call failed before its child ran).
    Done(CallResult),
}

/// A call in flight: its position and task, and its result once it has one.
///
/// Cheap to clone. Awaiting a handle (it is [`IntoFuture`]) waits for this call only: the
/// rest of the workflow goes on meanwhile. Passing [`Handle::arg`] to another call makes that
/// call wait for this one, without anyone awaiting it.
#[derive(Clone)]
pub struct Handle {
    position: Arc<str>,
    task: Arc<str>,
    progress: watch::Receiver<Option<Progress>>,
    /// The child's result, joined once however many ask: nobody joins a child whose result
    /// nobody needs, and a call whose arguments are all values needs no driver at all.
    joined: Arc<OnceCell<CallResult>>,
    run: Arc<ScriptRun>,
}

impl std::fmt::Debug for Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handle")
            .field("position", &self.position)
            .field("task", &self.task)
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

/// Where a call's driver says how far it has come.
pub(super) type Resolver = watch::Sender<Option<Progress>>;

impl Handle {
    pub(super) fn new(
        run: Arc<ScriptRun>,
        position: Arc<str>,
        task: Arc<str>,
    ) -> (Handle, Resolver) {
        let (resolver, progress) = watch::channel(None);
        (
            Handle {
                position,
                task,
                progress,
                joined: Arc::default(),
                run,
            },
            resolver,
        )
    }

    /// The call's position in its workflow: `3`, or `3.1` for a call a sub-workflow called at
    /// position 3 makes. Its child's path is the workflow's task path, `/`, and this.
    pub fn position(&self) -> &Arc<str> {
        &self.position
    }

    /// The called task or sub-workflow.
    pub fn task(&self) -> &Arc<str> {
        &self.task
    }

    /// Waits for the call and returns its output `name`.
    pub async fn output(&self, name: &str) -> Result<Value, CallError> {
        let outputs = self.outputs().await?;
        outputs
            .get(name)
            .cloned()
            .ok_or_else(|| CallError::NoOutput {
                position: self.position.clone(),
                task: self.task.clone(),
                output: name.into(),
            })
    }

    /// The call's output `name` as another call's argument.
    pub fn arg(&self, name: &str) -> Arg {
        Arg(Source::Output(self.clone(), name.into()))
    }

    async fn outputs(&self) -> CallResult {
        if let Some(result) = self.joined.get() {
            return result.clone();
        }
        let mut progress = self.progress.clone();
        let progress = match progress.wait_for(Option::is_some).await {
            Ok(progress) => progress.clone().expect("waited for progress"),
            Err(_) => {
                return Err(CallError::Abandoned {
                    position: self.position.clone(),
                    task: self.task.clone(),
                });
            }
        };
        match progress {
            Progress::Done(result) => result,
            Progress::Spawned(child) => self
                .joined
                .get_or_init(|| {
                    self.run
                        .join(self.position.clone(), self.task.clone(), child)
                })
                .await
                .clone(),
        }
    }
}

impl IntoFuture for Handle {
    type Output = CallResult;
    type IntoFuture = BoxFuture<CallResult>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move { self.outputs().await })
    }
}

/// A call's argument: a value, a call's output, or the same output of many calls as a list.
#[derive(Clone, Debug)]
pub struct Arg(Source);

#[derive(Clone, Debug)]
enum Source {
    Value(Value),
    Output(Handle, Arc<str>),
    All(Vec<Handle>, Arc<str>),
}

impl Arg {
    /// A value known now.
    pub fn value(value: impl Into<Value>) -> Arg {
        Arg(Source::Value(value.into()))
    }

    /// `handle`'s output `name` (the same as [`Handle::arg`]).
    pub fn output(handle: &Handle, name: &str) -> Arg {
        handle.arg(name)
    }

    /// The output `name` of every one of `handles`, as one JSON list in their order (Flowy's
    /// gather). The call waits for all of them; one failure fails it.
    pub fn all(handles: &[Handle], name: &str) -> Arg {
        Arg(Source::All(handles.to_vec(), name.into()))
    }

    /// The value, if no call has to finish first.
    pub(super) fn ready(&self) -> Option<&Value> {
        match &self.0 {
            Source::Value(value) => Some(value),
            _ => None,
        }
    }

    /// Waits for the calls the argument names.
    pub(super) async fn resolve(self) -> Result<Value, CallError> {
        match self.0 {
            Source::Value(value) => Ok(value),
            Source::Output(handle, name) => handle.output(&name).await,
            Source::All(handles, name) => {
                let mut list = Vec::with_capacity(handles.len());
                for handle in handles {
                    list.push(handle.output(&name).await?.to_json());
                }
                Ok(Value::json(serde_json::Value::Array(list)))
            }
        }
    }
}

macro_rules! arg_from_value {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Arg {
            fn from(value: $ty) -> Arg {
                Arg::value(value)
            }
        }
    )*};
}

arg_from_value!(Value, &str, String, i64, f64, bool, serde_json::Value);
