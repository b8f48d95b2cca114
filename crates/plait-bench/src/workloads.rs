//! The benchmark graphs, built through the public API as a user would.
//!
//! `layered` draws its edges from splitmix64 seeded with 42, the same generator as
//! `bench/peers/peers.py`, so every engine runs the very same graph.

use std::time::Duration;

use plait_core::{Flow, FnTask, Isolation, Outputs, Port, Value, ValueType, Workflow};

/// splitmix64: tiny, fast, and trivially the same in Python.
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

pub(crate) const LAYER_WIDTH: usize = 100;

/// For each task, the indices of the tasks it depends on. Layers of `width`; each task past
/// the first layer depends on 2 or 3 distinct tasks of the previous layer.
pub(crate) fn layered_deps(n_tasks: usize, width: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = SplitMix64::new(seed);
    let mut deps = Vec::with_capacity(n_tasks);
    for idx in 0..n_tasks {
        let layer = idx / width;
        if layer == 0 {
            deps.push(Vec::new());
            continue;
        }
        let previous = (layer - 1) * width;
        let count = 2 + (rng.next() % 2) as usize;
        let mut picked: Vec<usize> = Vec::with_capacity(count);
        while picked.len() < count {
            let candidate = previous + (rng.next() % width as u64) as usize;
            if !picked.contains(&candidate) {
                picked.push(candidate);
            }
        }
        deps.push(picked);
    }
    deps
}

fn port(idx: usize) -> Port {
    Port::new(format!("v{idx}"), ValueType::Int)
}

/// How a sleepy task sleeps.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sleep {
    /// `std::thread::sleep` on a blocking thread: precise, like the peers' `time.sleep`.
    Blocking(Duration),
    /// `tokio::time::sleep`: tokio's timer wheel rounds up to the next millisecond.
    Async(Duration),
}

/// A task returning the sum of its int inputs plus one, optionally after a sleep.
fn sum_plus_one(deps: &[usize], idx: usize, sleep: Option<Sleep>) -> FnTask {
    let provides = vec![port(idx)];
    let name = provides[0].name.clone();
    let task = FnTask::raw(
        deps.iter().map(|&d| port(d)).collect(),
        provides,
        move |_, inputs| {
            let total = inputs
                .values()
                .iter()
                .filter_map(Value::as_int)
                .fold(1, i64::wrapping_add);
            let name = name.clone();
            async move {
                match sleep {
                    Some(Sleep::Blocking(duration)) => std::thread::sleep(duration),
                    Some(Sleep::Async(duration)) => tokio::time::sleep(duration).await,
                    None => {}
                }
                Ok(Outputs::with_capacity(1).set(name, total))
            }
        },
    );
    match sleep {
        Some(Sleep::Blocking(_)) => task.with_isolation(Isolation::Blocking),
        _ => task,
    }
}

fn from_deps(deps: &[Vec<usize>], sleep: Option<Sleep>) -> Flow {
    let mut flow = Flow::graph("bench");
    for (idx, task_deps) in deps.iter().enumerate() {
        flow = flow.task(format!("t{idx}"), sum_plus_one(task_deps, idx, sleep));
    }
    flow
}

/// The workflow and the checksum a correct run produces.
pub(crate) fn build(
    workload: &str,
    n_tasks: usize,
) -> anyhow::Result<(Workflow, Vec<String>, i64)> {
    Ok(match workload {
        "layered" => {
            let deps = layered_deps(n_tasks, LAYER_WIDTH, 42);
            let last_layer = n_tasks.saturating_sub(1) / LAYER_WIDTH * LAYER_WIDTH;
            let outputs: Vec<String> = (last_layer..n_tasks).map(|i| format!("v{i}")).collect();
            let checksum = wrapping_sum(&sequential(&deps)[last_layer..]);
            (
                Workflow::new(from_deps(&deps, None)).outputs(outputs.clone()),
                outputs,
                checksum,
            )
        }
        "chain" => {
            let deps: Vec<Vec<usize>> = (0..n_tasks)
                .map(|i| if i == 0 { vec![] } else { vec![i - 1] })
                .collect();
            let output = vec![format!("v{}", n_tasks - 1)];
            (
                Workflow::new(from_deps(&deps, None)).outputs(output.clone()),
                output,
                n_tasks as i64,
            )
        }
        "wide" => {
            // N constant tasks (each returns 1) into one join that sums them.
            let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n_tasks];
            deps.push((0..n_tasks).collect());
            let mut flow = Flow::graph("bench");
            for idx in 0..n_tasks {
                flow = flow.task(format!("t{idx}"), sum_plus_one(&[], idx, None));
            }
            let join = FnTask::raw(
                (0..n_tasks).map(port).collect(),
                vec![Port::new("total", ValueType::Int)],
                |_, inputs| {
                    let total = inputs
                        .values()
                        .iter()
                        .filter_map(Value::as_int)
                        .fold(0, i64::wrapping_add);
                    async move { Ok(Outputs::new().set("total", total)) }
                },
            );
            flow = flow.task("join", join);
            (
                Workflow::new(flow).outputs(["total"]),
                vec!["total".to_owned()],
                n_tasks as i64,
            )
        }
        "sleepy" | "sleepy-async" => {
            let n_tasks = 200;
            let duration = Duration::from_millis(10);
            let sleep = if workload == "sleepy" {
                Sleep::Blocking(duration)
            } else {
                Sleep::Async(duration)
            };
            let deps = layered_deps(n_tasks, 10, 42);
            let outputs: Vec<String> = (190..200).map(|i| format!("v{i}")).collect();
            let checksum = wrapping_sum(&sequential(&deps)[190..]);
            let flow = from_deps(&deps, Some(sleep));
            (
                Workflow::new(flow).outputs(outputs.clone()),
                outputs,
                checksum,
            )
        }
        "script" => crate::script::build(n_tasks),
        other => anyhow::bail!(
            "unknown workload `{other}`: use wide, layered, chain, sleepy, sleepy-async or \
             script"
        ),
    })
}

/// Sums wrap, as in `bench/peers/peers.py`: layered values grow about 2.5x per layer and
/// leave 64 bits after some 50 layers.
pub(crate) fn wrapping_sum(values: &[i64]) -> i64 {
    values.iter().fold(0, |acc, &v| acc.wrapping_add(v))
}

/// Each task's value in a plain sequential evaluation: the oracle for the checksum.
fn sequential(deps: &[Vec<usize>]) -> Vec<i64> {
    let mut values: Vec<i64> = Vec::with_capacity(deps.len());
    for task_deps in deps {
        let inputs: Vec<i64> = task_deps.iter().map(|&d| values[d]).collect();
        let value = wrapping_sum(&inputs).wrapping_add(1);
        values.push(value);
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix_matches_the_reference_sequence() {
        // The first outputs for seed 0 from the reference implementation (Vigna).
        let mut rng = SplitMix64::new(0);
        assert_eq!(rng.next(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(rng.next(), 0x6E78_9E6A_A1B9_65F4);
    }

    /// The vectors `bench/peers/peers.py --print-vectors` prints: both sides run one graph.
    #[test]
    fn the_graphs_match_the_python_peers() {
        let mut rng = SplitMix64::new(42);
        assert_eq!(rng.next(), 0xBDD7_3226_2FEB_6E95);
        let deps = layered_deps(10_000, LAYER_WIDTH, 42);
        assert_eq!(
            deps[100..105],
            [
                vec![91, 58, 64],
                vec![62, 25],
                vec![5, 74],
                vec![46, 98, 95],
                vec![30, 89]
            ]
        );
        assert_eq!(deps[9999], [9833, 9815]);
        assert_eq!(
            build("layered", 10_000).unwrap().2,
            -6_331_387_608_281_631_678
        );
        assert_eq!(build("layered", 1_000).unwrap().2, 623_575);
        assert_eq!(build("sleepy", 200).unwrap().2, 471_954_930);
        assert_eq!(
            layered_deps(200, 10, 42)[10..13],
            [vec![1, 8, 4], vec![2, 5], vec![5, 4]]
        );
    }

    #[test]
    fn layered_tasks_depend_on_two_or_three_of_the_previous_layer() {
        let deps = layered_deps(1000, 100, 42);
        for (idx, task_deps) in deps.iter().enumerate().skip(100) {
            assert!((2..=3).contains(&task_deps.len()));
            assert!(task_deps.iter().all(|&d| d / 100 == idx / 100 - 1));
        }
    }
}
