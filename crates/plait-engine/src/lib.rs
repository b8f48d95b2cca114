//! plait's engine: runs a validated [`plait_core::Plan`].
//!
//! Ready tasks run on a bounded pool of runner loops on the tokio runtime; a join starts the
//! moment its last input is stored; values pass by reference count. A failure either reverts
//! the run (every executed task, in reverse dependency order, each exactly once) or flows to
//! dependents. Every state transition is an [`Event`]. See `docs/scheduling.md` and
//! `docs/revert.md`.

mod clock;
mod engine;
mod event;
mod report;
mod run;

pub use clock::{Clock, SystemClock, TokioClock, unix_millis};
pub use engine::{Engine, RunOptions};
pub use event::{ChannelObserver, Event, EventLog, Observer};
pub use report::{RunError, RunReport, TaskReport};
