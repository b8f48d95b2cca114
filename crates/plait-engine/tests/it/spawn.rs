//! Tasks that spawn children: scheduling without deadlock, keys, errors, revert order.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use plait_core::{
    Flow, FnTask, Outputs, RetryPolicy, RunStatus, Spawn, TaskError, TaskNode, TaskState, Workflow,
};
use plait_engine::{Engine, RunOptions, TokioClock};
use plait_store::MemoryStore;

use crate::common::*;

/// Provides `sq` = `n * n`, counting its executions.
fn square(calls: &Arc<AtomicU32>) -> FnTask {
    let calls = calls.clone();
    FnTask::raw(ints(&["n"]), ints(&["sq"]), move |_, inputs| {
        calls.fetch_add(1, Ordering::SeqCst);
        let n = inputs.int("n");
        async move {
            let n = n?;
            Ok(Outputs::new().set("sq", n * n))
        }
    })
}

/// Spawns `square` for 1..=count (keys given when `keyed`) and provides the sum.
fn summing_parent(count: i64, keyed: bool) -> FnTask {
    FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| async move {
        let spawns = (1..=count).map(|n| {
            let spawn = Spawn::new("square").input("n", n);
            if keyed {
                spawn.key(format!("n{n}"))
            } else {
                spawn
            }
        });
        let mut total = 0;
        for result in ctx.spawn_all(spawns).await? {
            total += result?.get("sq").and_then(|v| v.as_int()).unwrap_or(0);
        }
        Ok(Outputs::new().set("total", total))
    })
}

fn workflow(parent: FnTask, calls: &Arc<AtomicU32>) -> Workflow {
    Workflow::new(Flow::graph("main").add(TaskNode::new("parent", parent).spawns("square")))
        .spawnable(TaskNode::new("square", square(calls)))
}

fn total(report: &plait_engine::RunReport) -> Option<i64> {
    report
        .outputs
        .iter()
        .find(|(name, _)| &**name == "total")
        .and_then(|(_, value)| value.as_int())
}

#[tokio::test]
async fn a_parent_waiting_for_children_gives_its_only_job_back() {
    let calls = Arc::new(AtomicU32::new(0));
    let plan = plan(workflow(summing_parent(5, false), &calls));
    let (report, _) = run_with(&plan, vec![], 1).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(total(&report), Some(1 + 4 + 9 + 16 + 25));
    assert_eq!(calls.load(Ordering::SeqCst), 5);
    let children: Vec<&str> = report
        .tasks
        .iter()
        .map(|task| &*task.path)
        .filter(|path| path.starts_with("parent/"))
        .collect();
    assert_eq!(children.len(), 5);
    for path in children {
        let key = path.strip_prefix("parent/square#").expect("a derived key");
        assert!(
            key.len() == 8 && key.chars().all(|c| c.is_ascii_hexdigit()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn with_a_store_and_one_job_children_run_in_the_lent_slot() {
    let calls = Arc::new(AtomicU32::new(0));
    let plan = plan(workflow(summing_parent(4, true), &calls));
    let store = Arc::new(MemoryStore::new());
    let engine = Engine::new()
        .with_jobs(1)
        .with_clock(Arc::new(TokioClock::from_epoch()))
        .with_store(store.clone());
    let report = engine
        .run(
            &plan,
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r"),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(total(&report), Some(1 + 4 + 9 + 16));
    let record = plait_store::Store::run(&*store, &"r".into())
        .await
        .unwrap()
        .unwrap();
    let mut paths: Vec<&str> = record.tasks.iter().map(|t| t.task.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["parent", "parent/n1", "parent/n2", "parent/n3", "parent/n4"]
    );
    assert!(record.tasks.iter().all(|t| t.state == TaskState::Succeeded));
}

#[tokio::test]
async fn a_retried_parent_finds_the_children_it_spawned_before() {
    let calls = Arc::new(AtomicU32::new(0));
    let tries = Arc::new(AtomicU32::new(0));
    let parent = {
        let tries = tries.clone();
        FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| {
            let first = tries.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                let children: Vec<_> = (1..=3)
                    .map(|n| ctx.spawn(Spawn::new("square").input("n", n)))
                    .collect::<Result<_, _>>()?;
                let results = ctx.join_all(&children).await;
                if first {
                    return Err(TaskError::retryable("flaked after its children"));
                }
                let total = results
                    .into_iter()
                    .map(|r| r.unwrap().get("sq").and_then(|v| v.as_int()).unwrap())
                    .sum::<i64>();
                Ok(Outputs::new().set("total", total))
            }
        })
    };
    let workflow = Workflow::new(
        Flow::graph("main").add(
            TaskNode::new("parent", parent)
                .spawns("square")
                .retry(RetryPolicy::attempts(2)),
        ),
    )
    .spawnable(TaskNode::new("square", square(&calls)));
    let (report, _) = run_with(&plan(workflow), vec![], 2).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(total(&report), Some(14));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "each child ran once");
}

#[tokio::test]
async fn spawning_what_was_not_declared_fails_the_parent() {
    let calls = Arc::new(AtomicU32::new(0));
    let parent = FnTask::raw(ints(&[]), ints(&["total"]), |ctx, _| async move {
        ctx.spawn(Spawn::new("cube").input("n", 2))?;
        Ok(Outputs::new().set("total", 0))
    });
    let (report, _) = run_with(&plan(workflow(parent, &calls)), vec![], 1).await;
    assert_eq!(report.status, RunStatus::Reverted);
    let error = report.tasks[0].error.as_ref().unwrap().to_string();
    assert!(
        error.contains("spawned `cube`, which it does not declare"),
        "{error}"
    );
}

#[tokio::test]
async fn a_child_given_the_wrong_inputs_fails_its_parent_with_what_it_takes() {
    let calls = Arc::new(AtomicU32::new(0));
    for (spawn, expected) in [
        (Spawn::new("square"), "without its input `n` (int)"),
        (
            Spawn::new("square").input("n", "two"),
            "as string, but it takes int",
        ),
        (
            Spawn::new("square").input("n", 2).input("m", 3),
            "an input `m` it does not require; it requires: n",
        ),
        (Spawn::new("square").input("n", 2).key("a/b"), "has no `/`"),
    ] {
        let parent = FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| {
            let spawn = spawn.clone();
            async move {
                ctx.spawn(spawn)?;
                Ok(Outputs::new().set("total", 0))
            }
        });
        let (report, _) = run_with(&plan(workflow(parent, &calls)), vec![], 1).await;
        let error = report.tasks[0].error.as_ref().unwrap().to_string();
        assert!(error.contains(expected), "{error}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0);
}

#[test]
fn compile_refuses_a_declared_child_no_spawnable_has() {
    let calls = Arc::new(AtomicU32::new(0));
    let workflow = Workflow::new(
        Flow::graph("main").add(TaskNode::new("parent", summing_parent(1, false)).spawns("cube")),
    )
    .spawnable(TaskNode::new("square", square(&calls)));
    let invalid = plait_core::compile(&workflow).unwrap_err();
    let messages: Vec<String> = invalid
        .diagnostics
        .iter()
        .map(|d| d.message.clone())
        .collect();
    assert_eq!(
        messages,
        ["task `parent` may spawn `cube`, but no spawnable task has that name"]
    );
}

/// The reverts, in order, when a task after `parent` fails; `parent` spawns `square`s,
/// which count their executions in `calls`.
async fn reverts_after(parent: FnTask, calls: &Arc<AtomicU32>) -> Vec<String> {
    let reverts = EventLogLines::new();
    let parent = with_logged_revert(parent, &reverts, false);
    let child = with_logged_revert(square(calls), &reverts, false);
    let workflow = Workflow::new(
        Flow::graph("main")
            .add(TaskNode::new("parent", parent).spawns("square"))
            .task("last", failing_task(&["total"], &["z"], "last broke")),
    )
    .spawnable(TaskNode::new("square", child));
    let (report, _) = run_with(&plan(workflow), vec![], 4).await;
    assert_eq!(report.status, RunStatus::Reverted);
    reverts.lines()
}

/// Children `c1`, `c2`, `c3`, spawned in that order, then their parent.
const NEWEST_FIRST: [&str; 4] = [
    "revert parent/c3 (succeeded)",
    "revert parent/c2 (succeeded)",
    "revert parent/c1 (succeeded)",
    "revert parent (succeeded)",
];

#[tokio::test(start_paused = true)]
async fn children_are_reverted_newest_first_before_their_parent() {
    let parent = FnTask::raw(ints(&[]), ints(&["total"]), |ctx, _| async move {
        for n in 1..=3 {
            let child = ctx.spawn(Spawn::new("square").input("n", n).key(format!("c{n}")))?;
            ctx.join(&child).await?;
        }
        Ok(Outputs::new().set("total", 1))
    });
    let reverts = reverts_after(parent, &Arc::new(AtomicU32::new(0))).await;
    assert_eq!(reverts, NEWEST_FIRST);
}

/// `spawn_many` is spawning each in turn, in one step: a key spawned before, or earlier in
/// the batch, finds its child; the children are reverted newest first; a batch with a child
/// that cannot be spawned adds none.
#[tokio::test(start_paused = true)]
async fn a_batch_of_children_keeps_keys_and_revert_order() {
    let keyed = |n: i64| Spawn::new("square").input("n", n).key(format!("c{n}"));
    let parent = FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| async move {
        let first = ctx.spawn(keyed(1))?;
        let refused = ctx.spawn_many([keyed(4), Spawn::new("cube")]);
        assert!(refused.is_err(), "`cube` is not declared");
        let batch = ctx.spawn_many([keyed(2), keyed(1), keyed(3), keyed(2)])?;
        let paths: Vec<&str> = batch.iter().map(|child| &**child.path()).collect();
        assert_eq!(paths, ["parent/c2", "parent/c1", "parent/c3", "parent/c2"]);
        assert_eq!((&batch[1], &batch[0]), (&first, &batch[3]));
        let mut total = 0;
        for result in ctx.join_all(&batch).await {
            total += result?.get("sq").and_then(|v| v.as_int()).unwrap_or(0);
        }
        Ok(Outputs::new().set("total", total))
    });
    let calls = Arc::new(AtomicU32::new(0));
    let reverts = reverts_after(parent, &calls).await;
    assert_eq!(calls.load(Ordering::SeqCst), 3, "c4 was not added");
    assert_eq!(reverts, NEWEST_FIRST);
}

#[tokio::test]
async fn a_parent_that_runs_again_must_spawn_the_same_task_under_a_key() {
    let calls = Arc::new(AtomicU32::new(0));
    let tries = Arc::new(AtomicU32::new(0));
    let parent = {
        let tries = tries.clone();
        FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| {
            let task = match tries.fetch_add(1, Ordering::SeqCst) {
                0 => "square",
                _ => "cube",
            };
            async move {
                let child = ctx.spawn(Spawn::new(task).input("n", 2).key("k"))?;
                ctx.join(&child).await?;
                Err(TaskError::retryable("try again"))
            }
        })
    };
    let workflow = Workflow::new(
        Flow::graph("main").add(
            TaskNode::new("parent", parent)
                .spawns("square")
                .spawns("cube")
                .retry(RetryPolicy::attempts(2)),
        ),
    )
    .spawnable(TaskNode::new("square", square(&calls)))
    .spawnable(TaskNode::new("cube", square(&calls)));
    let (report, _) = run_with(&plan(workflow), vec![], 1).await;
    let error = report.tasks[0].error.as_ref().unwrap().to_string();
    assert!(
        error.contains("child `parent/k` is `square` in this run, but `parent` spawned `cube`"),
        "{error}"
    );
}

/// Runs `plan` with `store` until `stop` is notified, then drops the run (as a killed
/// process leaves it); returns the record it left.
async fn interrupted(
    plan: &Arc<plait_core::Plan>,
    store: &Arc<MemoryStore>,
    stop: Arc<tokio::sync::Notify>,
) -> plait_store::RunRecord {
    let engine = Engine::new().with_jobs(2).with_store(store.clone());
    tokio::select! {
        report = engine.run(plan, Vec::<(&str, i64)>::new(), RunOptions::new().run_id("r")) => {
            panic!("the run ended: {:?}", report.map(|report| report.status))
        }
        () = stop.notified() => {}
    }
    // Let the dropped run let go of its record.
    for _ in 0..100 {
        let record = plait_store::Store::run(&**store, &"r".into())
            .await
            .unwrap()
            .unwrap();
        if record.summary.state == plait_store::RunState::Interrupted {
            return record;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("the dropped run kept its record");
}

/// Counts executions by child path; `hold` (a path) waits until `open` is set.
#[derive(Default)]
struct Executions {
    counts: std::sync::Mutex<std::collections::BTreeMap<String, u32>>,
    open: std::sync::atomic::AtomicBool,
    done: tokio::sync::Notify,
}

fn counted_child(
    executions: &Arc<Executions>,
    hold: &'static str,
    reverts: &Arc<EventLogLines>,
) -> FnTask {
    let executions = executions.clone();
    let task = FnTask::raw(ints(&["n"]), ints(&["sq"]), move |ctx, inputs| {
        let executions = executions.clone();
        let n = inputs.int("n");
        async move {
            let n = n?;
            let count = {
                let mut counts = executions.counts.lock().unwrap();
                let count = counts.entry(ctx.task().to_owned()).or_default();
                *count += 1;
                counts
                    .keys()
                    .filter(|path| path.starts_with("parent/"))
                    .count()
            };
            if count == 3 {
                executions.done.notify_one();
            }
            if ctx.task() == hold && !executions.open.load(Ordering::SeqCst) {
                std::future::pending::<()>().await;
            }
            Ok(Outputs::new().set("sq", n * n))
        }
    });
    with_logged_revert(task, reverts, false)
}

fn counted_parent(executions: &Arc<Executions>, reverts: &Arc<EventLogLines>) -> FnTask {
    let executions = executions.clone();
    let task = FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| {
        *executions
            .counts
            .lock()
            .unwrap()
            .entry("parent".to_owned())
            .or_default() += 1;
        async move {
            let spawns = (1..=3).map(|n| Spawn::new("square").input("n", n).key(format!("c{n}")));
            let mut total = 0;
            for result in ctx.spawn_all(spawns).await? {
                total += result?.get("sq").and_then(|v| v.as_int()).unwrap_or(0);
            }
            Ok(Outputs::new().set("total", total))
        }
    });
    with_logged_revert(task, reverts, false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_parent_runs_only_the_children_that_did_not_finish() {
    let executions = Arc::new(Executions::default());
    let reverts = EventLogLines::new();
    let workflow = Workflow::new(
        Flow::graph("main")
            .add(TaskNode::new("parent", counted_parent(&executions, &reverts)).spawns("square")),
    )
    .spawnable(TaskNode::new(
        "square",
        counted_child(&executions, "parent/c2", &reverts),
    ));
    let plan = plan(workflow);
    let store = Arc::new(MemoryStore::new());
    // Stopped once every child started and all but `c2` finished.
    let done = Arc::new(tokio::sync::Notify::new());
    let stop = done.clone();
    let watcher = {
        let (executions, store) = (executions.clone(), store.clone());
        tokio::spawn(async move {
            executions.done.notified().await;
            // Until the two children that finished are recorded so.
            loop {
                let record = plait_store::Store::run(&*store, &"r".into())
                    .await
                    .unwrap()
                    .unwrap();
                let finished = record
                    .tasks
                    .iter()
                    .filter(|task| task.state == TaskState::Succeeded)
                    .count();
                if finished == 2 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            done.notify_one();
        })
    };
    let record = interrupted(&plan, &store, stop).await;
    watcher.await.unwrap();
    let spawned: Vec<&str> = record.spawned.iter().map(|c| c.task.as_str()).collect();
    assert_eq!(spawned.len(), 3, "{spawned:?}");

    executions.open.store(true, Ordering::SeqCst);
    let engine = Engine::new().with_jobs(1).with_store(store.clone());
    let report = engine
        .resume(&plan, &record, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(total(&report), Some(1 + 4 + 9));
    let counts = executions.counts.lock().unwrap().clone();
    assert_eq!(
        counts.into_iter().collect::<Vec<_>>(),
        [
            ("parent".to_owned(), 2),
            ("parent/c1".to_owned(), 1),
            ("parent/c2".to_owned(), 2),
            ("parent/c3".to_owned(), 1),
        ]
    );
    assert!(reverts.lines().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn children_restored_by_a_resume_are_reverted_newest_first_before_their_parent() {
    let executions = Arc::new(Executions::default());
    executions.open.store(true, Ordering::SeqCst);
    let reverts = EventLogLines::new();
    // `last` waits for the parent's total and holds until the run is dropped; resumed, it
    // fails.
    let resumed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let last = {
        let resumed = resumed.clone();
        let executions = executions.clone();
        FnTask::raw(ints(&["total"]), ints(&["z"]), move |_, _| {
            let resumed = resumed.load(Ordering::SeqCst);
            let executions = executions.clone();
            async move {
                if !resumed {
                    executions.done.notify_one();
                    std::future::pending::<()>().await;
                }
                Err(TaskError::permanent("last broke"))
            }
        })
    };
    let workflow = Workflow::new(
        Flow::graph("main")
            .add(TaskNode::new("parent", counted_parent(&executions, &reverts)).spawns("square"))
            .task("last", last),
    )
    .spawnable(TaskNode::new(
        "square",
        counted_child(&executions, "", &reverts),
    ));
    let plan = plan(workflow);
    let store = Arc::new(MemoryStore::new());
    let stop = Arc::new(tokio::sync::Notify::new());
    let watcher = {
        let (executions, stop) = (executions.clone(), stop.clone());
        tokio::spawn(async move {
            // Once for the children, once for `last`.
            executions.done.notified().await;
            executions.done.notified().await;
            stop.notify_one();
        })
    };
    let record = interrupted(&plan, &store, stop).await;
    watcher.await.unwrap();
    resumed.store(true, Ordering::SeqCst);
    let engine = Engine::new().with_jobs(2).with_store(store.clone());
    let report = engine
        .resume(&plan, &record, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Reverted);
    assert_eq!(
        reverts.lines(),
        [
            "revert parent/c3 (succeeded)",
            "revert parent/c2 (succeeded)",
            "revert parent/c1 (succeeded)",
            "revert parent (succeeded)",
        ]
    );
    let counts = executions.counts.lock().unwrap().clone();
    assert!(counts.values().all(|&count| count == 1), "{counts:?}");
}

/// Tracks how many tasks execute at once.
#[derive(Default)]
struct Concurrency {
    now: AtomicU32,
    most: AtomicU32,
}

fn sleeper(concurrency: &Arc<Concurrency>, provides: &'static str) -> FnTask {
    let concurrency = concurrency.clone();
    FnTask::raw(ints(&[]), ints(&[provides]), move |_, _| {
        let concurrency = concurrency.clone();
        async move {
            let now = concurrency.now.fetch_add(1, Ordering::SeqCst) + 1;
            concurrency.most.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            concurrency.now.fetch_sub(1, Ordering::SeqCst);
            Ok(Outputs::new().set(provides, 1))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_parent_that_times_out_while_waiting_gives_the_lent_slot_back() {
    for with_store in [false, true] {
        let concurrency = Arc::new(Concurrency::default());
        let parent = FnTask::raw(ints(&[]), ints(&["total"]), |ctx, _| async move {
            let child = ctx.spawn(Spawn::new("slow").key("slow"))?;
            ctx.join(&child).await?;
            Ok(Outputs::new().set("total", 1))
        });
        let mut flow = Flow::graph("main").add(
            TaskNode::new("parent", parent)
                .spawns("slow")
                .timeout(std::time::Duration::from_millis(100)),
        );
        for name in ["a", "b", "c", "d"] {
            flow = flow.add(TaskNode::new(name, sleeper(&concurrency, name)));
        }
        let workflow = Workflow::new(flow)
            .on_failure(plait_core::OnFailure::Continue)
            .spawnable(TaskNode::new("slow", sleeper(&concurrency, "done")));
        let mut engine = Engine::new()
            .with_jobs(1)
            .with_clock(Arc::new(TokioClock::from_epoch()));
        if with_store {
            engine = engine.with_store(Arc::new(MemoryStore::new()));
        }
        let report = engine
            .run(
                &plan(workflow),
                Vec::<(&str, i64)>::new(),
                RunOptions::new(),
            )
            .await
            .unwrap();
        let parent = report.tasks.iter().find(|t| &*t.path == "parent").unwrap();
        assert!(parent.error.as_ref().unwrap().is_timeout(), "{parent:?}");
        // The child is cancelled with its parent; the other four ran.
        let child = report
            .tasks
            .iter()
            .find(|t| &*t.path == "parent/slow")
            .unwrap();
        assert_eq!(child.state, TaskState::Cancelled);
        let succeeded = report
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Succeeded);
        assert_eq!(succeeded.count(), 4);
        // Without a store the runner goes back at once. With one, the lent slot is taken
        // back when one is free, and the parent's own may go first to a task waiting for
        // it: for that while, one task more runs.
        let most = if with_store { 2 } else { 1 };
        assert!(
            concurrency.most.load(Ordering::SeqCst) <= most,
            "store: {with_store}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn children_are_cancelled_with_their_parent_and_a_retry_runs_them_again() {
    let runs = Arc::new(AtomicU32::new(0));
    let slow_once = {
        let runs = runs.clone();
        FnTask::raw(ints(&[]), ints(&["done"]), move |_, _| {
            let first = runs.fetch_add(1, Ordering::SeqCst) == 0;
            async move {
                if first {
                    tokio::time::sleep(std::time::Duration::from_secs(10)).await;
                }
                Ok(Outputs::new().set("done", 1))
            }
        })
    };
    let parent = FnTask::raw(ints(&[]), ints(&["total"]), |ctx, _| async move {
        let child = ctx.spawn(Spawn::new("slow").key("slow"))?;
        ctx.join(&child).await?;
        Ok(Outputs::new().set("total", 1))
    });
    let workflow = Workflow::new(
        Flow::graph("main").add(
            TaskNode::new("parent", parent)
                .spawns("slow")
                .timeout(std::time::Duration::from_secs(1))
                .retry(RetryPolicy::attempts(2)),
        ),
    )
    .spawnable(TaskNode::new("slow", slow_once));
    let (report, log) = run_with(&plan(workflow), vec![], 2).await;
    assert_eq!(report.status, RunStatus::Succeeded, "{report:?}");
    assert_eq!(
        runs.load(Ordering::SeqCst),
        2,
        "the cancelled child ran again"
    );
    let child_states: Vec<TaskState> = log
        .events()
        .iter()
        .filter(|event| &*event.task == "parent/slow")
        .map(|event| event.state)
        .collect();
    assert!(
        child_states.contains(&TaskState::Cancelled),
        "{child_states:?}"
    );
    assert_eq!(child_states.last(), Some(&TaskState::Succeeded));
}

#[tokio::test]
async fn a_child_given_rust_values_needs_a_key() {
    use plait_core::{NativeType, Port, Value, ValueType};
    let native = ValueType::Native(NativeType::of::<u8>());
    for ty in [native.clone(), ValueType::list(native.clone())] {
        let child = FnTask::raw(
            vec![Port::new("x", ty.clone())],
            ints(&["done"]),
            |_, _| async { Ok(Outputs::new().set("done", 1)) },
        );
        let value = match &ty {
            ValueType::List(element) => Value::list(element.clone(), vec![Value::native(1u8)]),
            _ => Value::native(1u8),
        };
        let parent = FnTask::raw(ints(&[]), ints(&["total"]), move |ctx, _| {
            let value = value.clone();
            async move {
                ctx.spawn(Spawn::new("child").input("x", value))?;
                Ok(Outputs::new().set("total", 0))
            }
        });
        let workflow =
            Workflow::new(Flow::graph("main").add(TaskNode::new("parent", parent).spawns("child")))
                .spawnable(TaskNode::new("child", child));
        let (report, _) = run_with(&plan(workflow), vec![], 1).await;
        let error = report.tasks[0].error.as_ref().unwrap().to_string();
        assert!(
            error.contains("give the child a key with `Spawn::key`"),
            "{ty}: {error}"
        );
    }
}
