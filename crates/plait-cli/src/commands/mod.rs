//! One module per subcommand; each returns the process's exit code.

mod cache;
mod cancel;
mod check;
mod completions;
mod explain;
mod graph;
mod logs;
mod resume;
mod run;
mod runs;
mod show;
mod store;

use std::path::Path;

use plait_spec::{Loaded, SpecError};

use crate::cli::Command;
use crate::exit;
use crate::render::diagnostics;

pub(crate) async fn dispatch(command: Command) -> u8 {
    match command {
        Command::Run(args) => run::run(args).await,
        Command::Check { file, json } => check::check(&file, json),
        Command::Resume(args) => resume::resume(args).await,
        Command::Runs { store, json } => runs::runs(&store, json).await,
        Command::Show { run, store, json } => show::show(&run, &store, json).await,
        Command::Logs(args) => logs::logs(args).await,
        Command::Cancel { run, store } => cancel::cancel(&run, &store).await,
        Command::Explain {
            run,
            task,
            store,
            json,
        } => explain::explain(&run, &task, &store, json).await,
        Command::Cache(command) => cache::cache(command).await,
        Command::Graph { file, format } => graph::graph(&file, format),
        Command::Completions { shell } => completions::completions(shell),
    }
}

/// Warnings shown before a workflow runs: a file with hundreds (a placeholder pasted into
/// every task's script) would bury the run's progress and delay its start by the time they
/// take to draw. `plait check` shows them all.
const WARNINGS_BEFORE_A_RUN: usize = 5;

/// Loads and validates a workflow file to run it, reporting every problem and the first
/// warnings on stderr. `Err` carries the exit code to return.
pub(crate) fn load(file: &Path) -> Result<Loaded, u8> {
    load_showing(file, WARNINGS_BEFORE_A_RUN)
}

/// As [`load`], showing at most `warnings` warnings, and how many more there are.
pub(crate) fn load_showing(file: &Path, warnings: usize) -> Result<Loaded, u8> {
    match plait_spec::load_path(file) {
        Ok(loaded) => {
            let shown = loaded.warnings.len().min(warnings);
            diagnostics::print(&loaded.warnings[..shown]);
            let more = loaded.warnings.len() - shown;
            if more > 0 {
                eprintln!(
                    "warning: {more} more warning(s): `plait check {}` shows them all",
                    file.display()
                );
            }
            Ok(loaded)
        }
        Err(SpecError::Invalid { diagnostics: found }) => {
            diagnostics::print(&found);
            let n_errors = found.iter().filter(|d| d.is_error()).count();
            eprintln!(
                "error: `{}` has {n_errors} error(s); nothing was run",
                file.display()
            );
            Err(exit::BAD_INPUT)
        }
        Err(error @ SpecError::Read { .. }) => {
            diagnostics::print_error(&error);
            Err(exit::BAD_INPUT)
        }
    }
}
