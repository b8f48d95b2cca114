//! `Subprocess`: spawning, pipes, exit statuses and spawn failures.

use expect_test::expect;
use plait_process::{ProcessError, ProcessOutcome, STDERR_TAIL_BYTES, Subprocess};
use tokio_util::sync::CancellationToken;

use crate::support::sh;

#[tokio::test]
async fn arguments_workdir_env_and_stdin_reach_the_child() {
    let dir = tempfile::tempdir().unwrap();
    let mut argv = sh(r#"pwd; printf '%s|' "$#" "$1" "$GREETING"; cat"#);
    argv.push("a b; rm -rf ~ $(whoami)".to_owned());
    let outcome = Subprocess::new(argv)
        .workdir(dir.path())
        .env("GREETING", "hello there")
        .stdin("from stdin")
        .run()
        .await;
    let ProcessOutcome::Exited {
        code: 0, stdout, ..
    } = outcome
    else {
        panic!("unexpected {outcome:?}");
    };
    let cwd = dir.path().canonicalize().unwrap();
    let expected = format!(
        "{}\n1|a b; rm -rf ~ $(whoami)|hello there|from stdin",
        cwd.display()
    );
    assert_eq!(String::from_utf8(stdout).unwrap(), expected);
}

#[tokio::test]
async fn the_environment_is_inherited_unless_removed() {
    // Cargo sets this for the test process.
    let script = sh(r#"printf '%s' "${CARGO_PKG_NAME-unset}""#);
    let stdout = |outcome: ProcessOutcome| match outcome {
        ProcessOutcome::Exited { stdout, .. } => String::from_utf8(stdout).unwrap(),
        other => panic!("unexpected {other:?}"),
    };
    let inherited = Subprocess::new(script.clone()).run().await;
    assert_eq!(stdout(inherited), "plait-process");
    let removed = Subprocess::new(script)
        .env_remove("CARGO_PKG_NAME")
        .run()
        .await;
    assert_eq!(stdout(removed), "unset");
}

#[tokio::test]
async fn a_child_that_ignores_stdin_neither_hangs_nor_fails() {
    // Far more than a pipe buffer holds: the write can only end by the child's exit.
    let outcome = Subprocess::new(["true"])
        .stdin(vec![b'x'; 4 << 20])
        .run()
        .await;
    assert!(outcome.is_success(), "{outcome:?}");
}

#[tokio::test]
async fn exit_codes_and_signals_are_reported() {
    let outcome = Subprocess::new(sh("echo oops >&2; exit 7")).run().await;
    let ProcessOutcome::Exited {
        code: 7,
        stderr_tail,
        ..
    } = &outcome
    else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(stderr_tail, "oops\n");
    assert_eq!(outcome.describe(), "exited with status 7");

    let outcome = Subprocess::new(sh("kill -KILL $$")).run().await;
    assert!(
        matches!(outcome, ProcessOutcome::Signalled { signal: 9, .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.describe(), "was killed by signal SIGKILL");
}

#[tokio::test]
async fn only_the_tail_of_stderr_is_kept() {
    let script = r#"i=0; while [ $i -lt 2000 ]; do echo "line $i" >&2; i=$((i+1)); done"#;
    let outcome = Subprocess::new(sh(script)).run().await;
    let tail = outcome.stderr_tail();
    assert!(tail.len() <= STDERR_TAIL_BYTES, "{} bytes", tail.len());
    assert!(
        tail.starts_with("line ") && tail.ends_with("line 1998\nline 1999\n"),
        "{tail}"
    );
}

#[tokio::test]
async fn stdout_past_the_limit_stops_the_process() {
    // `yes` writes forever: only stopping it ends this test.
    let outcome = Subprocess::new(["yes"]).stdout_limit(1000).run().await;
    assert!(
        matches!(outcome, ProcessOutcome::StdoutTooLarge { limit: 1000, .. }),
        "{outcome:?}"
    );
    assert_eq!(outcome.describe(), "wrote more than 1000 bytes to stdout");

    let outcome = Subprocess::new(["head", "-c", "1001", "/dev/zero"])
        .stdout_limit(1000)
        .run()
        .await;
    assert!(
        matches!(outcome, ProcessOutcome::StdoutTooLarge { .. }),
        "{outcome:?}"
    );
    let outcome = Subprocess::new(["head", "-c", "1000", "/dev/zero"])
        .stdout_limit(1000)
        .run()
        .await;
    assert!(outcome.is_success(), "{outcome:?}");
}

#[tokio::test]
async fn a_token_cancelled_beforehand_starts_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let cancel = CancellationToken::new();
    cancel.cancel();
    let outcome = Subprocess::new(sh("touch ran"))
        .workdir(dir.path())
        .cancellation(cancel)
        .run()
        .await;
    assert!(
        matches!(outcome, ProcessOutcome::Cancelled { .. }),
        "{outcome:?}"
    );
    assert!(!dir.path().join("ran").exists());
}

#[tokio::test]
async fn spawn_failures_say_what_to_fix() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    let missing_dir = dir.path().join("missing");
    let cases = [
        Subprocess::new(Vec::<String>::new()),
        Subprocess::new(["plait-test-no-such-program", "--flag"]),
        Subprocess::new(["./no-such-script.sh"]),
        Subprocess::new([script.to_str().unwrap()]),
        Subprocess::new(["true"]).workdir(&missing_dir),
    ];
    let mut messages = Vec::new();
    for process in cases {
        let outcome = process.run().await;
        let ProcessOutcome::Failed(error) = &outcome else {
            panic!("unexpected {outcome:?}");
        };
        assert!(!error.is_transient(), "{error}");
        let temp = dir.path().to_str().unwrap();
        messages.push(outcome.describe().replace(temp, "$TMP"));
    }
    expect![[r#"
        no program to run: the command is empty
        program `plait-test-no-such-program` not found: check that it is installed and on `PATH`
        program `./no-such-script.sh` not found: check the path (a relative one starts from the working directory)
        program `$TMP/script.sh` cannot be run: check that it is executable
        working directory `$TMP/missing` does not exist: create it or fix the path"#]]
    .assert_eq(&messages.join("\n"));

    let outcome = Subprocess::new(["plait-test-no-such-program"]).run().await;
    assert!(matches!(
        outcome,
        ProcessOutcome::Failed(ProcessError::ProgramNotFound { .. })
    ));
}

/// The spawn hook hears of the group as it starts: the leader's pid, and its start time.
#[tokio::test]
async fn the_spawn_hook_gets_the_group_and_its_leaders_start_time() {
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_heard = heard.clone();
    // The leader prints its own pid and start time (field 22 of its stat, after the
    // parenthesised name), once its stdin is closed: after the hook ran, so it still ran.
    let script = "cat > /dev/null; printf '%s ' $$; sed 's/.*) //' /proc/$$/stat | cut -d' ' -f20";
    let outcome = Subprocess::new(sh(script))
        .stdin("")
        .on_spawn(move |group| hook_heard.lock().unwrap().push(group))
        .run()
        .await;
    let ProcessOutcome::Exited {
        code: 0, stdout, ..
    } = outcome
    else {
        panic!("unexpected {outcome:?}");
    };
    let stdout = String::from_utf8(stdout).unwrap();
    let (pid, started) = stdout.trim().split_once(' ').unwrap();
    let group = plait_core::ChildGroup {
        pgid: pid.parse().unwrap(),
        started: started.parse().unwrap(),
    };
    assert_eq!(*heard.lock().unwrap(), [group]);
}

#[tokio::test]
async fn output_is_seen_as_it_comes_whatever_is_kept() {
    use plait_core::OutputStream;
    use std::sync::{Arc, Mutex};

    let seen: Arc<Mutex<(Vec<u8>, Vec<u8>)>> = Arc::default();
    let see = seen.clone();
    // More stderr than the tail keeps: the tee still sees all of it.
    let script = format!(
        "printf out1; printf 'err\\n' >&2; printf out2; head -c {} /dev/zero | tr '\\0' x >&2",
        2 * STDERR_TAIL_BYTES
    );
    let outcome = Subprocess::new(sh(&script))
        .on_output(move |stream, bytes| {
            let mut seen = see.lock().unwrap();
            match stream {
                OutputStream::Stdout => seen.0.extend_from_slice(bytes),
                OutputStream::Stderr => seen.1.extend_from_slice(bytes),
            }
        })
        .run()
        .await;
    let ProcessOutcome::Exited {
        code: 0, stdout, ..
    } = outcome
    else {
        panic!("unexpected {outcome:?}");
    };
    assert_eq!(stdout, b"out1out2");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.0, b"out1out2");
    assert_eq!(seen.1.len(), 4 + 2 * STDERR_TAIL_BYTES);
    assert!(seen.1.starts_with(b"err\nxxx"));
}
