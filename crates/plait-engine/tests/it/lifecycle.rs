//! Property: whatever happens in a run (successes, permanent and retryable failures,
//! cancellations, failing reverts, a store that breaks mid-run and a resume after it), every
//! task's transitions follow the lifecycle, tasks start only after what they depend on, and
//! reverts keep the order and the rules of docs/revert.md.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plait_core::{
    Flow, FnTask, OnFailure, Outputs, RunStatus, TaskError, TaskState, Value, Workflow,
};
use plait_engine::{Engine, Event, EventLog, RunOptions, TokioClock};
use plait_store::{MemoryStore, Store};
use proptest::prelude::*;
use tokio_util::sync::CancellationToken;

use crate::common::*;

/// What one task does when it executes.
#[derive(Clone, Copy, Debug)]
enum Behaviour {
    /// Sleeps this many milliseconds, then succeeds.
    Ok(u64),
    /// Fails permanently.
    Fails,
    /// Fails retryably this many times, then succeeds; it may retry twice.
    Flaky(u32),
    /// Waits until it is cancelled.
    Hangs,
}

#[derive(Clone, Debug)]
struct Case {
    /// Task `i` depends on the listed earlier tasks.
    deps: Vec<Vec<usize>>,
    behaviours: Vec<Behaviour>,
    /// Whose revert fails.
    revert_fails: Vec<bool>,
    continue_on_failure: bool,
    /// The run is cancelled after this many milliseconds (of paused time).
    cancel_after: Option<u64>,
    /// The store breaks after this many writes; the run is then resumed.
    store_breaks_after: Option<usize>,
    jobs: usize,
}

fn cases() -> impl Strategy<Value = Case> {
    dags(10, 3).prop_flat_map(|deps| {
        let n = deps.len();
        let behaviour = prop_oneof![
            6 => (0u64..4).prop_map(Behaviour::Ok),
            1 => Just(Behaviour::Fails),
            2 => (1u32..4).prop_map(Behaviour::Flaky),
            1 => Just(Behaviour::Hangs),
        ];
        (
            Just(deps),
            proptest::collection::vec(behaviour, n),
            proptest::collection::vec(proptest::bool::weighted(0.15), n),
            any::<bool>(),
            proptest::option::weighted(0.3, 0u64..6),
            proptest::option::weighted(0.3, 0usize..12),
            1usize..4,
        )
            .prop_map(
                |(
                    deps,
                    behaviours,
                    revert_fails,
                    continue_on_failure,
                    cancel_after,
                    breaks,
                    jobs,
                )| {
                    let mut behaviours = behaviours;
                    // A task that hangs needs something to stop it: a cancellation.
                    let cancel_after = if behaviours.iter().any(|b| matches!(b, Behaviour::Hangs)) {
                        Some(cancel_after.unwrap_or(5))
                    } else {
                        cancel_after
                    };
                    // A resumed run is not cancelled: hanging tasks would hang it.
                    if breaks.is_some() {
                        for behaviour in &mut behaviours {
                            if matches!(behaviour, Behaviour::Hangs) {
                                *behaviour = Behaviour::Ok(1);
                            }
                        }
                    }
                    Case {
                        deps,
                        behaviours,
                        revert_fails,
                        continue_on_failure,
                        cancel_after: if breaks.is_some() { None } else { cancel_after },
                        store_breaks_after: breaks,
                        jobs,
                    }
                },
            )
    })
}

/// Executions per task, counted by the tasks themselves.
type Executions = Arc<Vec<AtomicUsize>>;

fn task(case: &Case, idx: usize, executions: &Executions) -> FnTask {
    let requires: Vec<String> = case.deps[idx].iter().map(|d| format!("v{d}")).collect();
    let requires: Vec<&str> = requires.iter().map(String::as_str).collect();
    let output = format!("v{idx}");
    let behaviour = case.behaviours[idx];
    let executions = executions.clone();
    let calls = Arc::new(AtomicUsize::new(0));
    let task = FnTask::raw(ints(&requires), ints(&[&output]), move |_, inputs| {
        executions[idx].fetch_add(1, Ordering::SeqCst);
        let call = calls.fetch_add(1, Ordering::SeqCst) as u32;
        let sum: i64 = inputs.values().iter().filter_map(Value::as_int).sum();
        let output = output.clone();
        async move {
            match behaviour {
                Behaviour::Ok(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                Behaviour::Fails => return Err(TaskError::permanent("broke")),
                Behaviour::Flaky(failures) if call < failures => {
                    return Err(TaskError::retryable("flaked"));
                }
                Behaviour::Flaky(_) => {}
                Behaviour::Hangs => std::future::pending::<()>().await,
            }
            Ok(Outputs::new().set(output, 1 + idx as i64 + sum))
        }
    });
    let fail = case.revert_fails[idx];
    task.with_revert(move |_, _, _| async move {
        if fail {
            Err(TaskError::permanent("revert refused"))
        } else {
            Ok(())
        }
    })
}

fn workflow(case: &Case, executions: &Executions) -> Workflow {
    let mut flow = Flow::graph("random");
    for idx in 0..case.deps.len() {
        let node = plait_core::TaskNode::new(format!("t{idx}"), task(case, idx, executions))
            .retry(plait_core::RetryPolicy::attempts(3).with_backoff(Duration::from_millis(1)));
        flow = flow.add(node);
    }
    let outputs: Vec<String> = (0..case.deps.len()).map(|i| format!("v{i}")).collect();
    Workflow::new(flow)
        .outputs(outputs)
        .on_failure(if case.continue_on_failure {
            OnFailure::Continue
        } else {
            OnFailure::Revert
        })
}

/// Each task's events, in order, from one run's log.
fn by_task(events: &[Event]) -> HashMap<String, Vec<(usize, TaskState)>> {
    let mut tasks: HashMap<String, Vec<(usize, TaskState)>> = HashMap::new();
    for (position, event) in events.iter().enumerate() {
        tasks
            .entry(event.task.to_string())
            .or_default()
            .push((position, event.state));
    }
    tasks
}

/// The position of the first event of `task` in `state`, if any.
fn first(
    tasks: &HashMap<String, Vec<(usize, TaskState)>>,
    idx: usize,
    state: TaskState,
) -> Option<usize> {
    tasks
        .get(&format!("t{idx}"))?
        .iter()
        .find(|(_, s)| *s == state)
        .map(|(position, _)| *position)
}

/// Checks one run's log. `fresh`: the run started from nothing (not a resume).
fn check_run(case: &Case, events: &[Event], fresh: bool) -> Result<(), TestCaseError> {
    let tasks = by_task(events);
    for (task, steps) in &tasks {
        if fresh {
            prop_assert_eq!(steps[0].1, TaskState::Pending, "{} starts pending", task);
        }
        for pair in steps.windows(2) {
            prop_assert!(
                pair[0].1.can_become(pair[1].1),
                "{}: {} -> {} is not a step of the lifecycle",
                task,
                pair[0].1,
                pair[1].1
            );
        }
    }
    for (idx, deps) in case.deps.iter().enumerate() {
        // A task runs only after every task it depends on succeeded in this run (or, on a
        // resume, before it: then it has no event here).
        if let Some(started) = first(&tasks, idx, TaskState::Running) {
            for &dep in deps {
                if let Some(dep_steps) = tasks.get(&format!("t{dep}")) {
                    let succeeded = first(&tasks, dep, TaskState::Succeeded);
                    prop_assert!(
                        succeeded.is_some_and(|at| at < started)
                            || dep_steps.iter().all(|(_, s)| *s != TaskState::Running),
                        "t{} started before t{} succeeded",
                        idx,
                        dep
                    );
                }
            }
        }
        // Dependents revert first: a task's revert starts after its dependents' ended.
        if let Some(reverting) = first(&tasks, idx, TaskState::Reverting) {
            for (later, later_deps) in case.deps.iter().enumerate() {
                if !later_deps.contains(&idx) {
                    continue;
                }
                if first(&tasks, later, TaskState::Reverting).is_some() {
                    let ended = first(&tasks, later, TaskState::Reverted)
                        .or_else(|| first(&tasks, later, TaskState::RevertFailed));
                    prop_assert!(
                        ended.is_some_and(|at| at < reverting),
                        "t{} reverted before its dependent t{}",
                        idx,
                        later
                    );
                }
                // A failed revert leaves what it depends on as it is.
                prop_assert!(
                    first(&tasks, later, TaskState::RevertFailed).is_none(),
                    "t{} reverted although its dependent t{}'s revert failed",
                    idx,
                    later
                );
            }
        }
        // Each task is reverted at most once in a run.
        let reverts = tasks.get(&format!("t{idx}")).map_or(0, |steps| {
            steps
                .iter()
                .filter(|(_, s)| *s == TaskState::Reverting)
                .count()
        });
        prop_assert!(reverts <= 1, "t{} reverted {} times", idx, reverts);
    }
    Ok(())
}

/// Every task that depends on `idx`, directly or not.
fn dependents(deps: &[Vec<usize>], idx: usize) -> Vec<usize> {
    let mut found = vec![false; deps.len()];
    found[idx] = true;
    for later in idx + 1..deps.len() {
        found[later] = deps[later].iter().any(|&d| found[d]);
    }
    (idx + 1..deps.len()).filter(|&d| found[d]).collect()
}

fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap();
    runtime.block_on(async {
        let executions: Executions =
            Arc::new((0..case.deps.len()).map(|_| AtomicUsize::new(0)).collect());
        let plan = plan(workflow(case, &executions));
        let inner = MemoryStore::new();
        let store: Arc<dyn Store> = match case.store_breaks_after {
            Some(ok) => Arc::new(Failing {
                inner: inner.clone(),
                ok,
                writes: AtomicUsize::new(0),
            }),
            None => Arc::new(inner.clone()),
        };
        let engine = Engine::new()
            .with_jobs(case.jobs)
            .with_clock(Arc::new(TokioClock::from_epoch()))
            .with_store(store);
        let log = EventLog::new();
        let cancel = CancellationToken::new();
        if let Some(ms) = case.cancel_after {
            let cancel = cancel.clone();
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                cancel.cancel();
            });
        }
        let options = RunOptions::new()
            .run_id("r")
            .observer(log.clone())
            .cancel(cancel);
        let first_run = engine.run(&plan, Vec::<(&str, i64)>::new(), options).await;
        check_run(case, &log.events(), true)?;
        let report = match first_run {
            Ok(report) => report,
            Err(_) => {
                // The store broke: resume on what it holds. No recorded completion runs again.
                let record = inner
                    .run(&"r".into())
                    .await
                    .unwrap()
                    .expect("the run was created");
                let completed: HashSet<String> = record
                    .tasks
                    .iter()
                    .filter(|task| task.state == TaskState::Succeeded)
                    .map(|task| task.task.to_string())
                    .collect();
                let before: Vec<usize> = executions
                    .iter()
                    .map(|e| e.load(Ordering::SeqCst))
                    .collect();
                let log = EventLog::new();
                let resumed = Engine::new()
                    .with_jobs(case.jobs)
                    .with_clock(Arc::new(TokioClock::from_epoch()))
                    .with_store(Arc::new(inner.clone()))
                    .resume(&plan, &record, RunOptions::new().observer(log.clone()))
                    .await
                    .expect("the store works now");
                check_run(case, &log.events(), false)?;
                for (idx, count) in executions.iter().enumerate() {
                    if completed.contains(&format!("t{idx}")) {
                        prop_assert_eq!(
                            count.load(Ordering::SeqCst),
                            before[idx],
                            "t{} was completed, then ran again",
                            idx
                        );
                    }
                }
                resumed
            }
        };
        // The store's record agrees with the report.
        let record = inner.run(&"r".into()).await.unwrap().unwrap();
        for task in &report.tasks {
            if let Some(recorded) = record.tasks.iter().find(|t| t.task.as_str() == &*task.path) {
                prop_assert_eq!(recorded.state, task.state, "{}", task.path);
            }
        }
        let failed = report
            .tasks
            .iter()
            .any(|task| task.state == TaskState::Failed);
        match report.status {
            RunStatus::Succeeded => {
                prop_assert!(!failed);
                let expected = sequential(&case.deps);
                for (idx, value) in expected.iter().enumerate() {
                    prop_assert_eq!(report.output(&format!("v{idx}")), Some(&Value::Int(*value)));
                }
            }
            RunStatus::Reverted | RunStatus::RevertFailed | RunStatus::Cancelled => {
                prop_assert!(
                    !case.continue_on_failure
                        || case.cancel_after.is_some()
                        || report.status == RunStatus::RevertFailed
                );
                // Every task that ran was reverted; its own revert may fail, and a failed
                // revert of a dependent keeps it as it was.
                let revert_failed: Vec<bool> = (0..case.deps.len())
                    .map(|idx| {
                        report.task(&format!("t{idx}")).unwrap().state == TaskState::RevertFailed
                    })
                    .collect();
                for (idx, task) in report.tasks.iter().enumerate() {
                    if task.attempts > 0 {
                        let allowed = match task.state {
                            TaskState::Reverted => true,
                            TaskState::RevertFailed => case.revert_fails[idx],
                            _ => dependents(&case.deps, idx)
                                .iter()
                                .any(|&d| revert_failed[d]),
                        };
                        prop_assert!(allowed, "{} ran and ended {}", task.path, task.state);
                    }
                    if task.attempts == 0 {
                        prop_assert!(
                            !matches!(task.state, TaskState::Reverted | TaskState::RevertFailed),
                            "{} never ran but was reverted",
                            task.path
                        );
                    }
                }
            }
            RunStatus::Failed => prop_assert!(case.continue_on_failure && failed),
        }
        Ok(())
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_run_follows_the_lifecycle(case in cases()) {
        run_case(&case)?;
    }
}
