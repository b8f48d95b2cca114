//! Dropping a run's future (here under `tokio::time::timeout`) cancels the run: no task
//! starts afterwards, running work is stopped (a child that ignores SIGTERM is killed, a
//! blocking task sees its token), and the store is left with the run interrupted and
//! unowned, which a resume in this same process takes up: forward, or finishing a revert.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use plait_core::{
    Flow, FnTask, Isolation, Outputs, RunStatus, TaskError, TaskNode, TaskState, Workflow,
};
use plait_engine::{Engine, EventLog, RunOptions};
use plait_process::{CommandSpec, CommandTask};
use plait_store::{MemoryStore, RunState, Store};

use crate::common::*;

/// Whether process `pid` is gone (or a zombie nobody reaps, as pid 1 in a container leaves).
fn gone(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit(')')
        .next()
        .and_then(|rest| rest.split_whitespace().next());
    stat.is_empty() || state == Some("Z")
}

fn shell(script: String) -> CommandTask {
    CommandTask::new(CommandSpec {
        argv: vec!["sh".into(), "-c".into(), script],
        provides: ints(&["x"]),
        kill_grace: Duration::from_millis(200),
        ..CommandSpec::default()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_run_stops_its_work_and_resumes_in_the_same_process() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    let again = dir.path().join("again");
    // The first time, a child that ignores SIGTERM and would sleep a minute; the second,
    // quick.
    let child = shell(format!(
        "if [ -e {again} ]; then printf '{{\"x\": 1}}'; else trap '' TERM; echo $$ >> {pids}; sleep 60; fi",
        again = again.display(),
        pids = pids.display(),
    ));
    // A blocking task that runs until it is told to stop; once resumed, it finishes.
    let saw_token = Arc::new(AtomicBool::new(false));
    let spin = {
        let saw_token = saw_token.clone();
        let again = again.clone();
        FnTask::raw(vec![], ints(&["s"]), move |ctx, _| {
            let saw_token = saw_token.clone();
            let again = again.clone();
            async move {
                while !again.exists() {
                    if ctx.is_cancelled() {
                        saw_token.store(true, Ordering::SeqCst);
                        return Err(TaskError::permanent("stopped"));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Ok(Outputs::new().set("s", 1))
            }
        })
    };
    let flow = Flow::graph("main")
        .task("child", child)
        .add(TaskNode::new("spin", spin).isolation(Isolation::Blocking))
        .task("after", sum_task(&["x"], &["y"]));
    let plan = plan(Workflow::new(flow).outputs(["y"]));
    let store = MemoryStore::new();
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let log = EventLog::new();
    let run = engine.run(
        &plan,
        Vec::<(&str, i64)>::new(),
        RunOptions::new().run_id("r").observer(log.clone()),
    );
    let timed_out = tokio::time::timeout(Duration::from_millis(500), run).await;
    assert!(timed_out.is_err(), "the run was still going: {timed_out:?}");

    let record = released(&store, "r").await;
    // Its work stopped: the child (TERM ignored, so killed after the grace period) and the
    // blocking task (through its token).
    let pids = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(pids.lines().count(), 1);
    for pid in pids.lines() {
        assert!(gone(pid), "child {pid} still runs");
    }
    assert!(
        saw_token.load(Ordering::SeqCst),
        "the blocking task never saw its token"
    );
    // Nothing started after the drop: `after` never ran, and the record says how the two
    // running tasks ended.
    let transcript = log.transcript();
    assert!(!transcript.contains("after running"), "{transcript}");
    let states: Vec<(&str, TaskState)> = record
        .tasks
        .iter()
        .map(|task| (task.task.as_str(), task.state))
        .collect();
    assert!(
        states.contains(&("child", TaskState::Cancelled)),
        "{states:?}"
    );
    assert!(
        !states.iter().any(|(task, _)| *task == "after"),
        "{states:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!log.transcript().contains("after running"));

    // The same process takes the run up where it stopped.
    std::fs::write(&again, "").unwrap();
    let report = resume_released(&store, &plan, &record).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("y"), Some(&plait_core::Value::Int(2)));
    let record = store.run(&"r".into()).await.unwrap().unwrap();
    assert_eq!(
        record.summary.state,
        RunState::Finished(RunStatus::Succeeded)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revert_cut_short_by_a_drop_is_finished_by_the_resume() {
    let slow = Arc::new(AtomicBool::new(true));
    let reverts = EventLogLines::new();
    let slow_revert = {
        let slow = slow.clone();
        let reverts = reverts.clone();
        sum_task(&[], &["x"]).with_revert(move |_, _, _| {
            let slow = slow.load(Ordering::SeqCst);
            let reverts = reverts.clone();
            async move {
                reverts.push(format!("revert first (slow: {slow})"));
                if slow {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                }
                Ok(())
            }
        })
    };
    let flow = Flow::linear("main")
        .task("first", slow_revert)
        .task("second", failing_task(&["x"], &["y"], "broke"));
    let plan = plan(Workflow::new(flow));
    let store = MemoryStore::new();
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let run = engine.run(
        &plan,
        Vec::<(&str, i64)>::new(),
        RunOptions::new().run_id("r"),
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(500), run)
            .await
            .is_err()
    );
    let record = released(&store, "r").await;
    let first = record
        .tasks
        .iter()
        .find(|task| task.task.as_str() == "first")
        .unwrap();
    assert_eq!(first.state, TaskState::Reverting, "the revert had begun");

    slow.store(false, Ordering::SeqCst);
    let report = Engine::new()
        .with_store(Arc::new(store.clone()))
        .resume(&plan, &record, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(report.task("first").unwrap().state, TaskState::Reverted);
    assert_eq!(
        reverts.lines(),
        ["revert first (slow: true)", "revert first (slow: false)"]
    );
}

/// A resume cannot take a run whose owner is still at it, nor one that ended.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_still_owned_or_ended_is_not_resumed() {
    let flow = Flow::graph("main").task("a", sum_task(&[], &["x"]));
    let plan = plan(Workflow::new(flow));
    let store = MemoryStore::new();
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    engine
        .run(
            &plan,
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r"),
        )
        .await
        .unwrap();
    let ended = store.run(&"r".into()).await.unwrap().unwrap();
    let refused = engine.resume(&plan, &ended, RunOptions::new()).await;
    assert!(
        matches!(refused, Err(plait_engine::RunError::Ended { .. })),
        "{refused:?}"
    );
    // Owned by a process on another host whose lease holds: alive.
    let mut elsewhere = plait_store::this_process();
    elsewhere.host = "another-host".to_owned();
    store
        .create_run(plait_store::NewRun {
            run_id: "other".into(),
            workflow: "main".to_owned(),
            source: String::new(),
            definition: String::new(),
            definition_hash: String::new(),
            inputs: serde_json::json!({}),
            settings: plait_store::RunSettings {
                jobs: 1,
                no_cache: false,
            },
            started_at: 0,
            owner: elsewhere,
            lease_until: plait_store::now_millis() + 60_000,
        })
        .await
        .unwrap();
    let owned = store.run(&"other".into()).await.unwrap().unwrap();
    let refused = engine.resume(&plan, &owned, RunOptions::new()).await;
    assert!(
        matches!(
            refused,
            Err(plait_engine::RunError::Store(
                plait_store::StoreError::RunOwned { .. }
            ))
        ),
        "{refused:?}"
    );
}
