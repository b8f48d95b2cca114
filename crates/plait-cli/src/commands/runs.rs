//! `plait runs`: the recorded runs, newest first.

use plait_store::{RunSummary, Store};

use crate::cli::StoreArgs;
use crate::exit;
use crate::render::json::{self, RunSummaryView};
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
                return exit::STORE_UNUSABLE;
            }
        },
        None => Vec::new(),
    };
    if as_json {
        let list: Vec<RunSummaryView> = runs.iter().map(RunSummaryView::from_summary).collect();
        json::print(&list);
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
        println!("{}", line(run));
    }
    exit::OK
}

/// One run's line in the listing: its id, workflow, status, start and duration.
pub(super) fn line(run: &RunSummary) -> String {
    let duration = run
        .finished_at
        .map(|end| duration_between(run.started_at, end))
        .unwrap_or_default();
    format!(
        "{:<36}  {:<20}  {:<13}  {:<24}  {duration}",
        run.run_id,
        run.workflow,
        run.state.name(),
        timestamp(run.started_at),
    )
}
