//! Where things go: data on stdout (one JSON object with `--json`, `name = value` lines
//! without), progress and everything else on stderr.

use expect_test::expect;

use crate::support::{Scratch, normalize};

/// Commands that write to stdout and stderr besides their outputs; plait must not pass any of
/// it through to its own stdout.
const NOISY: &str = r#"
outputs = ["total", "label", "doc"]

[inputs]
n = { type = "int", default = 4, description = "a number" }

[tasks.chatter]
description = "prints a log on stdout, which is ignored: it provides nothing"
command = ["sh", "-c", "echo 'chatter on stdout'; echo 'chatter on stderr' >&2"]

[tasks.square]
command = ["sh", "-c", "echo 'square on stderr' >&2; printf '{\"sq\": %d}' $((PLAIT_IN_N * PLAIT_IN_N))"]
requires = { n = "int" }
provides = { sq = "int" }

[tasks.describe]
command = ["sh", "-c", "printf '{\"total\": %d, \"label\": \"n = %d\", \"doc\": {\"n\": %d, \"ok\": true} }' $((PLAIT_IN_SQ + 1)) $PLAIT_IN_SQ $PLAIT_IN_SQ"]
requires = { sq = "int" }
provides = { total = "int", label = "string", doc = "json" }
"#;

#[test]
fn json_prints_exactly_one_object_on_stdout() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", NOISY);
    let run = scratch.plait(&["run", "workflow.toml", "--json", "--set", "n=5"]);
    run.expect_code(0);
    // `json()` checks stdout is one JSON object followed by a newline, and nothing else.
    let report = run.json();
    let object = report.0.as_object().unwrap();
    for key in ["run_id", "status", "outputs", "tasks"] {
        assert!(object.contains_key(key), "{key}");
    }
    assert_eq!(report.0["run_id"].as_str(), run.run_id());
    expect![[r#"
        status: succeeded
        output doc = {"n":25,"ok":true}
        output label = "n = 25"
        output total = 26
        chatter: succeeded x1
        describe: succeeded x1
        square: succeeded x1
    "#]]
    .assert_eq(&report.summary());
    for task in object["tasks"].as_object().unwrap().values() {
        let started = task["started_at"].as_str().unwrap();
        let finished = task["finished_at"].as_str().unwrap();
        // RFC 3339 in UTC with milliseconds sorts as text.
        assert!(started.ends_with('Z') && started <= finished, "{task}");
    }
    assert!(!run.stdout.contains("on stdout") && !run.stdout.contains("on stderr"));
}

#[test]
fn without_json_outputs_are_lines_on_stdout_and_progress_is_on_stderr() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", NOISY);
    // One job and no store, so the progress lines come in one order (a store adds runners
    // that wait on commits, and independent tasks may then start in any order).
    let run = scratch.plait(&["run", "workflow.toml", "--jobs", "1", "--store", ":memory:"]);
    run.expect_code(0);
    expect![[r#"
        total = 17
        label = "n = 16"
        doc = {"n":16,"ok":true}
    "#]]
    .assert_eq(&run.stdout);
    let run_id = run.run_id().unwrap();
    expect![[r#"
        running `workflow`: 3 task(s), up to 1 at once
        [<t>] chatter: running (attempt 1)
        [<t>] chatter: succeeded
        [<t>] square: running (attempt 1)
        [<t>] square: succeeded
        [<t>] describe: running (attempt 1)
        [<t>] describe: succeeded
        run <run> succeeded in <t> (3 succeeded)
    "#]]
    .assert_eq(&normalize(&run.stderr, &[(run_id, "<run>")]));
}

#[test]
fn a_failed_run_still_prints_its_report_and_exits_1() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        &NOISY.replace(
            r#""-c", "printf '{\"total\""#,
            r#""-c", "echo 'describe gave up' >&2; exit 4; printf '{\"total\""#,
        ),
    );
    let run = scratch.plait(&[
        "run",
        "workflow.toml",
        "--json",
        "--jobs",
        "1",
        "--store",
        ":memory:",
    ]);
    let report = run.expect_code(1).json();
    expect![[r#"
        status: reverted
        chatter: reverted x1
        describe: reverted x1 (error: `sh` exited with status 4; stderr:)
        square: reverted x1
    "#]]
    .assert_eq(&report.summary());
    let run_id = run.run_id().unwrap();
    expect![[r#"
        running `workflow`: 3 task(s), up to 1 at once
        [<t>] chatter: running (attempt 1)
        [<t>] chatter: succeeded
        [<t>] square: running (attempt 1)
        [<t>] square: succeeded
        [<t>] describe: running (attempt 1)
        [<t>] describe: failed: `sh` exited with status 4; stderr:
          describe gave up
        [<t>] describe: reverting
        [<t>] describe: reverted
        [<t>] square: reverting
        [<t>] square: reverted
        [<t>] chatter: reverting
        [<t>] chatter: reverted
        run <run> reverted in <t> (3 reverted)
          `describe` failed after 1 attempt(s): `sh` exited with status 4; stderr:
          describe gave up
        every completed task was reverted
    "#]]
    .assert_eq(&normalize(&run.stderr, &[(run_id, "<run>")]));
}
