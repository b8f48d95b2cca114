//! The engine with real child processes: timeouts stop them gracefully, then by force.

use std::time::{Duration, Instant};

use plait_core::{Flow, RetryPolicy, RunStatus, TaskNode, TaskState, Workflow};
use plait_process::{CommandSpec, CommandTask};

use crate::common::*;

fn shell(script: &str) -> CommandTask {
    CommandTask::new(CommandSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        kill_grace: Duration::from_millis(200),
        ..CommandSpec::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_stops_a_child_that_ignores_sigterm_and_is_retried() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let script = format!("trap '' TERM; echo $$ >> {}; sleep 60", pids.display());
    let flow = Flow::graph("main").add(
        TaskNode::new("stubborn", shell(&script))
            .timeout(Duration::from_millis(300))
            .retry(RetryPolicy::attempts(2).with_backoff(Duration::ZERO)),
    );
    let started = Instant::now();
    let (report, log) = run_with(&plan(Workflow::new(flow)), vec![], 2).await;
    // A correctness bound (the child sleeps 60 s), not a performance assertion.
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(report.status, RunStatus::Reverted);
    let task = report.task("stubborn").unwrap();
    assert_eq!((task.state, task.attempts), (TaskState::Reverted, 2));
    assert!(
        log.transcript()
            .contains("stubborn retrying: timed out after 300ms"),
        "{}",
        log.transcript()
    );
    let pids = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(pids.lines().count(), 2, "one child per attempt");
    for pid in pids.lines() {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Gone, or a zombie waiting for a reaper that never comes (pid 1 in a container).
        let state = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next());
        assert!(
            stat.is_empty() || state == Some("Z"),
            "child {pid} still runs: {stat}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn command_outputs_flow_into_function_tasks() {
    let producer = CommandTask::new(CommandSpec {
        argv: vec!["sh".into(), "-c".into(), "printf '{\"n\": %d}' 21".into()],
        provides: ints(&["n"]),
        ..CommandSpec::default()
    });
    let flow = Flow::graph("main").task("produce", producer).task(
        "double",
        plait_core::task_fn(["n"], ["doubled"], |n: i64| async move { n * 2 }),
    );
    let (report, _) = run_with(&plan(Workflow::new(flow)), vec![], 2).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("doubled"), Some(&plait_core::Value::Int(42)));
}
