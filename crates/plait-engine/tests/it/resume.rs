//! Resuming a recorded run: recorded completions are not executed again, interrupted tasks
//! run again, a failing or reverting run keeps reverting.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use plait_core::{Flow, FnTask, Outputs, RunStatus, TaskState, Value, Workflow};
use plait_engine::{Engine, RunOptions};
use plait_store::conformance::{new_run, transition};
use plait_store::{MemoryStore, RunState, Store, Write, this_process};
use serde_json::json;

use crate::common::*;

/// `a` provides x = 1, `b` y = x + 1, `c` z = y + 1; each counts its executions.
fn chain(executed: &Arc<AtomicUsize>, reverts: &Arc<EventLogLines>) -> Flow {
    let step = |requires: &'static [&'static str], provides: &'static str| {
        let executed = executed.clone();
        let task = FnTask::raw(ints(requires), ints(&[provides]), move |_, inputs| {
            executed.fetch_add(1, Ordering::SeqCst);
            let total = inputs
                .values()
                .iter()
                .filter_map(Value::as_int)
                .sum::<i64>()
                + 1;
            async move { Ok(Outputs::new().set(provides, total)) }
        });
        with_logged_revert(task, reverts, false)
    };
    Flow::graph("main")
        .task("a", step(&[], "x"))
        .task("b", step(&["x"], "y"))
        .task("c", step(&["y"], "z"))
}

async fn recorded(store: &MemoryStore, writes: Vec<Write>) -> plait_store::RunRecord {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    store.write(writes).await.unwrap();
    store.run(&"r1".into()).await.unwrap().unwrap()
}

/// Resumes `record` as a run of `chain`, with no store; returns the report, how many tasks
/// executed, and the reverts.
async fn resume_chain(
    record: &plait_store::RunRecord,
) -> (plait_engine::RunReport, usize, Vec<String>) {
    let executed = Arc::new(AtomicUsize::new(0));
    let reverts = EventLogLines::new();
    let plan = plan(Workflow::new(chain(&executed, &reverts)).outputs(["z"]));
    let report = Engine::new()
        .resume(&plan, record, RunOptions::new())
        .await
        .unwrap();
    (report, executed.load(Ordering::SeqCst), reverts.lines())
}

fn completed(task: &str, attempt: u32, outputs: serde_json::Value) -> Write {
    Write::Completed {
        transition: transition("r1", task, TaskState::Succeeded, attempt, 2),
        outputs: outputs.into(),
    }
}

fn moved(task: &str, state: TaskState, attempt: u32) -> Write {
    Write::Transition(transition("r1", task, state, attempt, 1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completed_tasks_are_not_run_again_and_interrupted_ones_are() {
    let store = MemoryStore::new();
    // The process died while `b` ran.
    let record = recorded(
        &store,
        vec![
            moved("a", TaskState::Running, 1),
            completed("a", 1, json!({"x": 1})),
            moved("b", TaskState::Running, 1),
        ],
    )
    .await;
    let executed = Arc::new(AtomicUsize::new(0));
    let reverts = EventLogLines::new();
    let plan = plan(Workflow::new(chain(&executed, &reverts)).outputs(["z"]));
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let report = engine
        .resume(&plan, &record, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("z"), Some(&Value::Int(3)));
    assert_eq!(
        executed.load(Ordering::SeqCst),
        2,
        "`a` ran before the crash and not again"
    );
    let after = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(
        after.summary.state,
        RunState::Finished(RunStatus::Succeeded)
    );
    let b = after.tasks.iter().find(|t| t.task.as_str() == "b").unwrap();
    assert_eq!(
        (b.state, b.attempts),
        (TaskState::Succeeded, 2),
        "`b` ran at least once more"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_resumes_by_reverting_and_runs_nothing() {
    let store = MemoryStore::new();
    let record = recorded(
        &store,
        vec![
            moved("a", TaskState::Running, 1),
            completed("a", 1, json!({"x": 1})),
            moved("b", TaskState::Running, 1),
            moved("b", TaskState::Failed, 1),
        ],
    )
    .await;
    let (report, executed, reverts) = resume_chain(&record).await;
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(executed, 0);
    assert_eq!(
        reverts,
        ["revert b (failed: failed)", "revert a (succeeded)"]
    );
    assert_eq!(report.task("c").unwrap().state, TaskState::Pending);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_revert_goes_on_where_it_stopped() {
    let store = MemoryStore::new();
    let record = recorded(
        &store,
        vec![
            moved("a", TaskState::Running, 1),
            completed("a", 1, json!({"x": 1})),
            moved("b", TaskState::Running, 1),
            moved("b", TaskState::Failed, 1),
            moved("b", TaskState::Reverting, 1),
            moved("b", TaskState::Reverted, 1),
            moved("a", TaskState::Reverting, 1),
        ],
    )
    .await;
    let (report, executed, reverts) = resume_chain(&record).await;
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(executed, 0);
    // `b` was reverted before the crash; `a`'s revert may have half-happened: it runs again.
    assert_eq!(reverts, ["revert a (succeeded)"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_run_resumes_by_reverting_and_ends_cancelled() {
    let store = MemoryStore::new();
    // Cancelled while `b` ran, before any revert began.
    let record = recorded(
        &store,
        vec![
            moved("a", TaskState::Running, 1),
            completed("a", 1, json!({"x": 1})),
            moved("b", TaskState::Running, 1),
            Write::Cancel {
                run_id: "r1".into(),
            },
        ],
    )
    .await;
    let (report, executed, reverts) = resume_chain(&record).await;
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(executed, 0, "nothing runs forward");
    assert_eq!(reverts, ["revert b (cancelled)", "revert a (succeeded)"]);
    assert_eq!(report.task("c").unwrap().state, TaskState::Pending);
}
