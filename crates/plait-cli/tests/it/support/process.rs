//! Processes in the background: a `plait` to interrupt, the subprocesses it should have stopped.

use std::io::Read;
use std::path::Path;
use std::process::{Child, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use super::run::Output;

/// A `plait` process started in the background, its output collected as it goes.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

impl Running {
    pub(super) fn spawn(mut command: std::process::Command) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("plait starts");
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Running {
            child,
            stdout,
            stderr,
        }
    }

    pub(crate) fn pid(&self) -> Pid {
        Pid::from_raw(i32::try_from(self.child.id()).expect("a pid fits in i32"))
    }

    /// Sends SIGINT, as Ctrl-C in a terminal does.
    pub(crate) fn interrupt(&self) {
        kill(self.pid(), Signal::SIGINT).expect("plait is there to signal");
    }

    /// Waits at most `limit` for plait to exit; returns what it printed and how long the wait
    /// took. Fails the test (and kills plait) if it takes longer.
    pub(crate) fn wait(mut self, limit: Duration) -> (Output, Duration) {
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for plait") {
                break status;
            }
            if start.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                let stderr = self.stderr.take().map(join).unwrap_or_default();
                panic!("plait did not exit within {limit:?}; stderr:\n{stderr}");
            }
            std::thread::sleep(POLL);
        };
        let waited = start.elapsed();
        let output = std::process::Output {
            status,
            stdout: self
                .stdout
                .take()
                .map(join)
                .unwrap_or_default()
                .into_bytes(),
            stderr: self
                .stderr
                .take()
                .map(join)
                .unwrap_or_default()
                .into_bytes(),
        };
        (Output::new(output), waited)
    }
}

impl Running {
    /// Lets plait run for at most `limit`, then SIGKILLs it, as a crash would.
    pub(crate) fn kill_after(mut self, limit: Duration) {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Running {
    /// A test that failed half-way does not leave plait running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: JoinHandle<String>) -> String {
    handle.join().expect("the pipe reader does not panic")
}

/// How often bounded polls look again.
const POLL: Duration = Duration::from_millis(10);

/// Polls `done` until it holds; fails the test after `limit`. For things that happen in
/// another process, which no channel tells us about.
#[track_caller]
pub(crate) fn wait_until(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "gave up after {limit:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// The pid written in `path` by a command (`echo $$ > path`), once it is there.
#[track_caller]
pub(crate) fn read_pid(path: &Path) -> i32 {
    let mut pid = None;
    wait_until(&format!("a pid in {}", path.display()), SHORT, || {
        pid = std::fs::read_to_string(path)
            .ok()
            .filter(|text| text.ends_with('\n'))
            .and_then(|text| text.trim().parse().ok());
        pid.is_some()
    });
    pid.expect("the pid was read")
}

/// Long enough for anything a test waits for that takes milliseconds when all goes well.
pub(crate) const SHORT: Duration = Duration::from_secs(10);

/// The process no longer runs: it does not exist, or it is a zombie nobody reaped (in a
/// container, pid 1 may not reap the orphans it inherits).
pub(crate) fn is_gone(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => true,
        Ok(()) => std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|stat| {
                // `pid (comm) state ...`: the state follows the last `)`.
                stat.rsplit_once(')')
                    .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
            })
            .unwrap_or(true),
        Err(error) => panic!("cannot check process {pid}: {error}"),
    }
}

/// Fails the test unless the process is gone, or goes within a moment (the kernel finishes a
/// SIGKILL asynchronously).
#[track_caller]
pub(crate) fn assert_gone(pid: i32, what: &str) {
    wait_until(&format!("{what} (pid {pid}) to be gone"), SHORT, || {
        is_gone(pid)
    });
}
