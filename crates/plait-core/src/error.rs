//! The error a task returns. Retryable versus permanent is part of the type, and the payload
//! sits behind an `Arc` so one failure fans out to many dependents and observers cheaply.

use std::fmt;
use std::sync::Arc;

/// Whether trying again may help.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A transient failure (a timeout, a lost connection): the retry policy applies.
    Retryable,
    /// Trying again cannot help (bad input, a declared output missing): no retry.
    Permanent,
}

/// Why a task attempt failed.
#[derive(Clone)]
pub struct TaskError {
    inner: Arc<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    timed_out: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TaskError {
    /// A failure the retry policy may retry.
    pub fn retryable(message: impl Into<String>) -> Self {
        TaskError::new(ErrorKind::Retryable, message.into(), false, None)
    }

    /// A failure no retry can fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        TaskError::new(ErrorKind::Permanent, message.into(), false, None)
    }

    /// The attempt ran out of time. Timeouts are retryable.
    pub fn timeout(limit: std::time::Duration) -> Self {
        let message = format!("timed out after {}", crate::policy::format_duration(limit));
        TaskError::new(ErrorKind::Retryable, message, true, None)
    }

    /// Wraps another error, keeping it as the source.
    pub fn from_error(
        kind: ErrorKind,
        error: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        TaskError::new(kind, error.to_string(), false, Some(Box::new(error)))
    }

    fn new(
        kind: ErrorKind,
        message: String,
        timed_out: bool,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        TaskError {
            inner: Arc::new(Inner {
                kind,
                message,
                timed_out,
                source,
            }),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    pub fn is_retryable(&self) -> bool {
        self.inner.kind == ErrorKind::Retryable
    }

    pub fn is_timeout(&self) -> bool {
        self.inner.timed_out
    }

    pub fn message(&self) -> &str {
        &self.inner.message
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.message)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .finish()
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl PartialEq for TaskError {
    fn eq(&self, other: &Self) -> bool {
        self.kind() == other.kind() && self.message() == other.message()
    }
}

/// Function tasks may return any error; it counts as retryable unless it is a [`TaskError`]
/// that says otherwise, because most errors a function meets (I/O, network) are transient.
impl From<std::io::Error> for TaskError {
    fn from(error: std::io::Error) -> Self {
        TaskError::from_error(ErrorKind::Retryable, error)
    }
}

impl From<String> for TaskError {
    fn from(message: String) -> Self {
        TaskError::retryable(message)
    }
}

impl From<&str> for TaskError {
    fn from(message: &str) -> Self {
        TaskError::retryable(message)
    }
}
