//! plait's engine: runs a validated [`plait_core::Plan`].
//!
//! Ready tasks run on a bounded pool of runner loops on the tokio runtime; a join starts the
//! moment its last input is stored; values pass by reference count. A failure either reverts
//! the run (every executed task, in reverse dependency order, each exactly once) or flows to
//! dependents. Every state transition is an [`Event`]. See `docs/scheduling.md` and
//! `docs/revert.md`.
//!
//! ```
//! use std::sync::Arc;
//! use plait_core::{compile, task_fn, Flow, RetryPolicy, TaskNode, ValueType, Workflow};
//! use plait_engine::{Engine, RunOptions};
//!
//! async fn example() -> anyhow::Result<()> {
//!     let flow = Flow::graph("numbers")
//!         .task("square", task_fn(["n"], ["sq"], |n: i64| async move { n * n }))
//!         .task("double", task_fn(["n"], ["d"], |n: i64| async move { 2 * n }))
//!         .add(
//!             TaskNode::new("total", task_fn(["sq", "d"], ["total"], |a: i64, b: i64| async move { a + b }))
//!                 .retry(RetryPolicy::attempts(3)),
//!         );
//!     let plan = Arc::new(compile(&Workflow::new(flow).input("n", ValueType::Int))?);
//!     let report = Engine::new().run(&plan, [("n", 4i64)], RunOptions::new()).await?;
//!     assert_eq!(report.output("total").and_then(|v| v.as_int()), Some(24));
//!     Ok(())
//! }
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(example()).unwrap();
//! ```

mod attempt;
mod clock;
mod content;
mod engine;
mod event;
pub mod explain;
mod inputs;
mod lifecycle;
pub mod live;
mod report;
mod run;
pub mod script;
mod sync;
mod value_hash;

pub use clock::{Clock, SystemClock, TokioClock, unix_millis};
pub use engine::{DEFAULT_OUTPUT_LIMIT, Engine, RunDefinition, RunOptions, new_run_id};
pub use event::{ChannelObserver, Event, EventLog, Observer};
pub use report::{RunError, RunReport, TaskReport};
