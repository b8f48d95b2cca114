//! The guardian: a small process that outlives plait just long enough to kill the process
//! groups plait left running.
//!
//! A plait killed with SIGKILL runs no code of ours. `PR_SET_PDEATHSIG` (see `spawner.rs`)
//! takes each group's leader down with it, but not the rest of the group: a shell's `sleep`
//! would run on, and whatever it was to do next would still be done by anything else the
//! leader started. So plait starts one guardian, a POSIX shell reading a pipe: plait writes
//! `+ PGID` when a group starts and `- PGID` once it is gone. When plait dies, however it
//! dies, the kernel closes the pipe; the guardian reads its end and sends SIGKILL to every
//! group still listed, then exits. It leads a process group of its own, so a Ctrl-C at the
//! terminal (sent to plait's group) does not reach it, and ignores the other signals a
//! terminal sends.

use std::io::{self, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Stdio};

/// Keeps the groups it is told of; kills those still listed when its stdin closes. Group ids
/// are digits only (plait writes them), so the list is a string of ` PGID ` words.
const SCRIPT: &str = r#"trap '' HUP INT QUIT TERM PIPE
live=' '
while read -r op group; do
  case $op in
    +) live="$live$group " ;;
    -) case $live in *" $group "*) live="${live%% $group *} ${live#* $group }" ;; esac ;;
  esac
done
for group in $live; do kill -s KILL -- "-$group" 2>/dev/null; done
"#;

/// The guardian process and the pipe plait tells it through.
#[derive(Debug)]
pub(crate) struct Guardian {
    state: State,
}

#[derive(Debug)]
enum State {
    NotStarted,
    Running {
        child: Child,
        stdin: ChildStdin,
    },
    /// It could not be started: told once, and not tried again for every group.
    Unavailable,
}

impl Guardian {
    pub(crate) const fn new() -> Guardian {
        Guardian {
            state: State::NotStarted,
        }
    }

    /// Tells the guardian that group `pgid` started; `armed` is every group running now,
    /// `pgid` included, to tell a guardian that had to be started again.
    pub(crate) fn watch(&mut self, pgid: i32, armed: impl Iterator<Item = i32>) {
        if matches!(self.state, State::NotStarted) {
            self.start(armed);
            return;
        }
        self.send(&format!("+ {pgid}\n"), armed);
    }

    /// Tells the guardian that group `pgid` is gone.
    pub(crate) fn unwatch(&mut self, pgid: i32, armed: impl Iterator<Item = i32>) {
        if matches!(self.state, State::Running { .. }) {
            self.send(&format!("- {pgid}\n"), armed);
        }
    }

    fn send(&mut self, line: &str, armed: impl Iterator<Item = i32>) {
        let State::Running { stdin, .. } = &mut self.state else {
            return;
        };
        if stdin.write_all(line.as_bytes()).is_ok() {
            return;
        }
        // It died (someone killed it): a new one is told of every group running now.
        tracing::warn!("the process guarding plait's children stopped: starting another");
        if let State::Running { mut child, .. } =
            std::mem::replace(&mut self.state, State::NotStarted)
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.start(armed);
    }

    fn start(&mut self, armed: impl Iterator<Item = i32>) {
        let started = spawn().and_then(|(child, mut stdin)| {
            let lines: String = armed.map(|pgid| format!("+ {pgid}\n")).collect();
            stdin.write_all(lines.as_bytes())?;
            Ok(State::Running { child, stdin })
        });
        self.state = match started {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot start `sh` to guard plait's children: if plait is killed, \
                     its tasks' process groups may outlive it"
                );
                State::Unavailable
            }
        };
    }
}

fn spawn() -> io::Result<(Child, ChildStdin)> {
    #[allow(
        clippy::disallowed_methods,
        reason = "the guardian must outlive plait: it is no task, so it has no process group \
                  to kill with plait and no `Subprocess` to supervise it"
    )]
    let mut command = std::process::Command::new("sh");
    command
        .args(["-c", SCRIPT, "plait-guardian"])
        .process_group(0)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = command.spawn()?;
    let stdin = child
        .stdin
        .take()
        .ok_or_else(|| io::Error::other("no stdin"))?;
    Ok((child, stdin))
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;
    use std::time::{Duration, Instant};

    use super::*;

    /// A group of its own, led by a `sleep`, as a task's would be.
    #[allow(
        clippy::disallowed_methods,
        reason = "the test plays groups a plait started: no `Subprocess` may own them, or it \
                  would kill them itself"
    )]
    fn group() -> Child {
        std::process::Command::new("sleep")
            .arg("30")
            .process_group(0)
            .spawn()
            .unwrap()
    }

    /// Waits at most 10 s for `child` to exit; `None` if it still runs.
    fn exited(child: &mut Child) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Once its pipe closes (plait died), the guardian kills the groups still listed, and
    /// only those: one that ended is crossed off, even when its id is a prefix or a suffix of
    /// another's.
    #[test]
    fn the_guardian_kills_the_groups_still_listed_when_its_pipe_closes() {
        let (mut listed, mut ended) = (group(), group());
        let (listed_id, ended_id) = (listed.id(), ended.id());
        let (mut guardian, mut stdin) = spawn().unwrap();
        // Ids that share digits with the real ones, listed around them, then ended.
        let near = [listed_id * 10 + 7, ended_id / 10];
        let mut lines = String::new();
        for id in [near[0], listed_id, near[1], ended_id] {
            lines.push_str(&format!("+ {id}\n"));
        }
        for id in [near[0], ended_id, near[1]] {
            lines.push_str(&format!("- {id}\n"));
        }
        stdin.write_all(lines.as_bytes()).unwrap();
        drop(stdin);
        // It exits once it is done (its status is that of its last `kill`).
        guardian.wait().unwrap();
        let status = exited(&mut listed).expect("the listed group was killed");
        assert_eq!(status.signal(), Some(9));
        // A kill the guardian sent went out before it exited, and the listed group died of
        // one already: half a second is ample for the other to have died too.
        std::thread::sleep(Duration::from_millis(500));
        assert!(
            ended.try_wait().unwrap().is_none(),
            "the group crossed off runs on"
        );
        ended.kill().unwrap();
        ended.wait().unwrap();
    }
}
