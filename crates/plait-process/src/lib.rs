//! plait's subprocesses: the one helper that starts them, and command tasks built on it.
//!
//! Every process plait starts goes through [`Subprocess`] (STYLE.md, rule 13; `clippy.toml`
//! bans `Command::new` everywhere else). Starting a process is easy; stopping it is not, and
//! one place gets it right for everyone:
//!
//! - the child leads its own process group, so stopping it stops what it started (a shell's
//!   pipeline, a build tool's workers), not just the one pid we know;
//! - on timeout or cancellation the group gets SIGTERM, a grace period, then SIGKILL, so a
//!   well-behaved program can clean up and a stuck one cannot hold up the run;
//! - if the future running it is dropped, the group is killed anyway;
//! - if plait dies, even by SIGKILL, the group dies too: children are forked by one thread
//!   that lives as long as the process, with `PR_SET_PDEATHSIG`, and a guardian process kills
//!   what is left of every group when plait is gone;
//! - stdout is captured with a limit, stderr's tail is kept for error messages, stdin is
//!   written and closed, all concurrently, so no pipe ever fills up and deadlocks the child.
//!
//! [`CommandTask`] is the [`plait_core::Task`] that workflow files' `command` tasks become:
//! argv with `{name}` placeholders, inputs as `PLAIT_IN_<NAME>`, as files and as JSON on stdin,
//! outputs as a JSON object on stdout, and an optional revert command.
//!
//! [`host_name`], [`process_start_time`] and [`is_alive`] are the host facts a store needs to
//! tell a running run from an interrupted one.

mod command;
mod host;
mod process;

pub use command::{
    CommandSpec, CommandTask, ScriptPlaceholder, ShellScript, placeholders_in_shell_script,
};
pub use host::{
    end_on_broken_pipe, host_name, is_alive, kill_orphaned_group, process_start_time, terminate,
};
pub use process::{
    DEFAULT_KILL_GRACE, DEFAULT_STDOUT_LIMIT, ProcessError, ProcessOutcome, STDERR_TAIL_BYTES,
    Subprocess, kill_all_process_groups,
};
