//! Failure semantics: revert order, failing reverts, continue mode, cancellation, retried flows.

use std::sync::Arc;
use std::time::Duration;

use expect_test::expect;
use plait_core::{Flow, OnFailure, RetryPolicy, RunStatus, TaskState, Workflow};
use plait_engine::{Engine, EventLog, RunOptions, TokioClock};
use tokio_util::sync::CancellationToken;

use crate::common::*;

/// `a` feeds `b` and `c`, which join in `d`, which fails; `e` is independent.
fn diamond(log: &Arc<EventLogLines>, failing_revert: Option<&str>) -> Flow {
    let revert = |task, name: &str| with_logged_revert(task, log, failing_revert == Some(name));
    Flow::graph("main")
        .task("a", revert(sum_task(&[], &["x"]), "a"))
        .task("b", revert(sum_task(&["x"], &["y"]), "b"))
        .task("c", revert(sum_task(&["x"], &["z"]), "c"))
        .task(
            "d",
            revert(failing_task(&["y", "z"], &["w"], "d broke"), "d"),
        )
        .task("e", revert(sum_task(&[], &["v"]), "e"))
}

#[tokio::test(start_paused = true)]
async fn revert_runs_dependents_first_each_exactly_once() {
    let reverts = EventLogLines::new();
    let plan = plan(Workflow::new(diamond(&reverts, None)));
    let (report, log) = run_serial(&plan, vec![]).await;
    assert_eq!(report.status, RunStatus::Reverted);
    assert!(report.outputs.is_empty());
    expect![[r#"
        a pending
        b pending
        c pending
        d pending
        e pending
        a ready
        a running
        a succeeded
        b ready
        b running
        b succeeded
        e ready
        e running
        e succeeded
        c ready
        c running
        c succeeded
        d ready
        d running
        d failed: d broke
        e reverting
        e reverted
        d reverting
        d reverted
        c reverting
        c reverted
        b reverting
        b reverted
        a reverting
        a reverted
    "#]]
    .assert_eq(&log.transcript());
    expect![[r#"
        [
            "revert e (succeeded)",
            "revert d (failed: d broke)",
            "revert c (succeeded)",
            "revert b (succeeded)",
            "revert a (succeeded)",
        ]
    "#]]
    .assert_debug_eq(&reverts.lines());
}

#[tokio::test(start_paused = true)]
async fn revert_order_holds_with_parallel_jobs() {
    // With many jobs the interleaving varies; the order constraints must not.
    for jobs in [2, 4, 8] {
        let reverts = EventLogLines::new();
        let plan = plan(Workflow::new(diamond(&reverts, None)));
        let (report, _) = run_with(&plan, vec![], jobs).await;
        assert_eq!(report.status, RunStatus::Reverted);
        let lines = reverts.lines();
        let position = |task: &str| {
            lines
                .iter()
                .position(|l| l.starts_with(&format!("revert {task} ")))
                .unwrap()
        };
        assert!(
            position("d") < position("b") && position("d") < position("c"),
            "{lines:?}"
        );
        assert!(
            position("b") < position("a") && position("c") < position("a"),
            "{lines:?}"
        );
        // Each task that ran is reverted exactly once; `e` may not have started in time.
        let ran: Vec<&str> = report
            .tasks
            .iter()
            .filter(|t| t.attempts > 0)
            .map(|t| &*t.path)
            .collect();
        assert_eq!(lines.len(), ran.len(), "{lines:?} vs {ran:?}");
        for task in ran {
            assert_eq!(
                lines
                    .iter()
                    .filter(|l| l.starts_with(&format!("revert {task} ")))
                    .count(),
                1
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_failing_revert_keeps_its_ancestors_and_still_reverts_the_rest() {
    let reverts = EventLogLines::new();
    let plan = plan(Workflow::new(diamond(&reverts, Some("b"))));
    let (report, log) = run_serial(&plan, vec![]).await;
    assert_eq!(report.status, RunStatus::RevertFailed);
    assert_eq!(report.task("b").unwrap().state, TaskState::RevertFailed);
    assert_eq!(
        report
            .task("b")
            .unwrap()
            .revert_error
            .as_ref()
            .unwrap()
            .message(),
        "revert refused"
    );
    // `a` is left as it is: `b`'s effect, which needs it, is still in place.
    assert_eq!(report.task("a").unwrap().state, TaskState::Succeeded);
    assert_eq!(report.task("c").unwrap().state, TaskState::Reverted);
    expect![[r#"
        d running
        d failed: d broke
        e reverting
        e reverted
        d reverting
        d reverted
        c reverting
        c reverted
        b reverting
        b revert_failed: revert refused
    "#]]
    .assert_eq(
        &log.transcript()
            .lines()
            .skip(18)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    );
}

#[tokio::test(start_paused = true)]
async fn continue_mode_fails_dependents_and_finishes_independent_branches() {
    let reverts = EventLogLines::new();
    let workflow = Workflow::new(diamond(&reverts, None)).on_failure(OnFailure::Continue);
    let (report, log) = run_serial(&plan(workflow), vec![]).await;
    assert_eq!(report.status, RunStatus::Failed);
    assert!(reverts.lines().is_empty());
    assert_eq!(report.output("v"), Some(&plait_core::Value::Int(1)));
    assert!(report.output("w").is_none());
    assert_eq!(report.task("e").unwrap().state, TaskState::Succeeded);
    let _ = log;
}

#[tokio::test(start_paused = true)]
async fn continue_mode_passes_failure_to_dependents_which_do_not_run() {
    let flow = Flow::graph("main")
        .task("bad", failing_task(&[], &["x"], "boom"))
        .task("next", sum_task(&["x"], &["y"]))
        .task("other", sum_task(&[], &["z"]));
    let workflow = Workflow::new(flow)
        .on_failure(OnFailure::Continue)
        .outputs(["z"]);
    let (report, log) = run_serial(&plan(workflow), vec![]).await;
    // The failure did not reach an output, and the run failed all the same (`make -k`).
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(report.output("z"), Some(&plait_core::Value::Int(1)));
    assert_eq!(report.task("next").unwrap().attempts, 0);
    expect![[r#"
        bad pending
        next pending
        other pending
        bad ready
        bad running
        bad failed: boom
        next failed: not run: `bad` failed
        other ready
        other running
        other succeeded
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn cancellation_stops_running_tasks_and_reverts_completed_ones() {
    let reverts = EventLogLines::new();
    let flow = Flow::graph("main")
        .task(
            "quick",
            with_logged_revert(sum_task(&[], &["x"]), &reverts, false),
        )
        .task(
            "slow",
            with_logged_revert(
                sleepy_task(&["x"], &["y"], Duration::from_secs(60)),
                &reverts,
                false,
            ),
        )
        .task("after", sum_task(&["y"], &["z"]));
    let plan = plan(Workflow::new(flow));
    let cancel = CancellationToken::new();
    let log = EventLog::new();
    let engine = Engine::new()
        .with_jobs(1)
        .with_clock(Arc::new(TokioClock::from_epoch()));
    let canceller = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        canceller.cancel();
    });
    let options = RunOptions::new().observer(log.clone()).cancel(cancel);
    let report = engine
        .run(&plan, Vec::<(&str, i64)>::new(), options)
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Cancelled);
    assert_eq!(report.task("after").unwrap().state, TaskState::Pending);
    assert_eq!(
        reverts.lines(),
        ["revert slow (cancelled)", "revert quick (succeeded)"]
    );
    expect![[r#"
        quick pending
        slow pending
        after pending
        quick ready
        quick running
        quick succeeded
        slow ready
        slow running
        slow cancelled
        slow reverting
        slow reverted
        quick reverting
        quick reverted
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn a_retried_flow_is_reverted_and_run_again_as_a_unit() {
    let reverts = EventLogLines::new();
    let sub = Flow::linear("sub")
        .retry(
            RetryPolicy::attempts(2)
                .with_backoff(Duration::from_secs(1))
                .with_jitter(0.0),
        )
        .task(
            "prepare",
            with_logged_revert(sum_task(&["n"], &["x"]), &reverts, false),
        )
        .task(
            "commit",
            with_logged_revert(flaky_task(&["x"], &["y"], 1), &reverts, false),
        );
    let flow = Flow::linear("main")
        .add(sub)
        .task("report", sum_task(&["y"], &["z"]));
    let plan = plan(Workflow::new(flow).input("n", plait_core::ValueType::Int));
    let (report, log) = run_serial(&plan, vec![("n", 1)]).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{}", log.transcript());
    assert_eq!(report.output("z"), Some(&plait_core::Value::Int(4)));
    assert_eq!(
        reverts.lines(),
        [
            "revert sub/commit (failed: flaked on call 1)",
            "revert sub/prepare (succeeded)"
        ]
    );
    expect![[r#"
        sub/prepare pending
        sub/commit pending
        report pending
        sub/prepare ready
        sub/prepare running
        sub/prepare succeeded
        sub/commit ready
        sub/commit running
        sub/commit failed: flaked on call 1
        sub/commit reverting
        sub/commit reverted
        sub/prepare reverting
        sub/prepare reverted
        sub/prepare pending
        sub/commit pending
        sub/prepare ready
        sub/prepare running
        sub/prepare succeeded
        sub/commit ready
        sub/commit running
        sub/commit succeeded
        report ready
        report running
        report succeeded
    "#]]
    .assert_eq(&log.transcript());
}

#[tokio::test(start_paused = true)]
async fn a_retried_flow_out_of_attempts_fails_the_run() {
    let sub = Flow::graph("sub")
        .retry(RetryPolicy::attempts(2).with_backoff(Duration::ZERO))
        .task("always", failing_task(&[], &["x"], "still broken"));
    let flow = Flow::linear("main")
        .task("first", sum_task(&[], &["a"]))
        .add(sub);
    let (report, log) = run_serial(&plan(Workflow::new(flow)), vec![]).await;
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(report.task("sub/always").unwrap().attempts, 2);
    assert_eq!(report.task("first").unwrap().state, TaskState::Reverted);
    let _ = log;
    let _ = Duration::ZERO;
}
