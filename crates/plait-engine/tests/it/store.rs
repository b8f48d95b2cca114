//! Runs recorded in a store: intent before execution, completion before dependents, every
//! transition; and a failing store stops the run without reporting unrecorded work as done.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plait_core::{Flow, FnTask, Outputs, RunStatus, TaskError, TaskState, Value, Workflow};
use plait_engine::{Engine, RunDefinition, RunError, RunOptions};
use plait_store::{MemoryStore, RunState, Store, StoreError};

use crate::common::*;

/// `b` looks in the store while it runs: its own intent and `a`'s completion must be there.
fn inspecting_task(store: MemoryStore, run_id: &'static str) -> FnTask {
    FnTask::raw(ints(&["x"]), ints(&["y"]), move |_, inputs| {
        let store = store.clone();
        let x = inputs.int("x");
        async move {
            let record = store
                .run(&run_id.into())
                .await
                .map_err(|e| TaskError::permanent(e.to_string()))?
                .unwrap();
            let a = record
                .tasks
                .iter()
                .find(|t| t.task.as_str() == "a")
                .unwrap();
            let b = record
                .tasks
                .iter()
                .find(|t| t.task.as_str() == "b")
                .unwrap();
            if a.state != TaskState::Succeeded || a.outputs != Some(serde_json::json!({"x": 1})) {
                return Err(TaskError::permanent(format!(
                    "`a` not recorded before `b` ran: {a:?}"
                )));
            }
            if b.state != TaskState::Running {
                return Err(TaskError::permanent(format!(
                    "`b` ran before its intent was recorded: {b:?}"
                )));
            }
            Ok(Outputs::new().set("y", x? + 1))
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intent_and_completion_are_recorded_before_anyone_acts_on_them() {
    let store = MemoryStore::new();
    let flow = Flow::graph("main")
        .task("a", sum_task(&[], &["x"]))
        .task("b", inspecting_task(store.clone(), "r1"));
    let plan = plan(Workflow::new(flow));
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let definition = RunDefinition {
        workflow: "main".into(),
        source: "test".into(),
        text: "definition".into(),
        hash: "h".into(),
    };
    let options = RunOptions::new().run_id("r1").definition(definition);
    let report = engine
        .run(&plan, Vec::<(&str, i64)>::new(), options)
        .await
        .unwrap();
    assert_eq!(
        report.status,
        RunStatus::Succeeded,
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    assert_eq!(report.output("y"), Some(&Value::Int(2)));
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(
        record.summary.state,
        RunState::Finished(RunStatus::Succeeded)
    );
    assert_eq!(record.definition, "definition");
    let transcript: Vec<String> = record
        .transitions
        .iter()
        .map(|t| format!("{} {}", t.task, t.state))
        .collect();
    assert_eq!(
        transcript,
        ["a running", "a succeeded", "b running", "b succeeded"]
    );
}

/// Many tasks ready at once stage their intents in one stage, and whichever commits first
/// sends what the others staged too: each still executes only once its own intent is
/// durable, however long the store takes to sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_waits_for_its_intent_sent_by_another_runner() {
    let inner = MemoryStore::new();
    let checking = |name: &'static str| {
        let store = inner.clone();
        FnTask::raw(ints(&[]), ints(&[name]), move |ctx, _| {
            let store = store.clone();
            async move {
                let record = store.run(&"r1".into()).await.unwrap().unwrap();
                let me = record.tasks.iter().find(|t| t.task.as_str() == ctx.task());
                match me {
                    Some(me) if me.state == TaskState::Running => Ok(Outputs::new().set(name, 1)),
                    _ => Err(TaskError::permanent(format!(
                        "`{}` executed before its intent was durable: {me:?}",
                        ctx.task()
                    ))),
                }
            }
        })
    };
    let names: Vec<&'static str> = (0..200)
        .map(|idx| &*Box::leak(format!("v{idx}").into_boxed_str()))
        .collect();
    let mut flow = Flow::graph("wide");
    for name in &names {
        flow = flow.task(format!("t{name}"), checking(name));
    }
    let store = Slow::new(inner.clone(), std::time::Duration::from_millis(1));
    let report = Engine::new()
        .with_store(Arc::new(store))
        .with_jobs(4)
        .run(
            &plan(Workflow::new(flow)),
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r1"),
        )
        .await
        .unwrap();
    let failures: Vec<_> = report.failures().filter_map(|t| t.error.clone()).collect();
    assert!(failures.is_empty(), "{failures:?}");
    assert_eq!(report.status, RunStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reverts_are_recorded_too() {
    let store = MemoryStore::new();
    let flow = Flow::linear("main")
        .task("a", sum_task(&[], &["x"]))
        .task("b", failing_task(&["x"], &["y"], "no"));
    let engine = Engine::new().with_store(Arc::new(store.clone()));
    let report = engine
        .run(
            &plan(Workflow::new(flow)),
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r1"),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Reverted);
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    let transcript: Vec<String> = record
        .transitions
        .iter()
        .map(|t| format!("{} {}", t.task, t.state))
        .collect();
    assert_eq!(
        transcript,
        [
            "a running",
            "a succeeded",
            "b running",
            "b failed",
            "b reverting",
            "b reverted",
            "a reverting",
            "a reverted"
        ]
    );
    assert_eq!(
        record.summary.state,
        RunState::Finished(RunStatus::Reverted)
    );
    assert_eq!(record.tasks[1].error.as_deref(), Some("no"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_store_stops_the_run_before_unrecorded_work_counts() {
    for ok in 0..4 {
        let inner = MemoryStore::new();
        let executed = Arc::new(AtomicUsize::new(0));
        let counting = |name: &'static str, requires: &'static [&'static str]| {
            let executed = executed.clone();
            FnTask::raw(ints(requires), ints(&[name]), move |_, _| {
                executed.fetch_add(1, Ordering::SeqCst);
                async move { Ok(Outputs::new().set(name, 1)) }
            })
        };
        let flow = Flow::linear("main")
            .task("a", counting("x", &[]))
            .task("b", counting("y", &["x"]));
        let store = Failing {
            inner: inner.clone(),
            ok,
            writes: AtomicUsize::new(0),
        };
        let engine = Engine::new().with_store(Arc::new(store));
        let result = engine
            .run(
                &plan(Workflow::new(flow)),
                Vec::<(&str, i64)>::new(),
                RunOptions::new().run_id("r1"),
            )
            .await;
        assert!(
            matches!(result, Err(RunError::Store(StoreError::Full { .. }))),
            "{ok}: {result:?}"
        );
        // What the store holds is all that happened, as far as anyone can tell. The writes:
        // `a`'s intent; `a`'s completion with `b`'s intent (one commit, RELIABILITY.md
        // rule 8); `b`'s completion; the run's end.
        let record = inner.run(&"r1".into()).await.unwrap().unwrap();
        assert_eq!(record.transitions.len(), [0, 1, 3, 4][ok], "{ok}");
        // A task ran only after its intent was recorded, and `b` only after `a`'s completion.
        assert_eq!(executed.load(Ordering::SeqCst), [0, 1, 2, 2][ok], "{ok}");
        assert_ne!(
            record.summary.state,
            RunState::Finished(RunStatus::Succeeded)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_recorded_in_sqlite_reads_back_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".plait").join("plait.db");
    let mut flow = Flow::graph("wide");
    for idx in 0..200 {
        flow = flow.task(format!("t{idx}"), sum_task(&[], &[&format!("v{idx}")]));
    }
    {
        let store = plait_store_sqlite::SqliteStore::open(&path).unwrap();
        let engine = Engine::new().with_store(Arc::new(store.clone()));
        let report = engine
            .run(
                &plan(Workflow::new(flow)),
                Vec::<(&str, i64)>::new(),
                RunOptions::new().run_id("r1"),
            )
            .await
            .unwrap();
        assert_eq!(report.status, RunStatus::Succeeded);
        let (commits, writes) = store.commits();
        assert!(commits <= writes);
    }
    let store = plait_store_sqlite::SqliteStore::open(&path).unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.tasks.len(), 200);
    assert!(
        record
            .tasks
            .iter()
            .all(|t| t.state == TaskState::Succeeded && t.outputs.is_some())
    );
    assert_eq!(
        record.summary.state,
        RunState::Finished(RunStatus::Succeeded)
    );
}

/// A failpoint at every persistence call of a 20-task run in turn, then a resume from what
/// was recorded: every time, the outputs are right and no recorded completion runs again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_at_every_persistence_point_resumes_correctly() {
    // t0..t4 independent; t5..t19 each needs the task five before it.
    let executions = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let make_flow = || {
        let mut flow = Flow::graph("twenty");
        for idx in 0..20usize {
            let requires: Vec<String> = if idx >= 5 {
                vec![format!("v{}", idx - 5)]
            } else {
                vec![]
            };
            let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
            let name = format!("v{idx}");
            let log = executions.clone();
            let task_name = format!("t{idx}");
            let task = FnTask::raw(ints(&requires), ints(&[&name]), move |_, inputs| {
                log.lock().unwrap().push(task_name.clone());
                let total = inputs
                    .values()
                    .iter()
                    .filter_map(Value::as_int)
                    .sum::<i64>()
                    + 1;
                let name = name.clone();
                async move { Ok(Outputs::new().set(name, total)) }
            });
            flow = flow.task(format!("t{idx}"), task);
        }
        flow
    };
    let outputs: Vec<String> = (15..20).map(|i| format!("v{i}")).collect();
    let plan = plan(Workflow::new(make_flow()).outputs(outputs.clone()));
    // A clean run's writes (intents, completions, some committed together, and the run's
    // end): how many depends on how the runners interleave, so it is counted, with room.
    let clean = Arc::new(Failing {
        inner: MemoryStore::new(),
        ok: usize::MAX,
        writes: AtomicUsize::new(0),
    });
    Engine::new()
        .with_store(clean.clone())
        .run(&plan, Vec::<(&str, i64)>::new(), RunOptions::new())
        .await
        .unwrap();
    let writes = clean.writes.load(Ordering::SeqCst);
    assert!(writes >= 21, "at least 20 intents and the end: {writes}");
    for fail_at in 0..writes + 5 {
        executions.lock().unwrap().clear();
        let inner = MemoryStore::new();
        let failing = Arc::new(Failing {
            inner: inner.clone(),
            ok: fail_at,
            writes: AtomicUsize::new(0),
        });
        let engine = Engine::new().with_store(failing.clone());
        let first = engine
            .run(
                &plan,
                Vec::<(&str, i64)>::new(),
                RunOptions::new().run_id("r1"),
            )
            .await;
        // A failure was injected if the run asked for more writes than `fail_at`.
        if failing.writes.load(Ordering::SeqCst) > fail_at {
            assert!(
                matches!(first, Err(RunError::Store(_))),
                "failpoint {fail_at}: {first:?}"
            );
        }
        let record = inner.run(&"r1".into()).await.unwrap().unwrap();
        let recorded: Vec<String> = record
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Succeeded)
            .map(|t| t.task.to_string())
            .collect();
        if record.summary.state == RunState::Finished(RunStatus::Succeeded) {
            continue;
        }
        executions.lock().unwrap().clear();
        let engine = Engine::new().with_store(Arc::new(inner.clone()));
        let resumed = engine
            .resume(&plan, &record, RunOptions::new())
            .await
            .unwrap();
        assert_eq!(resumed.status, RunStatus::Succeeded, "failpoint {fail_at}");
        for (i, name) in outputs.iter().enumerate() {
            assert_eq!(
                resumed.output(name),
                Some(&Value::Int(4)),
                "failpoint {fail_at}: v{}",
                15 + i
            );
        }
        let again = executions.lock().unwrap().clone();
        for task in &recorded {
            assert!(
                !again.contains(task),
                "failpoint {fail_at}: `{task}` ran again after its completion was recorded"
            );
        }
        let finished = inner.run(&"r1".into()).await.unwrap().unwrap();
        assert_eq!(
            finished.summary.state,
            RunState::Finished(RunStatus::Succeeded),
            "failpoint {fail_at}"
        );
    }
}

/// With a store, extra runners wait on commits, but no more than `jobs` tasks execute at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_does_not_raise_the_jobs_bound() {
    let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut flow = Flow::unordered("wide");
    for idx in 0..60 {
        let (now, peak) = (now.clone(), peak.clone());
        let task = FnTask::raw(vec![], vec![], move |_, _| {
            let (now, peak) = (now.clone(), peak.clone());
            async move {
                let current = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(current, Ordering::SeqCst);
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(Outputs::new())
            }
        });
        flow = flow.task(format!("t{idx}"), task);
    }
    let engine = Engine::new()
        .with_jobs(3)
        .with_store(Arc::new(MemoryStore::new()));
    let report = engine
        .run(
            &plan(Workflow::new(flow)),
            Vec::<(&str, i64)>::new(),
            RunOptions::new(),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(peak.load(Ordering::SeqCst), 3);
}

/// Every attempt says in its record where it ran: one of the run's `jobs` slots, on the step
/// that ends it; attempts that overlap in time hold different slots.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_attempt_records_the_slot_it_ran_in() {
    let store = MemoryStore::new();
    let mut flow = Flow::unordered("main").add(
        plait_core::TaskNode::new("flaky", flaky_task(&[], &["f"], 1))
            .retry(plait_core::RetryPolicy::attempts(2).with_backoff(std::time::Duration::ZERO)),
    );
    for idx in 0..6 {
        flow = flow.task(
            format!("s{idx}"),
            sleepy_task(
                &[],
                &[&format!("v{idx}")],
                std::time::Duration::from_millis(20),
            ),
        );
    }
    let plan = plan(Workflow::new(flow));
    let engine = Engine::new()
        .with_jobs(2)
        .with_store(Arc::new(store.clone()));
    let report = engine
        .run(
            &plan,
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r1"),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    // Each attempt: when it started executing, when it ended, in which slot.
    let mut attempts = Vec::new();
    for ended in record.transitions.iter().filter(|t| {
        matches!(
            t.state,
            TaskState::Succeeded | TaskState::Retrying | TaskState::Failed
        )
    }) {
        let ran = ended
            .ran
            .unwrap_or_else(|| panic!("{} attempt {} has no slot", ended.task, ended.attempt));
        assert!(ran.slot < 2, "slot {} of 2 jobs", ran.slot);
        attempts.push((ran.since, ended.at, ran.slot, ended.task.clone()));
    }
    assert_eq!(attempts.len(), 8, "two of `flaky`, one of each sleeper");
    for (idx, a) in attempts.iter().enumerate() {
        for b in &attempts[idx + 1..] {
            // Recorded times are milliseconds: only a clear overlap counts.
            let overlap = a.0 + 1 < b.1 && b.0 + 1 < a.1;
            assert!(
                !(overlap && a.2 == b.2),
                "{} and {} overlap in slot {}",
                a.3,
                b.3,
                a.2
            );
        }
    }
    assert!(
        record
            .transitions
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .all(|t| t.ran.is_none()),
        "an intent is recorded before the attempt has a slot"
    );
}

/// An owner renews its lease on the run every ten seconds while the run goes, and stops when
/// the run ends.
#[tokio::test(start_paused = true)]
async fn the_lease_is_renewed_while_the_run_goes() {
    let store = Arc::new(Leases::default());
    let flow = Flow::graph("main").task("slow", sleepy_task(&[], &["x"], Duration::from_secs(65)));
    let report = Engine::new()
        .with_store(store.clone())
        .run(
            &plan(Workflow::new(flow)),
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r1"),
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    let renewed = store.renewals.load(Ordering::SeqCst);
    assert!(
        (5..=7).contains(&renewed),
        "65 s at one renewal per 10 s: {renewed}"
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(
        store.renewals.load(Ordering::SeqCst),
        renewed,
        "none once the run ended"
    );
}

/// An owner whose renewal is refused lost the run to another process: it stops at once,
/// cancelling what runs, and reports why.
#[tokio::test(start_paused = true)]
async fn a_lost_lease_stops_the_run() {
    let store = Arc::new(Leases {
        lost: true,
        ..Leases::default()
    });
    let flow = Flow::linear("main")
        .task("slow", sleepy_task(&[], &["x"], Duration::from_secs(3600)))
        .task("after", sum_task(&["x"], &["y"]));
    let started = tokio::time::Instant::now();
    let result = Engine::new()
        .with_store(store.clone())
        .run(
            &plan(Workflow::new(flow)),
            Vec::<(&str, i64)>::new(),
            RunOptions::new().run_id("r1"),
        )
        .await;
    assert!(
        matches!(result, Err(RunError::Store(StoreError::LeaseLost { .. }))),
        "{result:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let record = store.inner.run(&"r1".into()).await.unwrap().unwrap();
    let after = record.tasks.iter().find(|t| t.task.as_str() == "after");
    assert!(
        after.is_none_or(|t| t.state == TaskState::Pending),
        "{after:?}"
    );
}
