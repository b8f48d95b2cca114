//! Ctrl-C (SIGINT to plait): stop what runs, revert what completed, exit 130. A second Ctrl-C
//! exits at once.

use std::time::Duration;

use crate::support::{SHORT, Scratch, assert_gone, is_gone, read_pid, wait_until};

/// `fast` completes at once and logs its revert; `slow` sleeps (and ignores no signal). With
/// `HANG_REVERT` set, `fast`'s revert hangs instead.
const TWO_TASKS: &str = r#"
[tasks.fast]
command = ["sh", "-c", "echo 'fast done' >> log"]
revert = ["sh", "-c", '''
echo $$ > revert.pid
echo 'reverting fast' >> log
if [ -n "$HANG_REVERT" ]; then sleep 60; fi
echo 'reverted fast' >> log
''']

[tasks.slow]
command = ["sh", "-c", "echo $$ > slow.pid; exec sleep 60"]
"#;

/// Starts the run and waits until `fast` has completed and `slow` is sleeping.
fn start(scratch: &Scratch, hang_revert: bool) -> crate::support::Running {
    let file = match hang_revert {
        true => TWO_TASKS.replace("$HANG_REVERT", "1"),
        false => TWO_TASKS.replace("$HANG_REVERT", ""),
    };
    scratch.write("workflow.toml", &file);
    let running = scratch.spawn(&["run", "workflow.toml", "--json", "--jobs", "2"]);
    wait_until("`fast` to complete", SHORT, || {
        scratch.read("log").contains("fast done")
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
    wait_until("the revert of `fast` to start hanging", SHORT, || {
        scratch.read("log").contains("reverting fast")
    });
    let revert = read_pid(&scratch.join("revert.pid"));
    running.interrupt();
    // Promptly: well before the revert's 60 s sleep would end.
    let (run, waited) = running.wait(SHORT);
    run.expect_code(130);
    assert!(waited < Duration::from_secs(5), "took {waited:?}");
    assert!(
        run.stderr
            .contains("stopped at once: reverts did not finish"),
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
