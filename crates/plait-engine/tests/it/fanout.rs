//! `for_each`: one item per element, outputs gathered in order, each item cached, retried
//! and reverted on its own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use plait_core::{
    Flow, FnTask, OnFailure, RunStatus, TaskError, TaskNode, TaskState, Value, ValueType, Workflow,
    task_fn,
};
use plait_engine::{Engine, RunOptions, RunReport, TokioClock};
use plait_store::MemoryStore;

use crate::common::*;

/// `square` runs over the input `nums`; `total` sums the gathered squares.
fn squares(executed: &Arc<AtomicU32>, declared: bool) -> Workflow {
    let executed = executed.clone();
    let square = if declared {
        task_fn(["n"], ["sq"], move |n: i64| {
            executed.fetch_add(1, Ordering::SeqCst);
            async move { n * n }
        })
    } else {
        // Takes the element although it does not require it: `for_each` gives it.
        FnTask::raw(vec![], ints(&["sq"]), move |_, inputs| {
            executed.fetch_add(1, Ordering::SeqCst);
            let n = inputs.int("n");
            async move {
                let n = n?;
                Ok(plait_core::Outputs::new().set("sq", n * n))
            }
        })
    };
    let total = task_fn(["sq"], ["total"], |squares: Vec<i64>| async move {
        squares.iter().sum::<i64>()
    });
    Workflow::new(
        Flow::graph("main")
            .add(TaskNode::new("square", square).for_each("n", "nums"))
            .task("total", total),
    )
    .input("nums", ValueType::list(ValueType::Int))
}

fn nums(values: &[i64]) -> Value {
    Value::list(
        Arc::new(ValueType::Int),
        values.iter().map(|&n| Value::Int(n)).collect::<Vec<_>>(),
    )
}

async fn run(
    workflow: Workflow,
    list: &[i64],
    store: Option<&Arc<MemoryStore>>,
    jobs: usize,
) -> RunReport {
    let mut engine = Engine::new()
        .with_jobs(jobs)
        .with_clock(Arc::new(TokioClock::from_epoch()));
    if let Some(store) = store {
        engine = engine.with_store(store.clone());
    }
    engine
        .run(
            &plan(workflow),
            vec![("nums", nums(list))],
            RunOptions::new(),
        )
        .await
        .unwrap()
}

fn output(report: &RunReport, name: &str) -> Option<Value> {
    report
        .outputs
        .iter()
        .find(|(output, _)| &**output == name)
        .map(|(_, value)| value.clone())
}

fn paths(report: &RunReport) -> Vec<String> {
    report
        .tasks
        .iter()
        .map(|task| task.path.to_string())
        .collect()
}

#[tokio::test]
async fn each_element_runs_once_and_the_outputs_are_gathered_in_order() {
    for declared in [true, false] {
        let executed = Arc::new(AtomicU32::new(0));
        let report = run(squares(&executed, declared), &[3, 1, 2], None, 2).await;
        assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
        assert_eq!(output(&report, "total"), Some(Value::Int(14)));
        assert_eq!(executed.load(Ordering::SeqCst), 3);
        assert_eq!(
            paths(&report),
            ["square", "total", "square[0]", "square[1]", "square[2]"]
        );
    }
}

#[tokio::test]
async fn an_empty_list_gives_empty_lists() {
    let executed = Arc::new(AtomicU32::new(0));
    let report = run(squares(&executed, true), &[], None, 1).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(output(&report, "total"), Some(Value::Int(0)));
    assert_eq!(paths(&report), ["square", "total"]);
}

#[tokio::test]
async fn changing_one_element_runs_one_item_again() {
    let executed = Arc::new(AtomicU32::new(0));
    let store = Arc::new(MemoryStore::new());
    let list: Vec<i64> = (0..1_000).collect();
    let first = run(squares(&executed, true), &list, Some(&store), 2).await;
    assert_eq!(first.status, RunStatus::Succeeded);
    assert_eq!(executed.load(Ordering::SeqCst), 1_000);
    let mut changed = list.clone();
    changed[500] = -1;
    let second = run(squares(&executed, true), &changed, Some(&store), 2).await;
    assert_eq!(second.status, RunStatus::Succeeded);
    assert_eq!(executed.load(Ordering::SeqCst), 1_001, "one item ran again");
    let cached = second.tasks.iter().filter(|task| task.cached).count();
    assert_eq!(cached, 999);
}

/// `square` over `nums`, failing on `3`, each item and `after` logging its revert.
fn failing_at_three(reverts: &Arc<EventLogLines>, on_failure: OnFailure) -> Workflow {
    let square = FnTask::raw(ints(&["n"]), ints(&["sq"]), |_, inputs| {
        let n = inputs.int("n");
        async move {
            let n = n?;
            if n == 3 {
                return Err(TaskError::permanent("three is right out"));
            }
            Ok(plait_core::Outputs::new().set("sq", n * n))
        }
    });
    let after = task_fn(["sq"], ["total"], |squares: Vec<i64>| async move {
        squares.iter().sum::<i64>()
    });
    Workflow::new(
        Flow::graph("main")
            .add(
                TaskNode::new("square", with_logged_revert(square, reverts, false))
                    .for_each("n", "nums"),
            )
            .task("total", after),
    )
    .input("nums", ValueType::list(ValueType::Int))
    .on_failure(on_failure)
}

#[tokio::test]
async fn a_failed_item_reverts_the_items_that_finished() {
    let reverts = EventLogLines::new();
    let report = run(
        failing_at_three(&reverts, OnFailure::Revert),
        &[1, 2, 3],
        None,
        1,
    )
    .await;
    assert_eq!(report.status, RunStatus::Reverted);
    let mut lines = reverts.lines();
    lines.sort();
    assert_eq!(
        lines,
        [
            "revert square[0] (succeeded)",
            "revert square[1] (succeeded)",
            "revert square[2] (failed: three is right out)",
        ]
    );
}

#[tokio::test]
async fn under_continue_a_failed_item_gives_no_list_and_its_dependents_do_not_run() {
    let reverts = EventLogLines::new();
    let store = Arc::new(MemoryStore::new());
    let report = run(
        failing_at_three(&reverts, OnFailure::Continue),
        &[1, 3, 2],
        Some(&store),
        1,
    )
    .await;
    assert_eq!(report.status, RunStatus::Failed);
    let state = |path: &str| {
        let task = report.tasks.iter().find(|t| &*t.path == path).unwrap();
        (task.state, task.error.as_ref().map(ToString::to_string))
    };
    assert_eq!(state("square[0]").0, TaskState::Succeeded);
    assert_eq!(state("square[2]").0, TaskState::Succeeded);
    assert_eq!(
        state("square"),
        (
            TaskState::Failed,
            Some("item `square[1]` failed: three is right out".to_owned())
        )
    );
    let (total, error) = state("total");
    assert_eq!(total, TaskState::Failed);
    assert!(error.unwrap().contains("not run"));
    assert!(reverts.lines().is_empty());
    // The items that finished are kept for the next run.
    let again = run(
        failing_at_three(&reverts, OnFailure::Continue),
        &[1, 3, 2],
        Some(&store),
        1,
    )
    .await;
    let cached: Vec<&str> = again
        .tasks
        .iter()
        .filter(|task| task.cached)
        .map(|task| &*task.path)
        .collect();
    assert_eq!(cached, ["square[0]", "square[2]"]);
}

#[tokio::test(start_paused = true)]
async fn max_parallel_bounds_the_items_running_at_once() {
    let now = Arc::new(AtomicU32::new(0));
    let most = Arc::new(AtomicU32::new(0));
    let item = {
        let (now, most) = (now.clone(), most.clone());
        FnTask::raw(ints(&["n"]), ints(&["sq"]), move |_, _| {
            let (now, most) = (now.clone(), most.clone());
            async move {
                most.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(plait_core::Outputs::new().set("sq", 1))
            }
        })
    };
    let workflow = Workflow::new(
        Flow::graph("main").add(
            TaskNode::new("square", item)
                .for_each("n", "nums")
                .max_parallel(2),
        ),
    )
    .input("nums", ValueType::list(ValueType::Int));
    let report = run(workflow, &[1, 2, 3, 4, 5, 6, 7], None, 8).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(most.load(Ordering::SeqCst), 2);
}

#[test]
fn compile_says_when_for_each_has_no_list() {
    let square = sum_task(&[], &["sq"]);
    let workflow = Workflow::new(
        Flow::graph("main").add(TaskNode::new("square", square).for_each("n", "count")),
    )
    .input("count", ValueType::Int);
    let messages: Vec<String> = plait_core::compile(&workflow)
        .unwrap_err()
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        messages,
        ["task `square` runs `for_each` over `count`, but input `count` is int, not a list"]
    );
    let unknown = Workflow::new(
        Flow::graph("main")
            .add(TaskNode::new("square", sum_task(&["n"], &["sq"])).for_each("n", "nums")),
    );
    let invalid = plait_core::compile(&unknown).unwrap_err();
    assert!(
        invalid.diagnostics[0].message.contains("`nums`"),
        "{:?}",
        invalid.diagnostics
    );
}

#[tokio::test]
async fn a_live_flow_refuses_a_fan_out_before_it_starts() {
    let executed = Arc::new(AtomicU32::new(0));
    let plan = plan(squares(&executed, true));
    let Err(error) = plait_engine::live::LiveFlow::builder(plan).start([("nums", nums(&[1]))])
    else {
        panic!("a live flow started with a fan-out");
    };
    assert_eq!(
        error.to_string(),
        "task `square` spawns children (or runs `for_each`): a live flow runs a fixed graph; run the workflow with `Engine::run`"
    );
}

#[tokio::test]
async fn a_retried_flow_reverts_its_items_and_runs_them_again() {
    let reverts = EventLogLines::new();
    let calls = Arc::new(AtomicU32::new(0));
    // Item 1 fails on its first execution only.
    let square = {
        let calls = calls.clone();
        FnTask::raw(ints(&["n"]), ints(&["sq"]), move |_, inputs| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            let n = inputs.int("n");
            async move {
                let n = n?;
                if n == 2 && call < 3 {
                    return Err(TaskError::permanent("not yet"));
                }
                Ok(plait_core::Outputs::new().set("sq", n * n))
            }
        })
    };
    let total = task_fn(["sq"], ["total"], |squares: Vec<i64>| async move {
        squares.iter().sum::<i64>()
    });
    let workflow = Workflow::new(
        Flow::graph("main").add(
            Flow::graph("inner")
                .add(
                    TaskNode::new("square", with_logged_revert(square, &reverts, false))
                        .for_each("n", "nums"),
                )
                .task("total", total)
                .retry(plait_core::RetryPolicy::attempts(2)),
        ),
    )
    .input("nums", ValueType::list(ValueType::Int));
    let report = run(workflow, &[1, 2, 3], None, 1).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(output(&report, "total"), Some(Value::Int(14)));
    // One job: the first time, item 2 never starts once item 1 failed.
    assert_eq!(calls.load(Ordering::SeqCst), 2 + 3, "the items ran again");
    assert_eq!(
        reverts.lines(),
        [
            "revert inner/square[1] (failed: not yet)",
            "revert inner/square[0] (succeeded)",
        ]
    );
}
