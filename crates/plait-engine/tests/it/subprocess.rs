//! The engine with real child processes: timeouts stop them gracefully, then by force.

use std::time::{Duration, Instant};

use plait_core::{Flow, RetryPolicy, RunStatus, TaskNode, TaskState, Workflow};
use plait_process::{CommandSpec, CommandTask};
use plait_store::Store;

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

/// A command's process group is in the store while it runs, with its leader's start time,
/// each attempt's and its revert's under their task and attempt; a finished run keeps none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commands_process_group_is_recorded_while_it_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    // Attempt 1 fails; attempt 2 waits for `go`, then fails for good; the revert waits too.
    let script = format!(
        "echo $$ > {pid}.$PLAIT_ATTEMPT; [ $PLAIT_ATTEMPT = 1 ] && exit 1; \
         while [ ! -e {go} ]; do sleep 0.01; done; rm {go}; exit 1",
        pid = path("pid"),
        go = path("go"),
    );
    let revert = format!(
        "echo $$ > {pid}; while [ ! -e {go} ]; do sleep 0.01; done",
        pid = path("revert.pid"),
        go = path("go"),
    );
    let task = CommandTask::new(CommandSpec {
        argv: vec!["sh".into(), "-c".into(), script],
        revert: Some(vec!["sh".into(), "-c".into(), revert]),
        ..CommandSpec::default()
    });
    let flow = Flow::graph("main").add(
        TaskNode::new("waits", task).retry(RetryPolicy::attempts(2).with_backoff(Duration::ZERO)),
    );
    let store = plait_store::MemoryStore::new();
    let engine = plait_engine::Engine::new().with_store(std::sync::Arc::new(store.clone()));
    let plan = plan(Workflow::new(flow));
    let run = tokio::spawn(async move {
        let options = plait_engine::RunOptions::new().run_id("r1");
        engine.run(&plan, Vec::<(&str, i64)>::new(), options).await
    });
    // The first record of a group led by `pid`, once it is there.
    let recorded = |pid: u32| {
        let store = store.clone();
        let found = async move {
            loop {
                let record = store.run(&"r1".into()).await.unwrap();
                let processes = record.map(|record| record.processes).unwrap_or_default();
                if let Some(process) = processes.into_iter().find(|p| p.pgid == pid) {
                    return process;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), found)
    };
    let pid = |name: &str| {
        let path = dir.path().join(name);
        async move {
            loop {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                if let Some(pid) = text.strip_suffix('\n').and_then(|pid| pid.parse().ok()) {
                    return pid;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    let expected = |attempt, pgid| plait_store::TaskProcess {
        task: "waits".into(),
        attempt,
        pgid,
        started: plait_process::process_start_time(pgid).expect("it waits for `go`"),
    };
    // The second attempt, then its revert, each with its leader's start time. (The first
    // attempt's may be missing: it may have exited before it could be recorded.)
    for (file, what) in [
        ("pid.2", "the running attempt"),
        ("revert.pid", "the revert"),
    ] {
        let leader = pid(file).await;
        assert_eq!(
            recorded(leader).await.unwrap(),
            expected(2, leader),
            "{what}"
        );
        std::fs::write(dir.path().join("go"), "").unwrap();
    }
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.status, RunStatus::Reverted);
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.processes, [], "a finished run keeps none");
}
