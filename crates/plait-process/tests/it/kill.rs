//! Stopping processes: TERM, grace, KILL, for the whole group, on cancellation, timeout and
//! drop. Bounds on elapsed time are loose on purpose: they tell "stopped" from "ran its 30 s".

use std::time::{Duration, Instant};

use plait_core::Task;
use plait_process::{CommandSpec, CommandTask, ProcessOutcome, Subprocess};
use tokio_util::sync::CancellationToken;

use crate::support::{STUBBORN, assert_gone, ctx, ctx_with, inputs, is_gone, sh, wait_for_pids};

const GRACE: Duration = Duration::from_millis(200);
const STOPPED_WELL_BEFORE: Duration = Duration::from_secs(10);

fn stubborn_task(dir: &std::path::Path) -> CommandTask {
    CommandTask::new(CommandSpec {
        argv: sh(STUBBORN),
        workdir: Some(dir.to_owned()),
        kill_grace: GRACE,
        ..CommandSpec::default()
    })
}

#[tokio::test]
async fn cancelling_kills_a_group_that_ignores_term_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let run = tokio::spawn(
        Subprocess::new(sh(STUBBORN))
            .workdir(dir.path())
            .kill_grace(GRACE)
            .cancellation(cancel.clone())
            .run(),
    );
    let pids = wait_for_pids(dir.path()).await;
    let cancelled_at = Instant::now();
    cancel.cancel();
    let outcome = run.await.unwrap();
    let elapsed = cancelled_at.elapsed();
    assert!(
        matches!(outcome, ProcessOutcome::Cancelled { .. }),
        "{outcome:?}"
    );
    assert!(
        elapsed >= GRACE,
        "killed before the grace period ended: {elapsed:?}"
    );
    assert!(elapsed < STOPPED_WELL_BEFORE, "took {elapsed:?}");
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn a_timeout_kills_a_group_that_ignores_term_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let timeout = Duration::from_millis(1500);
    let started = Instant::now();
    let outcome = Subprocess::new(sh(STUBBORN))
        .workdir(dir.path())
        .timeout(timeout)
        .kill_grace(GRACE)
        .run()
        .await;
    let elapsed = started.elapsed();
    let ProcessOutcome::TimedOut { after, .. } = outcome else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(after, timeout);
    assert!(elapsed >= timeout + GRACE, "took only {elapsed:?}");
    assert!(elapsed < STOPPED_WELL_BEFORE, "took {elapsed:?}");
    let pids = wait_for_pids(dir.path()).await;
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn term_comes_first_so_a_child_can_clean_up() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let script = "trap 'echo cleaned up >&2; exit 0' TERM; \
                  sleep 30 & echo $$ $! > pids.tmp; mv pids.tmp pids; wait";
    let run = tokio::spawn(
        Subprocess::new(sh(script))
            .workdir(dir.path())
            .kill_grace(Duration::from_secs(20))
            .cancellation(cancel.clone())
            .run(),
    );
    let pids = wait_for_pids(dir.path()).await;
    let cancelled_at = Instant::now();
    cancel.cancel();
    let outcome = run.await.unwrap();
    // Well within the 20 s grace: the child exited on TERM, no KILL was needed.
    assert!(cancelled_at.elapsed() < STOPPED_WELL_BEFORE);
    let ProcessOutcome::Cancelled { stderr_tail } = outcome else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(stderr_tail, "cleaned up\n");
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn what_the_leader_leaves_behind_is_killed_when_it_exits() {
    let dir = tempfile::tempdir().unwrap();
    // The grandchild keeps stdout open: without the group kill, reading it would take 30 s.
    let script = "sleep 30 & echo $$ $! > pids.tmp; mv pids.tmp pids; echo done";
    let started = Instant::now();
    let outcome = Subprocess::new(sh(script)).workdir(dir.path()).run().await;
    assert!(started.elapsed() < STOPPED_WELL_BEFORE);
    let ProcessOutcome::Exited {
        code: 0, stdout, ..
    } = outcome
    else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(stdout, b"done\n");
    let pids = wait_for_pids(dir.path()).await;
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn cancelling_a_command_task_stops_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let task = stubborn_task(dir.path());
    let run = tokio::spawn(task.execute(ctx_with(cancel.clone()), inputs(&[], &[])));
    let pids = wait_for_pids(dir.path()).await;
    let cancelled_at = Instant::now();
    cancel.cancel();
    let error = run.await.unwrap().unwrap_err();
    let elapsed = cancelled_at.elapsed();
    assert_eq!(error.message(), "cancelled");
    assert!(error.is_retryable());
    assert!(
        elapsed >= GRACE,
        "killed before the grace period ended: {elapsed:?}"
    );
    assert!(elapsed < STOPPED_WELL_BEFORE, "took {elapsed:?}");
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn dropping_a_command_task_future_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let task = stubborn_task(dir.path());
    let execute = task.execute(ctx(), inputs(&[], &[]));
    // What an engine timeout does: stop polling and drop the future.
    let pids = tokio::select! {
        result = execute => panic!("the task ended by itself: {result:?}"),
        pids = wait_for_pids(dir.path()) => pids,
    };
    assert_gone(&[pids.0, pids.1]).await;
}

#[tokio::test]
async fn dropping_a_subprocess_future_kills_its_group() {
    let dir = tempfile::tempdir().unwrap();
    let run = Subprocess::new(sh(STUBBORN)).workdir(dir.path()).run();
    let pids = tokio::select! {
        outcome = run => panic!("the process ended by itself: {outcome:?}"),
        pids = wait_for_pids(dir.path()) => pids,
    };
    assert_gone(&[pids.0, pids.1]).await;
}

/// A child is killed when the thread that forked it exits (`PR_SET_PDEATHSIG`), so no child
/// may be forked by a thread that can exit before plait does: here, a thread of tokio's
/// blocking pool, which retires once idle for its keep-alive.
#[test]
fn a_child_outlives_the_pool_thread_that_started_it() {
    let keep_alive = Duration::from_millis(20);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .thread_keep_alive(keep_alive)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    let process = Subprocess::new(sh(STUBBORN))
        .workdir(dir.path())
        .kill_grace(GRACE)
        .cancellation(cancel.clone());
    runtime.block_on(async {
        let path = dir.path().to_owned();
        // Started from a blocking thread, then driven by the runtime once its pids are there.
        let (run, pids) = tokio::task::spawn_blocking(move || {
            let handle = tokio::runtime::Handle::current();
            let mut run = Box::pin(process.run());
            let pids = handle.block_on(async {
                tokio::select! {
                    outcome = &mut run => panic!("the process ended by itself: {outcome:?}"),
                    pids = wait_for_pids(&path) => pids,
                }
            });
            (run, pids)
        })
        .await
        .unwrap();
        let run = tokio::spawn(run);
        // The blocking thread has long retired.
        tokio::time::sleep(keep_alive * 20).await;
        assert!(
            !is_gone(pids.0) && !is_gone(pids.1),
            "the group was killed with the thread that asked for it"
        );
        cancel.cancel();
        let outcome = run.await.unwrap();
        assert!(
            matches!(outcome, ProcessOutcome::Cancelled { .. }),
            "{outcome:?}"
        );
        assert_gone(&[pids.0, pids.1]).await;
    });
}
