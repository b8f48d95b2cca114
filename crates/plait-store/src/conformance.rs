//! What every [`Store`] must do, as async checks any store's tests can run:
//! `plait_store::store_conformance_tests!(MemoryStore::new());`

use std::sync::Arc;

use plait_core::{RunStatus, TaskState};
use serde_json::json;

use crate::{NewRun, Owner, RunState, Store, StoreError, Transition, Write, this_process};

pub fn new_run(run_id: &str, owner: Owner) -> NewRun {
    NewRun {
        run_id: run_id.to_owned(),
        workflow: "demo".to_owned(),
        source: "demo.toml".to_owned(),
        definition: "[tasks.a]\ncommand = [\"true\"]\n".to_owned(),
        definition_hash: "hash".to_owned(),
        inputs: json!({"n": 3}),
        started_at: 1_000,
        owner,
    }
}

pub fn transition(run_id: &str, task: &str, state: TaskState, attempt: u32, at: i64) -> Transition {
    Transition {
        run_id: run_id.to_owned(),
        task: task.to_owned(),
        state,
        attempt,
        at,
        error: None,
    }
}

/// A run from creation to its end, read back whole.
pub async fn lifecycle(store: &dyn Store) {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    store
        .write(vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Running,
            1,
            1_001,
        ))])
        .await
        .unwrap();
    let mut failed = transition("r1", "b", TaskState::Failed, 1, 1_002);
    failed.error = Some("boom".to_owned());
    store
        .write(vec![
            Write::Completed {
                transition: transition("r1", "a", TaskState::Succeeded, 1, 1_003),
                outputs: json!({"x": 9}),
            },
            Write::Transition(failed),
        ])
        .await
        .unwrap();
    let record = store.run("r1").await.unwrap().expect("the run was created");
    assert_eq!(record.summary.state, RunState::Running);
    assert_eq!(record.inputs, json!({"n": 3}));
    assert_eq!(record.transitions.len(), 3);
    let a = &record.tasks[0];
    assert_eq!(
        (a.task.as_str(), a.state, a.attempts),
        ("a", TaskState::Succeeded, 1)
    );
    assert_eq!((a.started_at, a.finished_at), (Some(1_001), Some(1_003)));
    assert_eq!(a.outputs, Some(json!({"x": 9})));
    assert_eq!(record.tasks[1].error.as_deref(), Some("boom"));

    store
        .write(vec![Write::RunFinished {
            run_id: "r1".to_owned(),
            status: RunStatus::Failed,
            at: 1_004,
        }])
        .await
        .unwrap();
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Finished(RunStatus::Failed));
    assert_eq!(runs[0].finished_at, Some(1_004));
    assert!(store.run("nope").await.unwrap().is_none());
}

/// A batch naming an unknown run changes nothing; a run id is taken once.
pub async fn batches_are_atomic(store: &dyn Store) {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let error = store
        .write(vec![
            Write::Transition(transition("r1", "a", TaskState::Running, 1, 1)),
            Write::Transition(transition("ghost", "a", TaskState::Running, 1, 1)),
        ])
        .await
        .unwrap_err();
    assert_eq!(
        error,
        StoreError::UnknownRun {
            run_id: "ghost".to_owned()
        }
    );
    assert!(
        store
            .run("r1")
            .await
            .unwrap()
            .unwrap()
            .transitions
            .is_empty()
    );
    let duplicate = store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap_err();
    assert_eq!(
        duplicate,
        StoreError::DuplicateRun {
            run_id: "r1".to_owned()
        }
    );
}

/// A running run whose process is gone shows as interrupted; newest runs come first.
pub async fn dead_owners_mean_interrupted(store: &dyn Store) {
    let dead = Owner {
        host: crate::host_name(),
        pid: u32::MAX,
        started: 0,
    };
    // Our own pid, but another start time: the pid was reused, the owner is gone.
    let reused = Owner {
        started: this_process().started + 1,
        ..this_process()
    };
    store.create_run(new_run("reused", reused)).await.unwrap();
    store.create_run(new_run("old", dead)).await.unwrap();
    let mut newer = new_run("new", this_process());
    newer.started_at = 2_000;
    store.create_run(newer).await.unwrap();
    let runs = store.runs().await.unwrap();
    let states: Vec<(&str, RunState)> = runs.iter().map(|r| (r.run_id.as_str(), r.state)).collect();
    assert_eq!(
        states,
        [
            ("new", RunState::Running),
            ("old", RunState::Interrupted),
            ("reused", RunState::Interrupted)
        ]
    );
    let elsewhere = Owner {
        host: "another-host".to_owned(),
        pid: u32::MAX,
        started: 0,
    };
    store
        .create_run(new_run("remote", elsewhere))
        .await
        .unwrap();
    let remote = store.run("remote").await.unwrap().unwrap();
    assert_eq!(
        remote.summary.state,
        RunState::Running,
        "another host's process is not ours to judge"
    );
}

/// Many writers at once: every write lands, each exactly once.
pub async fn concurrent_writes_all_land(store: Arc<dyn Store>) {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let writers: Vec<_> = (0..200)
        .map(|idx| {
            let store = store.clone();
            tokio::spawn(async move {
                let task = format!("t{idx}");
                store
                    .write(vec![Write::Transition(transition(
                        "r1",
                        &task,
                        TaskState::Running,
                        1,
                        idx,
                    ))])
                    .await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let record = store.run("r1").await.unwrap().unwrap();
    assert_eq!(record.transitions.len(), 200);
    assert_eq!(record.tasks.len(), 200);
}

/// Generates one test per check for a store built by `$make`.
#[macro_export]
macro_rules! store_conformance_tests {
    ($make:expr) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn lifecycle() {
            let store = $make;
            $crate::conformance::lifecycle(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn batches_are_atomic() {
            let store = $make;
            $crate::conformance::batches_are_atomic(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn dead_owners_mean_interrupted() {
            let store = $make;
            $crate::conformance::dead_owners_mean_interrupted(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_writes_all_land() {
            let store = $make;
            $crate::conformance::concurrent_writes_all_land(std::sync::Arc::new(store)).await;
        }
    };
}
