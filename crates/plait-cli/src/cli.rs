//! The command line, as clap reads it.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// plait runs workflows: steps that need some values and provide others, in parallel, with
/// retries, timeouts, and revert on failure.
#[derive(Debug, Parser)]
#[command(name = "plait", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Run a workflow file.
    Run(RunArgs),
    /// Validate a workflow file without running anything.
    Check {
        /// The workflow file (.toml or .json).
        file: PathBuf,
        /// Print every problem as one JSON object on stdout, and nothing on stderr.
        #[arg(long)]
        json: bool,
    },
    /// Continue an interrupted run: what completed is not run again.
    Resume(ResumeArgs),
    /// List the runs recorded in the store.
    Runs {
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON array on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Show one recorded run: its tasks, attempts, timings and errors.
    Show {
        /// The run's id, a prefix of it that only it has, or `last` for the newest run.
        run: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Print what a run's tasks wrote to stdout and stderr, each attempt's streams under a
    /// header, in the order the tasks started.
    Logs(LogsArgs),
    /// Stop a run that another `plait` carries out on this machine, as Ctrl-C in its
    /// terminal would (its tasks stopped, what completed reverted), and wait until it has
    /// stopped. An interrupted run has its cancellation recorded: `plait resume` reverts it.
    Cancel {
        /// The run's id, a prefix of it that only it has, or `last` for the newest run.
        run: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Say why a task of a recorded run was executed or reused, by comparing its cache key
    /// with the one it had in the previous run of the same workflow.
    Explain {
        /// The run's id, a prefix of it that only it has, or `last` for the newest run.
        run: String,
        /// The task's path, such as `build/compile`.
        task: String,
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Inspect or trim the result cache.
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a workflow's graph.
    Graph {
        /// The workflow file (.toml or .json).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
    /// Print a completion script for a shell: `plait completions bash > /etc/bash_completion.d/plait`.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

impl Command {
    /// Whether the command only reads and prints, so it may stop whenever its reader does.
    pub(crate) fn only_prints(&self) -> bool {
        match self {
            Command::Check { .. }
            | Command::Runs { .. }
            | Command::Show { .. }
            | Command::Explain { .. }
            | Command::Logs(_)
            | Command::Graph { .. }
            | Command::Completions { .. } => true,
            Command::Run(_) | Command::Resume(_) | Command::Cancel { .. } | Command::Cache(_) => {
                false
            }
        }
    }
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The workflow file (.toml or .json).
    pub(crate) file: PathBuf,
    /// Set an input: `--set n=3`. Repeat for several.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) set: Vec<String>,
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ResumeArgs {
    /// The run's id, a prefix of it that only it has, or `last` for the newest run.
    pub(crate) run: String,
    /// Reuse earlier results, though the run was started with `--no-cache`. (A resume keeps
    /// the options the run was started with, `--jobs` and `--no-cache`, unless given again.)
    #[arg(long, conflicts_with = "no_cache")]
    pub(crate) cache: bool,
    #[command(flatten)]
    pub(crate) execution: ExecutionArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LogsArgs {
    /// The run's id, a prefix of it that only it has, or `last` for the newest run.
    pub(crate) run: String,
    /// Only this task's output (its path, such as `build/compile`).
    pub(crate) task: Option<String>,
    /// Only this attempt of the task, from 1.
    #[arg(long, value_name = "N", requires = "task")]
    pub(crate) attempt: Option<u32>,
    /// Keep printing what the run's tasks write until the run ends.
    #[arg(long, short = 'f')]
    pub(crate) follow: bool,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

/// How a run (or a resumed one) executes and reports.
#[derive(Debug, clap::Args)]
pub(crate) struct ExecutionArgs {
    /// Tasks at once (default: the number of cores).
    #[arg(long, short = 'j')]
    pub(crate) jobs: Option<usize>,
    /// Print one JSON object with the run's result on stdout.
    #[arg(long)]
    pub(crate) json: bool,
    /// Execute every task, reusing no earlier result; the new results replace the old ones
    /// in the cache.
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Keep the last SIZE of each attempt's stdout and of its stderr in the store, for
    /// `plait logs` (`0` keeps none) [default: 1MiB].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(crate) log_limit: Option<u64>,
    #[command(flatten)]
    pub(crate) store: StoreArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum CacheCommand {
    /// How many results the cache holds, their size, and the hit rate over recorded runs.
    Stats {
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove results not used for a while, then the least recently used ones beyond a size.
    Gc {
        /// Remove results not used for this long: `30d`, `12h`.
        #[arg(long, value_name = "AGE", value_parser = parse_age)]
        older_than: Option<std::time::Duration>,
        /// Then keep at most this much, most recently used first: `500MB`, `2GiB`.
        #[arg(long, value_name = "SIZE", value_parser = parse_size)]
        max_size: Option<u64>,
        /// Report what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object on stdout.
        #[arg(long)]
        json: bool,
    },
}

fn parse_age(text: &str) -> Result<std::time::Duration, String> {
    humantime::parse_duration(text)
        .map_err(|error| format!("{error}: write an age such as `30d`, `12h` or `90m`"))
}

fn parse_size(text: &str) -> Result<u64, String> {
    text.parse::<bytesize::ByteSize>()
        .map(|size| size.as_u64())
        .map_err(|error| format!("{error}: write a size such as `500MB` or `2GiB`"))
}

/// Where runs are recorded.
#[derive(Debug, clap::Args)]
pub(crate) struct StoreArgs {
    /// The store: a SQLite file, created if needed; `:memory:` records nothing.
    #[arg(long = "store", value_name = "PATH", default_value = ".plait/plait.db")]
    pub(crate) path: PathBuf,
}

impl StoreArgs {
    /// Whether runs are kept at all.
    pub(crate) fn in_memory(&self) -> bool {
        self.path.as_os_str() == ":memory:"
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}
