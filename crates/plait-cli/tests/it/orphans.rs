//! A task's processes do not outlive plait: `plait` killed with SIGKILL (which runs none of
//! its code) takes every process of its tasks' groups with it, and a resume kills a recorded
//! group that survived anyway before it runs the task again.

use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use crate::support::{Running, Scratch, is_gone, read_pid, wait_until};

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
    let sleeping = start_sleeping(workflow);
    let (leader, sleep) = (sleeping.leader, sleeping.sleep);
    sleeping.running.kill_after(Duration::ZERO);
    // Gone within a third of the sleep (a kill takes milliseconds): not merely done sleeping.
    for (pid, process) in [(leader, "shell, its group's leader"), (sleep, "`sleep`")] {
        wait_until(
            &format!("{what}'s {process} (pid {pid}) to be killed"),
            SLEEP / 3,
            || is_gone(pid),
        );
    }
    assert_no_late_output(&sleeping.scratch, sleeping.slept_from);
}

/// `plait run` of a workflow whose command sleeps as [`SLEEPER`] does, once it sleeps.
struct Sleeping {
    scratch: Scratch,
    running: Running,
    leader: i32,
    sleep: i32,
    slept_from: Instant,
}

fn start_sleeping(workflow: &str) -> Sleeping {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", workflow);
    let running = scratch.spawn(&["run", "workflow.toml"]);
    let leader = read_pid(&scratch.join("leader.pid"));
    let sleep = read_pid(&scratch.join("sleep.pid"));
    Sleeping {
        scratch,
        running,
        leader,
        sleep,
        slept_from: Instant::now(),
    }
}

/// Had anything of a group whose sleep began at `slept_from` survived, it would have written
/// `marker` by three times the sleep.
fn assert_no_late_output(scratch: &Scratch, slept_from: Instant) {
    std::thread::sleep((SLEEP * 3).saturating_sub(slept_from.elapsed()));
    assert!(
        !scratch.join("marker").exists(),
        "a process of the group wrote after plait died"
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

/// The group's leader clears its parent-death signal (`setpriv`, then the script): it
/// outlives plait. The first time, it sleeps in its group as [`SLEEPER`] does (its script); run again, it
/// notes whether the first leader still runs (a zombie nobody reaps does not) and ends.
const SURVIVOR: &str = r#"
[tasks.slow]
command = ["setpriv", "--pdeathsig", "clear", "sh", "-c", '''
if [ -e leader.pid ]; then
  state=$(sed 's/.*) //' /proc/$(cat leader.pid)/stat 2>/dev/null | cut -c1)
  if [ -z "$state" ] || [ "$state" = Z ]; then echo gone > seen; else echo running > seen; fi
  exit 0
fi
sleep 3 & echo $! > sleep.pid; echo $$ > leader.pid; wait; echo late > marker
''']
"#;

/// The guardian `plait` started (see plait-process's `guardian.rs`): its child whose
/// command line names it.
fn guardian_of(plait: i32) -> i32 {
    let children = std::fs::read_dir("/proc").unwrap().filter_map(|entry| {
        let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // `pid (comm) state ppid ...`
        let ppid: i32 = stat
            .rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).ok()?;
        (ppid == plait && cmdline.contains("plait-guardian")).then_some(pid)
    });
    let found: Vec<i32> = children.collect();
    assert_eq!(found.len(), 1, "plait runs one guardian: {found:?}");
    found[0]
}

#[test]
fn a_resume_kills_a_recorded_group_that_outlived_plait_before_running_it_again() {
    let sleeping = start_sleeping(SURVIVOR);
    let (scratch, leader, sleep) = (&sleeping.scratch, sleeping.leader, sleeping.sleep);
    // Nothing kills the group with plait: its leader ignores plait's death, and the guardian
    // goes first.
    let guardian = guardian_of(sleeping.running.pid().as_raw());
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(guardian), Signal::SIGKILL).unwrap();
    wait_until("the guardian to be gone", SLEEP / 3, || is_gone(guardian));
    sleeping.running.kill_after(Duration::ZERO);
    std::thread::sleep(SLEEP / 10);
    assert!(
        !is_gone(leader) && !is_gone(sleep),
        "the group outlived plait, as the test means it to"
    );

    let runs = scratch.plait(&["runs", "--json"]);
    let runs: serde_json::Value = serde_json::from_str(&runs.expect_code(0).stdout).unwrap();
    assert_eq!(runs[0]["status"], "interrupted");
    let run_id = runs[0]["run_id"].as_str().unwrap();
    let resumed = scratch.plait(&["resume", run_id, "--json"]);
    let report = resumed.expect_code(0).json();
    assert_eq!(report.state("slow"), "succeeded");
    assert!(
        resumed.stderr.contains(&format!(
            "stopped process group {leader} of task `slow` (attempt 1)"
        )),
        "{}",
        resumed.stderr
    );
    assert_eq!(
        scratch.read("seen"),
        "gone\n",
        "the task ran again only once its first attempt's leader was gone"
    );
    assert!(
        is_gone(leader) && is_gone(sleep),
        "the whole group was killed"
    );
    assert_no_late_output(scratch, sleeping.slept_from);
}
