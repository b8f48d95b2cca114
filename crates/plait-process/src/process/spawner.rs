//! Where children are started: one thread that lives as long as the process.
//!
//! Every child gets `PR_SET_PDEATHSIG` = SIGKILL, so a plait killed with SIGKILL (which runs
//! no code of ours) takes its children's group leaders with it. The kernel sends that signal
//! when the *thread* that forked the child exits, not the process: a child spawned from a
//! thread of tokio's blocking pool, which retires idle threads, or from a runtime worker
//! that `block_in_place` turned into one, would be killed when that thread retires, in the
//! middle of its task. So children are forked by one thread of our own, started on the
//! first spawn and never ended; callers hand it the command and await the child.

use std::io;
use std::os::unix::process::CommandExt;
use std::sync::OnceLock;
use std::sync::mpsc;

use nix::sys::signal::{Signal, killpg};
use nix::unistd::{Pid, getpid, getppid};
use tokio::process::{Child, Command};
use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// A command to start, the runtime its child is driven by, and where to send the child.
struct Request {
    command: Command,
    runtime: Handle,
    reply: oneshot::Sender<io::Result<Child>>,
}

/// The spawning thread's queue. Held by a static, so the thread's receiver never sees the
/// channel close: the thread ends only with the process.
fn queue() -> io::Result<&'static mpsc::Sender<Request>> {
    static QUEUE: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    if let Some(queue) = QUEUE.get() {
        return Ok(queue);
    }
    // Two callers may both start a thread here; the loser's thread finds its channel closed
    // at once (its sender is dropped below) and ends before it forked anything.
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("plait-spawn".to_owned())
        .spawn(move || serve(&receiver))?;
    Ok(QUEUE.get_or_init(|| sender))
}

fn serve(requests: &mpsc::Receiver<Request>) {
    while let Ok(Request {
        mut command,
        runtime,
        reply,
    }) = requests.recv()
    {
        // The child's pipes are registered with the runtime of the caller, who drives them.
        let spawned = {
            let _runtime = runtime.enter();
            command.spawn()
        };
        if let Err(Ok(child)) = reply.send(spawned) {
            // The caller stopped waiting (its future was dropped): nobody will stop the
            // child, so it goes now, with whatever it started already.
            if let Some(pid) = child.id() {
                let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
            }
        }
    }
}

/// Starts `command` on the spawning thread, with `PR_SET_PDEATHSIG` set to SIGKILL in the
/// child. Must be called within a tokio runtime, which then drives the child.
pub(crate) async fn spawn(mut command: Command) -> io::Result<Child> {
    let parent = getpid();
    #[allow(
        unsafe_code,
        reason = "`pre_exec` runs between fork and exec, where only async-signal-safe calls \
                  are sound: `prctl` and `getppid` are system calls, and the error is built \
                  from an errno without allocating"
    )]
    unsafe {
        command.as_std_mut().pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(Signal::SIGKILL)?;
            // Had plait died before the `prctl`, no signal would come: the child was
            // reparented already, so it must not go on.
            if getppid() != parent {
                return Err(io::Error::from_raw_os_error(nix::libc::ESRCH));
            }
            Ok(())
        });
    }
    let (reply, child) = oneshot::channel();
    let request = Request {
        command,
        runtime: Handle::current(),
        reply,
    };
    queue()?
        .send(request)
        .map_err(|_| io::Error::other("the spawning thread stopped"))?;
    child
        .await
        .unwrap_or_else(|_| Err(io::Error::other("the spawning thread stopped")))
}
