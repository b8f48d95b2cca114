//! Presenting results: diagnostics, progress, the run summary, JSON, graphs.

pub(crate) mod diagnostics;
pub(crate) mod graph;
pub(crate) mod json;
pub(crate) mod progress;
pub(crate) mod summary;
pub(crate) mod terminal;
pub(crate) mod time;

/// Seconds with millisecond precision, for humans.
pub(crate) fn seconds(duration: std::time::Duration) -> String {
    format!("{:.3}s", duration.as_secs_f64())
}
