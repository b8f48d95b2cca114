//! [`Subprocess`]: what to run and how, and starting it.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use plait_core::{ChildGroup, OutputStream};
use tokio::process::Child;
use tokio_util::sync::CancellationToken;

use super::group::ProcessGroup;
use super::supervise::{self, Driven, Stop, Stopping};
use super::{ProcessError, ProcessOutcome};

/// How long a process group gets between SIGTERM and SIGKILL unless told otherwise.
pub const DEFAULT_KILL_GRACE: Duration = Duration::from_secs(2);

/// How much stdout is kept unless told otherwise. Results bigger than this belong in a file.
pub const DEFAULT_STDOUT_LIMIT: usize = 64 * 1024 * 1024;

/// A subprocess to run: the only way plait starts one.
///
/// It runs in its own process group with piped stdio: stdout is captured (up to a limit), the
/// last few KiB of stderr are kept, and stdin gets the given bytes (or `/dev/null`). On timeout
/// or cancellation the whole group gets SIGTERM, then SIGKILL after a grace period. If the
/// future of [`Subprocess::run`] is dropped, the group gets SIGKILL at once. When the leader
/// exits by itself, whatever it left running in its group is killed: a task's processes do not
/// outlive it (a command that must start a daemon should detach it with `setsid`). Nor do
/// they outlive plait: the leader gets SIGKILL when plait dies (`PR_SET_PDEATHSIG`), and a
/// guardian process kills the rest of the group (see `spawner.rs` and `guardian.rs`).
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use std::time::Duration;
/// use plait_process::{ProcessOutcome, Subprocess};
///
/// let outcome = Subprocess::new(["tr", "a-z", "A-Z"])
///     .stdin("hello")
///     .timeout(Duration::from_secs(30))
///     .run()
///     .await;
/// let ProcessOutcome::Exited { code: 0, stdout, .. } = outcome else {
///     panic!("`tr` {}", outcome.describe());
/// };
/// assert_eq!(stdout, b"HELLO");
/// # });
/// ```
#[derive(Clone, Debug)]
#[must_use = "a subprocess does nothing until `run` is awaited"]
pub struct Subprocess {
    argv: Vec<String>,
    workdir: Option<PathBuf>,
    env: Vec<(String, String)>,
    env_remove: Vec<String>,
    stdin: Option<Vec<u8>>,
    timeout: Option<Duration>,
    kill_grace: Duration,
    stdout_limit: usize,
    cancellation: CancellationToken,
    on_spawn: Option<SpawnHook>,
    tee: Option<Tee>,
}

/// Told of the process group once it is started (see [`Subprocess::on_spawn`]).
#[derive(Clone)]
struct SpawnHook(Arc<dyn Fn(ChildGroup) + Send + Sync>);

impl std::fmt::Debug for SpawnHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpawnHook")
    }
}

/// What sees the process's output: a stream and a chunk of it.
type SeeOutput = dyn Fn(OutputStream, &[u8]) + Send + Sync;

/// Sees every chunk the process writes to stdout and stderr, as it comes.
#[derive(Clone)]
pub(crate) struct Tee(Arc<SeeOutput>);

impl Tee {
    pub(crate) fn see(&self, stream: OutputStream, bytes: &[u8]) {
        (self.0)(stream, bytes);
    }
}

impl std::fmt::Debug for Tee {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tee")
    }
}

impl Subprocess {
    /// `argv[0]` is the program, looked up on `PATH` unless it contains a `/`. No shell is
    /// involved: each element reaches the program as one argument, whatever it contains.
    pub fn new<I, S>(argv: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Subprocess {
            argv: argv.into_iter().map(Into::into).collect(),
            workdir: None,
            env: Vec::new(),
            env_remove: Vec::new(),
            stdin: None,
            timeout: None,
            kill_grace: DEFAULT_KILL_GRACE,
            stdout_limit: DEFAULT_STDOUT_LIMIT,
            cancellation: CancellationToken::new(),
            on_spawn: None,
            tee: None,
        }
    }

    /// Runs in `dir` instead of the current directory.
    pub fn workdir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.workdir = Some(dir.into());
        self
    }

    /// Sets an environment variable on top of the inherited environment.
    pub fn env(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.push((name.into(), value.into()));
        self
    }

    /// Sets several environment variables on top of the inherited environment.
    pub fn envs<I, K, V>(mut self, vars: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        self.env.extend(
            vars.into_iter()
                .map(|(name, value)| (name.into(), value.into())),
        );
        self
    }

    /// Does not pass on this inherited variable (variables set with [`Subprocess::env`] stay).
    pub fn env_remove(mut self, name: impl Into<String>) -> Self {
        self.env_remove.push(name.into());
        self
    }

    /// Writes `bytes` to the child's stdin, then closes it. Without this, stdin is `/dev/null`.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Self {
        self.stdin = Some(bytes.into());
        self
    }

    /// Stops the process group once `timeout` has passed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Time between SIGTERM and SIGKILL when stopping the group; [`DEFAULT_KILL_GRACE`] if unset.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// Stops the process once it writes more than `limit` bytes to stdout;
    /// [`DEFAULT_STDOUT_LIMIT`] if unset.
    pub fn stdout_limit(mut self, limit: usize) -> Self {
        self.stdout_limit = limit;
        self
    }

    /// Stops the process group when `token` is cancelled.
    pub fn cancellation(mut self, token: CancellationToken) -> Self {
        self.cancellation = token;
        self
    }

    /// Calls `hook` with the process group's id and its leader's start time as soon as the
    /// process is started (not if it exited at once), so that whoever records it can find the
    /// group again after plait died (a task hands it to [`plait_core::TaskContext::spawned`]).
    pub fn on_spawn(mut self, hook: impl Fn(ChildGroup) + Send + Sync + 'static) -> Self {
        self.on_spawn = Some(SpawnHook(Arc::new(hook)));
        self
    }

    /// Hands every chunk the process writes to stdout and stderr to `see`, as it is read
    /// (whatever is kept of them for the outcome).
    pub fn on_output(mut self, see: impl Fn(OutputStream, &[u8]) + Send + Sync + 'static) -> Self {
        self.tee = Some(Tee(Arc::new(see)));
        self
    }

    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// Runs the process to its end. Never panics and never returns early: every way it can end
    /// is a [`ProcessOutcome`].
    pub async fn run(self) -> ProcessOutcome {
        if self.cancellation.is_cancelled() {
            return ProcessOutcome::Cancelled {
                stderr_tail: String::new(),
            };
        }
        let mut child = match self.spawn().await {
            Ok(child) => child,
            Err(error) => return ProcessOutcome::Failed(error),
        };
        let program = self.argv[0].clone();
        let Some(pid) = child.id() else {
            let source = io::Error::other("it was reaped before we saw its pid");
            return ProcessOutcome::Failed(ProcessError::Wait { program, source });
        };
        tracing::debug!(%program, pid, "spawned");
        // Declared after `child`, so dropped before it: the group is killed while its leader is
        // still unreaped and its id cannot have been reused.
        let mut group = ProcessGroup::new(pid);
        if let Some(SpawnHook(hook)) = &self.on_spawn {
            // The leader is not reaped yet, so its pid is its own; a leader already gone
            // (a zombie) leaves nothing to record.
            if let Some(started) = crate::process_start_time(pid) {
                hook(ChildGroup { pgid: pid, started });
            }
        }

        let Driven {
            stop,
            status,
            stdout,
            stderr_tail,
        } = supervise::drive(
            &mut child,
            &mut group,
            self.stdin.unwrap_or_default(),
            Stopping {
                cancellation: &self.cancellation,
                timeout: self.timeout,
                stdout_limit: self.stdout_limit,
                grace: self.kill_grace,
            },
            self.tee.as_ref(),
        )
        .await;
        let status = match status {
            Ok(status) => status,
            Err(source) => return ProcessOutcome::Failed(ProcessError::Wait { program, source }),
        };
        tracing::debug!(%program, pid, ?stop, %status, "ended");
        match stop {
            Stop::Cancelled => ProcessOutcome::Cancelled { stderr_tail },
            Stop::TimedOut(after) => ProcessOutcome::TimedOut { after, stderr_tail },
            Stop::StdoutTooLarge => ProcessOutcome::StdoutTooLarge {
                limit: self.stdout_limit,
                stderr_tail,
            },
            Stop::Exited => match (status.code(), status.signal()) {
                (Some(code), _) => ProcessOutcome::Exited {
                    code,
                    stdout,
                    stderr_tail,
                },
                (None, signal) => ProcessOutcome::Signalled {
                    signal: signal.unwrap_or_default(),
                    stderr_tail,
                },
            },
        }
    }

    async fn spawn(&self) -> Result<Child, ProcessError> {
        let Some((program, args)) = self.argv.split_first() else {
            return Err(ProcessError::EmptyArgv);
        };
        #[allow(
            clippy::disallowed_methods,
            reason = "this is the one place plait spawns a process; everything else uses `Subprocess`"
        )]
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .process_group(0)
            .kill_on_drop(true)
            .stdin(match self.stdin {
                Some(_) => Stdio::piped(),
                None => Stdio::null(),
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in &self.env_remove {
            command.env_remove(name);
        }
        command.envs(self.env.iter().map(|(name, value)| (name, value)));
        if let Some(dir) = &self.workdir {
            command.current_dir(dir);
        }
        super::spawner::spawn(command)
            .await
            .map_err(|source| self.spawn_error(program, source))
    }

    fn spawn_error(&self, program: &str, source: io::Error) -> ProcessError {
        let program = program.to_owned();
        match source.kind() {
            // The child reports a failed `chdir` with the same ENOENT as a missing program.
            io::ErrorKind::NotFound => match &self.workdir {
                Some(dir) if !dir.is_dir() => ProcessError::WorkdirNotFound { dir: dir.clone() },
                _ => ProcessError::ProgramNotFound { program },
            },
            io::ErrorKind::PermissionDenied => ProcessError::PermissionDenied { program },
            io::ErrorKind::ArgumentListTooLong => ProcessError::ArgumentsTooLong { program },
            _ => ProcessError::Spawn { program, source },
        }
    }
}
