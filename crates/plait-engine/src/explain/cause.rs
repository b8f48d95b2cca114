//! The chain from a task that ran to the first cause: each step an input that an upstream
//! task produced differently, followed into that task, until a change of the task's own (a
//! run input, its version, its code) or a task whose value changed for no change of its key.

use plait_store::{RunRecord, TaskKey};

use super::Link;
use super::reasons::{Reason, differences};

/// The chain for `task`, whose key differs from its key in `compared` by `changes` (not
/// empty), and the chain as one sentence: the first cause, then the outputs it changed on
/// the way to `task`.
pub(super) fn chain(
    run: &RunRecord,
    task: &str,
    changes: Vec<Reason>,
    compared: &RunRecord,
    earlier: &[RunRecord],
) -> (Vec<Link>, String) {
    let mut links = Vec::new();
    // The outputs passed through, nearest `task` first.
    let mut through: Vec<String> = Vec::new();
    let mut current = (task.to_owned(), changes);
    // A plan has no cycles; the bound keeps a damaged record from looping.
    for _ in 0..=run.tasks.len() {
        let (task, changes) = current;
        // The first: the task's own change if it has one, else an upstream value.
        let Some(reason) = changes.into_iter().next() else {
            break;
        };
        links.push(Link::new(&task, &reason));
        let Some(upstream) = reason.upstream().map(str::to_owned) else {
            return (links, sentence(&reason, &task, &through));
        };
        let provider = upstream
            .rsplit_once('.')
            .map_or(upstream.as_str(), |(task, _)| task)
            .to_owned();
        through.push(upstream);
        match step(run, &provider, compared, earlier) {
            Ok(changes) => current = (provider, changes),
            Err(last) => {
                links.push(Link::new(&provider, &last));
                return (links, sentence(&last, &provider, &through));
            }
        }
    }
    let last = links
        .last()
        .map(|link| link.reason.clone())
        .unwrap_or_default();
    (links, last)
}

/// Why the upstream `task` produced another value in `run` than in `compared`: the
/// differences of its keys, or the reason the chain ends on it.
fn step(
    run: &RunRecord,
    task: &str,
    compared: &RunRecord,
    earlier: &[RunRecord],
) -> Result<Vec<Reason>, Reason> {
    let (new_key, new_run) = executed_key(run, task, earlier)?;
    if let Some(why) = new_key.components_json().get("disabled") {
        return Err(Reason::NeverReused {
            why: why.as_str().unwrap_or("caching is off").to_owned(),
        });
    }
    let (old_key, old_run) = executed_key(compared, task, earlier)?;
    let changes = differences(old_key, new_key, old_run, new_run);
    if changes.is_empty() {
        return Err(Reason::SameKey {
            run_id: compared.summary.run_id.to_string(),
        });
    }
    Ok(changes)
}

/// The key `task` had in `run`, with its components: a reused result's are those of the
/// run that computed it, which must be among `earlier`.
fn executed_key<'r>(
    run: &'r RunRecord,
    task: &str,
    earlier: &'r [RunRecord],
) -> Result<(&'r TaskKey, &'r RunRecord), Reason> {
    let key = super::task_record(run, task)
        .and_then(|t| t.key.as_ref())
        .ok_or_else(|| Reason::NotRecorded {
            run_id: run.summary.run_id.to_string(),
        })?;
    match &key.cached_from {
        None => Ok((key, run)),
        Some(source) => {
            super::source_key(earlier, source, task).ok_or_else(|| Reason::TooFarBack {
                run_id: source.to_string(),
            })
        }
    }
}

/// The first cause about `task`, then the outputs it changed on the way.
fn sentence(reason: &Reason, task: &str, through: &[String]) -> String {
    let mut text = reason.sentence(Some(task));
    for (idx, output) in through.iter().rev().enumerate() {
        text.push_str(if idx == 0 {
            ", which changed "
        } else {
            ", then "
        });
        text.push_str(&format!("`{output}`"));
    }
    text
}
