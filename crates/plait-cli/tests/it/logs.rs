//! What tasks wrote, kept in the store: `plait logs` (and `--follow` of a running run),
//! and the last lines of a failed task's stderr in `plait show`.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::support::{SHORT, Scratch, wait_until};

/// A task that succeeds and says so on stderr, and one whose stderr has fifteen lines
/// before it fails.
const TWO: &str = r#"
on_failure = "continue"

[tasks.ok]
command = ["sh", "-c", "echo 'progress: half way' >&2; echo 'progress: done' >&2; echo '{\"n\": 1}'"]
provides = { n = "int" }

[tasks.bad]
command = ["sh", "-c", "for i in $(seq 1 15); do echo \"bad line $i\" >&2; done; exit 3"]
"#;

#[test]
fn a_successful_tasks_stderr_and_stdout_are_kept() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", TWO);
    let run = scratch.plait(&["run", "workflow.toml"]);
    run.expect_code(1);
    let run_id = run.run_id().expect("the summary names the run").to_owned();

    let logs = scratch.plait(&["logs", &run_id[..8], "ok"]);
    logs.expect_code(0);
    assert_eq!(
        logs.stdout,
        "==> ok (attempt 1) stdout <==\n{\"n\": 1}\n\n\
         ==> ok (attempt 1) stderr <==\nprogress: half way\nprogress: done\n"
    );

    // Every task, in the order they started, each under its header.
    let all = scratch.plait(&["logs", "last"]);
    all.expect_code(0);
    assert!(
        all.stdout
            .contains("==> ok (attempt 1) stderr <==\nprogress: half way\n"),
        "{}",
        all.stdout
    );
    assert!(
        all.stdout
            .contains("==> bad (attempt 1) stderr <==\nbad line 1\nbad line 2\n"),
        "{}",
        all.stdout
    );
    assert!(all.stdout.ends_with("bad line 15\n"), "{}", all.stdout);
}

#[test]
fn show_prints_the_last_lines_of_a_failed_tasks_stderr() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", TWO);
    let run = scratch.plait(&["run", "workflow.toml"]);
    let run_id = run.run_id().expect("the summary names the run").to_owned();
    let show = scratch.plait(&["show", "last"]);
    show.expect_code(0);
    let lines: Vec<&str> = show.stdout.lines().collect();
    let row = lines
        .iter()
        .position(|line| line.starts_with("bad "))
        .unwrap_or_else(|| panic!("no row for `bad`:\n{}", show.stdout));
    let under: Vec<&str> = lines[row + 1..row + 12].iter().map(|l| l.trim()).collect();
    let expected: Vec<String> = (6..=15).map(|n| format!("bad line {n}")).collect();
    assert_eq!(under[..10], expected, "{}", show.stdout);
    assert_eq!(
        under[10],
        format!("(all it wrote: plait logs {run_id} bad)")
    );
    assert!(!show.stdout.contains("bad line 5\n"), "{}", show.stdout);
    // A task that succeeded gets no such lines.
    let ok = lines.iter().position(|l| l.starts_with("ok ")).unwrap();
    assert!(!lines[ok + 1].contains("progress"), "{}", show.stdout);
}

#[test]
fn output_past_the_limit_keeps_its_end_and_says_it_was_cut() {
    let scratch = Scratch::new();
    // About 3.5 MB on stderr, with the default limit of 1 MiB.
    scratch.write(
        "workflow.toml",
        r#"
[tasks.big]
command = ["sh", "-c", "seq 1 300000 | sed 's/^/line /' >&2"]
"#,
    );
    scratch.plait(&["run", "workflow.toml"]).expect_code(0);
    let written: String = (1..=300_000).map(|n| format!("line {n}\n")).collect();
    let limit = 1024 * 1024;
    let logs = scratch.plait(&["logs", "last", "big", "--attempt", "1"]);
    logs.expect_code(0);
    let header = "==> big (attempt 1) stderr <==\n";
    let cut = format!(
        "[{} earlier bytes cut: a stream keeps only its last part (`plait run --log-limit`)]\n",
        written.len() - limit
    );
    assert!(
        logs.stdout.starts_with(&format!("{header}{cut}")),
        "{:.300}",
        logs.stdout
    );
    let kept = &logs.stdout[header.len() + cut.len()..];
    assert_eq!(kept.len(), limit);
    assert!(written.ends_with(kept), "the last MiB, exactly");

    // `--log-limit` sets another limit (`--no-cache`: a reused result writes nothing).
    scratch
        .plait(&["run", "workflow.toml", "--no-cache", "--log-limit", "100B"])
        .expect_code(0);
    let logs = scratch.plait(&["logs", "last", "big"]);
    assert!(
        logs.stdout.ends_with(&written[written.len() - 100..]),
        "{}",
        logs.stdout
    );
    assert!(
        logs.stdout
            .contains(&format!("[{} earlier bytes cut", written.len() - 100))
    );
}

#[test]
fn follow_prints_lines_as_they_come_and_ends_with_the_run() {
    let scratch = Scratch::new();
    // `tick 1`, then waits for the test's `go`, then `tick 2`.
    scratch.write(
        "workflow.toml",
        r#"
[tasks.ticker]
command = ["sh", "-c", "echo 'tick 1' >&2; while [ ! -f go ]; do sleep 0.02; done; echo 'tick 2' >&2"]
"#,
    );
    let run = scratch.spawn(&["run", "workflow.toml"]);
    wait_until("the first tick to be recorded", SHORT, || {
        scratch
            .plait(&["logs", "last", "ticker"])
            .stdout
            .contains("tick 1")
    });

    let mut follow = scratch
        .command(&["logs", "last", "--follow"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("plait logs starts");
    let (lines, received) = mpsc::channel();
    let stdout = follow.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    let next = |what: &str| {
        received
            .recv_timeout(SHORT)
            .unwrap_or_else(|_| panic!("no {what} within {SHORT:?}"))
    };
    assert_eq!(next("header"), "==> ticker (attempt 1) stderr <==");
    assert_eq!(next("first tick"), "tick 1");
    // Shown while the task still runs: it waits for `go`.
    assert!(!scratch.join("go").exists());
    assert_eq!(
        follow.try_wait().unwrap(),
        None,
        "the follower waits for the run"
    );

    scratch.write("go", "");
    assert_eq!(next("second tick"), "tick 2");
    let (finished, _) = run.wait(SHORT);
    finished.expect_code(0);
    let start = Instant::now();
    let status = loop {
        if let Some(status) = follow.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the follower did not end with the run"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success());
    assert!(
        received.recv_timeout(Duration::from_secs(1)).is_err(),
        "nothing more"
    );
}

#[test]
fn an_unknown_task_or_attempt_is_bad_input_and_says_what_exists() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", TWO);
    scratch.plait(&["run", "workflow.toml"]);

    let unknown = scratch.plait(&["logs", "last", "nope"]);
    unknown.expect_code(2);
    assert!(
        unknown
            .stderr
            .contains("has no task `nope`: its tasks are `ok`, `bad`")
            || unknown
                .stderr
                .contains("has no task `nope`: its tasks are `bad`, `ok`"),
        "{}",
        unknown.stderr
    );

    let attempt = scratch.plait(&["logs", "last", "ok", "--attempt", "2"]);
    attempt.expect_code(2);
    assert!(
        attempt.stderr.contains("task `ok` of run")
            && attempt
                .stderr
                .contains("has no attempt 2: it made 1: `--attempt 1`"),
        "{}",
        attempt.stderr
    );

    let run = scratch.plait(&["logs", "no-such-run"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("no run `no-such-run`"),
        "{}",
        run.stderr
    );
    assert!(run.stdout.is_empty());
}

#[test]
fn a_killed_runs_output_is_kept() {
    use nix::sys::signal::{Signal, kill};

    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"
[tasks.waiter]
command = ["sh", "-c", "echo 'before the kill' >&2; echo 'on stdout'; while [ ! -f go ]; do sleep 0.02; done"]
"#,
    );
    let run = scratch.spawn(&["run", "workflow.toml"]);
    wait_until("the output to be recorded", SHORT, || {
        let logs = scratch.plait(&["logs", "last", "waiter"]).stdout;
        logs.contains("before the kill") && logs.contains("on stdout")
    });
    kill(run.pid(), Signal::SIGKILL).unwrap();
    let _ = run.wait(SHORT);
    // The task, if it outlived plait, ends too.
    scratch.write("go", "");

    let logs = scratch.plait(&["logs", "last", "--follow"]);
    logs.expect_code(0);
    assert_eq!(
        logs.stdout,
        "==> waiter (attempt 1) stdout <==\non stdout\n\n\
         ==> waiter (attempt 1) stderr <==\nbefore the kill\n",
        "kept, and `--follow` of an interrupted run ends at once"
    );
    assert!(logs.stderr.is_empty(), "{}", logs.stderr);
}
