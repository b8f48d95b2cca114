//! A run as the store recorded it: what `plait show --json` prints, and `plait run --json`
//! too once the run it started is recorded.

use std::collections::BTreeMap;
use std::path::Path;

use plait_core::{Plan, RunStatus, Source};
use plait_spec::{Format, Loaded};
use plait_store::{RunId, RunRecord, RunState, TaskRecord};
use serde_json::{Map, Value};

use super::view::{RunSummaryView, RunView, State, TaskView, Times};

impl RunView {
    /// `plan` is the run's plan (see [`recorded_plan`]): with it, the tasks the record does
    /// not name are there too (`pending`: the engine records every task that started, and
    /// one a failure kept from running as `failed`), and the run's outputs are known.
    pub(crate) fn from_record(record: &RunRecord, plan: Option<&Plan>) -> RunView {
        let mut tasks: BTreeMap<String, TaskView> = record
            .tasks
            .iter()
            .map(|task| (task.task.to_string(), task_view(task)))
            .collect();
        if let Some(plan) = plan {
            for node in plan.nodes().iter().filter(|node| node.task().is_some()) {
                tasks
                    .entry(node.path.to_string())
                    .or_insert_with(TaskView::pending);
            }
        }
        let outputs = plan.map(|plan| run_outputs(record, plan, &tasks));
        let mut summary = RunSummaryView::from_summary(&record.summary);
        summary.definition_hash =
            Some(record.definition_hash.clone()).filter(|hash| !hash.is_empty());
        let inputs = match &record.inputs {
            Value::Object(inputs) => Some(inputs.clone()),
            _ => None,
        };
        RunView::new(summary, inputs, outputs, tasks)
    }
}

/// The plan of the workflow file text the run recorded, if it still loads.
pub(crate) fn recorded_plan(record: &RunRecord) -> Option<Plan> {
    recorded_definition(record).map(|loaded| loaded.plan)
}

/// The workflow file text the run recorded, loaded as if from the file it came from (its
/// relative paths anchored there), if it still loads.
pub(crate) fn recorded_definition(record: &RunRecord) -> Option<Loaded> {
    let source = Path::new(&record.summary.source);
    let format = Format::from_extension(source.extension()?.to_str()?)?;
    plait_spec::load_str(&record.definition, source, format).ok()
}

fn task_view(task: &TaskRecord) -> TaskView {
    let times = Times {
        started_at: task.started_at,
        finished_at: task.finished_at,
    };
    TaskView {
        state: State(task.state),
        attempts: task.attempts,
        cached: task.cached(),
        reused_from: task
            .key
            .as_ref()
            .and_then(|key| key.cached_from.as_ref().map(RunId::to_string)),
        started_at: times.started_at(),
        finished_at: times.finished_at(),
        duration_ms: times.duration_ms(),
        outputs: match &task.outputs {
            Some(Value::Object(outputs)) => Some(outputs.clone()),
            _ => None,
        },
        error: task.error.clone(),
        revert_error: task.revert_error.clone(),
    }
}

/// The workflow's outputs its tasks' recorded outputs hold, as the engine reports them: none
/// once the run was reverted or cancelled.
fn run_outputs(
    record: &RunRecord,
    plan: &Plan,
    tasks: &BTreeMap<String, TaskView>,
) -> Map<String, Value> {
    if let RunState::Finished(status) = record.summary.state
        && !matches!(status, RunStatus::Succeeded | RunStatus::Failed)
    {
        return Map::new();
    }
    plan.outputs()
        .iter()
        .filter_map(|(name, source)| {
            let value = match *source {
                Source::Input(idx) => {
                    let input = &plan.inputs()[idx as usize].name;
                    record.inputs.get(&**input)?
                }
                Source::Output { node, port } => {
                    let node = plan.node(node);
                    let port = &node.task()?.provides()[port as usize].name;
                    tasks.get(&*node.path)?.outputs.as_ref()?.get(&**port)?
                }
                // A plan's outputs are compiled: never a value a parent gave.
                Source::Given(_) => return None,
            };
            Some((name.to_string(), value.clone()))
        })
        .collect()
}
