//! Runs are recorded in `.plait/plait.db` by default: `plait runs` lists them, `plait show`
//! shows one; two runs at once in one directory are both recorded.

use std::time::Duration;

use crate::support::Scratch;

const WORKFLOW: &str = r#"
[inputs]
n = { type = "int", default = 2 }

[tasks.square]
command = ["sh", "-c", "printf '{\"sq\": %d}' $((PLAIT_IN_N * PLAIT_IN_N))"]
requires = { n = "int" }
provides = { sq = "int" }

[tasks.fail_maybe]
command = ["sh", "-c", "[ \"$PLAIT_IN_SQ\" -lt 100 ] || { echo 'too big' >&2; exit 1; }; printf '{\"ok\": true}'"]
requires = { sq = "int" }
provides = { ok = "bool" }
"#;

fn run_id(report: &crate::support::Report) -> &str {
    report.0["run_id"].as_str().expect("a run id")
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("not JSON ({error}): {text}"))
}

#[test]
fn runs_are_recorded_listed_and_shown() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let first = scratch
        .plait(&["run", "flow.toml", "--json"])
        .expect_code(0)
        .json();
    let second = scratch
        .plait(&["run", "flow.toml", "--set", "n=11", "--json"])
        .expect_code(1)
        .json();
    assert!(scratch.join(".plait/plait.db").exists());

    let runs = scratch.plait(&["runs", "--json"]);
    let runs = json(&runs.expect_code(0).stdout);
    let listed: Vec<(&str, &str)> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| {
            (
                run["run_id"].as_str().unwrap(),
                run["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [(run_id(&second), "reverted"), (run_id(&first), "succeeded")]
    );

    let shown = scratch.plait(&["show", run_id(&second), "--json"]);
    let shown = json(&shown.expect_code(0).stdout);
    assert_eq!(shown["status"], "reverted");
    assert_eq!(shown["inputs"], serde_json::json!({"n": 11}));
    assert_eq!(shown["tasks"]["square"]["state"], "reverted");
    assert_eq!(shown["tasks"]["fail_maybe"]["attempts"], 1);
    let error = shown["tasks"]["fail_maybe"]["error"].as_str().unwrap();
    assert!(error.contains("too big"), "{error}");

    let text = scratch.plait(&["show", run_id(&first)]);
    let text = &text.expect_code(0).stdout;
    assert!(text.contains("status    succeeded"), "{text}");
    assert!(
        text.lines()
            .any(|line| line.starts_with("square") && line.contains("succeeded")),
        "{text}"
    );
}

#[test]
fn memory_records_nothing_and_unknown_runs_are_bad_input() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    scratch
        .plait(&["run", "flow.toml", "--store", ":memory:"])
        .expect_code(0);
    assert!(!scratch.join(".plait").exists());
    let listed = scratch.plait(&["runs"]);
    assert!(
        listed.expect_code(0).stderr.contains("no runs recorded"),
        "{}",
        listed.stderr
    );
    scratch.plait(&["show", "nope"]).expect_code(2);
    scratch.plait(&["run", "flow.toml"]).expect_code(0);
    let unknown = scratch.plait(&["show", "nope"]);
    assert!(
        unknown.expect_code(2).stderr.contains("no run `nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn two_runs_at_once_in_one_directory_are_both_recorded() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let runs: Vec<_> = (0..4)
        .map(|_| scratch.spawn(&["run", "flow.toml", "--json"]))
        .collect();
    let mut ids = Vec::new();
    for run in runs {
        let (output, _) = run.wait(Duration::from_secs(60));
        ids.push(run_id(&output.expect_code(0).json()).to_owned());
    }
    let listed = scratch.plait(&["runs", "--json"]);
    let listed = json(&listed.expect_code(0).stdout);
    let mut recorded: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run_id"].as_str().unwrap())
        .collect();
    recorded.sort_unstable();
    ids.sort_unstable();
    assert_eq!(recorded, ids);
    assert!(
        listed
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "succeeded")
    );
}

#[test]
fn a_store_from_a_newer_plait_is_refused() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    scratch.plait(&["run", "flow.toml"]).expect_code(0);
    let db = scratch.join(".plait/plait.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .pragma_update(None, "user_version", 42)
        .unwrap();
    let refused = scratch.plait(&["run", "flow.toml"]);
    assert!(
        refused.expect_code(2).stderr.contains("upgrade plait"),
        "{}",
        refused.stderr
    );
}

/// A task that leaves a mark if it ever runs.
const CANARY: &str = "[tasks.canary]\ncommand = [\"touch\", \"canary.ran\"]\n";

/// Runs `plait ARGS --store STORE` on [`CANARY`]; checks exit 2, that nothing ran, and that
/// the message says `why`.
#[track_caller]
fn refused(scratch: &Scratch, store: &str, args: &[&str], why: &str) {
    let mut all = args.to_vec();
    all.extend(["--store", store]);
    let run = scratch.plait(&all);
    run.expect_code(2);
    assert!(!scratch.join("canary.ran").exists(), "a task ran");
    assert!(run.stderr.contains(why), "{}", run.stderr);
}

#[test]
fn a_store_that_cannot_be_used_exits_2_and_runs_nothing() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", CANARY);
    let run = ["run", "flow.toml"];

    scratch.write("garbage.db", "not a database\n");
    refused(
        &scratch,
        "garbage.db",
        &run,
        "the store `garbage.db` is corrupt",
    );

    // Pages past the first overwritten: the header reads, the tables do not.
    scratch
        .plait(&["run", "flow.toml", "--store", "damaged.db"])
        .expect_code(0);
    std::fs::remove_file(scratch.join("canary.ran")).unwrap();
    let conn = rusqlite::Connection::open(scratch.join("damaged.db")).unwrap();
    conn.pragma_update(None, "journal_mode", "DELETE").unwrap();
    drop(conn);
    let mut bytes = std::fs::read(scratch.join("damaged.db")).unwrap();
    let page_size = usize::from(u16::from_be_bytes([bytes[16], bytes[17]]));
    bytes[page_size..].fill(0xa5);
    std::fs::write(scratch.join("damaged.db"), bytes).unwrap();
    refused(
        &scratch,
        "damaged.db",
        &run,
        "the store `damaged.db` is corrupt",
    );
    refused(
        &scratch,
        "damaged.db",
        &["runs"],
        "the store `damaged.db` is corrupt",
    );
    refused(
        &scratch,
        "damaged.db",
        &["cache", "stats"],
        "the store `damaged.db` is corrupt",
    );

    // Under a file: its directory cannot be created.
    refused(
        &scratch,
        "flow.toml/plait.db",
        &run,
        "cannot open the store `flow.toml/plait.db`",
    );
}

/// A store file that cannot be written: runs are read from it, none is recorded in it.
#[test]
fn a_read_only_store_is_read_but_records_no_run() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", CANARY);
    scratch
        .plait(&["run", "flow.toml", "--store", "ro.db"])
        .expect_code(0);
    std::fs::remove_file(scratch.join("canary.ran")).unwrap();
    // Tests run as root, whom file modes do not stop: the immutable flag does.
    let _immutable = Immutable::set(&scratch.join("ro.db"));
    refused(
        &scratch,
        "ro.db",
        &["run", "flow.toml"],
        "the store `ro.db` is read-only",
    );
    scratch.plait(&["runs", "--store", "ro.db"]).expect_code(0);
}

/// A file's immutable flag (`chattr +i`), cleared on drop so the scratch directory can go.
struct Immutable(std::path::PathBuf);

impl Immutable {
    fn set(path: &std::path::Path) -> Immutable {
        chattr("+i", path);
        Immutable(path.to_owned())
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        chattr("-i", &self.0);
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "a short tool run by a test, not a task: no process group to manage"
)]
fn chattr(flag: &str, path: &std::path::Path) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("chattr runs");
    assert!(status.success(), "chattr {flag} {}", path.display());
}

/// `boom` kills plait itself (SIGKILL, as a crash would) the first time it runs.
const CRASHING: &str = r#"
[tasks.a]
command = ["sh", "-c", "echo a >> ledger; printf '{\"x\": 1}'"]
provides = { x = "int" }

[tasks.boom]
command = ["sh", "-c", "echo boom >> ledger; [ -e killed ] || { touch killed; kill -9 $PPID; sleep 5; }; printf '{\"y\": %d}' $((PLAIT_IN_X + 1))"]
requires = { x = "int" }
provides = { y = "int" }

[tasks.c]
command = ["sh", "-c", "echo c >> ledger; printf '{\"z\": %d}' $((PLAIT_IN_Y + 1))"]
requires = { y = "int" }
provides = { z = "int" }
"#;

/// Runs CRASHING until plait is killed; returns the interrupted run's id.
pub(crate) fn crashed_run(scratch: &Scratch) -> String {
    crashed_run_with(scratch, &[])
}

/// As [`crashed_run`], with more arguments to `plait run`.
fn crashed_run_with(scratch: &Scratch, args: &[&str]) -> String {
    scratch.write("crash.toml", CRASHING);
    let mut all = vec!["run", "crash.toml"];
    all.extend_from_slice(args);
    let killed = scratch.plait(&all);
    assert_eq!(killed.code, 128 + 9, "plait was killed: {}", killed.stderr);
    let runs = scratch.plait(&["runs", "--json"]);
    let runs = json(&runs.expect_code(0).stdout);
    assert_eq!(runs[0]["status"], "interrupted");
    runs[0]["run_id"].as_str().unwrap().to_owned()
}

#[test]
fn a_killed_run_resumes_without_running_what_completed_again() {
    let scratch = Scratch::new();
    let run = crashed_run(&scratch);
    let resumed = scratch
        .plait(&["resume", &run, "--json"])
        .expect_code(0)
        .json();
    assert_eq!(resumed.status(), "succeeded");
    assert_eq!(resumed.output("z"), &serde_json::json!(3));
    assert_eq!(
        resumed.attempts("boom"),
        2,
        "started, never completed: run again"
    );
    assert_eq!(
        scratch.read("ledger"),
        "a\nboom\nboom\nc\n",
        "`a` completed before the crash: not again"
    );
    let again = scratch.plait(&["resume", &run]);
    assert!(
        again
            .expect_code(2)
            .stderr
            .contains("already ended (succeeded)"),
        "{}",
        again.stderr
    );
}

/// What counts is the parsed definition: comments and layout may change, a command may not.
#[test]
fn a_changed_definition_is_not_resumed_and_a_comment_is_no_change() {
    let scratch = Scratch::new();
    let run = crashed_run(&scratch);
    let changed = CRASHING.replace("echo c >> ledger", "echo C >> ledger");
    scratch.write("crash.toml", &format!("# edited\n{changed}"));
    let refused = scratch.plait(&["resume", &run]);
    assert!(
        refused.expect_code(2).stderr.contains("definition changed"),
        "{}",
        refused.stderr
    );
    assert_eq!(scratch.read("ledger"), "a\nboom\n", "nothing ran");

    let commented = CRASHING.replace("\n[tasks.c]", "\n\n# c adds one\n[tasks.c]  # last\n");
    scratch.write("crash.toml", &format!("# edited\n{commented}\n\n"));
    let resumed = scratch.plait(&["resume", &run]);
    resumed.expect_code(0);
    assert_eq!(scratch.read("ledger"), "a\nboom\nboom\nc\n");
}

/// The definition is recorded with the run: a run whose file is gone resumes from it.
#[test]
fn a_run_whose_file_was_deleted_resumes_from_its_recorded_definition() {
    let scratch = Scratch::new();
    let run = crashed_run(&scratch);
    std::fs::remove_file(scratch.join("crash.toml")).unwrap();
    let resumed = scratch.plait(&["resume", &run, "--json"]);
    let report = resumed.expect_code(0).json();
    assert_eq!(report.output("z"), &serde_json::json!(3));
    assert_eq!(scratch.read("ledger"), "a\nboom\nboom\nc\n");
    let source = scratch.join("crash.toml").display().to_string();
    assert!(
        resumed.stderr.contains(&format!(
            "`{source}` no longer exists: resuming from the definition recorded with the run"
        )),
        "{}",
        resumed.stderr
    );
}

/// `last` names the newest run; a prefix that several runs' ids start with lists them.
#[test]
fn last_is_the_newest_run_and_an_ambiguous_prefix_lists_the_runs() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let first = scratch.plait(&["run", "flow.toml", "--json"]);
    let first = run_id(&first.expect_code(0).json()).to_owned();
    let run = crashed_run(&scratch);

    let shown = scratch
        .plait(&["show", "last", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(run_id(&shown), run);
    let resumed = scratch
        .plait(&["resume", "last", "--json"])
        .expect_code(0)
        .json();
    assert_eq!(run_id(&resumed), run);
    assert_eq!(resumed.status(), "succeeded");

    let common = first
        .chars()
        .zip(run.chars())
        .take_while(|(a, b)| a == b)
        .count();
    assert!(
        common > 0,
        "UUIDv7 ids of runs a moment apart share their start"
    );
    let prefix = &run[..common];
    let ambiguous = scratch.plait(&["show", prefix]);
    let stderr = &ambiguous.expect_code(2).stderr;
    assert!(
        stderr.contains(&format!("`{prefix}` starts 2 run ids")),
        "{stderr}"
    );
    for (id, workflow) in [(&run, "crash"), (&first, "flow")] {
        assert!(
            stderr
                .lines()
                .any(|line| line.trim_start().starts_with(id.as_str()) && line.contains(workflow)),
            "{stderr}"
        );
    }
}

/// A run's `--no-cache` and `--jobs` are recorded with it: its resume keeps them, and a flag
/// given to `resume` overrides the recorded one.
#[test]
fn a_resume_keeps_the_options_the_run_started_with() {
    let scratch = Scratch::new();
    scratch.write("crash.toml", CRASHING);
    // A run that is not killed leaves every result in the cache.
    scratch.write("killed", "");
    scratch.plait(&["run", "crash.toml"]).expect_code(0);
    std::fs::remove_file(scratch.join("killed")).unwrap();
    let run = crashed_run_with(&scratch, &["--no-cache", "--jobs", "3"]);
    assert_eq!(scratch.read("ledger"), "a\nboom\nc\na\nboom\n");

    let resumed = scratch.plait(&["resume", &run]);
    resumed.expect_code(0);
    assert_eq!(jobs(&resumed), Some("3"), "{}", resumed.stderr);
    assert_eq!(
        scratch.read("ledger"),
        "a\nboom\nc\na\nboom\nboom\nc\n",
        "still `--no-cache`: `boom` and `c` executed, not reused"
    );

    std::fs::remove_file(scratch.join("killed")).unwrap();
    std::fs::remove_file(scratch.join("ledger")).unwrap();
    let run = crashed_run_with(&scratch, &["--no-cache", "--jobs", "3"]);
    let resumed = scratch.plait(&["resume", &run, "--cache", "--jobs", "1", "--json"]);
    let report = resumed.expect_code(0).json();
    assert_eq!(jobs(&resumed), Some("1"), "{}", resumed.stderr);
    assert_eq!(
        scratch.read("ledger"),
        "a\nboom\n",
        "`--cache` given to `resume`: `boom` and `c` reused"
    );
    assert_eq!(report.0["cached"], 2);
}

/// How many tasks a run took at once, from its first line on stderr.
fn jobs(run: &crate::support::Output) -> Option<&str> {
    let (_, rest) = run.stderr.split_once(", up to ")?;
    rest.split(' ').next()
}
