//! How the end of a command's process becomes the task's result or error.

use plait_core::{ErrorKind, TaskError};

use crate::ProcessOutcome;

/// Lines of the stderr tail quoted in an error.
const STDERR_LINES: usize = 10;

/// The stdout of a process that exited with status 0, or the task error for any other ending.
///
/// A non-zero exit or a signal is retryable: plait cannot tell a flaky network from a bug, and
/// the retry policy (one attempt by default) decides, unless the status is one of
/// `permanent_codes`, by which the task says so itself. A program that cannot be started, or
/// writes more than the stdout limit, will do the same next time: permanent.
pub(crate) fn stdout_or_error(
    program: &str,
    outcome: ProcessOutcome,
    permanent_codes: &[i32],
) -> Result<Vec<u8>, TaskError> {
    let what = format!("`{program}` {}", outcome.describe());
    let error = match outcome {
        ProcessOutcome::Exited {
            code: 0, stdout, ..
        } => return Ok(stdout),
        ProcessOutcome::Exited {
            code, stderr_tail, ..
        } if permanent_codes.contains(&code) => {
            TaskError::permanent(with_stderr(what, &stderr_tail))
        }
        ProcessOutcome::Exited { stderr_tail, .. }
        | ProcessOutcome::Signalled { stderr_tail, .. } => {
            TaskError::retryable(with_stderr(what, &stderr_tail))
        }
        ProcessOutcome::StdoutTooLarge { stderr_tail, .. } => TaskError::permanent(with_stderr(
            format!("{what}: write large results to a file and output its path"),
            &stderr_tail,
        )),
        // The engine cancelled: it knows, and records a cancellation, not this error.
        ProcessOutcome::Cancelled { .. } => TaskError::retryable("cancelled"),
        ProcessOutcome::TimedOut { after, .. } => TaskError::timeout(after),
        ProcessOutcome::Failed(error) => {
            let kind = match error.is_transient() {
                true => ErrorKind::Retryable,
                false => ErrorKind::Permanent,
            };
            TaskError::from_error(kind, error)
        }
    };
    Err(error)
}

/// `message`, then the last lines of stderr, indented, if there are any.
fn with_stderr(message: String, stderr_tail: &str) -> String {
    let lines: Vec<&str> = stderr_tail
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty())
        .collect();
    if lines.is_empty() {
        return format!("{message} (nothing on stderr)");
    }
    let start = lines.len().saturating_sub(STDERR_LINES);
    let mut message = format!("{message}; stderr:");
    for line in &lines[start..] {
        message.push_str("\n  ");
        message.push_str(line);
    }
    message
}
