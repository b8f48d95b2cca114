//! A workflow written as code, after Flowy's video demo: find a video's chapters, make a
//! thumbnail of each (all at once: nothing says they must wait for each other), then index
//! them. Prints the run's wall time against the sum of its tasks' times.

mod tasks;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use plait_core::{Outputs, RunStatus, Value, ValueType, compile};
use plait_engine::script::{Arg, Handle, Script};
use plait_engine::{Engine, RunOptions, RunReport};
use plait_store_sqlite::SqliteStore;

#[derive(Debug, Parser)]
struct Args {
    /// The video to index.
    #[arg(long, default_value = "holiday.mp4")]
    video: String,
    /// How many chapters `find_chapters` finds.
    #[arg(long, default_value_t = 6)]
    chapters: i64,
    /// How long each task sleeps, in milliseconds.
    #[arg(long, default_value_t = 200)]
    sleep_ms: u64,
    /// Record the run in this SQLite file (then `plait show RUN --store FILE` shows it);
    /// without it, the run is kept in memory.
    #[arg(long)]
    store: Option<PathBuf>,
    /// Tasks that run at once (default: one per chapter).
    #[arg(long)]
    jobs: Option<usize>,
    /// The run's id (default: a new one).
    #[arg(long, conflicts_with = "resume")]
    run_id: Option<String>,
    /// Resume this interrupted run from the store: its finished calls answer from the
    /// record, the rest run.
    #[arg(long, requires = "store")]
    resume: Option<String>,
    /// Append `start PATH` and `end PATH` to this file as each call's task runs.
    #[arg(long)]
    ledger: Option<PathBuf>,
}

/// The workflow: one call finds the chapters; the function waits for them (the one barrier),
/// calls `thumbnail` once per chapter and `index` on all the thumbnails. Nothing awaits the
/// thumbnails: `index` starts when the last one has ended.
fn video(sleep: Duration, ledger: &tasks::Ledger) -> Script {
    Script::new("video", |wf, inputs| async move {
        let video = inputs.str("video")?;
        let chapters = wf.call(
            "find_chapters",
            [
                ("video", Arg::from(video)),
                ("count", Arg::from(inputs.int("chapters")?)),
            ],
        );
        let list = chapters.output("chapters").await?;
        let thumbnails: Vec<Handle> = list
            .as_json()
            .and_then(|json| json.as_array())
            .into_iter()
            .flatten()
            .map(|chapter| wf.call("thumbnail", [("chapter", Arg::from(chapter.clone()))]))
            .collect();
        let index = wf.call(
            "index",
            [("thumbnails", Arg::all(&thumbnails, "thumbnail"))],
        );
        Ok(Outputs::new().set("index", index.output("index").await?))
    })
    .input("video", ValueType::String)
    .input("chapters", ValueType::Int)
    .provides("index", ValueType::Json)
    .task("find_chapters", tasks::find_chapters(sleep, ledger.clone()))
    .task("thumbnail", tasks::thumbnail(sleep, ledger.clone()))
    .task("index", tasks::index(sleep / 2, ledger.clone()))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Runtime::new()?;
    let ledger = tasks::Ledger::new(args.ledger.clone());
    let plan = Arc::new(compile(
        &video(Duration::from_millis(args.sleep_ms), &ledger).workflow(),
    )?);
    let jobs = args.jobs.unwrap_or(args.chapters.max(1) as usize);
    let mut engine = Engine::new().with_jobs(jobs);
    let mut store = None;
    if let Some(path) = &args.store {
        let opened = Arc::new(SqliteStore::open(path).context("opening the store")?);
        engine = engine.with_store(opened.clone());
        store = Some(opened);
    }
    let inputs = [
        ("video", Value::from(args.video.as_str())),
        ("chapters", Value::from(args.chapters)),
    ];
    let start = Instant::now();
    let report = match (&args.resume, &store) {
        (Some(run_id), Some(store)) => runtime.block_on(async {
            let record = plait_store::Store::run(&**store, &run_id.as_str().into())
                .await?
                .with_context(|| format!("the store holds no run `{run_id}`"))?;
            anyhow::Ok(engine.resume(&plan, &record, RunOptions::new()).await?)
        })?,
        _ => {
            let mut options = RunOptions::new();
            if let Some(run_id) = &args.run_id {
                options = options.run_id(run_id.as_str());
            }
            runtime.block_on(engine.run(&plan, inputs, options))?
        }
    };
    let wall = start.elapsed();
    if report.status != RunStatus::Succeeded {
        anyhow::bail!(
            "the run {} ended {}: {report:#?}",
            report.run_id,
            report.status
        );
    }
    print_report(&report, wall);
    Ok(())
}

fn print_report(report: &RunReport, wall: Duration) {
    println!("run {}", report.run_id);
    let mut sum = Duration::ZERO;
    for task in report.tasks.iter().filter(|task| task.path.contains('/')) {
        let took = match (task.started_at, task.finished_at) {
            (Some(start), Some(end)) => end.duration_since(start).unwrap_or_default(),
            _ => Duration::ZERO,
        };
        sum += took;
        println!("  {:<12} {:>6} ms", task.path, took.as_millis());
    }
    if let Some(index) = report.output("index") {
        println!("index: {}", index.to_json());
    }
    println!("the tasks' times add up to {} ms", sum.as_millis());
    println!(
        "the workflow took {} ms: {:.1}x faster than one task after another",
        wall.as_millis(),
        sum.as_secs_f64() / wall.as_secs_f64()
    );
}
