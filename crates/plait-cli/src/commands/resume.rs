//! `plait resume RUN`: continue an interrupted run where its record stops.

use std::path::Path;
use std::sync::Arc;

use plait_engine::RunDefinition;
use plait_spec::Loaded;
use plait_store::{RunRecord, RunSettings, RunState, Store};

use crate::cli::ResumeArgs;
use crate::exit;
use crate::render::json::recorded_definition;

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
    let loaded = match definition(&record) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
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
    let recorded = super::run::Recorded {
        store: Some(store),
        run_id: run_id.to_string(),
    };
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
        recorded,
        jobs,
        |options| engine.resume(&plan, &record, options),
    )
    .await
}

/// The definition to resume `record` with: the one recorded with the run, once the file it
/// came from is checked to say the same (comments and layout aside); a run whose file is
/// gone resumes from its record. `Err` is the exit code, after the reason was printed.
fn definition(record: &RunRecord) -> Result<Loaded, u8> {
    let file = Path::new(&record.summary.source);
    if matches!(file.try_exists(), Ok(false))
        && let Some(recorded) = recorded_definition(record)
    {
        eprintln!(
            "note: `{}` no longer exists: resuming from the definition recorded with the run",
            file.display()
        );
        return Ok(recorded);
    }
    let loaded = super::load(file)?;
    // The file byte for byte as recorded: it is the recorded definition, loaded once.
    if loaded.hash == record.definition_hash {
        return Ok(loaded);
    }
    match recorded_definition(record) {
        Some(recorded) if recorded.parsed_hash == loaded.parsed_hash => Ok(recorded),
        _ => Err(changed(file, record)),
    }
}

/// Says that `file` no longer holds the run's definition; returns the exit code.
fn changed(file: &Path, record: &RunRecord) -> u8 {
    eprintln!(
        "error: definition changed: `{}` is not the workflow run `{}` started with, so its record cannot be resumed with it",
        file.display(),
        record.summary.run_id
    );
    eprintln!("  help: restore the file as it was, or start a new run with `plait run`");
    exit::BAD_INPUT
}

/// How long a resume waits for an orphaned group to go once killed (the kernel takes
/// milliseconds) before it goes on regardless.
const ORPHAN_KILL_LIMIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Kills the process groups the interrupted run recorded that still run (their plait died,
/// and they outlived it), before anything runs again: a task's earlier attempt must not
/// write after, or while, its next one does. Only a group whose leader started when
/// recorded: its id may belong to another process by now.
fn stop_orphaned_groups(record: &RunRecord) {
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
