//! Driving a running child: its pipes, its exit, and stopping its group when it must stop.

use std::io;
use std::process::ExitStatus;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use super::group::ProcessGroup;
use super::pipes::{self, STDERR_TAIL_BYTES, Tail};
use super::subprocess::Tee;

/// After the process group is gone, how long we keep reading its pipes. Only a process that
/// left the group (`setsid`) can still hold them open, and we will not wait on it.
const PIPE_DRAIN_LIMIT: Duration = Duration::from_secs(2);

/// When to stop a child, and how.
#[derive(Debug)]
pub(crate) struct Stopping<'a> {
    pub(crate) cancellation: &'a CancellationToken,
    pub(crate) timeout: Option<Duration>,
    pub(crate) stdout_limit: usize,
    pub(crate) grace: Duration,
}

/// Why a child ended.
#[derive(Debug)]
pub(crate) enum Stop {
    Exited,
    Cancelled,
    TimedOut(Duration),
    StdoutTooLarge,
}

/// What [`drive`] saw.
#[derive(Debug)]
pub(crate) struct Driven {
    pub(crate) stop: Stop,
    pub(crate) status: io::Result<ExitStatus>,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr_tail: String,
}

/// Feeds stdin and reads stdout and stderr while waiting for the leader to exit or for a
/// reason to stop it. Returns once the leader is reaped and its group killed.
pub(crate) async fn drive(
    child: &mut Child,
    group: &mut ProcessGroup,
    stdin_bytes: Vec<u8>,
    stopping: Stopping<'_>,
    tee: Option<&Tee>,
) -> Driven {
    let (stdin, stdout, stderr) = (child.stdin.take(), child.stdout.take(), child.stderr.take());
    let overflow = CancellationToken::new();
    let mut stdout_bytes = Vec::new();
    let mut stderr_tail = Tail::new(STDERR_TAIL_BYTES);
    let (stop, status) = {
        // The pipes are serviced for as long as the child lives, including its grace period: a
        // child blocked on a full pipe could not shut down cleanly.
        let io = async {
            tokio::join!(
                pipes::write_stdin(stdin, stdin_bytes),
                pipes::read_capped(
                    stdout,
                    &mut stdout_bytes,
                    stopping.stdout_limit,
                    &overflow,
                    tee
                ),
                pipes::read_tail(stderr, &mut stderr_tail, tee),
            )
        };
        let supervision = supervise(child, group, &stopping, &overflow);
        tokio::pin!(io, supervision);
        let mut io_done = false;
        let ended = loop {
            tokio::select! {
                _ = &mut io, if !io_done => io_done = true,
                ended = &mut supervision => break ended,
            }
        };
        if !io_done && tokio::time::timeout(PIPE_DRAIN_LIMIT, io).await.is_err() {
            tracing::warn!(
                "a process outside the group still holds stdout or stderr: stopped reading"
            );
        }
        ended
    };
    // The leader may exit before the overflow is seen: its stdout was still cut short.
    let stop = match stop {
        Stop::Exited if overflow.is_cancelled() => Stop::StdoutTooLarge,
        stop => stop,
    };
    Driven {
        stop,
        status,
        stdout: stdout_bytes,
        stderr_tail: stderr_tail.into_string(),
    }
}

/// Waits for the leader to exit or for a reason to stop it; either way returns once the leader
/// is reaped and its group killed.
async fn supervise(
    child: &mut Child,
    group: &mut ProcessGroup,
    stopping: &Stopping<'_>,
    overflow: &CancellationToken,
) -> (Stop, io::Result<ExitStatus>) {
    let deadline = async {
        match stopping.timeout {
            Some(timeout) => tokio::time::sleep(timeout).await,
            None => std::future::pending().await,
        }
    };
    // Biased towards the exit: a process that finished as the token fired did finish.
    let stop = tokio::select! {
        biased;
        status = child.wait() => {
            // The leader is done; what it left in its group (a stray `cmd &`) goes with it.
            group.signal(Signal::SIGKILL);
            if status.is_ok() {
                group.disarm();
            }
            return (Stop::Exited, status);
        }
        () = stopping.cancellation.cancelled() => Stop::Cancelled,
        () = deadline => Stop::TimedOut(stopping.timeout.unwrap_or_default()),
        () = overflow.cancelled() => Stop::StdoutTooLarge,
    };
    let status = terminate(child, group, stopping.grace).await;
    if status.is_ok() {
        group.disarm();
    }
    (stop, status)
}

/// SIGTERM to the group, up to `grace` for the leader to exit, then SIGKILL to the group.
///
/// Every member gets the SIGTERM, but only the leader's exit can be awaited: it stands for the
/// group (a shell waits for its children before it exits). Whatever outlives it gets SIGKILL.
async fn terminate(
    child: &mut Child,
    group: &ProcessGroup,
    grace: Duration,
) -> io::Result<ExitStatus> {
    group.signal(Signal::SIGTERM);
    let exited = tokio::time::timeout(grace, child.wait()).await;
    group.signal(Signal::SIGKILL);
    match exited {
        Ok(status) => status,
        Err(_elapsed) => child.wait().await,
    }
}
