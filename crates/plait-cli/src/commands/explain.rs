//! `plait explain RUN TASK`: why a task was executed or reused.

use std::collections::HashSet;

use plait_engine::explain::{Explanation, Verdict, explain as explain_task};
use plait_store::{RunId, RunRecord, RunSummary, Store};

use crate::cli::StoreArgs;
use crate::exit;
use crate::render::json::{self, ExplainView};

/// Earlier runs looked at, newest first, for one that recorded the task.
const EARLIER_RUNS: usize = 20;

pub(crate) async fn explain(wanted: &str, task: &str, args: &StoreArgs, as_json: bool) -> u8 {
    let store = match super::store::with_runs(args) {
        Ok(store) => store,
        Err(code) => return code,
    };
    // Listed once: to find the run by a prefix of its id, then the runs before it.
    let found = match store.runs().await {
        Ok(runs) => super::show::find_listed(&store, wanted, &runs)
            .await
            .map(|run| (runs, run)),
        Err(error) => Err(error.to_string()),
    };
    let (runs, run) = match found {
        Ok(found) => found,
        Err(message) => {
            eprintln!("error: {message}");
            return exit::BAD_INPUT;
        }
    };
    let earlier = match earlier_runs(&store, &run, &runs, task).await {
        Ok(earlier) => earlier,
        Err(error) => {
            eprintln!("error: {error}");
            return exit::BAD_INPUT;
        }
    };
    match explain_task(&run, task, &earlier) {
        Ok(explanation) if as_json => json::print(&ExplainView::from(&explanation)),
        Ok(explanation) => print(&run, &explanation),
        Err(error) => {
            eprintln!("error: {error}");
            eprintln!(
                "  help: `plait show {}` lists its tasks",
                run.summary.run_id
            );
            return exit::BAD_INPUT;
        }
    }
    exit::OK
}

/// Runs of the same workflow file started before `run`, newest first (as `summaries`, the
/// store's list, has them), read up to the one an explanation compares with: the latest that
/// recorded a key for `task`, and the run its result came from if it reused one. Then, among
/// the runs before that one, the runs that computed the results `run` and that run reused,
/// which the cause's chain compares upstream tasks by.
async fn earlier_runs(
    store: &dyn Store,
    run: &RunRecord,
    summaries: &[RunSummary],
    task: &str,
) -> Result<Vec<RunRecord>, plait_store::StoreError> {
    let older: Vec<&RunSummary> = summaries
        .iter()
        .skip_while(|summary| summary.run_id != run.summary.run_id)
        .skip(1)
        .filter(|summary| summary.source == run.summary.source)
        .take(EARLIER_RUNS)
        .collect();
    let mut earlier = Vec::new();
    // Set once the run compared with is read: `None` if that is all, else its source.
    let mut wanted: Option<Option<RunId>> = None;
    let mut sources = reused_from(run);
    let mut next = older.len();
    for (idx, summary) in older.iter().enumerate() {
        let Some(record) = store.run(&summary.run_id).await? else {
            continue;
        };
        let key = record
            .tasks
            .iter()
            .find(|t| t.task.as_str() == task)
            .and_then(|t| t.key.as_ref());
        let is_source = matches!(&wanted, Some(Some(source)) if *source == record.summary.run_id);
        if wanted.is_none() && key.is_some() {
            wanted = Some(key.and_then(|key| key.cached_from.clone()));
            sources.extend(reused_from(&record));
        }
        earlier.push(record);
        if is_source || matches!(wanted, Some(None)) {
            next = idx + 1;
            break;
        }
    }
    for summary in &older[next..] {
        if sources.contains(&summary.run_id)
            && let Some(record) = store.run(&summary.run_id).await?
        {
            earlier.push(record);
        }
    }
    Ok(earlier)
}

/// The runs whose results `run` reused.
fn reused_from(run: &RunRecord) -> HashSet<RunId> {
    run.tasks
        .iter()
        .filter_map(|t| t.key.as_ref()?.cached_from.clone())
        .collect()
}

fn verdict(explanation: &Explanation) -> String {
    match &explanation.verdict {
        Verdict::Reused { from_run } => format!("reused the result of run {from_run}"),
        Verdict::Executed => "executed".to_owned(),
        Verdict::NotRun => "not run".to_owned(),
    }
}

fn print(run: &RunRecord, explanation: &Explanation) {
    println!(
        "`{}` in run {}: {}",
        explanation.task,
        run.summary.run_id,
        verdict(explanation)
    );
    for (idx, reason) in explanation.reasons.iter().enumerate() {
        let lead = if idx == 0 { "because" } else { "    and" };
        println!("  {lead} {reason}");
    }
    if explanation.cause.len() > 1 {
        println!("  first cause: {}", explanation.first_cause);
    }
    if let Some(earlier) = &explanation.compared_with {
        println!("  (compared with run {earlier}, the latest earlier run that recorded it)");
    }
}
