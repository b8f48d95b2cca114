//! `plait resume RUN`: continue an interrupted run where its record stops.

use std::path::Path;
use std::sync::Arc;

use plait_engine::RunDefinition;
use plait_store::{RunState, Store};

use crate::cli::ResumeArgs;
use crate::exit;

pub(crate) async fn resume(args: ResumeArgs) -> u8 {
    let (store, record) = match super::store::open_run(&args.execution.store, &args.run).await {
        Ok(found) => found,
        Err(code) => return code,
    };
    let run_id = record.summary.run_id.clone();
    match record.summary.state {
        RunState::Interrupted => {}
        RunState::Running => {
            let by = record
                .summary
                .owner
                .as_ref()
                .map(|owner| format!(" (process {} on {})", owner.pid, owner.host))
                .unwrap_or_default();
            eprintln!("error: run `{run_id}` is still running{by}: wait for it, or stop it first");
            return exit::BAD_INPUT;
        }
        RunState::Finished(status) => {
            eprintln!(
                "error: run `{run_id}` already ended ({status}): there is nothing to resume; `plait run` starts a new one"
            );
            return exit::BAD_INPUT;
        }
    }
    let file = Path::new(&record.summary.source);
    let loaded = match super::load(file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    if loaded.hash != record.definition_hash {
        eprintln!(
            "error: definition changed: `{}` is not the workflow run `{run_id}` started with, so its record cannot be resumed with it",
            file.display()
        );
        eprintln!("  help: restore the file as it was, or start a new run with `plait run`");
        return exit::BAD_INPUT;
    }
    let store: Arc<dyn Store> = Arc::new(store);
    let engine = super::run::engine(args.execution.jobs, Some(store.clone()));
    let definition = RunDefinition {
        workflow: loaded.name.clone(),
        source: record.summary.source.clone(),
        text: loaded.text.to_string(),
        hash: loaded.hash.clone(),
    };
    let for_json = super::run::JsonContext { store: Some(store) };
    let plan = Arc::new(loaded.plan);
    let jobs = engine.jobs();
    eprintln!("resuming run `{run_id}`");
    super::run::drive(
        &plan,
        &loaded.name,
        definition,
        &args.execution,
        for_json,
        jobs,
        |options| engine.resume(&plan, &record, options),
    )
    .await
}
