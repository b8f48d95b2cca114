//! Parallelism: the jobs bound, joins starting on their last input, blocking isolation.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use plait_core::{Flow, FnTask, Outputs, RunStatus, TaskState, Workflow, blocking_fn};

use crate::common::*;

/// A task that records how many tasks run at once.
fn counting_task(name: &str, now: &Arc<AtomicUsize>, peak: &Arc<AtomicUsize>) -> FnTask {
    let (now, peak) = (now.clone(), peak.clone());
    FnTask::raw(vec![], ints(&[name]), move |_, _| {
        let (now, peak) = (now.clone(), peak.clone());
        async move {
            let current = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(current, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(10)).await;
            now.fetch_sub(1, Ordering::SeqCst);
            Ok(Outputs::new())
        }
    })
}

#[tokio::test(start_paused = true)]
async fn no_more_than_jobs_tasks_run_at_once() {
    for jobs in [1, 3, 7] {
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let mut flow = Flow::unordered("wide");
        for idx in 0..40 {
            let task = counting_task(&format!("o{idx}"), &now, &peak);
            let task = FnTask::raw(vec![], vec![], move |ctx, inputs| {
                plait_core::Task::execute(&task, ctx, inputs)
            });
            flow = flow.task(format!("t{idx}"), task);
        }
        let (report, _) = run_with(&plan(Workflow::new(flow)), vec![], jobs).await;
        assert_eq!(report.status, RunStatus::Succeeded);
        assert_eq!(peak.load(Ordering::SeqCst), jobs, "jobs = {jobs}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_join_starts_the_moment_its_last_input_is_ready() {
    // `fast` and `slow` feed `join`; `other` takes 100 s. With 3 jobs the join must start at
    // 10 s (when `slow` ends), not when `other` ends.
    let flow = Flow::graph("main")
        .task("fast", sleepy_task(&[], &["a"], Duration::from_secs(1)))
        .task("slow", sleepy_task(&[], &["b"], Duration::from_secs(10)))
        .task("other", sleepy_task(&[], &["c"], Duration::from_secs(100)))
        .task("join", sum_task(&["a", "b"], &["d"]));
    let (report, _) = run_with(&plan(Workflow::new(flow)), vec![], 3).await;
    let join = report.task("join").unwrap();
    let started = join
        .started_at
        .unwrap()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    assert_eq!(started, Duration::from_secs(10));
    assert_eq!(report.task("other").unwrap().state, TaskState::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_tasks_run_off_the_async_threads() {
    // Four blocking tasks with 4 jobs wait for a gate that only an async task opens. Were
    // they on the 2 async worker threads, that task could never run, and they would give up
    // after their (generous) wait.
    let gate = Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let mut flow = Flow::unordered("main");
    for idx in 0..4 {
        let gate = gate.clone();
        flow = flow.task(
            format!("b{idx}"),
            blocking_fn([], [], move || {
                let (open, opened) = &*gate;
                let open = open.lock().unwrap();
                let (open, _) = opened
                    .wait_timeout_while(open, Duration::from_secs(30), |open| !*open)
                    .unwrap();
                assert!(*open, "the async threads were blocked");
            }),
        );
    }
    let opener = {
        let gate = gate.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            *gate.0.lock().unwrap() = true;
            gate.1.notify_all();
        })
    };
    let (report, _) = run_with(&plan(Workflow::new(flow)), vec![], 4).await;
    opener.await.unwrap();
    assert_eq!(
        report.status,
        RunStatus::Succeeded,
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn a_panicking_task_fails_without_taking_the_run_down() {
    let flow = Flow::graph("main")
        .task(
            "boom",
            FnTask::raw(vec![], ints(&["x"]), |_, _| async { panic!("kaboom") }),
        )
        .task(
            "sync_boom",
            blocking_fn([], ["y"], || -> i64 { panic!("sync kaboom") }),
        );
    let workflow = Workflow::new(flow).on_failure(plait_core::OnFailure::Continue);
    let (report, _) = run_with(&plan(workflow), vec![], 2).await;
    assert_eq!(report.status, RunStatus::Failed);
    assert_eq!(
        report
            .task("boom")
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .message(),
        "panicked: kaboom"
    );
    assert_eq!(
        report
            .task("sync_boom")
            .unwrap()
            .error
            .as_ref()
            .unwrap()
            .message(),
        "panicked: sync kaboom"
    );
}
