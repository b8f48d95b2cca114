//! The one helper through which plait starts subprocesses (STYLE.md, rule 13).

mod group;
mod guardian;
mod outcome;
mod pipes;
mod spawner;
mod subprocess;
mod supervise;

pub use group::kill_all_process_groups;
pub use outcome::{ProcessError, ProcessOutcome};
pub use pipes::STDERR_TAIL_BYTES;
pub use subprocess::{DEFAULT_KILL_GRACE, DEFAULT_STDOUT_LIMIT, Subprocess};
