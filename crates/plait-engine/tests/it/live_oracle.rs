//! Property: for random graphs and random sequences of changes (some overtaking slow tasks,
//! some making tasks fail), once a live flow settles every output equals a from-scratch
//! evaluation on the final inputs, failures included, and no task executed without one of
//! its inputs having changed since its last finished execution.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use plait_core::{Flow, FnTask, Outputs, TaskError, Value, ValueType, Workflow};
use plait_engine::live::{LiveEvent, LiveFlow};
use proptest::prelude::*;

use crate::common::*;

const INPUTS: usize = 3;

/// Task `i` reads the listed earlier tasks and run inputs, and takes `delay` ms.
#[derive(Clone, Debug)]
struct Spec {
    deps: Vec<usize>,
    inputs: Vec<usize>,
    delay: u64,
}

fn graphs() -> impl Strategy<Value = Vec<Spec>> {
    (1usize..25).prop_flat_map(|n| {
        (0..n)
            .map(|i| {
                (
                    proptest::collection::btree_set(0..i.max(1), 0..=i.min(3)),
                    proptest::collection::btree_set(0..INPUTS, 0..=2),
                    prop_oneof![3 => Just(0u64), 1 => 1u64..40],
                )
                    .prop_map(move |(deps, inputs, delay)| Spec {
                        deps: deps.into_iter().filter(|&d| d < i).collect(),
                        inputs: inputs.into_iter().collect(),
                        delay,
                    })
            })
            .collect::<Vec<_>>()
    })
}

/// A batch of changes, then a pause (ms) before the next.
fn changes() -> impl Strategy<Value = Vec<(Vec<(usize, i64)>, u64)>> {
    proptest::collection::vec(
        (
            proptest::collection::vec((0..INPUTS, 0i64..4), 1..3),
            prop_oneof![Just(0u64), 1u64..30],
        ),
        0..12,
    )
}

/// Task `idx`'s value from its inputs: small modulo 5, so equal recomputations (cut-offs)
/// are common; 4 is a failure.
fn value_of(inputs: &[i64], idx: usize) -> Result<i64, String> {
    match (inputs.iter().sum::<i64>() + idx as i64) % 5 {
        4 => Err(format!("t{idx} came to 4")),
        value => Ok(value),
    }
}

/// Each task's value, or the task whose failure it carries (the first failing input, in
/// port order, as the engine passes failures on).
fn evaluate(graph: &[Spec], inputs: &[i64]) -> Vec<Result<i64, usize>> {
    let mut values: Vec<Result<i64, usize>> = Vec::with_capacity(graph.len());
    for (idx, spec) in graph.iter().enumerate() {
        let deps: Result<Vec<i64>, usize> = spec.deps.iter().map(|&d| values[d]).collect();
        let value = deps.and_then(|mut all| {
            all.extend(spec.inputs.iter().map(|&i| inputs[i]));
            value_of(&all, idx).map_err(|_| idx)
        });
        values.push(value);
    }
    values
}

type Starts = Arc<Mutex<HashMap<usize, Vec<Vec<i64>>>>>;

fn task(idx: usize, spec: &Spec, starts: &Starts) -> FnTask {
    let requires: Vec<String> = spec
        .deps
        .iter()
        .map(|d| format!("v{d}"))
        .chain(spec.inputs.iter().map(|i| format!("in{i}")))
        .collect();
    let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
    let output = format!("v{idx}");
    let starts = starts.clone();
    let delay = spec.delay;
    FnTask::raw(ints(&requires), ints(&[&output]), move |_, inputs| {
        let values: Vec<i64> = inputs.values().iter().filter_map(Value::as_int).collect();
        starts
            .lock()
            .unwrap()
            .entry(idx)
            .or_default()
            .push(values.clone());
        let output = output.clone();
        async move {
            if delay > 0 {
                tokio::time::sleep(Duration::from_millis(delay)).await;
            }
            let value = value_of(&values, idx).map_err(TaskError::permanent)?;
            Ok(Outputs::new().set(output, value))
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn a_settled_live_flow_matches_a_from_scratch_evaluation(graph in graphs(), changes in changes()) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .start_paused(true)
            .build()
            .unwrap();
        let starts: Starts = Arc::default();
        let mut flow = Flow::graph("random");
        for (idx, spec) in graph.iter().enumerate() {
            flow = flow.task(format!("t{idx}"), task(idx, spec, &starts));
        }
        let outputs: Vec<String> = (0..graph.len()).map(|i| format!("v{i}")).collect();
        let mut workflow = Workflow::new(flow).outputs(outputs.clone());
        for input in 0..INPUTS {
            workflow = workflow.input(format!("in{input}"), ValueType::Int);
        }
        let plan = plan(workflow);
        let (snapshot, log) = runtime.block_on(async {
            let mut builder = LiveFlow::builder(plan).jobs(3).restart_delay(Duration::from_millis(2));
            let mut activity = builder.activity();
            let live = builder
                .start((0..INPUTS).map(|i| (format!("in{i}"), 0i64)))
                .unwrap();
            for (batch, pause) in &changes {
                live.set_many(batch.iter().map(|&(input, value)| (format!("in{input}"), value)))
                    .unwrap();
                if *pause > 0 {
                    tokio::time::sleep(Duration::from_millis(*pause)).await;
                }
            }
            let snapshot = live.settled().await.unwrap();
            let mut log = Vec::new();
            while let Ok(event) = activity.try_recv() {
                log.push(event);
            }
            (snapshot, log)
        });

        let mut inputs = [0i64; INPUTS];
        for (batch, _) in &changes {
            for &(input, value) in batch {
                inputs[input] = value;
            }
        }
        let expected = evaluate(&graph, &inputs);
        for (idx, name) in outputs.iter().enumerate() {
            let got = match snapshot.get(name).unwrap() {
                Ok(value) => Ok(value.as_int().unwrap()),
                Err(failure) => Err(failure.task.to_string()),
            };
            let want = expected[idx].map_err(|origin| format!("t{origin}"));
            prop_assert_eq!(got, want, "output {}", name);
        }

        // Pair each execution's inputs (recorded as it started) with how it ended.
        let starts = starts.lock().unwrap();
        let mut nth: HashMap<String, usize> = HashMap::new();
        let mut last_finished: HashMap<String, Vec<i64>> = HashMap::new();
        let mut running: HashMap<String, Vec<Vec<i64>>> = HashMap::new();
        for event in &log {
            match event {
                LiveEvent::Started { task, .. } => {
                    let idx: usize = task[1..].parse().unwrap();
                    let n = nth.entry(task.to_string()).or_default();
                    let inputs = starts[&idx][*n].clone();
                    *n += 1;
                    if let Some(previous) = last_finished.get(&task.to_string()) {
                        prop_assert_ne!(previous, &inputs, "{} executed with unchanged inputs", task);
                    }
                    running.entry(task.to_string()).or_default().push(inputs);
                }
                LiveEvent::Finished { task, .. } => {
                    let inputs = running.get_mut(&task.to_string()).unwrap().pop().unwrap();
                    last_finished.insert(task.to_string(), inputs);
                }
                LiveEvent::Cancelled { task, .. } => {
                    running.get_mut(&task.to_string()).unwrap().pop().unwrap();
                }
                _ => {}
            }
        }
        prop_assert!(running.values().all(Vec::is_empty));
    }
}
