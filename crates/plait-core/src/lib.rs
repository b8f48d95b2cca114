//! plait's model: tasks, flows, ports, values and validation.
//!
//! This crate does no I/O and knows nothing of threads, stores or files: it turns a
//! [`Workflow`] into a validated [`Plan`] (or every problem with it, at once), and defines the
//! [`Task`] trait the engine runs. See `docs/architecture.md`.

mod compile;
mod diagnostic;
mod error;
mod fanout;
mod flow;
mod function;
mod output;
mod plan;
mod policy;
mod spawn;
mod state;
mod task;
mod value;

pub use compile::{compile, compile_owned};
pub use diagnostic::{Code, Diagnostic, Invalid, Location, PortRole, Severity};
pub use error::{ErrorKind, TaskError};
pub use fanout::FanOut;
pub use flow::{Flow, FlowKind, InputDecl, Member, OnFailure, TaskNode, Workflow};
pub use function::{
    AsyncKind, FnTask, FromValue, IntoTaskResult, IntoValue, Native, SyncKind, TaskFunction,
    blocking_fn, task_fn,
};
pub use output::{OutputSink, OutputStream};
pub use plan::{
    DataEdge, NodeId, NodeKind, Plan, PlanNode, RetryScope, ScopeId, Source, Spawnable, TaskSlot,
};
pub use policy::{Isolation, Policy, RetryPolicy, format_duration, parse_duration};
pub use spawn::{Child, Children, NamedMismatch, Spawn, SpawnedOther, match_named};
pub use state::{IllegalTransition, RunStatus, TaskState};
pub use task::{
    BoxFuture, ChildGroup, ChildGroups, Inputs, Outcome, Outputs, Port, Ports, Task, TaskCode,
    TaskContext,
};
pub use value::{NativeType, TypeMismatch, Value, ValueType};
