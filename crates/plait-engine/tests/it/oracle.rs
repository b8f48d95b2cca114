//! Property: for random DAGs, the parallel engine's outputs equal a sequential evaluation, and
//! no task starts before every task it depends on has finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use plait_core::{Flow, FnTask, Outputs, RunStatus, Value, Workflow};
use proptest::prelude::*;

use crate::common::*;

type Timeline = Arc<Mutex<Vec<(usize, bool)>>>;

fn task(idx: usize, deps: &[usize], timeline: &Timeline) -> FnTask {
    let requires: Vec<String> = deps.iter().map(|d| format!("v{d}")).collect();
    let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
    let output = format!("v{idx}");
    let timeline = timeline.clone();
    FnTask::raw(ints(&requires), ints(&[&output]), move |_, inputs| {
        let timeline = timeline.clone();
        let sum: i64 = inputs.values().iter().filter_map(Value::as_int).sum();
        let output = output.clone();
        async move {
            timeline.lock().unwrap().push((idx, true));
            tokio::task::yield_now().await;
            timeline.lock().unwrap().push((idx, false));
            Ok(Outputs::new().set(output, 1 + idx as i64 + sum))
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn parallel_runs_match_a_sequential_evaluation(dag in dags(40, 4), jobs in 1usize..6) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let timeline: Timeline = Arc::default();
        let mut flow = Flow::graph("random");
        for (idx, deps) in dag.iter().enumerate() {
            flow = flow.task(format!("t{idx}"), task(idx, deps, &timeline));
        }
        let all: Vec<String> = (0..dag.len()).map(|i| format!("v{i}")).collect();
        let plan = plan(Workflow::new(flow).outputs(all.clone()));
        let (report, _) = runtime.block_on(run_with(&plan, vec![], jobs));
        prop_assert_eq!(report.status, RunStatus::Succeeded);
        let expected = sequential(&dag);
        for (idx, name) in all.iter().enumerate() {
            prop_assert_eq!(report.output(name), Some(&Value::Int(expected[idx])));
        }
        // Each task started after all its dependencies finished.
        let events = timeline.lock().unwrap().clone();
        let mut finished_at = HashMap::new();
        for (position, &(idx, start)) in events.iter().enumerate() {
            if !start { finished_at.insert(idx, position); }
        }
        for (position, &(idx, start)) in events.iter().enumerate() {
            if start {
                for dep in &dag[idx] {
                    prop_assert!(finished_at[dep] < position, "t{} started before t{} finished", idx, dep);
                }
            }
        }
    }
}
