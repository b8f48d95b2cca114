//! What a task writes while it runs: a command's stdout and stderr, a Rust task's log lines.
//!
//! Core does no I/O: a task hands its output to its [`TaskContext`](crate::TaskContext), which
//! passes it to the [`OutputSink`] the engine gave it (the engine records it in its store).

use std::sync::Arc;

/// One of the two streams an attempt writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutputStream {
    Stdout,
    Stderr,
}

impl OutputStream {
    pub const ALL: [OutputStream; 2] = [OutputStream::Stdout, OutputStream::Stderr];

    pub fn name(self) -> &'static str {
        match self {
            OutputStream::Stdout => "stdout",
            OutputStream::Stderr => "stderr",
        }
    }
}

/// Where the output of a run's attempts goes. One sink serves every attempt of a run: the
/// task (its path, shared) and attempt are named on each call, so starting an attempt
/// allocates nothing.
///
/// `write` is called from the task's thread as output arrives, and must not block: a sink
/// buffers, and records elsewhere.
pub trait OutputSink: Send + Sync + std::fmt::Debug + 'static {
    fn write(&self, task: &Arc<str>, attempt: u32, stream: OutputStream, bytes: &[u8]);
}
