//! Workflows written as code: an async function whose calls are tasks (Flowy, Temporal).
//!
//! A [`Script`] compiles to an ordinary workflow of one task that runs the function. Each
//! call the function makes through its [`ScriptContext`] takes the next position (`0`, `1`,
//! ...; `3.0`, `3.1`, ... inside a sub-workflow called at `3`) when it is made, returns a
//! [`Handle`] at once, and starts, as a spawned child keyed by its position, once the handles
//! among its arguments have values. Awaiting a handle waits for that call only. A failed
//! handle fails each call it is passed to without running it.
//!
//! The children are the journal: a function run again (a retry, a resume) makes the same
//! calls, and each finished one gets its recorded result. A call that is not the one the
//! journal holds at its position stops the workflow ([`CallError::Nondeterministic`]).
//! See `docs/scripts.md`.

mod context;
mod define;
mod error;
mod handle;

pub use context::ScriptContext;
pub use define::Script;
pub use error::CallError;
pub use handle::{Arg, Handle};
