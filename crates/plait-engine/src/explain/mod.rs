//! Why a task ran or was reused: its recorded cache key, component by component, against the
//! one it had in an earlier run, and the chain of upstream tasks back to the first cause.
//! Pure: the caller picks the runs (`plait explain`).

mod cause;
mod reasons;
mod values;

use plait_store::{CacheKey, RunId, RunRecord, TaskKey, TaskRecord};
use serde_json::Value as Json;

use reasons::{Reason, differences};
use values::short;

/// What happened to the task in the run explained.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its result came from the cache: the run that computed it.
    Reused { from_run: String },
    /// It was executed.
    Executed,
    /// It did not run (the run stopped first, or an input failed).
    NotRun,
}

/// The answer to "why did this task run, or not?".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Explanation {
    pub task: String,
    pub verdict: Verdict,
    /// Each a sentence; the first is the main reason.
    pub reasons: Vec<String>,
    /// The earlier run compared with, if any.
    pub compared_with: Option<String>,
    pub key: Option<String>,
    /// From the task to the first cause: the task's main reason, then, while that reason is
    /// an input an upstream task produced differently, that task's reason, and so on. The
    /// upstream tasks are compared with the same earlier run. One link unless the task's
    /// main reason is an upstream value.
    pub cause: Vec<Link>,
    /// The chain as one sentence: the first cause, then the outputs it changed on the way
    /// (`` `load`'s input `path` changed: ..., which changed `load.config` ``).
    pub first_cause: String,
}

/// One step of an explanation's [`Explanation::cause`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub task: String,
    /// The input of `task` that changed, when this step is one.
    pub input: Option<String>,
    /// Where that input came from: `input <name>` or `<task>.<port>`.
    pub from: Option<String>,
    /// The reason, as a sentence about the task (`its version changed: ...`).
    pub reason: String,
}

impl Link {
    fn new(task: &str, reason: &Reason) -> Link {
        let input = reason.input();
        Link {
            task: task.to_owned(),
            input: input.map(|(name, _)| name.to_owned()),
            from: input.map(|(_, from)| from.to_owned()),
            reason: reason.sentence(None),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExplainError {
    #[error("run `{run_id}` has no task `{task}`{hint}")]
    UnknownTask {
        run_id: String,
        task: String,
        hint: String,
    },
}

/// Explains `task` in `run`. `earlier` are older runs of the same workflow, newest first: the
/// first that recorded a key for the task is the one compared with. The runs that computed
/// results reused in `run` or in that one are looked for among them too, to follow the
/// cause upstream.
pub fn explain(
    run: &RunRecord,
    task: &str,
    earlier: &[RunRecord],
) -> Result<Explanation, ExplainError> {
    let mut explanation = explain_task(run, task, earlier)?;
    if explanation.cause.is_empty()
        && let Some(reason) = explanation.reasons.first()
    {
        explanation.cause.push(Link {
            task: task.to_owned(),
            input: None,
            from: None,
            reason: reason.clone(),
        });
        explanation.first_cause = format!("`{task}`: {reason}");
    }
    Ok(explanation)
}

fn explain_task(
    run: &RunRecord,
    task: &str,
    earlier: &[RunRecord],
) -> Result<Explanation, ExplainError> {
    let Some(record) = task_record(run, task) else {
        return Err(unknown_task(run, task));
    };
    let previous = earlier.iter().find_map(|older| {
        let prior = task_record(older, task)?;
        prior.key.as_ref()?;
        Some((older, prior))
    });
    let mut explanation = Explanation {
        task: task.to_owned(),
        verdict: Verdict::NotRun,
        reasons: Vec::new(),
        compared_with: previous.map(|(older, _)| older.summary.run_id.to_string()),
        key: record
            .key
            .as_ref()
            .and_then(|key| key.key.as_ref().map(CacheKey::to_string)),
        cause: Vec::new(),
        first_cause: String::new(),
    };
    let Some(key) = &record.key else {
        explanation.reasons.push(format!(
            "it did not run in this run (it is {}): the run stopped before it, or an input of it failed",
            record.state.name()
        ));
        return Ok(explanation);
    };
    if let Some(from_run) = &key.cached_from {
        explanation.verdict = Verdict::Reused {
            from_run: from_run.to_string(),
        };
        explanation.reasons.push(format!(
            "its key {} (task, version, code and input values) matched the result run {from_run} computed",
            short(key.key.as_ref().map_or("", CacheKey::as_str))
        ));
        return Ok(explanation);
    }
    explanation.verdict = if record.attempts > 0 {
        Verdict::Executed
    } else {
        Verdict::NotRun
    };
    let components = key.components_json();
    if let Some(why) = components.get("disabled").and_then(Json::as_str) {
        explanation
            .reasons
            .push(format!("it is never reused: {why}"));
        return Ok(explanation);
    }
    if let Some(why) = components.get("not_reused").and_then(Json::as_str) {
        explanation.reasons.push(format!(
            "{why} (`--no-cache`): it ran, and its result replaced any earlier one"
        ));
        return Ok(explanation);
    }
    let Some((older, prior)) = previous else {
        explanation.reasons.push(
            "no earlier run of this workflow recorded this task: there was nothing to reuse"
                .to_owned(),
        );
        return Ok(explanation);
    };
    let compared = older;
    let prior_key = prior.key.as_ref().expect("chosen for having a key");
    // A reuse records only its key and source: the components are the source run's.
    let (prior_key, older) = match &prior_key.cached_from {
        None => (prior_key, older),
        Some(source) => match source_key(earlier, source, task) {
            Some(found) => found,
            None => {
                explanation.reasons.push(format!(
                    "its key differs from the one in run {}, which reused the result of run {source}; that run is too far back to compare with",
                    older.summary.run_id
                ));
                return Ok(explanation);
            }
        },
    };
    let changes = differences(prior_key, key, older, run);
    if changes.is_empty() {
        explanation
            .reasons
            .push(same_key_reason(prior, prior_key, older));
        return Ok(explanation);
    }
    explanation
        .reasons
        .extend(changes.iter().map(|reason| reason.sentence(None)));
    (explanation.cause, explanation.first_cause) =
        cause::chain(run, task, changes, compared, earlier);
    Ok(explanation)
}

/// The key `task` executed under in run `source`, if that run is among `earlier`.
fn source_key<'r>(
    earlier: &'r [RunRecord],
    source: &RunId,
    task: &str,
) -> Option<(&'r TaskKey, &'r RunRecord)> {
    let run = earlier.iter().find(|run| run.summary.run_id == *source)?;
    let key = task_record(run, task)?.key.as_ref()?;
    Some((key, run))
}

/// What `run` recorded of `task`, if it started.
fn task_record<'r>(run: &'r RunRecord, task: &str) -> Option<&'r TaskRecord> {
    run.tasks.iter().find(|t| t.task.as_str() == task)
}

fn unknown_task(run: &RunRecord, task: &str) -> ExplainError {
    let close: Vec<&str> = run
        .tasks
        .iter()
        .map(|t| t.task.as_str())
        .filter(|name| name.ends_with(task) || task.ends_with(*name))
        .take(3)
        .collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    };
    ExplainError::UnknownTask {
        run_id: run.summary.run_id.to_string(),
        task: task.to_owned(),
        hint,
    }
}

/// The key was the same as in the earlier run, yet the task ran: the result was not there.
fn same_key_reason(prior: &TaskRecord, prior_key: &TaskKey, older: &RunRecord) -> String {
    let run_id = &older.summary.run_id;
    if prior_key.key.is_none() {
        return format!(
            "run {run_id} did not keep its result ({})",
            prior_key
                .components_json()
                .get("disabled")
                .and_then(Json::as_str)
                .unwrap_or("caching was off")
        );
    }
    match prior.state {
        plait_core::TaskState::Succeeded => format!(
            "its key is the same as in run {run_id}, but that result was no longer in the cache (removed by `plait cache gc`, or forgotten when a later run reverted the task)"
        ),
        state => format!(
            "its key is the same as in run {run_id}, where it did not succeed (it is {}): only successes are reused",
            state.name()
        ),
    }
}

#[cfg(test)]
mod tests;
