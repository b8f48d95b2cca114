//! Facts about this machine and its processes: its name, and whether a process seen earlier
//! (a run's owner) still runs. Read through `nix` and `procfs`, not parsed by hand.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use procfs::process::{ProcState, Process};

/// This machine's name; `localhost` if it cannot be read. Read once, and lent rather than
/// copied: listing runs asks for it once per unfinished run.
pub fn host_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| {
        nix::unistd::gethostname()
            .ok()
            .and_then(|name| name.into_string().ok())
            .unwrap_or_else(|| "localhost".to_owned())
    })
}

/// When process `pid` started, in clock ticks since boot, while it runs. `None` once it has
/// exited, including as a zombie its parent has not reaped yet.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = Process::new(i32::try_from(pid).ok()?).ok()?.stat().ok()?;
    match stat.state() {
        Ok(ProcState::Zombie | ProcState::Dead) => None,
        _ => Some(stat.starttime),
    }
}

/// Whether process `pid` runs and is the one that started at `started` (as
/// [`process_start_time`] gave it): a pid the system handed to another process after the
/// first one exited does not pass for it.
pub fn is_alive(pid: u32, started: u64) -> bool {
    process_start_time(pid) == Some(started)
}

/// Lets a write to a pipe nobody reads any more end the process (SIGPIPE's default), as it
/// does any Unix tool's, rather than fail: Rust ignores SIGPIPE before `main`, and printing
/// then panics. To be called first in `main`, before any other thread starts.
pub fn end_on_broken_pipe() {
    use nix::sys::signal::{SigHandler, signal};
    // SAFETY: the default disposition runs no handler, so nothing of ours can run in a
    // signal's context; called before other threads exist, nothing races the change.
    #[allow(unsafe_code)]
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Asks process `pid` to stop (SIGTERM), if it is still the one that started at `started`:
/// a pid handed to another process since is left alone. False if it was not there to ask.
pub fn terminate(pid: u32, started: u64) -> bool {
    let Ok(raw) = i32::try_from(pid) else {
        return false;
    };
    is_alive(pid, started) && nix::sys::signal::kill(Pid::from_raw(raw), Signal::SIGTERM).is_ok()
}

/// Stops a process group that a plait which died left running (a resume does, with the
/// groups its run recorded): SIGKILL to group `pgid`, only if its leader is still the process
/// that started at `started` (as [`process_start_time`] gave it), since a group's id is its
/// leader's pid and pids are reused. Then waits, at most `limit`, until no process of the
/// group runs. Returns whether the group was there to stop.
///
/// A group whose leader is gone is left alone: whatever still runs in it cannot be told from
/// a group that took the id since.
pub fn kill_orphaned_group(pgid: u32, started: u64, limit: Duration) -> bool {
    if !is_alive(pgid, started) {
        return false;
    }
    let Ok(raw) = i32::try_from(pgid) else {
        return false;
    };
    if let Err(error) = killpg(Pid::from_raw(raw), Signal::SIGKILL) {
        tracing::warn!(pgid, %error, "could not kill an orphaned process group");
        return false;
    }
    // The kernel finishes a SIGKILL asynchronously.
    let deadline = Instant::now() + limit;
    while group_runs(raw) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    true
}

/// Whether some process of group `pgid` runs (a zombie does not).
fn group_runs(pgid: i32) -> bool {
    let Ok(processes) = procfs::process::all_processes() else {
        return false;
    };
    processes
        .filter_map(|process| process.ok()?.stat().ok())
        .any(|stat| {
            stat.pgrp == pgid && !matches!(stat.state(), Ok(ProcState::Zombie | ProcState::Dead))
        })
}

#[cfg(test)]
mod tests {
    use nix::sys::wait::{Id, WaitPidFlag, waitid};
    use nix::unistd::Pid;

    use super::*;

    /// A child that runs until its stdin closes, and its start time.
    #[allow(
        clippy::disallowed_methods,
        reason = "the test reaps the child itself, which a supervised `Subprocess` would do"
    )]
    fn child() -> (std::process::Child, u32, u64) {
        let child = std::process::Command::new("cat")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let started = process_start_time(pid).expect("`cat` runs until its stdin closes");
        (child, pid, started)
    }

    #[test]
    fn this_process_is_alive_with_its_own_start_time() {
        let pid = std::process::id();
        let started = process_start_time(pid).unwrap();
        assert!(is_alive(pid, started));
        assert!(
            !is_alive(pid, started + 1),
            "another start time is another process"
        );
    }

    #[test]
    fn terminate_stops_the_process_it_names_and_no_other() {
        let (mut child, pid, started) = child();
        assert!(
            !terminate(pid, started + 1),
            "another start time: left alone"
        );
        assert!(is_alive(pid, started));
        assert!(terminate(pid, started));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(15), "{status:?}");
        assert!(!terminate(pid, started), "gone");
    }

    #[test]
    fn a_child_is_alive_until_reaped() {
        let (mut child, pid, started) = child();
        assert!(is_alive(pid, started));
        drop(child.stdin.take());
        child.wait().unwrap();
        assert!(!is_alive(pid, started));
    }

    #[test]
    fn a_zombie_is_not_alive() {
        let (mut child, pid, started) = child();
        drop(child.stdin.take());
        // Wait for the exit but leave the child unreaped: a zombie.
        let raw = Pid::from_raw(i32::try_from(pid).unwrap());
        waitid(Id::Pid(raw), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT).unwrap();
        let state = Process::new(raw.as_raw()).unwrap().stat().unwrap().state();
        assert_eq!(state.unwrap(), ProcState::Zombie);
        assert!(!is_alive(pid, started));
        child.wait().unwrap();
    }

    #[test]
    fn no_such_pid_is_not_alive() {
        assert_eq!(process_start_time(u32::MAX), None);
        assert!(!is_alive(u32::MAX, 0));
    }

    /// A group of its own: a shell leading it, and a `sleep` in it; the sleep's pid.
    #[allow(
        clippy::disallowed_methods,
        reason = "the test plays a group that a dead plait left behind: no `Subprocess` owns it"
    )]
    fn orphan_group() -> (std::process::Child, u32, u64, u32) {
        use std::io::BufRead;
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & echo $!; wait"])
            .process_group(0)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid = child.id();
        let started = process_start_time(pid).expect("the shell waits for its sleep");
        (child, pid, started, line.trim().parse().unwrap())
    }

    const LIMIT: Duration = Duration::from_secs(10);

    #[test]
    fn an_orphaned_group_whose_leader_started_when_recorded_is_killed() {
        let (mut child, pgid, started, sleep) = orphan_group();
        assert!(process_start_time(sleep).is_some());
        assert!(kill_orphaned_group(pgid, started, LIMIT));
        assert!(!group_runs(pgid as i32), "it waits until the group is gone");
        assert!(process_start_time(sleep).is_none(), "the sleep went too");
        assert_eq!(
            std::os::unix::process::ExitStatusExt::signal(&child.wait().unwrap()),
            Some(9)
        );
        assert!(
            !kill_orphaned_group(pgid, started, LIMIT),
            "a group that is gone is not there to stop"
        );
    }

    #[test]
    fn a_group_whose_leader_started_at_another_time_is_left_alone() {
        let (mut child, pgid, started, sleep) = orphan_group();
        // The id's leader is another process than the one recorded: a reused pid.
        assert!(!kill_orphaned_group(pgid, started + 1, LIMIT));
        assert!(!kill_orphaned_group(pgid, started - 1, LIMIT));
        assert!(is_alive(pgid, started), "the leader runs on");
        assert!(process_start_time(sleep).is_some(), "and so does its group");
        killpg(Pid::from_raw(pgid as i32), Signal::SIGKILL).unwrap();
        child.wait().unwrap();
    }

    #[test]
    fn the_host_has_a_name() {
        assert!(!host_name().is_empty());
        assert_eq!(host_name(), host_name());
    }
}
