//! Ctrl-C (SIGINT to plait): stop what runs, revert what completed, exit 130. A second Ctrl-C
//! exits at once.

use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{SHORT, Scratch, assert_gone, is_gone, read_pid, wait_until};

/// `fast` completes at once and logs its revert; `slow` sleeps (and ignores no signal). While
/// the file `hang-revert` exists, `fast`'s revert removes it and hangs instead.
const TWO_TASKS: &str = r#"
[tasks.fast]
command = ["sh", "-c", "echo 'fast done' >> log"]
revert = ["sh", "-c", '''
echo $$ > revert.pid
echo 'reverting fast' >> log
if [ -e hang-revert ]; then rm hang-revert; sleep 60; fi
echo 'reverted fast' >> log
''']

[tasks.slow]
command = ["sh", "-c", "echo $$ > slow.pid; exec sleep 60"]
"#;

/// Starts the run and waits until `fast` has completed and `slow` is sleeping.
fn start(scratch: &Scratch, hang_revert: bool) -> crate::support::Running {
    if hang_revert {
        scratch.write("hang-revert", "");
    }
    scratch.write("workflow.toml", TWO_TASKS);
    let running = scratch.spawn(&["run", "workflow.toml", "--json", "--jobs", "2"]);
    wait_until("`fast` to complete and `slow` to sleep", SHORT, || {
        scratch.read("log").contains("fast done") && scratch.join("slow.pid").exists()
    });
    running
}

#[test]
fn ctrl_c_stops_the_running_task_reverts_the_completed_one_and_exits_130() {
    let scratch = Scratch::new();
    let running = start(&scratch, false);
    let slow = read_pid(&scratch.join("slow.pid"));
    assert!(!is_gone(slow), "`slow` is sleeping");
    running.interrupt();
    let (run, waited) = running.wait(SHORT);
    run.expect_code(130);
    assert!(waited < SHORT, "took {waited:?}");
    let report = run.json();
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.state("fast"), "reverted");
    assert_eq!(report.attempts("slow"), 1);
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverting fast\nreverted fast\n"
    );
    assert_gone(slow, "the sleeping `slow`");
    assert!(
        run.stderr
            .contains("interrupted: stopping running tasks and reverting"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("the run was cancelled; completed tasks were reverted")
    );
}

/// The second Ctrl-C exits at once, without waiting for the hanging revert; the revert's
/// process group (out of the terminal's reach, in a group of its own) goes down with plait.
#[test]
fn a_second_ctrl_c_exits_130_at_once_while_a_revert_hangs() {
    let scratch = Scratch::new();
    let running = start(&scratch, true);
    let slow = read_pid(&scratch.join("slow.pid"));
    running.interrupt();
    // It removes `hang-revert` just before it hangs.
    wait_until("the revert of `fast` to start hanging", SHORT, || {
        scratch.read("log").contains("reverting fast") && !scratch.join("hang-revert").exists()
    });
    let revert = read_pid(&scratch.join("revert.pid"));
    running.interrupt();
    // Promptly: well before the revert's 60 s sleep would end.
    let (run, waited) = running.wait(SHORT);
    run.expect_code(130);
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    let run_id = newest_run(&scratch);
    assert!(
        run.stderr.contains(&format!(
            "stopped at once: reverts did not finish; `plait resume {run_id}` finishes them"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverting fast\n",
        "the revert never finished"
    );
    assert_gone(slow, "the sleeping `slow`, stopped by the first Ctrl-C");
    assert_gone(revert, "the hanging revert, killed by the second Ctrl-C");
}

/// A second Ctrl-C stops the revert half-way: `plait resume` finishes the revert, and runs
/// nothing forward.
#[test]
fn a_resume_finishes_the_revert_a_second_ctrl_c_stopped() {
    let scratch = Scratch::new();
    let running = start(&scratch, true);
    running.interrupt();
    // It removes `hang-revert` just before it hangs: the revert run again will not.
    wait_until("the revert of `fast` to start hanging", SHORT, || {
        scratch.read("log").contains("reverting fast") && !scratch.join("hang-revert").exists()
    });
    let revert = read_pid(&scratch.join("revert.pid"));
    running.interrupt();
    let run = stopped_at_once(&scratch, running);
    assert_gone(revert, "the hanging revert, killed by the second Ctrl-C");
    std::fs::remove_file(scratch.join("slow.pid")).unwrap();

    let resumed = scratch.plait(&["resume", &run, "--json"]);
    let report = resumed.expect_code(130).json();
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverting fast\nreverting fast\nreverted fast\n",
        "the revert ran again to its end; `fast` did not run again"
    );
    assert!(
        !scratch.join("slow.pid").exists(),
        "`slow` did not run again"
    );
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.state("fast"), "reverted");
    assert_eq!(report.attempts("fast"), 1);
    assert_eq!(report.attempts("slow"), 1);
}

/// `slow` takes its time to stop: it ignores SIGTERM (noting it got one), and its kill grace
/// is long. Run again, it would say so and end at once.
const SLOW_TO_STOP: &str = r#"
[tasks.fast]
command = ["sh", "-c", "echo 'fast done' >> log"]
revert = ["sh", "-c", "echo 'reverted fast' >> log"]

[tasks.slow]
command = ["sh", "-c", '''
if [ -e term ]; then echo 'slow again' >> log; exit 0; fi
trap 'touch term' TERM
while :; do sleep 0.1; done
''']
kill_grace = "60s"
"#;

/// A second Ctrl-C before any revert began, while a task is still being stopped: the run
/// was cancelled all the same, and `plait resume` reverts it rather than run it forward.
#[test]
fn a_resume_reverts_a_run_cancelled_before_its_revert_began() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", SLOW_TO_STOP);
    let running = scratch.spawn(&["run", "workflow.toml", "--jobs", "2"]);
    wait_until("`fast` to complete", SHORT, || {
        scratch.read("log").contains("fast done")
    });
    running.interrupt();
    wait_until("`slow` to get SIGTERM", SHORT, || {
        scratch.join("term").exists()
    });
    running.interrupt();
    let run = stopped_at_once(&scratch, running);

    let resumed = scratch.plait(&["resume", &run, "--json"]);
    let report = resumed.expect_code(130).json();
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverted fast\n",
        "reverted; `slow` did not run again"
    );
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.state("fast"), "reverted");
}

/// Waits for plait to exit on its second Ctrl-C; returns the id of the run it left
/// interrupted.
fn stopped_at_once(scratch: &Scratch, running: crate::support::Running) -> String {
    running.wait(SHORT).0.expect_code(130);
    let (run_id, status) = newest(scratch);
    assert_eq!(status, "interrupted");
    run_id
}

/// The id of the newest run in the scratch directory's store.
fn newest_run(scratch: &Scratch) -> String {
    newest(scratch).0
}

/// The newest run's id and status, as `plait runs --json` lists them.
fn newest(scratch: &Scratch) -> (String, String) {
    let runs = scratch.plait(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.expect_code(0).stdout).unwrap();
    let field = |key: &str| runs[0][key].as_str().unwrap().to_owned();
    (field("run_id"), field("status"))
}

/// `plait cancel RUN` from another terminal stops the run as its own Ctrl-C would, and waits
/// until it has stopped.
#[test]
fn plait_cancel_stops_a_run_from_another_terminal() {
    let scratch = Scratch::new();
    let running = start(&scratch, false);
    let slow = read_pid(&scratch.join("slow.pid"));
    let run_id = newest_run(&scratch);
    let cancelled = scratch.plait(&["cancel", &run_id[..8]]);
    cancelled.expect_code(0);
    assert!(
        cancelled
            .stderr
            .contains(&format!("run `{run_id}` was cancelled")),
        "{}",
        cancelled.stderr
    );
    let (run, _) = running.wait(SHORT);
    run.expect_code(130);
    let report = run.json();
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.state("fast"), "reverted");
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverting fast\nreverted fast\n"
    );
    assert_gone(slow, "the sleeping `slow`");

    let again = scratch.plait(&["cancel", &run_id]);
    again.expect_code(2);
    assert!(
        again
            .stderr
            .contains("already ended cancelled: there is nothing to cancel"),
        "{}",
        again.stderr
    );
    let unknown = scratch.plait(&["cancel", "no-such-run"]);
    unknown.expect_code(2);
    assert!(
        unknown.stderr.contains("no run `no-such-run`"),
        "{}",
        unknown.stderr
    );
}

/// A run nobody carries out any more (its `plait` was killed) has its cancellation recorded:
/// `plait resume` then reverts what completed instead of running on.
#[test]
fn plait_cancel_of_an_interrupted_run_is_finished_by_its_resume() {
    let scratch = Scratch::new();
    let running = start(&scratch, false);
    let slow = read_pid(&scratch.join("slow.pid"));
    kill(running.pid(), Signal::SIGKILL).unwrap();
    let _ = running.wait(SHORT);
    // `slow` outlives a plait killed outright; it is no part of this test.
    let _ = kill(Pid::from_raw(slow), Signal::SIGKILL);
    std::fs::remove_file(scratch.join("slow.pid")).unwrap();
    let run = newest_run(&scratch);

    let cancelled = scratch.plait(&["cancel", &run]);
    cancelled.expect_code(0);
    assert!(
        cancelled.stderr.contains("its cancellation is recorded"),
        "{}",
        cancelled.stderr
    );
    let report = scratch.plait(&["resume", &run, "--json"]).json();
    assert_eq!(report.status(), "cancelled");
    assert_eq!(report.state("fast"), "reverted");
    assert!(
        !scratch.join("slow.pid").exists(),
        "`slow` did not run again"
    );
    assert_eq!(
        scratch.read("log"),
        "fast done\nreverting fast\nreverted fast\n"
    );
}
