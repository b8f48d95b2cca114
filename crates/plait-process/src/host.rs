//! Facts about this machine and its processes: its name, and whether a process seen earlier
//! (a run's owner) still runs. Read through `nix` and `procfs`, not parsed by hand.

use std::sync::OnceLock;

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
    use nix::sys::signal::{SigHandler, Signal, signal};
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
    is_alive(pid, started)
        && nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(raw),
            nix::sys::signal::Signal::SIGTERM,
        )
        .is_ok()
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

    #[test]
    fn the_host_has_a_name() {
        assert!(!host_name().is_empty());
        assert_eq!(host_name(), host_name());
    }
}
