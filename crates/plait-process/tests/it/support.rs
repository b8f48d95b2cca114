//! Helpers shared by the tests: contexts, inputs, and watching processes die.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::kill;
use nix::unistd::Pid;
use plait_core::{Inputs, Port, TaskContext, Value, ValueType};
use tokio_util::sync::CancellationToken;

/// A script for `sh -c`; arguments after it are `$1`, `$2`...
pub(crate) fn sh(script: &str) -> Vec<String> {
    ["sh", "-c", script, "sh"].map(String::from).to_vec()
}

/// Ignores SIGTERM, as does the grandchild it starts in the background; writes both pids to
/// `pids` once they are set up. Only SIGKILL to the whole group stops it.
pub(crate) const STUBBORN: &str =
    "trap '' TERM; sleep 30 & echo $$ $! > pids.tmp; mv pids.tmp pids; sleep 30";

pub(crate) fn port(name: &str, ty: ValueType) -> Port {
    Port::new(name, ty)
}

pub(crate) fn inputs(entries: &[(&str, Value)], ports: &[Port]) -> Inputs {
    let values = ports
        .iter()
        .map(|port| {
            let (_, value) = entries
                .iter()
                .find(|(name, _)| *name == &*port.name)
                .unwrap_or_else(|| panic!("test gives no value for `{}`", port.name));
            value.clone()
        })
        .collect();
    Inputs::new(Arc::from(ports.to_vec()), values)
}

pub(crate) fn ctx() -> TaskContext {
    ctx_with(CancellationToken::new())
}

pub(crate) fn ctx_with(cancel: CancellationToken) -> TaskContext {
    // `into`: the context holds the token behind an `Arc`.
    TaskContext::new(
        Arc::from("run-7"),
        Arc::from("build/compile"),
        2,
        cancel.into(),
    )
}

/// The leader's and the grandchild's pids, once the script has written them.
pub(crate) async fn wait_for_pids(dir: &Path) -> (i32, i32) {
    let path = dir.join("pids");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(&path) {
            let pids: Vec<i32> = text
                .split_whitespace()
                .map(|pid| pid.parse().expect("a pid"))
                .collect();
            return (pids[0], pids[1]);
        }
        assert!(Instant::now() < deadline, "the script never wrote its pids");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Asserts that each process dies within a few seconds. A zombie counts as dead: an orphan's
/// new parent (PID 1 in a container) may never reap it.
pub(crate) async fn assert_gone(pids: &[i32]) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for &pid in pids {
        while !is_gone(pid) {
            assert!(Instant::now() < deadline, "process {pid} is still running");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub(crate) fn is_gone(pid: i32) -> bool {
    match kill(Pid::from_raw(pid), None) {
        Err(Errno::ESRCH) => true,
        Err(error) => panic!("cannot check process {pid}: {error}"),
        Ok(()) => {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // The state follows the parenthesised command name: `123 (sleep) Z ...`.
            let state = stat
                .rsplit_once(") ")
                .and_then(|(_, rest)| rest.chars().next());
            matches!(state, None | Some('Z' | 'X'))
        }
    }
}
