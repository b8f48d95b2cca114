//! The human summary of a finished run, on stderr.

use plait_core::{RunStatus, TaskState};
use plait_engine::RunReport;

use super::seconds;
use super::terminal::escape;

pub(crate) fn print(report: &RunReport) {
    let elapsed = report
        .finished_at
        .duration_since(report.started_at)
        .unwrap_or_default();
    let mut counts = Vec::new();
    for state in TaskState::ALL {
        let count = report.count(state);
        if count > 0 {
            counts.push(format!("{count} {state}"));
        }
    }
    let cached = report.cached();
    if cached > 0 {
        counts.push(format!(
            "{} executed, {cached} reused from the cache",
            report.executed()
        ));
    }
    eprintln!(
        "run {} {} in {} ({})",
        report.run_id,
        report.status,
        seconds(elapsed),
        counts.join(", ")
    );
    // A task's error quotes what it wrote on stderr: escaped, it cannot drive the terminal.
    for task in report.failures() {
        if let Some(error) = &task.error {
            let line = format!(
                "  `{}` failed after {} attempt(s): {error}",
                task.path, task.attempts
            );
            eprintln!("{}", escape(&line));
        }
    }
    for task in report.revert_failures() {
        if let Some(error) = &task.revert_error {
            let line = format!("  revert of `{}` failed: {error}", task.path);
            eprintln!("{}", escape(&line));
        }
    }
    match report.status {
        RunStatus::Reverted => eprintln!("every completed task was reverted"),
        RunStatus::RevertFailed => {
            eprintln!(
                "some reverts failed: the tasks above and those they depend on were left as they are"
            )
        }
        RunStatus::Cancelled => eprintln!("the run was cancelled; completed tasks were reverted"),
        _ => {}
    }
}
