//! Golden transcripts of state transitions (TaskFlow's method), on one job and paused time.

use std::time::Duration;

use expect_test::expect;
use plait_core::{Flow, RetryPolicy, RunStatus, TaskNode, Value, Workflow};

use crate::common::*;

#[tokio::test(start_paused = true)]
async fn a_linear_flow_runs_in_order() {
    let flow = Flow::linear("main")
        .task("a", sum_task(&["n"], &["x"]))
        .task("b", sum_task(&["x"], &["y"]));
    let plan = plan(Workflow::new(flow).input("n", plait_core::ValueType::Int));
    let (report, log) = run_serial(&plan, vec![("n", 1)]).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("y"), Some(&Value::Int(3)));
    expect![[r#"
        a pending
        b pending
        a ready
        a running
        a succeeded
        b ready
        b running
        b succeeded
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn a_retryable_failure_is_retried_then_succeeds() {
    let retry = RetryPolicy::attempts(3)
        .with_backoff(Duration::from_secs(1))
        .with_jitter(0.0);
    let flow =
        Flow::graph("main").add(TaskNode::new("flaky", flaky_task(&[], &["x"], 2)).retry(retry));
    let plan = plan(Workflow::new(flow));
    let started = tokio::time::Instant::now();
    let (report, log) = run_serial(&plan, vec![]).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.task("flaky").unwrap().attempts, 3);
    // Backoff 1 s then 2 s, on paused time: exact.
    assert_eq!(started.elapsed(), Duration::from_secs(3));
    expect![[r#"
        flaky pending
        flaky ready
        flaky running
        flaky retrying: flaked on call 1
        flaky running
        flaky retrying: flaked on call 2
        flaky running
        flaky succeeded
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_not_retried() {
    let flow = Flow::graph("main")
        .add(TaskNode::new("bad", failing_task(&[], &["x"], "no")).retry(RetryPolicy::attempts(5)));
    let (report, log) = run_serial(&plan(Workflow::new(flow)), vec![]).await;
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(report.task("bad").unwrap().attempts, 1);
    expect![[r#"
        bad pending
        bad ready
        bad running
        bad failed: no
        bad reverting
        bad reverted
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn a_timeout_is_a_retryable_failure() {
    let flow = Flow::graph("main").add(
        TaskNode::new("slow", sleepy_task(&[], &["x"], Duration::from_secs(10)))
            .timeout(Duration::from_secs(1))
            .retry(RetryPolicy::attempts(2).with_backoff(Duration::ZERO)),
    );
    let (report, log) = run_serial(&plan(Workflow::new(flow)), vec![]).await;
    assert_eq!(report.status, RunStatus::Reverted);
    expect![[r#"
        slow pending
        slow ready
        slow running
        slow retrying: timed out after 1s
        slow running
        slow failed: timed out after 1s
        slow reverting
        slow reverted
    "#]]
    .assert_eq(&log.transcript());
}
