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
    },
    /// Print a workflow's graph.
    Graph {
        /// The workflow file (.toml or .json).
        file: PathBuf,
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
    },
}

#[derive(Debug, clap::Args)]
pub(crate) struct RunArgs {
    /// The workflow file (.toml or .json).
    pub(crate) file: PathBuf,
    /// Set an input: `--set n=3`. Repeat for several.
    #[arg(long = "set", value_name = "NAME=VALUE")]
    pub(crate) set: Vec<String>,
    /// Tasks at once (default: the number of cores).
    #[arg(long, short = 'j')]
    pub(crate) jobs: Option<usize>,
    /// Print one JSON object with the run's result on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}
