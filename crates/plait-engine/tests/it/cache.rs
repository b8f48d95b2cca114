//! The result cache: an unchanged re-run executes nothing, a changed input executes exactly
//! its downstream cone, an unchanged recomputed value stops the propagation, and failures,
//! reverted work, `cache(false)` and `no_cache` are never reused.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use plait_core::{Flow, FnTask, OnFailure, Outputs, Port, TaskError, Value, ValueType, Workflow};
use plait_engine::{Engine, RunOptions, RunReport};
use plait_store::{MemoryStore, RunId, Store};

use crate::common::*;

/// Names of the tasks that executed, in any order.
#[derive(Clone, Default)]
struct Executed(Arc<Mutex<Vec<String>>>);

impl Executed {
    fn take(&self) -> BTreeSet<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .collect()
    }
}

/// `out = f(sum of inputs)`, logging each execution under the task's path.
fn logged(executed: &Executed, requires: &[&str], provides: &str, f: fn(i64) -> i64) -> FnTask {
    let executed = executed.clone();
    let provides_name = provides.to_owned();
    FnTask::raw(ints(requires), ints(&[provides]), move |ctx, inputs| {
        executed.0.lock().unwrap().push(ctx.task().to_owned());
        let total: i64 = inputs.values().iter().filter_map(Value::as_int).sum();
        let outputs = Outputs::new().set(provides_name.as_str(), f(total));
        async move { Ok(outputs) }
    })
}

fn set(names: &[&str]) -> BTreeSet<String> {
    names.iter().map(|name| name.to_string()).collect()
}

/// Two independent branches joined at the end:
/// `a -> left -> double -> join`, `b -> right -> join`.
fn branches(executed: &Executed) -> Arc<plait_core::Plan> {
    let flow = Flow::graph("main")
        .task("left", logged(executed, &["a"], "l", |x| x + 1))
        .task("double", logged(executed, &["l"], "d", |x| x * 2))
        .task("right", logged(executed, &["b"], "r", |x| x + 10))
        .task("join", logged(executed, &["d", "r"], "out", |x| x));
    plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .input("b", ValueType::Int)
            .outputs(["out"]),
    )
}

async fn run(
    engine: &Engine,
    plan: &Arc<plait_core::Plan>,
    inputs: Vec<(&str, i64)>,
    options: RunOptions,
) -> RunReport {
    engine.run(plan, inputs, options).await.expect("inputs fit")
}

fn cached_engine() -> (Engine, MemoryStore) {
    let store = MemoryStore::new();
    (Engine::new().with_store(Arc::new(store.clone())), store)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_rerun_executes_nothing_and_a_change_only_its_cone() {
    let executed = Executed::default();
    let plan = branches(&executed);
    let (engine, store) = cached_engine();

    let first = run(&engine, &plan, vec![("a", 1), ("b", 2)], RunOptions::new()).await;
    assert_eq!(first.output("out"), Some(&Value::Int(16)));
    assert_eq!((first.executed(), first.cached()), (4, 0));
    assert_eq!(executed.take(), set(&["left", "double", "right", "join"]));

    let again = run(&engine, &plan, vec![("a", 1), ("b", 2)], RunOptions::new()).await;
    assert_eq!(again.output("out"), Some(&Value::Int(16)));
    assert_eq!((again.executed(), again.cached()), (0, 4));
    assert!(executed.take().is_empty());
    assert!(
        again
            .tasks
            .iter()
            .all(|task| task.cached && task.attempts == 0)
    );
    // Reuses are recorded too (with the run's end, as nothing executed).
    let recorded = store
        .run(&again.run_id.clone().into())
        .await
        .unwrap()
        .unwrap();
    assert!(
        recorded
            .tasks
            .iter()
            .all(|task| task.state == plait_core::TaskState::Succeeded && task.cached()),
        "{:?}",
        recorded.tasks
    );

    // `b` feeds only `right` and `join`.
    let changed = run(&engine, &plan, vec![("a", 1), ("b", 5)], RunOptions::new()).await;
    assert_eq!(changed.output("out"), Some(&Value::Int(19)));
    assert_eq!(executed.take(), set(&["right", "join"]));
    assert!(changed.task("left").unwrap().cached);

    // Back to an earlier input: every result is still there.
    let back = run(&engine, &plan, vec![("a", 1), ("b", 2)], RunOptions::new()).await;
    assert_eq!(back.output("out"), Some(&Value::Int(16)));
    assert!(executed.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recomputed_value_equal_to_the_old_one_stops_the_propagation() {
    let executed = Executed::default();
    let flow = Flow::graph("main")
        .task("parity", logged(&executed, &["a"], "p", |x| x % 2))
        .task("after", logged(&executed, &["p"], "q", |x| x + 100))
        .task("last", logged(&executed, &["q"], "out", |x| x));
    let plan = plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .outputs(["out"]),
    );
    let (engine, _store) = cached_engine();
    run(&engine, &plan, vec![("a", 2)], RunOptions::new()).await;
    executed.take();
    let report = run(&engine, &plan, vec![("a", 4)], RunOptions::new()).await;
    assert_eq!(executed.take(), set(&["parity"]), "4 % 2 == 2 % 2");
    assert_eq!(report.output("out"), Some(&Value::Int(100)));
    assert!(report.task("after").unwrap().cached);
}

/// Fails unless the store has recorded `provider`'s completion in this run.
fn checking_provider(store: MemoryStore, provider: &'static str) -> FnTask {
    FnTask::raw(ints(&["x"]), ints(&["y"]), move |ctx, inputs| {
        let (store, run_id) = (store.clone(), RunId::from(ctx.run_id()));
        let x = inputs.int("x");
        async move {
            let record = store.run(&run_id).await.unwrap().unwrap();
            let done = record.tasks.iter().any(|task| {
                task.task.as_str() == provider && task.state == plait_core::TaskState::Succeeded
            });
            if !done {
                return Err(TaskError::permanent(format!(
                    "`{provider}` was not recorded before its dependent ran"
                )));
            }
            Ok(Outputs::new().set("y", x? + 1))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reuse_is_recorded_before_a_dependent_executes() {
    let executed = Executed::default();
    let (engine, store) = cached_engine();
    let flow = Flow::linear("main")
        .task("first", logged(&executed, &["a"], "x", |x| x + 1))
        .add(
            plait_core::TaskNode::new("second", checking_provider(store.clone(), "first"))
                .cache(false),
        );
    let plan = plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .outputs(["y"]),
    );
    run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    let again = run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    assert!(again.task("first").unwrap().cached);
    assert_eq!(again.output("y"), Some(&Value::Int(3)), "{:?}", again.tasks);
}

/// Fails while `fail` is set.
fn switchable(fail: &Arc<AtomicBool>, executed: &Executed) -> FnTask {
    let (fail, executed) = (fail.clone(), executed.clone());
    FnTask::raw(ints(&["x"]), ints(&["y"]), move |ctx, inputs| {
        executed.0.lock().unwrap().push(ctx.task().to_owned());
        let result = match fail.load(Ordering::SeqCst) {
            true => Err(TaskError::permanent("switched off")),
            false => inputs.int("x").map(|x| Outputs::new().set("y", x + 1)),
        };
        async move { result }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_and_reverted_results_are_never_reused() {
    let executed = Executed::default();
    let fail = Arc::new(AtomicBool::new(true));
    let flow = Flow::linear("main")
        .task("first", logged(&executed, &["a"], "x", |x| x + 1))
        .task("second", switchable(&fail, &executed));
    let plan = plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .outputs(["y"])
            .on_failure(OnFailure::Revert),
    );
    let (engine, store) = cached_engine();
    let failed = run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(failed.status, plait_core::RunStatus::Reverted);
    assert_eq!(executed.take(), set(&["first", "second"]));
    assert_eq!(
        store.cache_stats().await.unwrap().entries,
        0,
        "`first` was reverted, `second` failed: neither result stands"
    );

    fail.store(false, Ordering::SeqCst);
    let fixed = run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(fixed.output("y"), Some(&Value::Int(3)));
    assert_eq!(executed.take(), set(&["first", "second"]));
    let again = run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(again.cached(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_false_no_cache_and_versions_force_execution() {
    let executed = Executed::default();
    let build = |version: &str| {
        let flow = Flow::graph("main")
            .add(
                plait_core::TaskNode::new("clock", logged(&executed, &["a"], "t", |x| x))
                    .cache(false),
            )
            .add(
                plait_core::TaskNode::new("pure", logged(&executed, &["a"], "p", |x| x))
                    .version(version),
            );
        plan(
            Workflow::new(flow)
                .input("a", ValueType::Int)
                .outputs(["t", "p"]),
        )
    };
    let (engine, store) = cached_engine();
    let v1 = build("1");
    run(&engine, &v1, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(executed.take(), set(&["clock", "pure"]));
    run(&engine, &v1, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(
        executed.take(),
        set(&["clock"]),
        "`cache(false)` always runs"
    );

    let forced = run(
        &engine,
        &v1,
        vec![("a", 1)],
        RunOptions::new().no_cache(true),
    )
    .await;
    assert_eq!(executed.take(), set(&["clock", "pure"]));
    assert_eq!(forced.cached(), 0);
    run(&engine, &v1, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(
        executed.take(),
        set(&["clock"]),
        "`no_cache` refreshed the result"
    );

    run(&engine, &build("2"), vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(executed.take(), set(&["clock", "pure"]), "a new version");

    // The record says why each task ran or was reused.
    let runs = store.runs().await.unwrap();
    let latest = store.run(&runs[0].run_id).await.unwrap().unwrap();
    let clock = latest
        .tasks
        .iter()
        .find(|t| t.task.as_str() == "clock")
        .unwrap();
    let key = clock.key.as_ref().unwrap();
    assert_eq!(key.key, None);
    assert_eq!(
        key.components_json()["disabled"],
        "`cache = false` on the task"
    );
    let pure = latest
        .tasks
        .iter()
        .find(|t| t.task.as_str() == "pure")
        .unwrap();
    let components = pure.key.as_ref().unwrap().components_json();
    assert_eq!(components["version"], "2");
    assert_eq!(components["inputs"]["a"]["from"], "input a");
}

/// Writes `n` into `<dir>/<n>.txt` and provides that file.
fn file_writer(dir: &std::path::Path, executed: &Executed) -> FnTask {
    let (dir, executed) = (dir.to_path_buf(), executed.clone());
    FnTask::raw(
        ints(&["n"]),
        vec![Port::new("file", ValueType::File)],
        move |ctx, inputs| {
            executed.0.lock().unwrap().push(ctx.task().to_owned());
            let result = inputs.int("n").and_then(|n| {
                let path = dir.join(format!("{n}.txt"));
                std::fs::write(&path, format!("content {n}"))
                    .map_err(|e| TaskError::permanent(e.to_string()))?;
                Ok(Outputs::new().set("file", path))
            });
            async move { result }
        },
    )
}

/// Provides the length of the file it is given.
fn file_reader(executed: &Executed) -> FnTask {
    let executed = executed.clone();
    FnTask::raw(
        vec![Port::new("file", ValueType::File)],
        ints(&["len"]),
        move |ctx, inputs| {
            executed.0.lock().unwrap().push(ctx.task().to_owned());
            let len = inputs
                .require("file")
                .map(|file| std::fs::metadata(file.as_path().unwrap()).unwrap().len() as i64);
            async move { len.map(|len| Outputs::new().set("len", len)) }
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_outputs_are_restored_and_file_inputs_hashed_by_content() {
    let dir = tempfile::tempdir().unwrap();
    let executed = Executed::default();
    let flow = Flow::linear("main")
        .task("write", file_writer(dir.path(), &executed))
        .task("read", file_reader(&executed));
    let plan = plan(
        Workflow::new(flow)
            .input("n", ValueType::Int)
            .outputs(["len"]),
    );
    let (engine, _store) = cached_engine();
    run(&engine, &plan, vec![("n", 7)], RunOptions::new()).await;
    executed.take();

    // The file is gone: a hit puts it back, and nothing runs.
    let path = dir.path().join("7.txt");
    std::fs::remove_file(&path).unwrap();
    let report = run(&engine, &plan, vec![("n", 7)], RunOptions::new()).await;
    assert!(executed.take().is_empty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "content 7");
    assert_eq!(report.output("len"), Some(&Value::Int(9)));

    // A file input is known by its content, not its path or its timestamp.
    let input_flow = Flow::linear("main").task("read", file_reader(&executed));
    let reads = plan_with_file_input(input_flow);
    let input = dir.path().join("input.txt");
    std::fs::write(&input, "abc").unwrap();
    let file_inputs = || vec![("file", Value::file(&input))];
    engine
        .run(&reads, file_inputs(), RunOptions::new())
        .await
        .unwrap();
    std::fs::write(&input, "abc").unwrap();
    let same = engine
        .run(&reads, file_inputs(), RunOptions::new())
        .await
        .unwrap();
    assert!(
        same.task("read").unwrap().cached,
        "rewritten with the same content"
    );
    std::fs::write(&input, "abcd").unwrap();
    let changed = engine
        .run(&reads, file_inputs(), RunOptions::new())
        .await
        .unwrap();
    assert!(!changed.task("read").unwrap().cached);
    assert_eq!(changed.output("len"), Some(&Value::Int(4)));
    assert_eq!(executed.take(), set(&["read"]));
}

fn plan_with_file_input(flow: Flow) -> Arc<plait_core::Plan> {
    plan(
        Workflow::new(flow)
            .input("file", ValueType::File)
            .outputs(["len"]),
    )
}

/// Entries are written in batches; a run stopped before its batch was written leaves them
/// to its resume, which queues the recorded completions again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn results_completed_before_an_interruption_are_cached_by_the_resume() {
    let executed = Executed::default();
    let flow = Flow::linear("main")
        .task("first", logged(&executed, &["a"], "x", |x| x + 1))
        .task("second", logged(&executed, &["x"], "y", |x| x * 2));
    let plan = plan(
        Workflow::new(flow)
            .input("a", ValueType::Int)
            .outputs(["y"]),
    );
    let inner = MemoryStore::new();
    // Recorded: `first`'s intent, then its completion with `second`'s intent; `second`'s
    // completion is not.
    let failing = Failing {
        inner: inner.clone(),
        ok: 2,
        writes: std::sync::atomic::AtomicUsize::new(0),
    };
    let interrupted = Engine::new()
        .with_store(Arc::new(failing))
        .run(&plan, vec![("a", 1)], RunOptions::new().run_id("r1"))
        .await;
    assert!(interrupted.is_err(), "the store failed");
    assert_eq!(executed.take(), set(&["first", "second"]));
    assert_eq!(inner.cache_stats().await.unwrap().entries, 0);

    let engine = Engine::new().with_store(Arc::new(inner.clone()));
    let record = inner.run(&"r1".into()).await.unwrap().unwrap();
    let resumed = engine
        .resume(&plan, &record, RunOptions::new())
        .await
        .unwrap();
    assert_eq!(resumed.output("y"), Some(&Value::Int(4)));
    assert_eq!(executed.take(), set(&["second"]));

    let again = run(&engine, &plan, vec![("a", 1)], RunOptions::new()).await;
    assert_eq!(again.cached(), 2, "both results were kept");
    assert!(executed.take().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_store_nothing_is_cached() {
    let executed = Executed::default();
    let plan = branches(&executed);
    let engine = Engine::new();
    run(&engine, &plan, vec![("a", 1), ("b", 2)], RunOptions::new()).await;
    let again = run(&engine, &plan, vec![("a", 1), ("b", 2)], RunOptions::new()).await;
    assert_eq!(again.executed(), 4);
    assert_eq!(executed.take().len(), 4);
}

/// Checks, as each event arrives, that a `succeeded` is already in the store.
struct SeenOnlyOnceRecorded {
    store: MemoryStore,
    seen: Mutex<usize>,
    early: Mutex<Vec<String>>,
}

impl plait_engine::Observer for SeenOnlyOnceRecorded {
    fn on_event(&self, event: &plait_engine::Event) {
        use futures::FutureExt;
        if event.state != plait_core::TaskState::Succeeded {
            return;
        }
        *self.seen.lock().unwrap() += 1;
        // The memory store answers at once.
        let record = self
            .store
            .run(&event.run_id.clone().into())
            .now_or_never()
            .expect("the memory store answers at once")
            .unwrap()
            .unwrap();
        let recorded = record.tasks.iter().any(|task| {
            task.task.as_str() == &*event.task && task.state == plait_core::TaskState::Succeeded
        });
        if !recorded {
            self.early.lock().unwrap().push(event.task.to_string());
        }
    }
}

/// Completions and reuses are committed with the next task's intent or in batches; what an
/// observer (the CLI's progress) is told has succeeded is always already durable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_observer_sees_a_success_only_once_it_is_recorded() {
    let executed = Executed::default();
    let plan = branches(&executed);
    let (engine, store) = cached_engine();
    let observer = Arc::new(SeenOnlyOnceRecorded {
        store: store.clone(),
        seen: Mutex::new(0),
        early: Mutex::new(Vec::new()),
    });
    for b in [2, 2, 5] {
        let options = RunOptions::new().observer(observer.clone());
        run(&engine, &plan, vec![("a", 1), ("b", b)], options).await;
    }
    assert_eq!(*observer.seen.lock().unwrap(), 12, "4 tasks, 3 runs");
    assert!(
        observer.early.lock().unwrap().is_empty(),
        "shown before recorded: {:?}",
        observer.early.lock().unwrap()
    );
}
