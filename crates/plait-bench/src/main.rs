//! `plait-bench`: whole-engine workloads through the public API, timed.

mod dynamic;
mod live;
mod script;
mod workloads;

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use clap::Parser;
use plait_core::{RunStatus, Value, compile_owned};
use plait_engine::{Engine, RunOptions};

// The engine allocates a few small objects per task (inputs, the task's future, its outputs);
// mimalloc's thread-local free lists make that cheaper than glibc's arenas (docs/benchmarks.md).
// The `plait` binary uses it too, so the benchmark measures what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs a workload of in-process tasks through plait's engine and reports the time per task.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// wide (N tasks into one join), layered (layers of 100, 2-3 random inputs each),
    /// chain (N in a line), sleepy (20 layers x 10 tasks sleeping 10 ms on blocking threads)
    /// or sleepy-async (the same with tokio's millisecond timer); live: one change at a
    /// time to a live flow of 10 layers in which a change reaches 10 tasks; fanout (one
    /// task's for_each over N items) or spawn (one task spawning N children and joining
    /// them), timed per item or child; script: a workflow written as code making N calls,
    /// N/2 independent chains of two, timed per call
    workload: String,
    /// Number of tasks, items or children (sleepy is always 200).
    #[arg(long, default_value_t = 10_000)]
    tasks: usize,
    /// Tasks at once; default: the number of cores.
    #[arg(long)]
    jobs: Option<usize>,
    /// Measured runs; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Runs made first and not measured (thread start-up, first-touch page faults).
    #[arg(long, default_value_t = 1)]
    warmup: usize,
    /// Record every transition: `memory`, `sqlite` (a file in a temporary directory, each
    /// commit synced) or `sqlite-normal` (the same, safe against a killed process only).
    #[arg(long)]
    store: Option<String>,
    /// Measure a second, fully cached run of each store's first run (needs `--store`):
    /// every task's result is reused, none executed.
    #[arg(long)]
    rerun: bool,
    /// Print one JSON line.
    #[arg(long)]
    json: bool,
    /// live only: run the flow and the code changing it on one thread (tokio's
    /// current-thread runtime), as an application's event loop may.
    #[arg(long)]
    one_thread: bool,
    /// live only: change the same input every time (its tasks stay in the caches) rather
    /// than a random one.
    #[arg(long)]
    same_input: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.rerun && args.store.is_none() {
        bail!("`--rerun` measures the cache, which lives in a store: add `--store`");
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all();
    // As `plait` does: one worker fewer than the cores, at least one, gives a SQLite store's
    // writer thread a core of its own (a store in memory has no writer, and loses by it);
    // tokio reads its own `TOKIO_WORKER_THREADS` when no count is set here.
    let sqlite = matches!(args.store.as_deref(), Some("sqlite" | "sqlite-normal"));
    if sqlite && std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        builder.worker_threads(cores.saturating_sub(1).max(1));
    }
    let runtime = builder.build()?;
    let workers = runtime.metrics().num_workers();
    if args.workload == "live" {
        return live_main(&args, &runtime);
    }
    let unit = dynamic::unit(&args.workload);
    if unit.is_some() && args.store.is_some() {
        bail!(
            "`{}` is measured without a store: drop `--store`",
            args.workload
        );
    }
    let build_start = Instant::now();
    let (workflow, outputs, expected) = match dynamic::build(&args.workload, args.tasks) {
        Some(built) => built,
        None => workloads::build(&args.workload, args.tasks)?,
    };
    // The workflow is of no further use: compiled as it is taken apart, the tree and the plan
    // are never held whole at once.
    let plan = Arc::new(
        compile_owned(workflow).map_err(|invalid| anyhow::anyhow!("{:?}", invalid.diagnostics))?,
    );
    let build_s = build_start.elapsed().as_secs_f64();
    // A dynamic workload's time is per item, child or call, which the plan does not hold.
    let n_tasks = unit.map_or(plan.n_tasks(), |_| args.tasks);
    let (unit, units) = unit.unwrap_or(("task", "tasks"));
    let mut engine = Engine::new();
    if let Some(jobs) = args.jobs {
        engine = engine.with_jobs(jobs);
    }
    let mut walls = Vec::with_capacity(args.repeat);
    let mut first_walls = Vec::with_capacity(args.repeat);
    // SQLite's (commits, write requests) per measured store: the group commit's batching.
    let mut commits = Vec::new();
    let mut checksum = 0;
    for run in 0..args.warmup + args.repeat.max(1) {
        // A fresh store each time: a first run finds nothing cached, a re-run everything.
        let store_dir = tempfile::tempdir()?;
        let (store, sqlite) = store(args.store.as_deref(), store_dir.path())?;
        let engine = match store {
            Some(store) => engine.clone().with_store(store),
            None => engine.clone(),
        };
        let timed = || -> anyhow::Result<(f64, plait_engine::RunReport)> {
            let start = Instant::now();
            let report = runtime.block_on(engine.run(
                &plan,
                Vec::<(&str, Value)>::new(),
                RunOptions::new(),
            ))?;
            Ok((start.elapsed().as_secs_f64(), report))
        };
        let (mut wall, mut report) = timed()?;
        if args.rerun {
            if run >= args.warmup {
                first_walls.push(wall);
            }
            (wall, report) = timed()?;
            if report.executed() != 0 {
                bail!("the re-run executed {} tasks", report.executed());
            }
        }
        if run >= args.warmup {
            walls.push(wall);
            if let Some(sqlite) = &sqlite {
                commits.push(sqlite.commits());
            }
        }
        if report.status != RunStatus::Succeeded {
            bail!("the run ended {}", report.status);
        }
        let values = outputs
            .iter()
            .map(|name| {
                report
                    .output(name)
                    .and_then(Value::as_int)
                    .context("missing output")
            })
            .collect::<anyhow::Result<Vec<i64>>>()?;
        checksum = workloads::wrapping_sum(&values);
        if checksum != expected {
            bail!("checksum {checksum} differs from the sequential evaluation's {expected}");
        }
    }
    first_walls.sort_by(f64::total_cmp);
    let first_per_task_us = first_walls
        .get(first_walls.len() / 2)
        .map(|wall| wall * 1e6 / n_tasks as f64);
    walls.sort_by(f64::total_cmp);
    let wall_s = walls[walls.len() / 2];
    let per_task_us = wall_s * 1e6 / n_tasks as f64;
    let peak_rss_mb = peak_rss_mb();
    // Every store's total (first run and re-run alike), the median store's.
    commits.sort_unstable();
    let commits = commits.get(commits.len() / 2).copied();
    let writes_per_commit = commits.map(|(commits, writes)| writes as f64 / commits.max(1) as f64);
    let label = if args.rerun {
        format!("{} (cached re-run)", args.workload)
    } else {
        args.workload.clone()
    };
    if args.json {
        let line = serde_json::json!({
            "workload": args.workload,
            "tasks": n_tasks,
            "unit": unit,
            "jobs": engine.jobs(),
            "runtime_workers": workers,
            "wall_s": wall_s,
            "per_task_us": per_task_us,
            "build_s": build_s,
            "peak_rss_mb": peak_rss_mb,
            "checksum": checksum,
            "repeat": args.repeat,
            "store": args.store,
            "rerun": args.rerun,
            "first_per_task_us": first_per_task_us,
            "commits": commits.map(|(commits, _)| commits),
            "writes_per_commit": writes_per_commit,
            "warmup": args.warmup,
        });
        println!("{line}");
    } else {
        if let Some(first) = first_per_task_us {
            println!("first run: {first:.3} us/task");
        }
        if let (Some((commits, _)), Some(batching)) = (commits, writes_per_commit) {
            println!("{commits} commits, {batching:.1} write requests per commit");
        }
        println!(
            "{label}: {n_tasks} {units}, {} jobs, {workers} runtime workers: {:.3} s, {per_task_us:.3} us/{unit} (build {build_s:.3} s, peak RSS {})",
            engine.jobs(),
            wall_s,
            peak_rss_mb.map_or("unknown".to_owned(), |mb| format!("{mb:.0} MB")),
        );
    }
    Ok(())
}

/// A store for the engine, and the same store as SQLite (for its commit counts), if it is.
type Stores = (
    Option<Arc<dyn plait_store::Store>>,
    Option<plait_store_sqlite::SqliteStore>,
);

/// The store `--store` names, in `dir`.
fn store(kind: Option<&str>, dir: &std::path::Path) -> anyhow::Result<Stores> {
    Ok(match kind {
        None => (None, None),
        Some("memory") => (Some(Arc::new(plait_store::MemoryStore::new())), None),
        Some(kind @ ("sqlite" | "sqlite-normal")) => {
            let options = plait_store_sqlite::SqliteOptions {
                power_loss_safe: kind == "sqlite",
                ..plait_store_sqlite::SqliteOptions::default()
            };
            let store = plait_store_sqlite::SqliteStore::open_with(dir.join("plait.db"), options)?;
            (Some(Arc::new(store.clone())), Some(store))
        }
        Some(other) => bail!("unknown store `{other}`: use memory, sqlite or sqlite-normal"),
    })
}

/// The process's peak resident set, from Linux's /proc.
fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn live_main(args: &Args, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    if args.store.is_some() || args.rerun {
        bail!("live flows keep their state in memory: drop `--store` and `--rerun`");
    }
    let one_thread;
    let runtime = if args.one_thread {
        one_thread = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        &one_thread
    } else {
        runtime
    };
    let figures = live::measure(
        runtime,
        args.tasks,
        args.jobs,
        args.repeat,
        args.warmup,
        args.same_input,
    )?;
    let peak_rss_mb = peak_rss_mb();
    if args.json {
        let line = serde_json::json!({
            "workload": "live",
            "tasks": figures.tasks,
            "affected": figures.affected,
            "per_change_us": figures.per_change_us,
            "runtime": if args.one_thread { "current_thread" } else { "multi_thread" },
            "inputs_changed": if args.same_input { "same" } else { "random" },
            "changes": figures.changes,
            "repeat": args.repeat,
            "warmup": args.warmup,
            "build_s": figures.build_s,
            "peak_rss_mb": peak_rss_mb,
        });
        println!("{line}");
    } else {
        println!(
            "live: {} tasks, {:.1} recomputed per change: {:.2} us per change, from set to settled (build {:.3} s, peak RSS {})",
            figures.tasks,
            figures.affected,
            figures.per_change_us,
            figures.build_s,
            peak_rss_mb.map_or("unknown".to_owned(), |mb| format!("{mb:.0} MB")),
        );
    }
    Ok(())
}
