//! `plait cancel RUN`: stops a run that another `plait` carries out on this machine, as a
//! Ctrl-C in its terminal would: its running tasks are stopped and what completed is
//! reverted as its `on_failure` says. A run nobody carries out any more (interrupted) has
//! its cancellation recorded, for `plait resume` to finish by reverting.

use std::time::Duration;

use plait_core::RunStatus;
use plait_store::{RunId, RunState, Store, Write};

use crate::cli::StoreArgs;
use crate::exit;

/// How often the store is read while the run stops.
const POLL: Duration = Duration::from_millis(100);

pub(crate) async fn cancel(wanted: &str, args: &StoreArgs) -> u8 {
    let (store, record) = match super::store::open_run(args, wanted).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let run_id = record.summary.run_id.clone();
    let owner = match (record.summary.state, record.summary.owner) {
        (RunState::Finished(status), _) => {
            eprintln!("error: run `{run_id}` already ended {status}: there is nothing to cancel");
            return exit::BAD_INPUT;
        }
        (RunState::Running, Some(owner)) => owner,
        (RunState::Interrupted | RunState::Running, _) => {
            return record_cancellation(&store, run_id).await;
        }
    };
    if owner.host != plait_process::host_name() {
        eprintln!(
            "error: run `{run_id}` is carried out by process {} on {}: cancel it there",
            owner.pid, owner.host
        );
        return exit::BAD_INPUT;
    }
    if plait_process::terminate(owner.pid, owner.started) {
        eprintln!(
            "cancelling run `{run_id}`: process {} stops its running tasks and reverts what completed",
            owner.pid
        );
    }
    stopped(&store, &run_id).await
}

/// Records the cancellation of a run nobody carries out.
async fn record_cancellation(store: &dyn Store, run_id: RunId) -> u8 {
    let cancel = Write::Cancel {
        run_id: run_id.clone(),
    };
    if let Err(error) = store.write(vec![cancel]).await {
        eprintln!("error: {error}");
        return exit::STORE_UNUSABLE;
    }
    eprintln!(
        "run `{run_id}` was interrupted: its cancellation is recorded, and `plait resume {run_id}` reverts what it completed"
    );
    exit::OK
}

/// Waits until the run is no longer running, and says how it ended.
async fn stopped(store: &dyn Store, run_id: &RunId) -> u8 {
    loop {
        let state = match store.run(run_id).await {
            Ok(Some(record)) => record.summary.state,
            Ok(None) => RunState::Interrupted,
            Err(error) => {
                eprintln!("error: {error}");
                return exit::STORE_UNUSABLE;
            }
        };
        match state {
            RunState::Running => tokio::time::sleep(POLL).await,
            RunState::Finished(RunStatus::Cancelled) => {
                eprintln!("run `{run_id}` was cancelled");
                return exit::OK;
            }
            RunState::Finished(status) => {
                eprintln!("run `{run_id}` ended {status}");
                return exit::FAILED;
            }
            RunState::Interrupted => {
                eprintln!(
                    "run `{run_id}` stopped before its revert ended: `plait resume {run_id}` finishes it"
                );
                return exit::FAILED;
            }
        }
    }
}
