//! The two processes the test drives, the server and the browser, each started through
//! `plait_process::Subprocess` (its own process group, killed when the test ends however it
//! ends).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use plait_process::{ProcessOutcome, Subprocess};
use tokio::runtime::Runtime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A backstop: no process the test starts outlives it by much, even if the test hangs.
const LIFETIME: Duration = Duration::from_secs(600);
/// How long a process may take to come up (a debug server, a cold browser on CI).
const STARTUP: Duration = Duration::from_secs(60);

/// A process running on the test's runtime; stopped (TERM, then KILL) on drop.
pub(crate) struct Running {
    name: &'static str,
    stop: CancellationToken,
    handle: Option<JoinHandle<ProcessOutcome>>,
    runtime: tokio::runtime::Handle,
}

impl Running {
    fn start(runtime: &Runtime, name: &'static str, subprocess: Subprocess) -> Running {
        let stop = CancellationToken::new();
        let subprocess = subprocess
            .cancellation(stop.clone())
            .timeout(LIFETIME)
            .kill_grace(Duration::from_secs(2));
        Running {
            name,
            stop,
            handle: Some(runtime.spawn(subprocess.run())),
            runtime: runtime.handle().clone(),
        }
    }

    /// Fails, with what the process said, if it has already ended.
    fn check_alive(&mut self) -> anyhow::Result<()> {
        let Some(handle) = self.handle.take_if(|handle| handle.is_finished()) else {
            return Ok(());
        };
        let outcome = self.runtime.block_on(handle)?;
        bail!(
            "{} {} early; its stderr ends:\n{}",
            self.name,
            outcome.describe(),
            outcome.stderr_tail()
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
        if let Some(handle) = self.handle.take() {
            // Wait for the group to be gone, so the browser's profile can be removed after.
            let _ = self
                .runtime
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), handle).await });
        }
    }
}

/// The live-heat server on a free port.
pub(crate) struct Server {
    pub(crate) url: String,
    _process: Running,
}

impl Server {
    pub(crate) fn start(runtime: &Runtime, binary: &str) -> anyhow::Result<Server> {
        // The server prints the port it got for `--port 0`, but its stdout can only be read
        // once it exits: ask the kernel for a free port and pass that on instead.
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        let argv = [binary.to_owned(), "--port".to_owned(), port.to_string()];
        let mut process = Running::start(runtime, "the live-heat server", Subprocess::new(argv));
        let deadline = Instant::now() + STARTUP;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            process.check_alive()?;
            if Instant::now() > deadline {
                bail!("The live-heat server did not listen on port {port} within {STARTUP:?}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Server {
            url: format!("http://127.0.0.1:{port}/"),
            _process: process,
        })
    }
}

/// Headless Chromium with a fresh profile and a DevTools port.
pub(crate) struct Browser {
    pub(crate) devtools_port: u16,
    pub(crate) devtools_path: String,
    // Fields drop in order: the browser stops before its directory is removed.
    _process: Running,
    /// Holds the profile and the browser's `TMPDIR`, so nothing it writes outlives the test.
    _scratch: tempfile::TempDir,
}

impl Browser {
    pub(crate) fn start(runtime: &Runtime, chromium: &Path) -> anyhow::Result<Browser> {
        let scratch = tempfile::tempdir()?;
        let (profile, tmp) = (scratch.path().join("profile"), scratch.path().join("tmp"));
        std::fs::create_dir(&profile)?;
        std::fs::create_dir(&tmp)?;
        let argv = [
            chromium.display().to_string(),
            "--headless".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1100,800".to_owned(),
            format!("--user-data-dir={}", profile.display()),
            "--remote-debugging-port=0".to_owned(),
            "about:blank".to_owned(),
        ];
        // Chromium's own temporary files (`.org.chromium.Chromium.*`) go to `$TMPDIR`.
        let subprocess = Subprocess::new(argv).env("TMPDIR", tmp.display().to_string());
        let mut process = Running::start(runtime, "Chromium", subprocess);
        // Chromium writes the port it got, and the browser's websocket path, to this file.
        let active_port = profile.join("DevToolsActivePort");
        let deadline = Instant::now() + STARTUP;
        let (devtools_port, devtools_path) = loop {
            if let Some(found) = read_active_port(&active_port) {
                break found;
            }
            process.check_alive()?;
            if Instant::now() > deadline {
                bail!(
                    "Chromium wrote no {} within {STARTUP:?}",
                    active_port.display()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        Ok(Browser {
            devtools_port,
            devtools_path,
            _process: process,
            _scratch: scratch,
        })
    }
}

/// The port and path, once the file is there and complete.
fn read_active_port(path: &Path) -> Option<(u16, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let port = lines.next()?.trim().parse().ok()?;
    let browser_path = lines.next()?.trim();
    browser_path
        .starts_with("/devtools/browser/")
        .then(|| (port, browser_path.to_owned()))
}

/// Debian's Chromium, used unless `$LIVE_HEAT_CHROMIUM` names another.
pub(crate) const DEFAULT_CHROMIUM: &str = "/usr/bin/chromium";

/// Where Chromium is: `$LIVE_HEAT_CHROMIUM`, else Debian's `/usr/bin/chromium`; `None` if
/// the variable is unset and Debian's is not there. A `$LIVE_HEAT_CHROMIUM` that is not an
/// executable file is an error, not a skip: whoever set it meant the test to run.
pub(crate) fn find_chromium() -> anyhow::Result<Option<PathBuf>> {
    match std::env::var_os("LIVE_HEAT_CHROMIUM") {
        Some(named) => {
            let path = PathBuf::from(named);
            if !is_executable(&path) {
                bail!(
                    "LIVE_HEAT_CHROMIUM is {}, which is not an executable file",
                    path.display()
                );
            }
            Ok(Some(path))
        }
        None => {
            let path = PathBuf::from(DEFAULT_CHROMIUM);
            Ok(is_executable(&path).then_some(path))
        }
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path)
        .is_ok_and(|metadata| metadata.is_file() && metadata.permissions().mode() & 0o111 != 0)
}
