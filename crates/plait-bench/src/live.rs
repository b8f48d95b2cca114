//! `plait-bench live`: the cost of one change to a live flow, from `set` to settled.
//!
//! The graph is N tasks in 10 layers; each task reads the task above it, and each column's
//! top task reads that column's own input. One change to an input recomputes its column:
//! 10 tasks, however large the graph. A change's cost should not grow with N.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use plait_core::{Flow, FnTask, Outputs, Port, Value, ValueType, Workflow, compile};
use plait_engine::live::LiveFlow;

use crate::workloads::SplitMix64;

const LAYERS: usize = 10;

/// Measured changes per round.
const CHANGES: usize = 2_000;

pub(crate) struct Figures {
    pub(crate) tasks: usize,
    pub(crate) affected: f64,
    pub(crate) per_change_us: f64,
    pub(crate) build_s: f64,
    pub(crate) changes: usize,
}

fn add_one(input: Arc<str>, output: Arc<str>) -> FnTask {
    let requires = vec![Port::new(input, ValueType::Int)];
    let provides = vec![Port::new(output.clone(), ValueType::Int)];
    FnTask::raw(requires, provides, move |_, inputs| {
        let value = inputs.values()[0].as_int().unwrap_or(0);
        let output = output.clone();
        async move { Ok(Outputs::with_capacity(1).set(output, value.wrapping_add(1))) }
    })
}

/// `x{c}` feeds column `c`; the bottom of each column is an output.
fn workflow(tasks: usize) -> anyhow::Result<(Workflow, usize)> {
    if tasks < LAYERS || !tasks.is_multiple_of(LAYERS) {
        bail!("live needs a multiple of {LAYERS} tasks (10 layers)");
    }
    let width = tasks / LAYERS;
    let mut flow = Flow::graph("live");
    let mut workflow_inputs = Vec::with_capacity(width);
    for layer in 0..LAYERS {
        for column in 0..width {
            let input: Arc<str> = if layer == 0 {
                let input: Arc<str> = format!("x{column}").into();
                workflow_inputs.push(input.clone());
                input
            } else {
                format!("v{}", (layer - 1) * width + column).into()
            };
            let output: Arc<str> = format!("v{}", layer * width + column).into();
            flow = flow.task(
                format!("t{}", layer * width + column),
                add_one(input, output),
            );
        }
    }
    let mut workflow = Workflow::new(flow);
    for input in workflow_inputs {
        workflow = workflow.input(input, ValueType::Int);
    }
    let bottom = (LAYERS - 1) * width;
    Ok((
        workflow.outputs((0..width).map(|column| format!("v{}", bottom + column))),
        width,
    ))
}

pub(crate) fn measure(
    runtime: &tokio::runtime::Runtime,
    tasks: usize,
    jobs: Option<usize>,
    repeat: usize,
    warmup: usize,
    same_input: bool,
) -> anyhow::Result<Figures> {
    let build_start = Instant::now();
    let (workflow, width) = workflow(tasks)?;
    let plan = Arc::new(
        compile(&workflow).map_err(|invalid| anyhow::anyhow!("{:?}", invalid.diagnostics))?,
    );
    drop(workflow);
    // The changes come from a task on the runtime, as a server's handlers would make them,
    // not from a thread outside it (tokio may still wake an idle worker to look for work).
    runtime.block_on(runtime.spawn(async move {
        let mut builder = LiveFlow::builder(plan);
        if let Some(jobs) = jobs {
            builder = builder.jobs(jobs);
        }
        let live = builder.start((0..width).map(|column| (format!("x{column}"), 0i64)))?;
        live.settled_revision().await?;
        let build_s = build_start.elapsed().as_secs_f64();
        let names: Vec<Arc<str>> = (0..width).map(|c| format!("x{c}").into()).collect();
        let mut values = vec![0i64; width];
        let mut random = SplitMix64::new(7);
        let mut rounds = Vec::with_capacity(repeat);
        let mut affected = 0.0;
        // Unmeasured rounds first: thread start-up, first-touch page faults.
        for round in 0..warmup + repeat.max(1) {
            let before = live.stats().started;
            let start = Instant::now();
            for _ in 0..CHANGES {
                // One column every time keeps its tasks in the caches: what is left is the
                // work itself, apart from the memory a large graph spreads it over.
                let column = if same_input {
                    0
                } else {
                    (random.next() % width as u64) as usize
                };
                values[column] += 1;
                live.set(names[column].clone(), values[column])?;
                live.settled_revision().await?;
            }
            let elapsed = start.elapsed().as_secs_f64();
            if round >= warmup {
                rounds.push(elapsed * 1e6 / CHANGES as f64);
                affected = (live.stats().started - before) as f64 / CHANGES as f64;
            }
        }
        // The outputs are right: each column's bottom is its input plus one per layer.
        let snapshot = live.snapshot().context("the flow settled")?;
        for (column, &value) in values.iter().enumerate() {
            let name = format!("v{}", (LAYERS - 1) * width + column);
            let got = snapshot
                .get(&name)
                .and_then(|value| value.as_ref().ok())
                .and_then(Value::as_int);
            if got != Some(value + LAYERS as i64) {
                bail!("{name} is {got:?}, expected {}", value + LAYERS as i64);
            }
        }
        rounds.sort_by(f64::total_cmp);
        Ok(Figures {
            tasks,
            affected,
            per_change_us: rounds[rounds.len() / 2],
            build_s,
            changes: CHANGES,
        })
    }))?
}
