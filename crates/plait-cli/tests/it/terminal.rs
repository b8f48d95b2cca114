//! What reaches the user's terminal: a task's control bytes escaped, color only on a terminal
//! and never with `NO_COLOR`.

use std::io::Read;
use std::path::Path;

use assert_cmd::cargo::CommandCargoExt;

use crate::support::{Scratch, plait_with_env};

/// Two tasks that fail after writing what would clear the screen, retitle the window and cut
/// the line short with a NUL: one on stderr, quoted in the error's later lines (and under the
/// task in `plait show`), one on stdout, quoted in its first (the one `plait show` prints).
const HOSTILE: &str = r#"
on_failure = "continue"

[tasks.loud]
command = ["sh", "-c", "printf 'before\\033[2J\\033]0;owned\\007\\000after\\n' >&2; exit 3"]

[tasks.garbled]
command = ["sh", "-c", "printf 'before\\033[2J\\033]0;owned\\007\\000after'"]
provides = { x = "int" }
"#;

#[test]
fn control_bytes_a_task_writes_are_escaped_in_failure_messages() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", HOSTILE);
    let run = scratch.plait(&["run", "workflow.toml"]);
    let shown = scratch.plait(&["show", run.run_id().expect("a run id")]);
    shown.expect_code(0);
    let escaped = r"before\u{1b}[2J\u{1b}]0;owned\u{7}\0after";
    for (what, text, n_times) in [("run's stderr", &run.stderr, 4), ("show", &shown.stdout, 2)] {
        assert!(
            !text.contains(['\x1b', '\x07', '\0']),
            "{what} holds control bytes: {text:?}"
        );
        assert_eq!(
            text.matches(escaped).count(),
            n_times,
            "{what} shows them escaped: {text}"
        );
    }
    // The table lines up: each task's state starts where the header's STATE does.
    let lines: Vec<&str> = shown.stdout.lines().collect();
    let header = lines.iter().find(|line| line.starts_with("TASK")).unwrap();
    let column = header.find("STATE").unwrap();
    for task in ["loud", "garbled"] {
        let line = lines.iter().find(|line| line.starts_with(task)).unwrap();
        assert_eq!(line.find("failed"), Some(column), "{}", shown.stdout);
    }
}

#[test]
fn no_color_codes_go_to_a_stderr_that_is_not_a_terminal() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", "[tasks.a]\ncommand = [\"true\"]\n");
    // Debug logs, which are drawn in color on a terminal; `NO_COLOR` is not set.
    let run = plait_with_env(
        &scratch.path(),
        &["run", "workflow.toml", "--store", ":memory:"],
        &[
            ("PLAIT_LOG", "debug".to_owned()),
            ("NO_COLOR", String::new()),
        ],
    );
    run.expect_code(0);
    assert!(run.stderr.contains("DEBUG"), "{}", run.stderr);
    assert!(!run.stderr.contains('\x1b'), "{:?}", run.stderr);
}

#[test]
fn no_color_is_honoured_on_a_terminal() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        "[tasks.a]\ncommand = [\"true\"]\nnope = 1\n",
    );
    let colored = stderr_on_a_terminal(&scratch.path(), &["check", "workflow.toml"], None);
    assert!(
        colored.contains("\x1b["),
        "a terminal gets color: {colored:?}"
    );
    let plain = stderr_on_a_terminal(&scratch.path(), &["check", "workflow.toml"], Some("1"));
    assert!(plain.contains("unknown key `nope`"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "NO_COLOR: {plain:?}");
}

/// What `plait ARGS` writes to a stderr that is a terminal (a pseudo-terminal's other end).
fn stderr_on_a_terminal(dir: &Path, args: &[&str], no_color: Option<&str>) -> String {
    let pty = nix::pty::openpty(None, None).expect("a pseudo-terminal");
    let mut command = std::process::Command::cargo_bin("plait").expect("the plait binary");
    command
        .current_dir(dir)
        .args(args)
        .env_remove("PLAIT_LOG")
        .env_remove("NO_COLOR")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::from(pty.slave));
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    let mut child = command.spawn().expect("plait starts");
    // The command holds the only other copy of the terminal's end: dropping it lets the
    // master see the end once plait exits.
    drop(command);
    let mut master = std::fs::File::from(pty.master);
    let reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let mut buffer = [0u8; 4096];
        // Linux reports the other end's closing as EIO rather than as the end of the file.
        while let Ok(n @ 1..) = master.read(&mut buffer) {
            bytes.extend_from_slice(&buffer[..n]);
        }
        bytes
    });
    child.wait().expect("plait exits");
    let bytes = reader.join().expect("the reader does not panic");
    String::from_utf8_lossy(&bytes).into_owned()
}
