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
    // A command that only prints ends quietly when its reader goes away (`plait runs |
    // head`), as Unix tools do. One that runs a workflow must not die half-way because
    // nobody reads its output any more.
    if cli.command.only_prints() {
        plait_process::end_on_broken_pipe();
    }
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PLAIT_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(render::terminal::color_on_stderr())
        .init();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // tokio reads its own `TOKIO_WORKER_THREADS` when no count is set here.
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        builder.worker_threads(runtime_workers());
    }
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

/// How many workers the runtime starts: one fewer than the machine's cores, at least one.
/// Runs record to SQLite by default (every command opens the store), and the store's writer
/// thread, whose commits every task waits on, then has a core to itself rather than taking
/// turns with the runtime's workers. On 2 cores a first run of `plait-bench layered --tasks
/// 10000 --store sqlite` took 8.7-9.1 us per task with one worker against 9.8-10.1 with two,
/// in alternating rounds (docs/store.md). How many tasks run at once (`--jobs`) is a separate
/// setting.
fn runtime_workers() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    cores.saturating_sub(1).max(1)
}
