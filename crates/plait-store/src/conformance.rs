//! What every [`Store`] must do, as async checks any store's tests can run:
//! `plait_store::store_conformance_tests!(MemoryStore::new());`

use std::sync::Arc;

use plait_core::{RunStatus, TaskState};
use serde_json::json;

use crate::{
    Blob, CacheEntry, CacheGc, LEASE, NewRun, OutputChunk, OutputStream, Owner, Ran, RunId,
    RunSettings, RunState, SpawnedChild, Store, StoreError, TaskKey, TaskProcess, Transition,
    Write, now_millis, this_process,
};

/// A lease that holds for a while yet.
fn live_lease() -> i64 {
    now_millis() + LEASE.as_millis() as i64
}

pub fn new_run(run_id: &str, owner: Owner) -> NewRun {
    NewRun {
        run_id: run_id.into(),
        workflow: "demo".to_owned(),
        source: "demo.toml".to_owned(),
        definition: "[tasks.a]\ncommand = [\"true\"]\n".to_owned(),
        definition_hash: "hash".to_owned(),
        inputs: json!({"n": 3}),
        settings: RunSettings {
            jobs: 3,
            no_cache: true,
        },
        started_at: 1_000,
        owner,
        lease_until: live_lease(),
    }
}

pub fn transition(run_id: &str, task: &str, state: TaskState, attempt: u32, at: i64) -> Transition {
    Transition {
        run_id: run_id.into(),
        task: task.into(),
        state,
        attempt,
        at,
        error: None,
        key: None,
        ran: None,
    }
}

/// The entry `task` computed under `key`, if the store has it.
pub async fn lookup(store: &dyn Store, task: &str, key: &str) -> Option<CacheEntry> {
    store.cache_get(&task.into(), &key.into()).await.unwrap()
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
    let mut succeeded = transition("r1", "a", TaskState::Succeeded, 1, 1_003);
    succeeded.ran = Some(Ran {
        slot: 3,
        since: 1_002,
    });
    store
        .write(vec![
            Write::Completed {
                transition: succeeded,
                outputs: json!({"x": 9}).into(),
            },
            Write::Transition(failed),
        ])
        .await
        .unwrap();
    let record = store
        .run(&"r1".into())
        .await
        .unwrap()
        .expect("the run was created");
    assert_eq!(record.summary.state, RunState::Running);
    assert_eq!(record.inputs, json!({"n": 3}));
    assert_eq!(
        record.settings,
        Some(RunSettings {
            jobs: 3,
            no_cache: true
        }),
        "a resume runs with the options the run started with"
    );
    assert_eq!(record.transitions.len(), 3);
    let ran: Vec<Option<u32>> = record
        .transitions
        .iter()
        .map(|t| t.ran.map(|ran| ran.slot))
        .collect();
    assert_eq!(ran, [None, Some(3), None], "where each attempt ran is kept");
    assert_eq!(record.transitions[1].ran.map(|ran| ran.since), Some(1_002));
    let a = &record.tasks[0];
    assert_eq!(
        (a.task.as_str(), a.state, a.attempts),
        ("a", TaskState::Succeeded, 1)
    );
    assert_eq!((a.started_at, a.finished_at), (Some(1_001), Some(1_003)));
    assert_eq!(a.outputs, Some(json!({"x": 9})));
    assert_eq!(record.tasks[1].error.as_deref(), Some("boom"));
    assert!(!record.cancelled);

    store
        .write(vec![Write::Cancel {
            run_id: "r1".into(),
        }])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert!(
        record.cancelled,
        "a resume goes on reverting a cancelled run"
    );
    store
        .write(vec![Write::RunFinished {
            run_id: "r1".into(),
            status: RunStatus::Failed,
            at: 1_004,
        }])
        .await
        .unwrap();
    let runs = store.runs().await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::Finished(RunStatus::Failed));
    assert_eq!(runs[0].finished_at, Some(1_004));
    assert!(store.run(&"nope".into()).await.unwrap().is_none());
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
            .run(&"r1".into())
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
    // A step the task lifecycle does not allow refuses its whole batch.
    let illegal = store
        .write(vec![
            Write::Transition(transition("r1", "a", TaskState::Running, 1, 1)),
            Write::Transition(transition("r1", "b", TaskState::Reverted, 1, 1)),
        ])
        .await
        .unwrap_err();
    assert_eq!(
        illegal,
        StoreError::IllegalTransition {
            run_id: "r1".to_owned(),
            task: "b".to_owned(),
            from: TaskState::Pending,
            to: TaskState::Reverted,
        }
    );
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert!(record.transitions.is_empty());
}

/// A running run whose process is gone shows as interrupted; newest runs come first.
pub async fn dead_owners_mean_interrupted(store: &dyn Store) {
    let dead = Owner {
        host: plait_process::host_name().to_owned(),
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
        .create_run(new_run("remote", elsewhere.clone()))
        .await
        .unwrap();
    let remote = store.run(&"remote".into()).await.unwrap().unwrap();
    assert_eq!(
        remote.summary.state,
        RunState::Running,
        "another host's process is judged by its lease"
    );
    let expired = NewRun {
        lease_until: now_millis() - 1,
        ..new_run("expired", elsewhere)
    };
    store.create_run(expired).await.unwrap();
    let expired = store.run(&"expired".into()).await.unwrap().unwrap();
    assert_eq!(expired.summary.state, RunState::Interrupted);
}

/// Another host's owner keeps its run while its lease holds and renews it; once the lease
/// ran out, a claim takes the run over, and the old owner's next renewal is refused.
pub async fn leases_expire_and_only_the_owner_renews(store: &dyn Store) {
    let remote = Owner {
        host: "another-host".to_owned(),
        pid: 7,
        started: 0,
    };
    store
        .create_run(new_run("r1", remote.clone()))
        .await
        .unwrap();
    let claim = || {
        vec![Write::Claim {
            run_id: "r1".into(),
            owner: this_process(),
            lease_until: live_lease(),
        }]
    };
    let renew = |owner: &Owner, lease_until| {
        vec![Write::Renew {
            run_id: "r1".into(),
            owner: owner.clone(),
            lease_until,
        }]
    };
    let refused = store.write(claim()).await.unwrap_err();
    assert!(
        matches!(refused, StoreError::RunOwned { pid: 7, .. }),
        "{refused:?}"
    );
    let lost = store
        .write(renew(&this_process(), live_lease()))
        .await
        .unwrap_err();
    assert!(
        matches!(lost, StoreError::LeaseLost { .. }),
        "not ours: {lost:?}"
    );
    // The owner renews, then stops renewing: its lease runs out.
    let renewed = live_lease() + 1_000;
    store.write(renew(&remote, renewed)).await.unwrap();
    let summary = store.run(&"r1".into()).await.unwrap().unwrap().summary;
    assert_eq!(
        (summary.state, summary.lease_until),
        (RunState::Running, Some(renewed))
    );
    store.write(renew(&remote, now_millis() - 1)).await.unwrap();
    assert_eq!(
        store
            .run(&"r1".into())
            .await
            .unwrap()
            .unwrap()
            .summary
            .state,
        RunState::Interrupted
    );
    store.write(claim()).await.unwrap();
    let claimed = store.run(&"r1".into()).await.unwrap().unwrap().summary;
    assert_eq!(
        (claimed.state, claimed.owner),
        (RunState::Running, Some(this_process()))
    );
    let lost = store.write(renew(&remote, live_lease())).await.unwrap_err();
    assert!(matches!(lost, StoreError::LeaseLost { .. }), "{lost:?}");
    store
        .write(renew(&this_process(), live_lease()))
        .await
        .unwrap();
}

/// A run is owned by one process at a time: a live owner keeps it, a released run is
/// interrupted and unowned, and a claim takes it over.
pub async fn claims_and_releases(store: &dyn Store) {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let claim = || {
        vec![Write::Claim {
            run_id: "r1".into(),
            owner: this_process(),
            lease_until: live_lease(),
        }]
    };
    let refused = store.write(claim()).await.unwrap_err();
    assert!(
        matches!(refused, StoreError::RunOwned { .. }),
        "{refused:?}"
    );
    store
        .write(vec![Write::Release {
            run_id: "r1".into(),
        }])
        .await
        .unwrap();
    let released = store.run(&"r1".into()).await.unwrap().unwrap().summary;
    assert_eq!(
        (released.state, released.owner),
        (RunState::Interrupted, None)
    );
    store.write(claim()).await.unwrap();
    let claimed = store.run(&"r1".into()).await.unwrap().unwrap().summary;
    assert_eq!(
        (claimed.state, claimed.owner),
        (RunState::Running, Some(this_process()))
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
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.transitions.len(), 200);
    assert_eq!(record.tasks.len(), 200);
}

fn entry(key: &str, run_id: &str, used_at: i64, blobs: Vec<(String, Blob)>) -> CacheEntry {
    CacheEntry {
        key: key.into(),
        task: "a".into(),
        run_id: run_id.into(),
        outputs: json!({"x": key}).into(),
        blobs,
        created_at: used_at,
        used_at,
    }
}

fn completed(run_id: &str, task: &str, at: i64, cache: Option<CacheEntry>) -> Vec<Write> {
    let mut writes = vec![Write::Completed {
        transition: transition(run_id, task, TaskState::Succeeded, 1, at),
        outputs: json!({"x": 1}).into(),
    }];
    writes.extend(cache.map(Write::Cache));
    writes
}

/// Results are cached with their completion, found by key, marked used when reused,
/// forgotten when reverted; keys are recorded per task; stats count hits and misses.
pub async fn cache_entries(store: &dyn Store) {
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    assert!(lookup(store, "a", "k1").await.is_none());
    let key = |key: &str, from: Option<&str>| TaskKey {
        key: Some(key.into()),
        components: json!({"task": "a", "inputs": {}}).to_string(),
        cached_from: from.map(RunId::from),
    };
    let mut running = transition("r1", "a", TaskState::Running, 1, 10);
    running.key = Some(key("k1", None));
    store
        .write(
            [
                vec![Write::Transition(running)],
                completed("r1", "a", 11, None),
                completed("r1", "b", 12, None),
            ]
            .concat(),
        )
        .await
        .unwrap();
    assert!(
        lookup(store, "a", "k1").await.is_none(),
        "an entry is its own write"
    );
    store
        .write(vec![
            Write::Cache(entry("k1", "r1", 11, Vec::new())),
            Write::Cache(entry("k2", "r1", 12, Vec::new())),
        ])
        .await
        .unwrap();
    let found = lookup(store, "a", "k1").await.expect("cached");
    assert_eq!(found, entry("k1", "r1", 11, Vec::new()));
    assert!(
        lookup(store, "b", "k1").await.is_none(),
        "a key is found under the task that computed it"
    );
    let of_a = store
        .cache_entries_of(vec!["a".into(), "z".into()])
        .await
        .unwrap();
    let mut keys: Vec<&str> = of_a.iter().map(|entry| entry.key.as_str()).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["k1", "k2"], "both entries were computed by task `a`");
    assert!(
        store
            .cache_entries_of(vec!["b".into()])
            .await
            .unwrap()
            .is_empty()
    );
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.tasks[0].key, Some(key("k1", None)));
    assert_eq!(record.tasks[0].state, TaskState::Succeeded);
    assert!(!record.tasks[0].cached());

    // A second run reuses k1, and says so when the last use is old.
    store
        .create_run(new_run("r2", this_process()))
        .await
        .unwrap();
    let reuse = |task: &str, at: i64| {
        let mut reused = transition("r2", task, TaskState::Succeeded, 0, at);
        reused.key = Some(key("k1", Some("r1")));
        Write::Completed {
            transition: reused,
            outputs: json!({"x": 1}).into(),
        }
    };
    store.write(vec![reuse("a", 50)]).await.unwrap();
    assert_eq!(lookup(store, "a", "k1").await.unwrap().used_at, 11);
    let later = 11 + crate::USE_RESOLUTION;
    let used = |at: i64| Write::Used {
        run_id: "r2".into(),
        task: "a".into(),
        key: "k1".into(),
        at,
    };
    store
        .write(vec![reuse("c", later), used(later)])
        .await
        .unwrap();
    assert_eq!(lookup(store, "a", "k1").await.unwrap().used_at, later);
    store.write(vec![used(later - 5)]).await.unwrap();
    assert_eq!(
        lookup(store, "a", "k1").await.unwrap().used_at,
        later,
        "never back in time"
    );
    let reused = store.run(&"r2".into()).await.unwrap().unwrap();
    assert!(reused.tasks[0].cached());
    assert_eq!(reused.tasks[0].outputs, Some(json!({"x": 1})));
    let stats = store.cache_stats().await.unwrap();
    assert_eq!((stats.entries, stats.hits, stats.misses), (2, 2, 1));
    assert_eq!(
        (stats.oldest_used_at, stats.newest_used_at),
        (Some(12), Some(later))
    );

    // Reverted: the result is no longer valid. Only the task that computed it names it.
    let forget = |task: &str| Write::Forget {
        run_id: "r2".into(),
        task: task.into(),
        key: "k1".into(),
    };
    store.write(vec![forget("b")]).await.unwrap();
    assert!(lookup(store, "a", "k1").await.is_some());
    store.write(vec![forget("a")]).await.unwrap();
    assert!(lookup(store, "a", "k1").await.is_none());
    assert!(lookup(store, "a", "k2").await.is_some());
}

/// Files are kept by content and put back; an entry whose file is gone is not cached;
/// gc removes by age and by size, and then the files nothing needs.
pub async fn cache_files_and_gc(store: &dyn Store) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("out.bin");
    std::fs::write(&file, b"result bytes").unwrap();
    let blob = store.put_blob(file.clone()).await.unwrap();
    assert_eq!(blob.size, 12);
    assert_eq!(
        blob.hash,
        blake3::hash(b"result bytes").to_hex().to_string()
    );

    std::fs::write(&file, b"overwritten").unwrap();
    assert!(
        store
            .restore_blob(blob.clone(), file.clone())
            .await
            .unwrap()
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"result bytes");
    let missing = Blob {
        hash: "0".repeat(64),
        size: 1,
    };
    assert!(
        !store
            .restore_blob(missing.clone(), file.clone())
            .await
            .unwrap()
    );

    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let with_file = vec![("out".to_owned(), blob.clone())];
    store
        .write(
            [
                completed(
                    "r1",
                    "old",
                    1_000,
                    Some(entry("old", "r1", 1_000, Vec::new())),
                ),
                completed(
                    "r1",
                    "file",
                    5_000,
                    Some(entry("file", "r1", 5_000, with_file)),
                ),
                completed(
                    "r1",
                    "new",
                    9_000,
                    Some(entry("new", "r1", 9_000, Vec::new())),
                ),
                completed(
                    "r1",
                    "lost",
                    9_000,
                    Some(entry(
                        "lost",
                        "r1",
                        9_000,
                        vec![("out".to_owned(), missing)],
                    )),
                ),
            ]
            .concat(),
        )
        .await
        .unwrap();
    assert!(
        lookup(store, "a", "lost").await.is_none(),
        "an entry naming a file the store does not have is not cached"
    );
    let stats = store.cache_stats().await.unwrap();
    assert_eq!((stats.entries, stats.blobs, stats.blob_bytes), (3, 1, 12));

    // By age: "old" was last used before 10_000 - 8_000.
    let by_age = CacheGc {
        now: 10_000,
        unused_for: Some(8_000),
        ..CacheGc::default()
    };
    let dry = store
        .cache_gc(CacheGc {
            dry_run: true,
            ..by_age.clone()
        })
        .await
        .unwrap();
    assert_eq!((dry.entries_removed, dry.entries_kept), (1, 2));
    assert!(
        lookup(store, "a", "old").await.is_some(),
        "a dry run removes nothing"
    );
    let report = store.cache_gc(by_age).await.unwrap();
    assert_eq!((report.entries_removed, report.blobs_removed), (1, 0));
    assert!(lookup(store, "a", "old").await.is_none());

    // By size: only the most recently used entry fits; the file goes with its entry.
    let new_size = lookup(store, "a", "new").await.unwrap().size();
    let report = store
        .cache_gc(CacheGc {
            now: 10_000,
            max_bytes: Some(new_size),
            ..CacheGc::default()
        })
        .await
        .unwrap();
    assert_eq!(
        (
            report.entries_removed,
            report.entries_kept,
            report.blobs_removed
        ),
        (1, 1, 1)
    );
    assert_eq!(report.bytes_kept, new_size);
    assert!(lookup(store, "a", "file").await.is_none());
    assert!(!store.restore_blob(blob, file).await.unwrap());
    let stats = store.cache_stats().await.unwrap();
    assert_eq!((stats.entries, stats.blobs), (1, 0));
}

/// The process groups a run's tasks start are kept, in order, with the task, the attempt
/// and the leader's start time, until the run finishes; another run's are its own.
pub async fn processes_until_the_run_ends(store: &dyn Store) {
    for run_id in ["r1", "r2"] {
        store
            .create_run(new_run(run_id, this_process()))
            .await
            .unwrap();
    }
    let process = |task: &str, attempt, pgid, started| TaskProcess {
        task: task.into(),
        attempt,
        pgid,
        started,
    };
    let recorded = [
        process("a", 1, 4_000, 90),
        process("b", 1, 4_001, u64::from(u32::MAX) * 4),
        process("a", 2, 4_002, 95),
    ];
    // With a transition in the same batch, as a task's intent may go with another's group.
    store
        .write(vec![
            Write::Transition(transition("r1", "a", TaskState::Running, 1, 1_001)),
            Write::Process {
                run_id: "r1".into(),
                process: recorded[0].clone(),
            },
        ])
        .await
        .unwrap();
    for (run_id, process) in [
        ("r2", process("c", 1, 4_100, 7)),
        ("r1", recorded[1].clone()),
        ("r1", recorded[2].clone()),
    ] {
        store
            .write(vec![Write::Process {
                run_id: run_id.into(),
                process,
            }])
            .await
            .unwrap();
    }
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.processes, recorded);
    let other = store.run(&"r2".into()).await.unwrap().unwrap();
    assert_eq!(other.processes, [process("c", 1, 4_100, 7)]);

    store
        .write(vec![Write::RunFinished {
            run_id: "r1".into(),
            status: RunStatus::Succeeded,
            at: 1_002,
        }])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(
        record.processes,
        [],
        "a finished run has no group left to stop"
    );
    let other = store.run(&"r2".into()).await.unwrap().unwrap();
    assert_eq!(other.processes.len(), 1, "another run keeps its own");
}

/// The children a run's tasks spawn are kept in the order spawned, with their parent, task
/// and inputs, after the run finishes too (a finished run's revert is done, but `show` and
/// `explain` still read them); another run's are its own.
pub async fn spawned_children_in_order(store: &dyn Store) {
    for run_id in ["r1", "r2"] {
        store
            .create_run(new_run(run_id, this_process()))
            .await
            .unwrap();
    }
    let child = |task: &str, n: i64| SpawnedChild {
        task: format!("p/{task}").as_str().into(),
        parent: "p".into(),
        spawnable: "square".to_owned(),
        inputs: crate::Json::from_value(&serde_json::json!({ "n": n })),
    };
    let spawned = [child("square#0000000a", 1), child("k", 2), child("b", 3)];
    store
        .write(vec![
            Write::Spawned {
                run_id: "r1".into(),
                child: spawned[0].clone(),
            },
            Write::Transition(transition(
                "r1",
                "p/square#0000000a",
                TaskState::Running,
                1,
                1_001,
            )),
        ])
        .await
        .unwrap();
    for (run_id, child) in [
        ("r2", child("other", 9)),
        ("r1", spawned[1].clone()),
        ("r1", spawned[2].clone()),
    ] {
        store
            .write(vec![Write::Spawned {
                run_id: run_id.into(),
                child,
            }])
            .await
            .unwrap();
    }
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.spawned, spawned);
    let other = store.run(&"r2".into()).await.unwrap().unwrap();
    assert_eq!(other.spawned, [child("other", 9)]);
}

/// Bytes `task`'s attempt wrote to `stream`, from `offset`, the store keeping `limit`.
pub fn output(
    run_id: &str,
    task: &str,
    attempt: u32,
    stream: OutputStream,
    offset: u64,
    bytes: &[u8],
    limit: u64,
) -> Write {
    Write::Output(OutputChunk {
        run_id: run_id.into(),
        task: task.into(),
        attempt,
        stream,
        offset,
        bytes: bytes.to_vec(),
        limit,
    })
}

/// What the store keeps of a stream from `from`: (offset, text, cut); `None` if nothing.
async fn read_output(
    store: &dyn Store,
    task: &str,
    attempt: u32,
    stream: OutputStream,
    from: u64,
) -> Option<(u64, String, u64)> {
    store
        .output(&"r1".into(), &task.into(), attempt, stream, from)
        .await
        .unwrap()
        .map(|out| (out.offset, String::from_utf8(out.bytes).unwrap(), out.cut))
}

/// Each attempt's streams, appended to as the attempt goes, read from any offset, kept to
/// their last `limit` bytes, listed; atomic with the batch they are written in.
pub async fn attempt_output(store: &dyn Store) {
    use OutputStream::{Stderr, Stdout};
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let running = |task, attempt| {
        Write::Transition(transition("r1", task, TaskState::Running, attempt, 1_001))
    };
    store
        .write(vec![
            running("a", 1),
            output("r1", "a", 1, Stdout, 0, b"hello\n", 16),
            output("r1", "a", 1, Stderr, 0, b"warn\n", 16),
        ])
        .await
        .unwrap();
    assert_eq!(
        read_output(store, "a", 1, Stdout, 0).await,
        Some((0, "hello\n".to_owned(), 0))
    );
    assert_eq!(
        read_output(store, "a", 1, Stderr, 0).await,
        Some((0, "warn\n".to_owned(), 0))
    );
    assert_eq!(
        read_output(store, "a", 2, Stdout, 0).await,
        None,
        "no such attempt"
    );
    assert_eq!(
        read_output(store, "b", 1, Stdout, 0).await,
        None,
        "no such task"
    );

    // Appended as the attempt goes; a follower reads from where it stopped.
    store
        .write(vec![output("r1", "a", 1, Stdout, 6, b"more\n", 16)])
        .await
        .unwrap();
    assert_eq!(
        read_output(store, "a", 1, Stdout, 6).await,
        Some((6, "more\n".to_owned(), 0))
    );
    assert_eq!(
        read_output(store, "a", 1, Stdout, 8).await,
        Some((8, "re\n".to_owned(), 0))
    );
    assert_eq!(
        read_output(store, "a", 1, Stdout, 99).await,
        Some((11, String::new(), 0)),
        "past the end: nothing, and where the end is"
    );

    // Past the limit, the last 16 bytes are kept and the store says how many were cut.
    store
        .write(vec![output("r1", "a", 1, Stdout, 11, b"0123456789ab", 16)])
        .await
        .unwrap();
    let all = "hello\nmore\n0123456789ab";
    assert_eq!(
        read_output(store, "a", 1, Stdout, 0).await,
        Some((7, all[7..].to_owned(), 7)),
        "a read from before the first kept byte starts at it"
    );
    assert_eq!(
        read_output(store, "a", 1, Stdout, 20).await,
        Some((20, all[20..].to_owned(), 7))
    );

    // A chunk past the end: the writer cut what came between, so nothing before it stays.
    store
        .write(vec![output("r1", "a", 1, Stdout, 40, b"xyz", 16)])
        .await
        .unwrap();
    assert_eq!(
        read_output(store, "a", 1, Stdout, 0).await,
        Some((40, "xyz".to_owned(), 40))
    );

    // Many chunks past the limit: exactly the last `limit` bytes.
    let text: String = (0..2_000).map(|n| format!("line {n}\n")).collect();
    let mut offset = 0;
    for piece in text.as_bytes().chunks(997) {
        store
            .write(vec![output("r1", "b", 1, Stderr, offset, piece, 4_096)])
            .await
            .unwrap();
        offset += piece.len() as u64;
    }
    let cut = text.len() as u64 - 4_096;
    assert_eq!(
        read_output(store, "b", 1, Stderr, 0).await,
        Some((cut, text[cut as usize..].to_owned(), cut))
    );

    // A second attempt has streams of its own; a chunk rides with the step ending it.
    let mut succeeded = transition("r1", "a", TaskState::Succeeded, 2, 1_003);
    succeeded.ran = None;
    store
        .write(vec![
            Write::Transition(transition("r1", "a", TaskState::Retrying, 1, 1_002)),
            running("a", 2),
        ])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert!(
        record.attempt_running(&"a".into(), 2),
        "the latest attempt runs"
    );
    assert!(
        !record.attempt_running(&"a".into(), 1),
        "an earlier attempt is over"
    );
    store
        .write(vec![
            output("r1", "a", 2, Stdout, 0, b"{}", 16),
            Write::Completed {
                transition: succeeded,
                outputs: json!({}).into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        read_output(store, "a", 2, Stdout, 0).await,
        Some((0, "{}".to_owned(), 0))
    );
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert!(
        !record.attempt_running(&"a".into(), 2),
        "a finished attempt writes no more"
    );

    // A batch refused whole keeps none of its output.
    let refused = store
        .write(vec![
            output("r1", "c", 1, Stdout, 0, b"lost", 16),
            running("c", 1),
            output("nope", "c", 1, Stdout, 0, b"lost", 16),
        ])
        .await;
    assert!(
        matches!(refused, Err(StoreError::UnknownRun { .. })),
        "{refused:?}"
    );
    assert_eq!(read_output(store, "c", 1, Stdout, 0).await, None);

    let mut listed: Vec<(String, u32, OutputStream, u64, u64)> = store
        .outputs(&"r1".into())
        .await
        .unwrap()
        .into_iter()
        .map(|info| {
            (
                info.task.to_string(),
                info.attempt,
                info.stream,
                info.cut,
                info.end,
            )
        })
        .collect();
    listed.sort();
    let n = text.len() as u64;
    assert_eq!(
        listed,
        [
            ("a".to_owned(), 1, Stdout, 40, 43),
            ("a".to_owned(), 1, Stderr, 0, 5),
            ("a".to_owned(), 2, Stdout, 0, 2),
            ("b".to_owned(), 1, Stderr, n - 4_096, n),
        ]
    );
    assert!(store.outputs(&"other".into()).await.unwrap().is_empty());
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
        async fn claims_and_releases() {
            let store = $make;
            $crate::conformance::claims_and_releases(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn leases_expire_and_only_the_owner_renews() {
            let store = $make;
            $crate::conformance::leases_expire_and_only_the_owner_renews(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn processes_until_the_run_ends() {
            let store = $make;
            $crate::conformance::processes_until_the_run_ends(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn spawned_children_in_order() {
            let store = $make;
            $crate::conformance::spawned_children_in_order(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn cache_entries() {
            let store = $make;
            $crate::conformance::cache_entries(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn cache_files_and_gc() {
            let store = $make;
            $crate::conformance::cache_files_and_gc(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn attempt_output() {
            let store = $make;
            $crate::conformance::attempt_output(&store).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn concurrent_writes_all_land() {
            let store = $make;
            $crate::conformance::concurrent_writes_all_land(std::sync::Arc::new(store)).await;
        }
    };
}
