//! How failures play out through a workflow file: `on_failure = "continue"`, retries,
//! timeouts that must kill a process group which ignores SIGTERM.

use std::time::{Duration, Instant};

use expect_test::expect;

use crate::support::{Scratch, assert_gone, read_pid};

/// `a` fails; `b` needs it; `c` and `d` are an independent branch.
const CONTINUE: &str = r#"
on_failure = "continue"
outputs = OUTPUTS

[tasks.a]
command = ["sh", "-c", "echo 'a broke' >&2; exit 3"]
provides = { a_out = "int" }

[tasks.b]
command = ["sh", "-c", "touch b.ran; echo '{\"b_out\": 1}'"]
requires = { a_out = "int" }
provides = { b_out = "int" }

[tasks.c]
command = ["sh", "-c", "touch c.ran; echo '{\"c_out\": 2}'"]
provides = { c_out = "int" }

[tasks.d]
command = ["sh", "-c", "echo \"{\\\"d_out\\\": $((PLAIT_IN_C_OUT + 1))}\""]
requires = { c_out = "int" }
provides = { d_out = "int" }
"#;

#[test]
fn on_failure_continue_skips_the_dependents_and_finishes_the_rest() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        &CONTINUE.replace("OUTPUTS", r#"["b_out", "d_out"]"#),
    );
    let run = scratch.plait(&["run", "workflow.toml", "--json"]);
    // An output failed: the run failed.
    let report = run.expect_code(1).json();
    expect![[r#"
        status: failed
        output d_out = 3
        a: failed x1 (error: `sh` exited with status 3; stderr:)
        b: failed x0 (error: not run: `a` failed)
        c: succeeded x1
        d: succeeded x1
    "#]]
    .assert_eq(&report.summary());
    assert!(!scratch.join("b.ran").exists(), "`b` never ran");
    assert!(scratch.join("c.ran").exists());
    assert!(run.stderr.contains("a broke"), "{}", run.stderr);
}

/// As `make -k`: the run goes on past a failure, and still fails. Outputs the failure did not
/// reach are printed all the same.
#[test]
fn on_failure_continue_fails_the_run_even_when_no_output_failed() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        &CONTINUE.replace("OUTPUTS", r#"["d_out"]"#),
    );
    let run = scratch.plait(&["run", "workflow.toml"]);
    run.expect_code(1);
    assert_eq!(run.stdout, "d_out = 3\n");
    assert!(run.stderr.contains(" failed in "), "{}", run.stderr);
    assert!(!scratch.join("b.ran").exists());

    let id = run.run_id().expect("a summary line");
    let shown = scratch.plait(&["show", id, "--json"]).expect_code(0).json();
    assert_eq!(shown.status(), "failed");
    assert_eq!(shown.output("d_out"), 3);
    let text = scratch.plait(&["show", id]);
    let text = &text.expect_code(0).stdout;
    assert!(text.contains("status    failed"), "{text}");
    let runs = scratch.plait(&["runs"]);
    let runs = &runs.expect_code(0).stdout;
    assert!(
        runs.lines()
            .any(|line| line.starts_with(id) && line.contains(" failed ")),
        "{runs}"
    );
}

/// The smallest case: one task, no outputs, no dependents.
#[test]
fn on_failure_continue_fails_a_run_whose_only_task_failed() {
    let scratch = Scratch::new();
    scratch.write(
        "one.toml",
        "on_failure = \"continue\"\n[tasks.bad]\ncommand = [\"sh\", \"-c\", \"exit 4\"]\n",
    );
    let run = scratch.plait(&["run", "one.toml", "--json"]);
    let report = run.expect_code(1).json();
    expect![[r#"
        status: failed
        bad: failed x1 (error: `sh` exited with status 4 (nothing on stderr))
    "#]]
    .assert_eq(&report.summary());
}

/// Fails until it has been run `n` times, counting in a file.
const FLAKY: &str = r#"
[inputs]
n = { type = "int", default = 3 }

[tasks.flaky]
command = ["sh", "-c", '''
count=$(($(cat counter 2>/dev/null || echo 0) + 1))
echo "$count" > counter
if [ "$count" -lt "$1" ]; then echo "attempt $count: not yet" >&2; exit 1; fi
printf '{"runs": %d}' "$count"
''', "flaky", "{n}"]
requires = { n = "int" }
provides = { runs = "int" }
retry = { attempts = 4, backoff = "10ms", jitter = 0 }
"#;

#[test]
fn a_command_that_fails_twice_succeeds_on_its_third_attempt() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", FLAKY);
    let run = scratch.plait(&["run", "workflow.toml", "--json"]);
    let report = run.expect_code(0).json();
    expect![[r#"
        status: succeeded
        output runs = 3
        flaky: succeeded x3
    "#]]
    .assert_eq(&report.summary());
    assert_eq!(scratch.read("counter"), "3\n");
    assert_eq!(
        run.stderr.matches("will retry").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("flaky: attempt 2 failed, will retry: `sh` exited with status 1; stderr:\n  attempt 2: not yet"));
}

#[test]
fn a_command_that_fails_more_often_than_its_attempts_fails_the_run() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", FLAKY);
    let run = scratch.plait(&["run", "workflow.toml", "--json", "--set", "n=9"]);
    let report = run.expect_code(1).json();
    expect![[r#"
        status: reverted
        flaky: reverted x4 (error: `sh` exited with status 1; stderr:)
    "#]]
    .assert_eq(&report.summary());
    assert_eq!(scratch.read("counter"), "4\n");
    assert!(
        run.stderr.contains("`flaky` failed after 4 attempt(s)"),
        "{}",
        run.stderr
    );
}

/// A leader and a grandchild that both ignore SIGTERM: only SIGKILL to the group stops them.
const STUBBORN: &str = r#"
[tasks.stubborn]
command = ["sh", "-c", '''
trap '' TERM
echo $$ > leader.pid
sleep 60 &
echo $! > grandchild.pid
wait
''']
revert = ["sh", "-c", "echo \"reverted: $PLAIT_ERROR\" > reverted"]
timeout = "300ms"
kill_grace = "200ms"
"#;

#[test]
fn a_timeout_kills_the_whole_process_group_even_when_it_ignores_sigterm() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", STUBBORN);
    let start = Instant::now();
    let run = scratch.plait(&["run", "workflow.toml", "--json"]);
    let took = start.elapsed();
    // Correctness, not speed: the run ends long before the 60 s the commands would sleep.
    assert!(took < Duration::from_secs(20), "the run took {took:?}");
    let report = run.expect_code(1).json();
    expect![[r#"
        status: reverted
        stubborn: reverted x1 (error: timed out after 300ms)
    "#]]
    .assert_eq(&report.summary());
    // The task's revert learns why it is reverted.
    assert_eq!(
        scratch.read("reverted"),
        "reverted: timed out after 300ms\n"
    );
    assert_gone(
        read_pid(&scratch.join("leader.pid")),
        "the shell that ignores SIGTERM",
    );
    assert_gone(read_pid(&scratch.join("grandchild.pid")), "its `sleep 60`");
}
