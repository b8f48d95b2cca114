//! `plait runs`: the recorded runs, newest first.

use plait_store::{RunSummary, Store};
use serde_json::json;

use crate::cli::StoreArgs;
use crate::exit;
use crate::render::time::{duration_between, timestamp};

pub(crate) async fn runs(args: &StoreArgs, as_json: bool) -> u8 {
    let store = match super::store::for_reading(args) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let runs = match &store {
        Some(store) => match store.runs().await {
            Ok(runs) => runs,
            Err(error) => {
                eprintln!("error: {error}");
                return exit::FAILED;
            }
        },
        None => Vec::new(),
    };
    if as_json {
        let list: Vec<_> = runs.iter().map(summary_json).collect();
        println!("{}", serde_json::Value::Array(list));
        return exit::OK;
    }
    if runs.is_empty() {
        eprintln!("no runs recorded in `{}`", args.path.display());
        return exit::OK;
    }
    println!(
        "{:<36}  {:<20}  {:<13}  {:<24}  DURATION",
        "RUN", "WORKFLOW", "STATUS", "STARTED"
    );
    for run in &runs {
        let duration = run
            .finished_at
            .map(|end| duration_between(run.started_at, end))
            .unwrap_or_default();
        println!(
            "{:<36}  {:<20}  {:<13}  {:<24}  {duration}",
            run.run_id,
            run.workflow,
            run.state.name(),
            timestamp(run.started_at),
        );
    }
    exit::OK
}

/// A run as `plait runs --json` lists it; `plait show --json` adds to it.
pub(super) fn summary_json(run: &RunSummary) -> serde_json::Value {
    json!({
        "run_id": run.run_id,
        "workflow": run.workflow,
        "source": run.source,
        "status": run.state.name(),
        "started_at": timestamp(run.started_at),
        "finished_at": run.finished_at.map(timestamp),
    })
}
