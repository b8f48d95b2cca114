//! `--json`: exactly one object on stdout.

use plait_engine::RunReport;
use serde_json::{Map, Value, json};

use super::time::rfc3339;

pub(crate) fn report(report: &RunReport) -> Value {
    let outputs: Map<String, Value> = report
        .outputs
        .iter()
        .map(|(name, value)| (name.to_string(), value.to_json()))
        .collect();
    let tasks: Map<String, Value> = report
        .tasks
        .iter()
        .map(|task| {
            let mut entry = json!({
                "state": task.state.name(),
                "attempts": task.attempts,
                "cached": task.cached,
                "started_at": task.started_at.map(rfc3339),
                "finished_at": task.finished_at.map(rfc3339),
            });
            if let Some(error) = &task.error {
                entry["error"] = json!(error.to_string());
            }
            if let Some(error) = &task.revert_error {
                entry["revert_error"] = json!(error.to_string());
            }
            (task.path.to_string(), entry)
        })
        .collect();
    json!({
        "run_id": &*report.run_id,
        "status": report.status.name(),
        "outputs": outputs,
        "tasks": tasks,
        "executed": report.executed(),
        "cached": report.cached(),
        "started_at": rfc3339(report.started_at),
        "finished_at": rfc3339(report.finished_at),
    })
}
