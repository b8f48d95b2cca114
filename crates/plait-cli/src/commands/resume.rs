//! `plait resume RUN`: continue an interrupted run where its record stops.

use std::path::Path;
use std::sync::Arc;

use plait_engine::RunDefinition;
use plait_store::{RunSettings, RunState, Store};

use crate::cli::ResumeArgs;
use crate::exit;

pub(crate) async fn resume(mut args: ResumeArgs) -> u8 {
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
    stop_orphaned_groups(&record);
    let kept_no_cache = keep_settings(&mut args, record.settings);
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
    if kept_no_cache {
        eprintln!(
            "resuming run `{run_id}` with `--no-cache`, as it was started (`--cache` reuses results)"
        );
    } else {
        eprintln!("resuming run `{run_id}`");
    }
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

/// How long a resume waits for an orphaned group to go once killed (the kernel takes
/// milliseconds) before it goes on regardless.
const ORPHAN_KILL_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Kills the process groups the interrupted run recorded that still run (their plait died,
/// and they outlived it), before anything runs again: a task's earlier attempt must not
/// write after, or while, its next one does. Only a group whose leader started when
/// recorded: its id may belong to another process by now.
fn stop_orphaned_groups(record: &plait_store::RunRecord) {
    for process in &record.processes {
        if plait_process::kill_orphaned_group(process.pgid, process.started, ORPHAN_KILL_LIMIT) {
            eprintln!(
                "stopped process group {} of task `{}` (attempt {}), left running when the run was interrupted",
                process.pgid, process.task, process.attempt
            );
        }
    }
}

/// A resume runs with the options its run was started with, unless given again. Returns
/// whether the recorded `--no-cache` is kept.
fn keep_settings(args: &mut ResumeArgs, recorded: Option<RunSettings>) -> bool {
    let Some(recorded) = recorded else {
        return false;
    };
    let execution = &mut args.execution;
    execution.jobs = execution.jobs.or(usize::try_from(recorded.jobs).ok());
    let kept_no_cache = recorded.no_cache && !execution.no_cache && !args.cache;
    execution.no_cache |= kept_no_cache;
    kept_no_cache
}
