//! Why a task ran or was reused: its recorded cache key, component by component, against the
//! one it had in an earlier run. Pure: the caller picks the runs (`plait explain`).

use plait_store::{CacheKey, RunId, RunRecord, TaskKey, TaskRecord};
use serde_json::Value as Json;

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
/// first that recorded a key for the task is the one compared with.
pub fn explain(
    run: &RunRecord,
    task: &str,
    earlier: &[RunRecord],
) -> Result<Explanation, ExplainError> {
    let Some(record) = run.tasks.iter().find(|t| t.task.as_str() == task) else {
        return Err(unknown_task(run, task));
    };
    let previous = earlier.iter().find_map(|older| {
        let prior = older.tasks.iter().find(|t| t.task.as_str() == task)?;
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
    } else {
        explanation.reasons.extend(changes);
    }
    Ok(explanation)
}

/// The key `task` executed under in run `source`, if that run is among `earlier`.
fn source_key<'r>(
    earlier: &'r [RunRecord],
    source: &RunId,
    task: &str,
) -> Option<(&'r TaskKey, &'r RunRecord)> {
    let run = earlier.iter().find(|run| run.summary.run_id == *source)?;
    let key = run
        .tasks
        .iter()
        .find(|t| t.task.as_str() == task)?
        .key
        .as_ref()?;
    Some((key, run))
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

/// What changed between two keys' components, one sentence each.
fn differences(
    old: &TaskKey,
    new: &TaskKey,
    old_run: &RunRecord,
    new_run: &RunRecord,
) -> Vec<String> {
    let (old, new) = (&old.components_json(), &new.components_json());
    let mut changes = Vec::new();
    if old.get("disabled").is_some() {
        changes.push(format!(
            "run {} did not keep its result ({})",
            old_run.summary.run_id,
            old["disabled"].as_str().unwrap_or("caching was off")
        ));
        return changes;
    }
    if old.get("version") != new.get("version") {
        changes.push(format!(
            "its version changed: {} -> {}",
            shown(old.get("version")),
            shown(new.get("version"))
        ));
    }
    if old.get("code") != new.get("code") {
        changes.push(format!(
            "its code changed: {} -> {}",
            shown(old.get("code")),
            shown(new.get("code"))
        ));
    } else if old.get("program") != new.get("program") {
        changes.push(
            "the program was rebuilt (compiled code is only reused by the same build)".to_owned(),
        );
    }
    let empty = serde_json::Map::new();
    let old_inputs = old
        .get("inputs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    let new_inputs = new
        .get("inputs")
        .and_then(Json::as_object)
        .unwrap_or(&empty);
    for (name, input) in new_inputs {
        let Some(before) = old_inputs.get(name) else {
            changes.push(format!("it has a new input `{name}`"));
            continue;
        };
        if before.get("hash") == input.get("hash") {
            continue;
        }
        let from = input.get("from").and_then(Json::as_str).unwrap_or("?");
        let detail = match from.strip_prefix("input ") {
            // A run input: both runs recorded its value.
            Some(run_input) => format!(
                "{} -> {}",
                shown(old_run.inputs.get(run_input)),
                shown(new_run.inputs.get(run_input))
            ),
            None => format!(
                "`{from}` produced a different value (hash {} -> {})",
                short(before.get("hash").and_then(Json::as_str).unwrap_or("")),
                short(input.get("hash").and_then(Json::as_str).unwrap_or(""))
            ),
        };
        changes.push(format!("input `{name}` changed: {detail}"));
    }
    for name in old_inputs.keys() {
        if !new_inputs.contains_key(name) {
            changes.push(format!("input `{name}` is gone"));
        }
    }
    if old.get("task") != new.get("task") {
        changes.push("it was renamed".to_owned());
    }
    changes
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A JSON value in a sentence, abridged.
fn shown(value: Option<&Json>) -> String {
    let text = match value {
        None | Some(Json::Null) => "none".to_owned(),
        Some(value) => value.to_string(),
    };
    if text.chars().count() > 120 {
        let cut: String = text.chars().take(117).collect();
        format!("{cut}...")
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plait_core::TaskState;
    use plait_store::{Owner, RunState, RunSummary};
    use serde_json::json;

    fn run(id: &str, inputs: Json, tasks: Vec<TaskRecord>) -> RunRecord {
        RunRecord {
            summary: RunSummary {
                run_id: id.into(),
                workflow: "w".to_owned(),
                source: "w.toml".to_owned(),
                state: RunState::Finished(plait_core::RunStatus::Succeeded),
                started_at: 0,
                finished_at: Some(1),
                owner: Some(Owner {
                    host: "h".to_owned(),
                    pid: 1,
                    started: 1,
                }),
                lease_until: None,
            },
            definition: String::new(),
            definition_hash: String::new(),
            inputs,
            settings: None,
            cancelled: false,
            processes: Vec::new(),
            tasks,
            transitions: Vec::new(),
        }
    }

    fn task(name: &str, key: &str, components: Json, from: Option<&str>) -> TaskRecord {
        TaskRecord {
            state: TaskState::Succeeded,
            attempts: u32::from(from.is_none()),
            key: Some(TaskKey {
                key: Some(key.into()),
                components: components.to_string(),
                cached_from: from.map(RunId::from),
            }),
            ..TaskRecord::pending(name.into())
        }
    }

    fn components(version: &str, code: &str, n_hash: &str, l_hash: &str) -> Json {
        json!({
            "task": "t", "version": version, "code": code,
            "inputs": {
                "n": {"hash": n_hash, "from": "input n"},
                "l": {"hash": l_hash, "from": "left.l"},
            }
        })
    }

    #[test]
    fn names_each_changed_component() {
        let old = run(
            "r1",
            json!({"n": 3}),
            vec![task("t", "k1", components("1", "echo a", "h1", "x1"), None)],
        );
        let new = run(
            "r2",
            json!({"n": 5}),
            vec![task("t", "k2", components("2", "echo b", "h2", "x2"), None)],
        );
        let explained = explain(&new, "t", &[old]).unwrap();
        assert_eq!(explained.verdict, Verdict::Executed);
        assert_eq!(explained.compared_with.as_deref(), Some("r1"));
        assert_eq!(
            explained.reasons,
            [
                r#"its version changed: "1" -> "2""#,
                r#"its code changed: "echo a" -> "echo b""#,
                "input `l` changed: `left.l` produced a different value (hash x1 -> x2)",
                "input `n` changed: 3 -> 5",
            ]
        );
    }

    #[test]
    fn reuse_first_runs_and_unknown_tasks() {
        let first = run(
            "r1",
            json!({}),
            vec![task("t", "k1", components("1", "c", "h", "x"), None)],
        );
        let second = run(
            "r2",
            json!({}),
            vec![task("t", "k1", components("1", "c", "h", "x"), Some("r1"))],
        );
        let reused = explain(&second, "t", std::slice::from_ref(&first)).unwrap();
        assert_eq!(
            reused.verdict,
            Verdict::Reused {
                from_run: "r1".to_owned()
            }
        );
        let alone = explain(&first, "t", &[]).unwrap();
        assert!(alone.reasons[0].starts_with("no earlier run"));
        // Same key, yet executed: the result was gone.
        let rerun = run(
            "r3",
            json!({}),
            vec![task("t", "k1", components("1", "c", "h", "x"), None)],
        );
        let gone = explain(&rerun, "t", &[first]).unwrap();
        assert!(gone.reasons[0].contains("no longer in the cache"));
        let error = explain(&rerun, "s/t2", &[]).unwrap_err();
        assert_eq!(error.to_string(), "run `r3` has no task `s/t2`");
    }

    #[test]
    fn a_reuse_is_compared_through_the_run_it_came_from() {
        let source = run(
            "r1",
            json!({}),
            vec![task("t", "k1", components("1", "c", "h", "x"), None)],
        );
        let reuse = run(
            "r2",
            json!({}),
            vec![task("t", "k1", Json::Null, Some("r1"))],
        );
        let changed = run(
            "r3",
            json!({}),
            vec![task("t", "k2", components("2", "c", "h", "x"), None)],
        );
        let explained = explain(&changed, "t", &[reuse.clone(), source]).unwrap();
        assert_eq!(explained.compared_with.as_deref(), Some("r2"));
        assert_eq!(explained.reasons, [r#"its version changed: "1" -> "2""#]);
        let alone = explain(&changed, "t", &[reuse]).unwrap();
        assert!(
            alone.reasons[0].contains("too far back"),
            "{:?}",
            alone.reasons
        );
    }
}
