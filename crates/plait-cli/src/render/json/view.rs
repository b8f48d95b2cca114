//! The view types: what `--json` prints, key for key, in the order declared. Every key is
//! always there, `null` when it has no value. Their doc comments are the schemas'
//! descriptions.

use std::borrow::Cow;
use std::collections::BTreeMap;

use plait_core::TaskState;
use plait_store::{Millis, RunState, RunSummary};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::render::time::timestamp;

/// A run as `plait runs --json` lists it: the keys of a run object but `inputs`, `outputs`
/// and `tasks`.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct RunSummaryView {
    /// The run's id.
    pub(super) run_id: String,
    /// The workflow's name: its `name` key, or its file's name without the extension.
    pub(super) workflow: String,
    /// The workflow file the run was started from, as an absolute path.
    pub(super) source: String,
    /// The blake3 hash (hex) of the workflow file's text the run was started with. Null in
    /// `plait runs --json`, which reads only the store's list of runs.
    pub(super) definition_hash: Option<String>,
    pub(super) status: Status,
    /// When the run started: RFC 3339, UTC, milliseconds.
    pub(super) started_at: String,
    /// When it ended: RFC 3339, UTC, milliseconds. Null while it is running or interrupted.
    pub(super) finished_at: Option<String>,
    /// `finished_at` minus `started_at`, in milliseconds. Null while it is running or
    /// interrupted.
    pub(super) duration_ms: Option<u64>,
    /// How many tasks executed: made at least one attempt. Null in `plait runs --json`.
    pub(super) executed: Option<usize>,
    /// How many tasks reused a result from the cache instead of executing. Null in
    /// `plait runs --json`.
    pub(super) cached: Option<usize>,
    /// How many tasks are in each state. Null in `plait runs --json`.
    pub(super) counts: Option<StateCounts>,
}

/// One run: what `plait run --json`, `plait resume --json` and `plait show RUN --json` print.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct RunView {
    #[serde(flatten)]
    pub(super) summary: RunSummaryView,
    /// The run's inputs by name, defaults filled in. Null when a recorded run's inputs cannot
    /// be read.
    pub(super) inputs: Option<Map<String, Value>>,
    /// The workflow's outputs that were produced, by name: all of them when the run
    /// succeeded, none when it was reverted or cancelled. Null when a recorded run's workflow
    /// file text no longer loads, so which task provides which output is unknown.
    pub(super) outputs: Option<Map<String, Value>>,
    /// Every task, by its path in the workflow (`flow/task`).
    pub(super) tasks: BTreeMap<String, TaskView>,
}

/// One task of a run.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct TaskView {
    pub(super) state: State,
    /// Attempts made, retries included: 0 when it never started or reused a result.
    pub(super) attempts: u32,
    /// Its result was reused from the cache: it did not execute.
    pub(super) cached: bool,
    /// The id of the run whose result it reused. Null unless `cached`.
    pub(super) reused_from: Option<String>,
    /// When its first attempt started: RFC 3339, UTC, milliseconds. Null if none did.
    pub(super) started_at: Option<String>,
    /// When it succeeded, failed or was cancelled: RFC 3339, UTC, milliseconds. Null before.
    pub(super) finished_at: Option<String>,
    /// `finished_at` minus `started_at`, in milliseconds. Null unless both are known.
    pub(super) duration_ms: Option<u64>,
    /// Its outputs by name, once it succeeded (null again once it is reverted). Null for a
    /// run not recorded (`--store :memory:`), whose tasks' outputs are not kept.
    pub(super) outputs: Option<Map<String, Value>>,
    /// Why it failed or was cancelled.
    pub(super) error: Option<String>,
    /// Why its revert failed.
    pub(super) revert_error: Option<String>,
}

impl TaskView {
    /// A task of the workflow that has not started.
    pub(super) fn pending() -> TaskView {
        TaskView {
            state: State(TaskState::Pending),
            attempts: 0,
            cached: false,
            reused_from: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            outputs: None,
            error: None,
            revert_error: None,
        }
    }
}

impl RunSummaryView {
    /// What the store's list of runs says: no hash and no counts.
    pub(crate) fn from_summary(summary: &RunSummary) -> RunSummaryView {
        let times = Times {
            started_at: Some(summary.started_at),
            finished_at: summary.finished_at,
        };
        RunSummaryView {
            run_id: summary.run_id.to_string(),
            workflow: summary.workflow.clone(),
            source: summary.source.clone(),
            definition_hash: None,
            status: Status(summary.state),
            started_at: timestamp(summary.started_at),
            finished_at: times.finished_at(),
            duration_ms: times.duration_ms(),
            executed: None,
            cached: None,
            counts: None,
        }
    }
}

impl RunView {
    /// The run's summary, its counts taken from its tasks.
    pub(super) fn new(
        mut summary: RunSummaryView,
        inputs: Option<Map<String, Value>>,
        outputs: Option<Map<String, Value>>,
        tasks: BTreeMap<String, TaskView>,
    ) -> RunView {
        let mut counts = StateCounts::default();
        for task in tasks.values() {
            counts.add(task.state.0);
        }
        summary.executed = Some(tasks.values().filter(|task| task.attempts > 0).count());
        summary.cached = Some(tasks.values().filter(|task| task.cached).count());
        summary.counts = Some(counts);
        RunView {
            summary,
            inputs,
            outputs,
            tasks,
        }
    }
}

/// A start and an end, in milliseconds since the epoch, as JSON shows them: the duration is
/// the difference of the two timestamps printed.
#[derive(Clone, Copy, Debug)]
pub(super) struct Times {
    pub(super) started_at: Option<Millis>,
    pub(super) finished_at: Option<Millis>,
}

impl Times {
    pub(super) fn started_at(self) -> Option<String> {
        self.started_at.map(timestamp)
    }

    pub(super) fn finished_at(self) -> Option<String> {
        self.finished_at.map(timestamp)
    }

    pub(super) fn duration_ms(self) -> Option<u64> {
        let (start, end) = (self.started_at?, self.finished_at?);
        Some(u64::try_from(end - start).unwrap_or(0))
    }
}

/// A task's state, by its name.
#[derive(Clone, Copy, Debug)]
pub(super) struct State(pub(super) TaskState);

impl Serialize for State {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

impl JsonSchema for State {
    fn schema_name() -> Cow<'static, str> {
        "TaskState".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "The task's state.",
            "type": "string",
            "enum": TaskState::ALL.map(TaskState::name),
        })
    }
}

/// A run's status, by its name.
#[derive(Clone, Copy, Debug)]
pub(super) struct Status(pub(super) RunState);

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.name())
    }
}

impl JsonSchema for Status {
    fn schema_name() -> Cow<'static, str> {
        "RunStatus".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut names = vec![RunState::Running.name(), RunState::Interrupted.name()];
        names.extend(plait_core::RunStatus::ALL.map(|status| RunState::Finished(status).name()));
        json_schema!({
            "description": "How the run ended, or `running`, or `interrupted` (its process is gone: `plait resume` continues it).",
            "type": "string",
            "enum": names,
        })
    }
}

/// How many tasks are in each state, in the order of [`TaskState::ALL`]; printed as an
/// object with every state's name.
#[derive(Debug, Default)]
pub(crate) struct StateCounts([usize; TaskState::ALL.len()]);

impl StateCounts {
    fn add(&mut self, state: TaskState) {
        if let Some(idx) = TaskState::ALL.iter().position(|known| *known == state) {
            self.0[idx] += 1;
        }
    }
}

impl Serialize for StateCounts {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            TaskState::ALL
                .iter()
                .zip(self.0)
                .map(|(state, count)| (state.name(), count)),
        )
    }
}

impl JsonSchema for StateCounts {
    fn schema_name() -> Cow<'static, str> {
        "StateCounts".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let count = generator.subschema_for::<usize>();
        let properties: Map<String, Value> = TaskState::ALL
            .iter()
            .map(|state| (state.name().to_owned(), count.clone().to_value()))
            .collect();
        json_schema!({
            "description": "How many tasks are in each state; every state is there.",
            "type": "object",
            "properties": properties,
            "required": TaskState::ALL.map(TaskState::name),
            "additionalProperties": false,
        })
    }
}
