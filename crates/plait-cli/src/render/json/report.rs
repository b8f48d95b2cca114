//! A run as the engine reports it: for a run that is not recorded (`--store :memory:`), or
//! whose record cannot be read back.

use std::collections::BTreeMap;
use std::time::SystemTime;

use plait_core::Value;
use plait_engine::{RunDefinition, RunReport, TaskReport, unix_millis};
use plait_store::{Millis, RunState};
use serde_json::Map;

use super::view::{RunSummaryView, RunView, State, Status, TaskView, Times};
use crate::render::time::timestamp;

impl RunView {
    /// The report of the run started from `definition`.
    /// Its tasks' `outputs` and `reused_from` are null: the report does not carry them (and
    /// a run without a store reuses nothing).
    pub(crate) fn from_report(report: &RunReport, definition: &RunDefinition) -> RunView {
        let times = Times {
            started_at: Some(millis(report.started_at)),
            finished_at: Some(millis(report.finished_at)),
        };
        let summary = RunSummaryView {
            run_id: report.run_id.to_string(),
            workflow: definition.workflow.clone(),
            source: definition.source.clone(),
            definition_hash: Some(definition.hash.clone()).filter(|hash| !hash.is_empty()),
            status: Status(RunState::Finished(report.status)),
            started_at: timestamp(millis(report.started_at)),
            finished_at: times.finished_at(),
            duration_ms: times.duration_ms(),
            executed: None,
            cached: None,
            counts: None,
        };
        let as_json = |values: &[(std::sync::Arc<str>, Value)]| -> Map<String, serde_json::Value> {
            values
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_json()))
                .collect()
        };
        let (inputs, outputs) = (as_json(&report.inputs), as_json(&report.outputs));
        let tasks: BTreeMap<String, TaskView> = report
            .tasks
            .iter()
            .map(|task| (task.path.to_string(), task_view(task)))
            .collect();
        RunView::new(summary, Some(inputs), Some(outputs), tasks)
    }
}

fn task_view(task: &TaskReport) -> TaskView {
    let times = Times {
        started_at: task.started_at.map(millis),
        finished_at: task.finished_at.map(millis),
    };
    TaskView {
        state: State(task.state),
        attempts: task.attempts,
        cached: task.cached,
        reused_from: None,
        started_at: times.started_at(),
        finished_at: times.finished_at(),
        duration_ms: times.duration_ms(),
        outputs: None,
        error: task.error.as_ref().map(ToString::to_string),
        revert_error: task.revert_error.as_ref().map(ToString::to_string),
    }
}

fn millis(time: SystemTime) -> Millis {
    Millis::try_from(unix_millis(time)).unwrap_or(Millis::MAX)
}
