//! `plait run FILE`: run a workflow, show progress, report the result.

use std::sync::Arc;

use plait_core::{Plan, TypeMismatch, Value, ValueType};
use plait_engine::{Engine, RunDefinition, RunError, RunOptions, RunReport};
use plait_store::Store;
use tokio_util::sync::CancellationToken;

use crate::cli::RunArgs;
use crate::exit;
use crate::render::json::{self, RunView};
use crate::render::{progress::Progress, summary};

pub(crate) async fn run(args: RunArgs) -> u8 {
    let loaded = match super::load(&args.file) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let inputs = match parse_sets(&loaded.plan, &args.set) {
        Ok(inputs) => inputs,
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            eprintln!(
                "error: {} bad `--set` value(s); nothing was run",
                problems.len()
            );
            return exit::BAD_INPUT;
        }
    };
    if args.execution.jobs == Some(0) {
        eprintln!("error: `--jobs` must be at least 1");
        return exit::BAD_INPUT;
    }
    let store = match super::store::for_run(&args.execution.store) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let definition = RunDefinition {
        workflow: loaded.name.clone(),
        // Absolute, so `plait resume` finds the file from any directory.
        source: std::path::absolute(&args.file)
            .unwrap_or_else(|_| args.file.clone())
            .display()
            .to_string(),
        text: loaded.text.to_string(),
        hash: loaded.hash.clone(),
    };
    let recorded = Recorded {
        store: store.clone(),
        run_id: plait_engine::new_run_id(),
    };
    let plan = Arc::new(loaded.plan);
    let engine = engine(args.execution.jobs, store);
    let jobs = engine.jobs();
    drive(
        &plan,
        &loaded.name,
        definition,
        &args.execution,
        recorded,
        jobs,
        |options| engine.run(&plan, inputs, options),
    )
    .await
}

/// Where a run is recorded, if it is, and as what: what presenting it needs besides the
/// engine's report.
pub(super) struct Recorded {
    pub(super) store: Option<Arc<dyn Store>>,
    pub(super) run_id: String,
}

pub(super) fn engine(jobs: Option<usize>, store: Option<Arc<dyn plait_store::Store>>) -> Engine {
    let mut engine = Engine::new();
    if let Some(jobs) = jobs {
        engine = engine.with_jobs(jobs);
    }
    if let Some(store) = store {
        engine = engine.with_store(store);
    }
    engine
}

/// Runs (or resumes) with progress and Ctrl-C handling, then presents the result.
pub(super) async fn drive<F>(
    plan: &Arc<Plan>,
    name: &str,
    definition: RunDefinition,
    execution: &crate::cli::ExecutionArgs,
    recorded: Recorded,
    jobs: usize,
    start: impl FnOnce(RunOptions) -> F,
) -> u8
where
    F: std::future::Future<Output = Result<RunReport, RunError>>,
{
    let cancel = CancellationToken::new();
    // A run in a store can be resumed after a second Ctrl-C.
    let resumable = recorded.store.is_some().then(|| recorded.run_id.clone());
    watch_interrupts(cancel.clone(), resumable);
    let progress = Progress::start(plan, name, jobs);
    let mut options = RunOptions::new()
        .run_id(recorded.run_id.clone())
        .observer(progress.clone())
        .cancel(cancel)
        .definition(definition.clone())
        .no_cache(execution.no_cache);
    if let Some(limit) = execution.log_limit {
        options = options.output_limit(limit);
    }
    let as_json = execution.json;
    let report = match start(options).await {
        Ok(report) => report,
        Err(error) => {
            progress.abandon();
            eprintln!("error: {error}");
            if let Some(help) = input_help(plan, &error) {
                eprintln!("  help: {help}");
            }
            // The store failing mid-run (or a bug in the engine) stops the run; bad inputs
            // stop it before it starts, and so does a store that cannot record it.
            return match error {
                RunError::Store(_) if !progress.any_task_ran() => exit::STORE_UNUSABLE,
                RunError::Store(_) | RunError::Internal { .. } => exit::FAILED,
                _ => exit::BAD_INPUT,
            };
        }
    };
    progress.finish();
    summary::print(&report);
    if as_json {
        json::print(&run_view(&report, &definition, recorded, plan).await);
    } else {
        for (name, value) in &report.outputs {
            println!("{name} = {}", value.to_json());
        }
    }
    exit::for_status(report.status)
}

/// The run as `--json` prints it: as recorded, the object `plait show RUN --json` prints;
/// from the report when it is not recorded, or its record cannot be read back.
async fn run_view(
    report: &RunReport,
    definition: &RunDefinition,
    recorded: Recorded,
    plan: &Plan,
) -> RunView {
    if let Some(store) = &recorded.store {
        match store.run(&report.run_id.clone().into()).await {
            Ok(Some(record)) => return RunView::from_record(&record, Some(plan)),
            Ok(None) => eprintln!(
                "warning: run `{}` is not in the store: printing the engine's report",
                report.run_id
            ),
            Err(error) => eprintln!(
                "warning: cannot read run `{}` back from the store ({error}): printing the engine's report",
                report.run_id
            ),
        }
    }
    RunView::from_report(report, definition)
}

/// Reads `--set NAME=VALUE` against the declared inputs' types; every problem at once.
fn parse_sets(plan: &Plan, sets: &[String]) -> Result<Vec<(String, Value)>, Vec<String>> {
    let mut inputs: Vec<(String, Value)> = Vec::with_capacity(sets.len());
    let mut problems = Vec::new();
    for (idx, set) in sets.iter().enumerate() {
        let Some((name, text)) = set.split_once('=') else {
            problems.push(format!(
                "`--set {set}` is not NAME=VALUE: write `--set {set}=VALUE`"
            ));
            continue;
        };
        if let Some(earlier) = sets[..idx]
            .iter()
            .find(|earlier| earlier.split_once('=').is_some_and(|(n, _)| n == name))
        {
            problems.push(format!(
                "input `{name}` is set twice, by `--set {earlier}` and `--set {set}`: set it once"
            ));
            continue;
        }
        let Some(input) = plan.inputs().iter().find(|input| &*input.name == name) else {
            problems.push(format!(
                "the workflow takes no input named `{name}` (`--set {set}`); it takes {}",
                known_inputs(plan)
            ));
            continue;
        };
        let value = match input.ty.parse_text(text) {
            Ok(value) => value,
            Err(mismatch) => {
                problems.push(bad_set(name, text, &input.ty, &mismatch));
                continue;
            }
        };
        // Commands run in the workflow's directory; a path given here is meant from here.
        let value = value.map_files(&mut |path| match path.is_relative() {
            true => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
            false => path.to_path_buf(),
        });
        inputs.push((name.to_owned(), value));
    }
    match problems.is_empty() {
        true => Ok(inputs),
        false => Err(problems),
    }
}

/// Why `--set name=text` cannot be an input of type `ty`: a list's bad element is named,
/// and a list is shown how it is written.
fn bad_set(name: &str, text: &str, ty: &ValueType, mismatch: &TypeMismatch) -> String {
    let mut problem = format!("input `{name}` is {ty}, and `{text}` is not a valid {ty}");
    if !mismatch.at.is_empty() {
        problem.push_str(&format!(" ({mismatch})"));
    } else if ty.element().is_some() {
        problem.push_str(&format!(
            ": write a JSON array, quoted for the shell: `--set {name}='[...]'`"
        ));
    }
    problem
}

fn known_inputs(plan: &Plan) -> String {
    if plan.inputs().is_empty() {
        return "no inputs".to_owned();
    }
    let names: Vec<String> = plan
        .inputs()
        .iter()
        .map(|input| format!("`{}` ({})", input.name, input.ty))
        .collect();
    names.join(", ")
}

fn input_help(plan: &Plan, error: &RunError) -> Option<String> {
    match error {
        RunError::MissingInput { name } => {
            let ty = plan
                .inputs()
                .iter()
                .find(|input| input.name == *name)
                .map(|input| input.ty.to_string());
            Some(format!(
                "pass it with `--set {name}=VALUE` ({})",
                ty.unwrap_or_default()
            ))
        }
        RunError::UnknownInput { .. } => Some(format!("the workflow takes {}", known_inputs(plan))),
        RunError::MissingFile { name, .. } => Some(format!(
            "create it, or name another with `--set {name}=PATH` (relative to the directory plait runs in)"
        )),
        RunError::MissingListedFile { name, .. } => Some(format!(
            "create it, or give another list with `--set {name}='[\"PATH\"]'` (relative to the directory plait runs in)"
        )),
        RunError::InputType { .. }
        | RunError::Store(_)
        | RunError::Internal { .. }
        | RunError::Ended { .. } => None,
    }
}

/// The first Ctrl-C (or SIGTERM) cancels the run gracefully: running tasks are stopped and
/// completed ones reverted. A second one exits at once, leaving the revert to a resume of
/// the run, if it is `resumable` (recorded in a store).
fn watch_interrupts(cancel: CancellationToken, resumable: Option<String>) {
    tokio::spawn(async move {
        if interrupted().await.is_err() {
            return;
        }
        eprintln!(
            "\ninterrupted: stopping running tasks and reverting; press Ctrl-C again to stop at once"
        );
        cancel.cancel();
        if interrupted().await.is_ok() {
            // Children run in process groups of their own, out of the terminal's reach:
            // take them down before leaving.
            plait_process::kill_all_process_groups();
            match &resumable {
                Some(run_id) => eprintln!(
                    "stopped at once: reverts did not finish; `plait resume {run_id}` finishes them"
                ),
                None => eprintln!("stopped at once: reverts did not finish"),
            }
            std::process::exit(i32::from(exit::INTERRUPTED));
        }
    });
}

async fn interrupted() -> std::io::Result<()> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}
