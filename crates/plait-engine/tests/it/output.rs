//! What attempts write through their context (`ctx.log`, `ctx.write_output`) is recorded
//! in the store: per attempt, as it comes, cut to the run's limit.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use plait_core::{
    Flow, FnTask, OutputStream, Outputs, RetryPolicy, RunStatus, TaskError, Workflow,
};
use plait_engine::{Engine, RunOptions};
use plait_store::{MemoryStore, Store};

use crate::common::*;

/// What the store keeps of `task`'s attempt's stream in run `run_id`, as text, and how many
/// bytes were cut; `None` if it wrote nothing there.
async fn kept(
    store: &MemoryStore,
    run_id: &str,
    task: &str,
    attempt: u32,
    stream: OutputStream,
) -> Option<(String, u64)> {
    store
        .output(&run_id.into(), &task.into(), attempt, stream, 0)
        .await
        .unwrap()
        .map(|out| (String::from_utf8(out.bytes).unwrap(), out.cut))
}

/// Runs `plan` with no inputs, recorded in `store`.
async fn run_recorded(
    store: &MemoryStore,
    plan: &Arc<plait_core::Plan>,
    options: RunOptions,
) -> plait_engine::RunReport {
    Engine::new()
        .with_store(Arc::new(store.clone()))
        .run(plan, Vec::<(&str, i64)>::new(), options)
        .await
        .unwrap()
}

#[tokio::test]
async fn log_lines_are_kept_per_attempt() {
    let calls = Arc::new(AtomicU32::new(0));
    let task = FnTask::raw(ints(&[]), ints(&["x"]), move |ctx, _| {
        let call = calls.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            assert!(ctx.keeps_output(), "a run with a store keeps output");
            ctx.log(format!("attempt {call} starts"));
            ctx.write_output(OutputStream::Stdout, b"partial ");
            ctx.log("and ends\n");
            match call {
                1 => Err(TaskError::retryable("not yet")),
                _ => Ok(Outputs::new().set("x", 1)),
            }
        }
    });
    let flow = Flow::graph("main")
        .add(
            plait_core::TaskNode::new("a", task)
                .retry(RetryPolicy::attempts(2).with_backoff(Duration::ZERO)),
        )
        .task("quiet", sum_task(&[], &["y"]));
    let plan = plan(Workflow::new(flow));
    let store = MemoryStore::new();
    let report = run_recorded(&store, &plan, RunOptions::new().run_id("r")).await;
    assert_eq!(report.status, RunStatus::Succeeded);
    for attempt in [1, 2] {
        assert_eq!(
            kept(&store, "r", "a", attempt, OutputStream::Stderr).await,
            Some((format!("attempt {attempt} starts\nand ends\n"), 0)),
        );
        assert_eq!(
            kept(&store, "r", "a", attempt, OutputStream::Stdout).await,
            Some(("partial ".to_owned(), 0)),
        );
    }
    let listed = store.outputs(&"r".into()).await.unwrap();
    assert!(
        listed.iter().all(|info| info.task.as_str() == "a"),
        "a task that writes nothing has no output: {listed:?}"
    );
    assert_eq!(listed.len(), 4);
}

#[tokio::test]
async fn output_is_recorded_while_the_attempt_runs() {
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let released = Arc::new(std::sync::Mutex::new(Some(released)));
    let task = FnTask::raw(ints(&[]), ints(&["x"]), move |ctx, _| {
        let released = released.lock().unwrap().take();
        async move {
            ctx.log("early");
            if let Some(released) = released {
                let _ = released.await;
            }
            ctx.log("late");
            Ok(Outputs::new().set("x", 1))
        }
    });
    let plan = plan(Workflow::new(Flow::graph("main").task("a", task)));
    let store = MemoryStore::new();
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let run = tokio::spawn(async move {
        engine
            .run(
                &plan,
                Vec::<(&str, i64)>::new(),
                RunOptions::new().run_id("r"),
            )
            .await
            .unwrap()
    });
    // The flush interval is 200 ms: wait far longer before calling it lost.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        if let Some((text, _)) = kept(&store, "r", "a", 1, OutputStream::Stderr).await {
            assert_eq!(text, "early\n", "only what was written so far");
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the running attempt's output never reached the store"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let record = store.run(&"r".into()).await.unwrap().unwrap();
    assert!(record.attempt_running(&"a".into(), 1), "it still runs");
    release.send(()).unwrap();
    assert_eq!(run.await.unwrap().status, RunStatus::Succeeded);
    assert_eq!(
        kept(&store, "r", "a", 1, OutputStream::Stderr).await,
        Some(("early\nlate\n".to_owned(), 0)),
        "the rest is recorded with the end of the attempt"
    );
}

#[tokio::test]
async fn output_past_the_limit_keeps_its_end() {
    let task = FnTask::raw(ints(&[]), ints(&["x"]), move |ctx, _| async move {
        for n in 0..1_000 {
            ctx.log(format!("line {n:04}"));
        }
        Ok(Outputs::new().set("x", 1))
    });
    let plan = plan(Workflow::new(Flow::graph("main").task("a", task)));
    let store = MemoryStore::new();
    run_recorded(
        &store,
        &plan,
        RunOptions::new().run_id("r").output_limit(100),
    )
    .await;
    let (text, cut) = kept(&store, "r", "a", 1, OutputStream::Stderr)
        .await
        .unwrap();
    // Ten lines of ten bytes, out of a thousand.
    assert_eq!(cut, 9_900);
    assert_eq!(
        text,
        (990..1_000)
            .map(|n| format!("line {n:04}\n"))
            .collect::<String>()
    );
}

#[tokio::test]
async fn no_output_is_kept_without_a_store_or_with_a_zero_limit() {
    let task = || {
        FnTask::raw(ints(&[]), ints(&["x"]), move |ctx, _| async move {
            ctx.log("nobody keeps this");
            Ok(Outputs::new().set("x", i64::from(ctx.keeps_output())))
        })
    };
    let plan_of = || plan(Workflow::new(Flow::graph("main").task("a", task())));
    let report = Engine::new()
        .run(&plan_of(), Vec::<(&str, i64)>::new(), RunOptions::new())
        .await
        .unwrap();
    assert_eq!(report.output("x").and_then(|v| v.as_int()), Some(0));
    let store = MemoryStore::new();
    let options = RunOptions::new().run_id("r").output_limit(0);
    let report = run_recorded(&store, &plan_of(), options).await;
    assert_eq!(report.output("x").and_then(|v| v.as_int()), Some(0));
    assert!(store.outputs(&"r".into()).await.unwrap().is_empty());
}
