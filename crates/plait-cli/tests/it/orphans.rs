//! A task's processes do not outlive plait: `plait` killed with SIGKILL (which runs none of
//! its code) takes every process of its tasks' groups with it.

use std::time::{Duration, Instant};

use crate::support::{Scratch, is_gone, read_pid, wait_until};

/// How long the tasks' sleep lasts before they write `marker`.
const SLEEP: Duration = Duration::from_secs(3);

/// A shell that leads its group, with a member (`sleep`), and writes `marker` once the sleep
/// is over; it writes both pids first.
const SLEEPER: &str =
    "sleep 3 & echo $! > sleep.pid; echo $$ > leader.pid; wait; echo late > marker";

/// Runs `workflow` (whose running command is [`SLEEPER`], the `what` of its task), SIGKILLs
/// plait once the sleep began, and checks that the group went with it, before the sleep
/// could have ended, and wrote nothing after.
fn kill_plait_while_sleeping(workflow: &str, what: &str) {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", workflow);
    let running = scratch.spawn(&["run", "workflow.toml"]);
    let leader = read_pid(&scratch.join("leader.pid"));
    let sleep = read_pid(&scratch.join("sleep.pid"));
    let slept_from = Instant::now();
    running.kill_after(Duration::ZERO);
    // Gone within a third of the sleep (a kill takes milliseconds): not merely done sleeping.
    for (pid, process) in [(leader, "shell, its group's leader"), (sleep, "`sleep`")] {
        wait_until(
            &format!("{what}'s {process} (pid {pid}) to be killed"),
            SLEEP / 3,
            || is_gone(pid),
        );
    }
    // Had anything of the group survived, it would have written by three times the sleep.
    std::thread::sleep((SLEEP * 3).saturating_sub(slept_from.elapsed()));
    assert!(
        !scratch.join("marker").exists(),
        "{what}'s process wrote after plait died"
    );
}

#[test]
fn killing_plait_kills_every_process_of_a_running_tasks_group() {
    let workflow = format!("[tasks.slow]\ncommand = [\"sh\", \"-c\", \"{SLEEPER}\"]\n");
    kill_plait_while_sleeping(&workflow, "the task");
}

#[test]
fn killing_plait_kills_a_reverts_group() {
    let workflow = format!(
        "[tasks.fails]\ncommand = [\"sh\", \"-c\", \"exit 3\"]\nrevert = [\"sh\", \"-c\", \"{SLEEPER}\"]\n"
    );
    kill_plait_while_sleeping(&workflow, "the revert");
}
