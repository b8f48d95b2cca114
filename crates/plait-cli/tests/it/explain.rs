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
    let names = [
        (three.as_str(), "<digits 3>"),
        (five.as_str(), "<digits 5>"),
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
          (compared with run <run 1>, the latest earlier run that recorded it)
    "#]],
    );
}
