//! How a subprocess ended, and why it could not be started.

use std::io;
use std::path::PathBuf;
use std::time::Duration;

/// How a [`crate::Subprocess`] ended.
///
/// Only a process that exited by itself has a stdout worth reading: one that was stopped may
/// have printed half a result. Every ending that ran the process keeps the tail of its stderr,
/// which is usually where it said what went wrong.
#[derive(Debug)]
pub enum ProcessOutcome {
    /// The process exited by itself with `code` (zero or not).
    Exited {
        code: i32,
        stdout: Vec<u8>,
        stderr_tail: String,
    },
    /// A signal we did not send killed the process (the OOM killer, a crash, a user's `kill`).
    Signalled { signal: i32, stderr_tail: String },
    /// The timeout elapsed; the process group was stopped.
    TimedOut {
        after: Duration,
        stderr_tail: String,
    },
    /// The cancellation token fired; the process group was stopped.
    Cancelled { stderr_tail: String },
    /// The process wrote more than `limit` bytes to stdout; the process group was stopped.
    StdoutTooLarge { limit: usize, stderr_tail: String },
    /// The process could not be started, or we lost track of it.
    Failed(ProcessError),
}

impl ProcessOutcome {
    /// The last few KiB of stderr, lossily decoded; empty if the process never ran.
    pub fn stderr_tail(&self) -> &str {
        match self {
            ProcessOutcome::Exited { stderr_tail, .. }
            | ProcessOutcome::Signalled { stderr_tail, .. }
            | ProcessOutcome::TimedOut { stderr_tail, .. }
            | ProcessOutcome::Cancelled { stderr_tail }
            | ProcessOutcome::StdoutTooLarge { stderr_tail, .. } => stderr_tail,
            ProcessOutcome::Failed(_) => "",
        }
    }

    /// Whether the process exited by itself with status 0.
    pub fn is_success(&self) -> bool {
        matches!(self, ProcessOutcome::Exited { code: 0, .. })
    }

    /// What happened, as a phrase to follow the program's name: `exited with status 3`.
    pub fn describe(&self) -> String {
        match self {
            ProcessOutcome::Exited { code, .. } => format!("exited with status {code}"),
            ProcessOutcome::Signalled { signal, .. } => {
                format!("was killed by signal {}", signal_name(*signal))
            }
            ProcessOutcome::TimedOut { after, .. } => {
                format!("timed out after {}", plait_core::format_duration(*after))
            }
            ProcessOutcome::Cancelled { .. } => "was cancelled".to_owned(),
            ProcessOutcome::StdoutTooLarge { limit, .. } => {
                format!("wrote more than {} to stdout", format_bytes(*limit))
            }
            ProcessOutcome::Failed(error) => error.to_string(),
        }
    }
}

/// `SIGKILL` for 9; the number for a signal this platform does not name.
pub(crate) fn signal_name(signal: i32) -> String {
    match nix::sys::signal::Signal::try_from(signal) {
        Ok(signal) => signal.as_str().to_owned(),
        Err(_) => format!("{signal}"),
    }
}

/// `64 MiB` rather than `67108864`, for limits in messages.
pub(crate) fn format_bytes(bytes: usize) -> String {
    const MIB: usize = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// Why a subprocess could not be started (or, rarely, waited for).
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("no program to run: the command is empty")]
    EmptyArgv,
    #[error("program `{program}` not found: {}", not_found_hint(program))]
    ProgramNotFound { program: String },
    #[error("program `{program}` cannot be run: check that it is executable")]
    PermissionDenied { program: String },
    #[error("working directory `{}` does not exist: create it or fix the path", dir.display())]
    WorkdirNotFound { dir: PathBuf },
    #[error(
        "the arguments and environment of `{program}` are too long for the system: \
         pass large values through stdin or a file instead"
    )]
    ArgumentsTooLong { program: String },
    #[error("could not start `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
    #[error("lost track of `{program}` while waiting for it: {source}")]
    Wait {
        program: String,
        #[source]
        source: io::Error,
    },
}

impl ProcessError {
    /// Whether starting the process again may work: true only for resource exhaustion and the
    /// like (too many processes or open files), never for a missing program or a bad path.
    pub fn is_transient(&self) -> bool {
        match self {
            ProcessError::Spawn { source, .. } => source.kind() != io::ErrorKind::InvalidInput,
            ProcessError::Wait { .. } => true,
            _ => false,
        }
    }
}

fn not_found_hint(program: &str) -> &'static str {
    if program.contains('/') {
        "check the path (a relative one starts from the working directory)"
    } else {
        "check that it is installed and on `PATH`"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_as_sizes() {
        assert_eq!(format_bytes(64 * 1024 * 1024), "64 MiB");
        assert_eq!(format_bytes(4096), "4 KiB");
        assert_eq!(format_bytes(1000), "1000 bytes");
    }

    #[test]
    fn signals_are_named() {
        assert_eq!(signal_name(9), "SIGKILL");
        assert_eq!(signal_name(15), "SIGTERM");
        assert_eq!(signal_name(1000), "1000");
    }
}
