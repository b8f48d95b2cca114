//! `plait show RUN`: one recorded run, task by task.

use std::collections::HashMap;

use plait_core::OutputStream;
use plait_store::{RunId, RunRecord, RunSummary, Store, TaskPath};

use crate::cli::StoreArgs;
use crate::exit;
use crate::render::json::{self, RunView, recorded_plan};
use crate::render::terminal::escape;
use crate::render::time::{duration_between, timestamp};

pub(crate) async fn show(wanted: &str, args: &StoreArgs, as_json: bool) -> u8 {
    let (store, record) = match super::store::open_run(args, wanted).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    if as_json {
        let plan = recorded_plan(&record);
        json::print(&RunView::from_record(&record, plan.as_ref()));
    } else {
        let tails = stderr_tails(&store, &record).await;
        print(&record, &tails);
    }
    exit::OK
}

/// How many of a failed task's last stderr lines `show` prints under it.
const STDERR_LINES: usize = 10;

/// The last lines of each failed task's last attempt's stderr, where the store has some.
async fn stderr_tails(store: &dyn Store, record: &RunRecord) -> HashMap<TaskPath, Vec<String>> {
    let mut tails = HashMap::new();
    for task in &record.tasks {
        if task.error.is_none() || task.attempts == 0 {
            continue;
        }
        let read = store
            .output(
                &record.summary.run_id,
                &task.task,
                task.attempts,
                OutputStream::Stderr,
                0,
            )
            .await;
        let Ok(Some(output)) = read else {
            continue;
        };
        let text = String::from_utf8_lossy(&output.bytes);
        // The last lines only, read from the end: a stream may hold a mebibyte.
        let mut last: Vec<String> = text
            .lines()
            .rev()
            .take(STDERR_LINES)
            .map(|line| escape(line).into_owned())
            .collect();
        last.reverse();
        tails.insert(task.task.clone(), last);
    }
    tails
}

/// What names the newest run where a run's id is wanted.
const LAST: &str = "last";

/// The run with this id, the only one whose id starts with it, or with `last`, the newest.
pub(super) async fn find(store: &dyn Store, wanted: &str) -> Result<RunRecord, String> {
    if let Some(record) = store.run(&wanted.into()).await.map_err(|e| e.to_string())? {
        return Ok(record);
    }
    let runs = store.runs().await.map_err(|e| e.to_string())?;
    find_listed(store, wanted, &runs).await
}

/// As [`find`], for a caller that has already listed the store's runs.
pub(super) async fn find_listed(
    store: &dyn Store,
    wanted: &str,
    runs: &[RunSummary],
) -> Result<RunRecord, String> {
    let exact = runs.iter().any(|run| run.run_id.as_str() == wanted);
    let matching: Vec<&RunSummary> = if !exact && wanted == LAST {
        // Newest first.
        runs.iter().take(1).collect()
    } else {
        runs.iter()
            .filter(|run| {
                let id = run.run_id.as_str();
                if exact {
                    id == wanted
                } else {
                    id.starts_with(wanted)
                }
            })
            .collect()
    };
    match matching.as_slice() {
        [run] => store
            .run(&run.run_id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("run `{}` vanished while it was read", run.run_id)),
        [] if wanted == LAST => Err("no runs are recorded: there is no last one".to_owned()),
        [] => Err(format!(
            "no run `{wanted}` in the store: `plait runs` lists them"
        )),
        many => {
            let mut message = format!(
                "`{wanted}` starts {} run ids: give more of it, or `{LAST}` for the newest run",
                many.len()
            );
            for run in many {
                message.push_str("\n  ");
                message.push_str(super::runs::line(run).trim_end());
            }
            Err(message)
        }
    }
}

fn print(record: &RunRecord, tails: &HashMap<TaskPath, Vec<String>>) {
    let run = &record.summary;
    println!("run       {}", run.run_id);
    println!("workflow  {} ({})", run.workflow, run.source);
    println!("status    {}", run.state.name());
    let finished = run
        .finished_at
        .map(|end| format!(", {}", duration_between(run.started_at, end)));
    println!(
        "started   {}{}",
        timestamp(run.started_at),
        finished.unwrap_or_default()
    );
    println!("inputs    {}", record.inputs);
    println!();
    println!(
        "{:<28}  {:<13}  {:>8}  {:<24}  {:>9}  NOTE",
        "TASK", "STATE", "ATTEMPTS", "STARTED", "DURATION"
    );
    for task in in_shown_order(record) {
        let started = task.started_at.map(timestamp).unwrap_or_default();
        let duration = match (task.started_at, task.finished_at) {
            (Some(start), Some(end)) => duration_between(start, end),
            _ => String::new(),
        };
        let error = task
            .error
            .as_deref()
            .or(task.revert_error.as_deref())
            .unwrap_or("");
        let reused = reused_from(task).map(|run| format!("reused from run {run}"));
        let error = reused
            .as_deref()
            .unwrap_or_else(|| error.lines().next().unwrap_or(""));
        // The error quotes the task's stderr: escaped, it cannot drive the terminal.
        let error = escape(error);
        println!(
            "{:<28}  {:<13}  {:>8}  {:<24}  {:>9}  {error}",
            task.task,
            task.state.name(),
            task.attempts,
            started,
            duration
        );
        if let Some(tail) = tails.get(&task.task) {
            for line in tail {
                println!("    {line}");
            }
            println!(
                "    (all it wrote: plait logs {} {})",
                run.run_id, task.task
            );
        }
    }
}

/// The run whose result the task reused, if it did.
fn reused_from(task: &plait_store::TaskRecord) -> Option<&str> {
    task.key.as_ref()?.cached_from.as_ref().map(RunId::as_str)
}

/// The record's tasks in the order they first appeared, except that each task's children
/// (a fan-out's items) follow it in the order they were spawned, whenever they started.
fn in_shown_order(record: &RunRecord) -> Vec<&plait_store::TaskRecord> {
    let by_path: HashMap<&str, &plait_store::TaskRecord> = record
        .tasks
        .iter()
        .map(|task| (task.task.as_str(), task))
        .collect();
    let mut children: HashMap<&str, Vec<&str>> = HashMap::new();
    for child in &record.spawned {
        children
            .entry(child.parent.as_str())
            .or_default()
            .push(child.task.as_str());
    }
    let is_child: std::collections::HashSet<&str> = record
        .spawned
        .iter()
        .map(|child| child.task.as_str())
        .collect();
    let mut shown = Vec::with_capacity(record.tasks.len());
    let mut pending: Vec<&str> = record
        .tasks
        .iter()
        .rev()
        .map(|task| task.task.as_str())
        .filter(|path| !is_child.contains(path))
        .collect();
    while let Some(path) = pending.pop() {
        if let Some(task) = by_path.get(path) {
            shown.push(*task);
        }
        if let Some(kids) = children.get(path) {
            pending.extend(kids.iter().rev());
        }
    }
    shown
}
