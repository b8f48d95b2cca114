//! `plait`: parse, hand to the engine, present. Data goes to stdout, everything else to stderr.

mod cli;
mod commands;
mod exit;
mod render;

use std::process::ExitCode;

use clap::Parser;

// See plait-bench: a few small allocations per task are much cheaper with mimalloc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLAIT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // Runs record to SQLite by default: its writer thread gets a core of its own.
    plait_store_sqlite::leave_the_writer_a_core(&mut builder);
    let runtime = match builder.build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: cannot start the async runtime: {error}");
            return ExitCode::from(exit::FAILED);
        }
    };
    let code = runtime.block_on(commands::dispatch(cli.command));
    // Do not wait for blocking threads that outlived their (cancelled or timed-out) tasks.
    runtime.shutdown_background();
    ExitCode::from(code)
}
