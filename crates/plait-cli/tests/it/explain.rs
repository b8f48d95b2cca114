//! `plait explain` through the real binary: two runs that differ in one place, and what
//! explain says about the tasks that place reaches.

use expect_test::{Expect, expect};

use crate::support::{Scratch, normalize};

/// A file input copied by one task and measured by the next; what the size is said to be,
/// in a short string and a long one.
const WORKFLOW: &str = r#"
[inputs]
data = { type = "file" }

[tasks.copy]
command = ["sh", "-c", "mkdir -p out; cp \"$PLAIT_IN_DATA\" out/copy.txt; printf '{\"copy\": \"out/copy.txt\"}'"]
requires = { data = "file" }
provides = { copy = "file" }

[tasks.count]
command = ["sh", "-c", "printf '{\"n\": %d}' $(wc -c < \"$PLAIT_IN_COPY\")"]
requires = { copy = "file" }
provides = { n = "int" }

[tasks.describe]
command = ["sh", "-c", "printf '{\"size\": \"%s characters long\", \"digits\": \"%0200d\"}' \"$PLAIT_IN_N\" \"$PLAIT_IN_N\""]
requires = { n = "int" }
provides = { size = "string", digits = "string" }

[tasks.report]
command = ["sh", "-c", "printf '{\"report\": \"%s\"}' \"$PLAIT_IN_SIZE\""]
requires = { n = "int", size = "string", digits = "string" }
provides = { report = "string" }
"#;

/// Runs `flow.toml` with `args`; its run id.
fn run(scratch: &Scratch, args: &[&str]) -> String {
    let mut all = vec!["run", "flow.toml", "--json"];
    all.extend_from_slice(args);
    let report = scratch.plait(&all).expect_code(0).json();
    report.0["run_id"].as_str().expect("a run id").to_owned()
}

/// Two runs of [`WORKFLOW`] on `data.txt`, which holds `one`, then `three`: their ids.
fn two_runs() -> (Scratch, [String; 2]) {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    scratch.write("data.txt", "one");
    let first = run(&scratch, &["--set", "data=data.txt"]);
    scratch.write("data.txt", "three");
    let second = run(&scratch, &["--set", "data=data.txt"]);
    (scratch, [first, second])
}

/// The first 12 hex digits of blake3 of `text`, as explain shows a content hash.
fn blake3_short(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..12].to_owned()
}

/// The first 12 hex digits of a long string's hash in a cache key.
fn string_hash_short(text: &str) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(b"string\0");
    hasher.update(text.as_bytes());
    hasher.finalize().to_hex()[..12].to_owned()
}

/// `plait explain RUN TASK`'s text with the scratch directory, the runs' ids and `names`
/// replaced by names.
fn check(scratch: &Scratch, runs: [&str; 2], task: &str, names: &[(&str, &str)], expect: Expect) {
    let explained = scratch.plait(&["explain", runs[1], task]);
    let dir = scratch.path().display().to_string();
    let mut replace = vec![
        (dir.as_str(), "<dir>"),
        (runs[0], "<run 1>"),
        (runs[1], "<run 2>"),
    ];
    replace.extend_from_slice(names);
    expect.assert_eq(&normalize(&explained.expect_code(0).stdout, &replace));
}

#[test]
fn a_changed_file_is_explained_by_its_content_hashes() {
    let (scratch, [first, second]) = two_runs();
    let (one, three) = (blake3_short("one"), blake3_short("three"));
    let names = [(one.as_str(), "<one>"), (three.as_str(), "<three>")];

    // The run's own input, and the file a task made from it: the path is the same, the
    // content is not.
    check(
        &scratch,
        [&first, &second],
        "copy",
        &names,
        expect![[r#"
        `copy` in run <run 2>: executed
          because input `data` changed: the content of "<dir>/data.txt" changed: blake3 <one> -> <three>
          (compared with run <run 1>, the latest earlier run that recorded it)
    "#]],
    );
    check(
        &scratch,
        [&first, &second],
        "count",
        &names,
        expect![[r#"
            `count` in run <run 2>: executed
              because input `copy` changed: the content of "<dir>/out/copy.txt" changed: blake3 <one> -> <three>
              first cause: `copy`'s input `data` changed: the content of "<dir>/data.txt" changed: blake3 <one> -> <three>, which changed `copy.copy`
              (compared with run <run 1>, the latest earlier run that recorded it)
        "#]],
    );

    // Another path with the same content: the path changed, not the content.
    scratch.write("other.txt", "three");
    let third = run(&scratch, &["--set", "data=other.txt"]);
    check(
        &scratch,
        [&second, &third],
        "copy",
        &names,
        expect![[r#"
        `copy` in run <run 2>: executed
          because input `data` changed: "<dir>/data.txt" -> "<dir>/other.txt" (the same content, blake3 <three>)
          (compared with run <run 1>, the latest earlier run that recorded it)
    "#]],
    );
}

#[test]
fn upstream_values_are_shown_when_small_and_named_by_hash_when_large() {
    let (scratch, [first, second]) = two_runs();
    let (three, five) = (format!("{:0200}", 3), format!("{:0200}", 5));
    let (three, five) = (string_hash_short(&three), string_hash_short(&five));
    let (one, data_three) = (blake3_short("one"), blake3_short("three"));
    let names = [
        (three.as_str(), "<digits 3>"),
        (five.as_str(), "<digits 5>"),
        (one.as_str(), "<one>"),
        (data_three.as_str(), "<three>"),
    ];

    // `n` is its own hash; `size` is longer, and read from `describe`'s recorded outputs;
    // `digits` is too long to show.
    check(
        &scratch,
        [&first, &second],
        "report",
        &names,
        expect![[r#"
            `report` in run <run 2>: executed
              because input `digits` changed: `describe.digits` produced a different value (hash <digits 3> -> <digits 5>; the values are too long to show)
                  and input `n` changed: `count.n` produced a different value: 3 -> 5
                  and input `size` changed: `describe.size` produced a different value: "3 characters long" -> "5 characters long"
              first cause: `copy`'s input `data` changed: the content of "<dir>/data.txt" changed: blake3 <one> -> <three>, which changed `copy.copy`, then `count.n`, then `describe.digits`
              (compared with run <run 1>, the latest earlier run that recorded it)
        "#]],
    );
}

#[test]
fn the_cause_is_followed_upstream_to_the_changed_file() {
    let (scratch, [first, second]) = two_runs();
    let (one, three) = (blake3_short("one"), blake3_short("three"));
    let explained = scratch.plait(&["explain", &second, "describe"]);
    let dir = scratch.path().display().to_string();
    let replace = [
        (dir.as_str(), "<dir>"),
        (first.as_str(), "<run 1>"),
        (second.as_str(), "<run 2>"),
        (one.as_str(), "<one>"),
        (three.as_str(), "<three>"),
    ];
    expect![[r#"
        `describe` in run <run 2>: executed
          because input `n` changed: `count.n` produced a different value: 3 -> 5
          first cause: `copy`'s input `data` changed: the content of "<dir>/data.txt" changed: blake3 <one> -> <three>, which changed `copy.copy`, then `count.n`
          (compared with run <run 1>, the latest earlier run that recorded it)
    "#]]
    .assert_eq(&normalize(&explained.expect_code(0).stdout, &replace));

    let json = scratch.plait(&["explain", &second, "report", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.expect_code(0).stdout).unwrap();
    let cause = json["cause"].as_array().unwrap();
    let steps: Vec<[&str; 3]> = cause
        .iter()
        .map(|link| ["task", "input", "from"].map(|key| link[key].as_str().unwrap_or("null")))
        .collect();
    assert_eq!(
        steps,
        [
            ["report", "digits", "describe.digits"],
            ["describe", "n", "count.n"],
            ["count", "copy", "copy.copy"],
            ["copy", "data", "input data"],
        ]
    );
    assert_eq!(
        cause[1]["reason"],
        "input `n` changed: `count.n` produced a different value: 3 -> 5"
    );
    let first_cause = json["first_cause"].as_str().unwrap();
    assert!(
        first_cause.starts_with("`copy`'s input `data` changed: the content of")
            && first_cause
                .ends_with("which changed `copy.copy`, then `count.n`, then `describe.digits`"),
        "{first_cause}"
    );
}

#[test]
fn the_cause_is_followed_through_results_reused_from_an_older_run() {
    // `report` fails while `fail` exists, and only successes are kept: the third run
    // reuses the first run's results up to `report`, which runs again.
    let scratch = Scratch::new();
    let failing = WORKFLOW.replace(
        "printf '{\\\"report\\\"",
        "test -e fail && exit 3; printf '{\\\"report\\\"",
    );
    scratch.write(
        "flow.toml",
        &format!("on_failure = \"continue\"\n{failing}"),
    );
    scratch.write("data.txt", "one");
    scratch.write("fail", "");
    let first = scratch.plait(&["run", "flow.toml", "--json", "--set", "data=data.txt"]);
    let first = first.expect_code(1).json().0["run_id"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::remove_file(scratch.join("fail")).unwrap();
    scratch.write("data.txt", "three");
    let second = run(&scratch, &["--set", "data=data.txt"]);
    scratch.write("data.txt", "one");
    let third = run(&scratch, &["--set", "data=data.txt"]);

    let json = scratch.plait(&["explain", &third, "report", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&json.expect_code(0).stdout).unwrap();
    assert_eq!(json["compared_with"], second.as_str());
    // `copy`, `count` and `describe` reused the first run's results: their keys are read
    // from the first run, which is older than the run compared with.
    let cause: Vec<&str> = json["cause"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| link["task"].as_str().unwrap())
        .collect();
    assert_eq!(cause, ["report", "describe", "count", "copy"], "{json}");
    let expected = format!(
        "`copy`'s input `data` changed: the content of \"{}\" changed: blake3 {} -> {}, which changed `copy.copy`, then `count.n`, then `describe.digits`",
        scratch.join("data.txt").display(),
        blake3_short("three"),
        blake3_short("one"),
    );
    assert_eq!(json["first_cause"], expected.as_str(), "{}", first);
}
