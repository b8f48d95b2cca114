//! The child's process group: signalled as a whole, and killed if we let go of it early.

use std::collections::BTreeSet;
use std::sync::Mutex;

use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

use super::guardian::Guardian;

/// The process group a child leads (it was spawned with `process_group(0)`, so the group's id is
/// the child's pid). Signals go to the whole group, so a shell's children and their children
/// stop with it, which `kill_on_drop` (the leader only) cannot do.
///
/// While armed, dropping it sends SIGKILL to the group. That is what runs when the future
/// driving a process is dropped mid-flight: an engine timeout, a dropped run, a `select!` that
/// went the other way. Drop cannot await, so it cannot send SIGTERM and wait out a grace period;
/// SIGKILL now is the only way to not leave the group running with no one to stop it.
///
/// A group id is safe to signal while its leader is not yet reaped: the kernel does not reuse a
/// pid that is still in use. After the leader is reaped, the id stays in use as long as any
/// member lives; only once the group is empty could a new, unrelated process take the id and
/// lead a group of its own. We signal the group at most once more after reaping (to kill what
/// the leader left behind) and disarm right after, so that window is a few microseconds against
/// a full wrap-around of the pid space.
#[derive(Debug)]
pub(crate) struct ProcessGroup {
    pgid: Pid,
    armed: bool,
}

/// Every armed group of this process, so an exit that cannot wait for graceful stops (a
/// second Ctrl-C) can still take its children down with it; and the guardian, told of each
/// under the same lock, so it is told in the order the groups come and go.
static ARMED: Mutex<Armed> = Mutex::new(Armed {
    groups: BTreeSet::new(),
    guardian: Guardian::new(),
});

struct Armed {
    groups: BTreeSet<i32>,
    guardian: Guardian,
}

impl Armed {
    fn insert(&mut self, pgid: i32) {
        self.groups.insert(pgid);
        self.guardian.watch(pgid, self.groups.iter().copied());
    }

    fn remove(&mut self, pgid: i32) {
        self.groups.remove(&pgid);
        self.guardian.unwatch(pgid, self.groups.iter().copied());
    }
}

fn armed_groups() -> std::sync::MutexGuard<'static, Armed> {
    ARMED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Sends SIGKILL to the process group of every child still running, for a process about to
/// exit without waiting for its tasks: their groups would otherwise outlive it.
pub fn kill_all_process_groups() {
    for &pgid in armed_groups().groups.iter() {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    }
}

impl ProcessGroup {
    pub(crate) fn new(leader_pid: u32) -> Self {
        // A pid is a positive `pid_t` that tokio handed back as `u32`: the cast is lossless.
        let pgid = Pid::from_raw(leader_pid as i32);
        armed_groups().insert(pgid.as_raw());
        ProcessGroup { pgid, armed: true }
    }

    /// Sends `signal` to every process in the group. An empty group is not an error: it means
    /// everyone already left.
    pub(crate) fn signal(&self, signal: Signal) {
        match killpg(self.pgid, signal) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(error) => {
                tracing::warn!(pgid = %self.pgid, %signal, %error, "could not signal process group");
            }
        }
    }

    /// The leader is reaped and its group killed: nothing is left for `Drop` to do.
    pub(crate) fn disarm(&mut self) {
        if self.armed {
            armed_groups().remove(self.pgid.as_raw());
        }
        self.armed = false;
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if self.armed {
            tracing::debug!(pgid = %self.pgid, "dropped while running: killing process group");
            self.signal(Signal::SIGKILL);
            armed_groups().remove(self.pgid.as_raw());
        }
    }
}
