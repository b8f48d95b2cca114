//! The result cache through the real binary: real commands append to a ledger when they
//! execute, so the ledger says exactly what ran.

use crate::support::Scratch;

const WORKFLOW: &str = r#"
[inputs]
text = { type = "string", default = "hello" }
factor = { type = "int", default = 2 }

[tasks.write]
command = ["sh", "-c", "echo write >> ledger; mkdir -p out; printf '%s' \"$PLAIT_IN_TEXT\" > out/words.txt; printf '{\"words\": \"out/words.txt\"}'"]
requires = { text = "string" }
provides = { words = "file" }

[tasks.count]
command = ["sh", "-c", "echo count >> ledger; printf '{\"n\": %d}' $(wc -c < \"$PLAIT_IN_WORDS\")"]
requires = { words = "file" }
provides = { n = "int" }

[tasks.scale]
command = ["sh", "-c", "echo scale >> ledger; printf '{\"scaled\": %d}' $((PLAIT_IN_N * PLAIT_IN_FACTOR))"]
requires = { n = "int", factor = "int" }
provides = { scaled = "int" }

[tasks.stamp]
command = ["sh", "-c", "echo stamp >> ledger; printf '{\"at\": \"%s\"}' $(date +%s%N)"]
provides = { at = "string" }
cache = false
"#;

/// The ledger's lines since the last call, sorted, and the ledger emptied.
fn executed(scratch: &Scratch) -> Vec<String> {
    let path = scratch.join("ledger");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn run(scratch: &Scratch, extra: &[&str]) -> crate::support::Report {
    let mut args = vec!["run", "flow.toml", "--json"];
    args.extend_from_slice(extra);
    scratch.plait(&args).expect_code(0).json()
}

#[test]
fn reruns_execute_only_what_changed() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);

    let first = run(&scratch, &[]);
    assert_eq!(executed(&scratch), ["count", "scale", "stamp", "write"]);
    assert_eq!(first.0["executed"], 4);
    assert_eq!(first.output("scaled"), 10);

    // Unchanged: only the task that must always run runs.
    let shown = scratch.plait(&["run", "flow.toml"]);
    assert!(
        shown
            .expect_code(0)
            .stderr
            .contains("write: reused from the cache"),
        "{}",
        shown.stderr
    );
    executed(&scratch);
    let again = run(&scratch, &[]);
    assert_eq!(executed(&scratch), ["stamp"]);
    assert_eq!(again.0["executed"], 1);
    assert_eq!(again.0["cached"], 3);
    assert_eq!(again.task("write")["cached"], true);
    assert_eq!(again.task("stamp")["cached"], false);
    assert_eq!(again.output("scaled"), 10);

    // `factor` feeds `scale` only.
    let factor = run(&scratch, &["--set", "factor=3"]);
    assert_eq!(executed(&scratch), ["scale", "stamp"]);
    assert_eq!(factor.output("scaled"), 15);

    // A new text of the same length: `write` and `count` run, and `count` gives what it gave
    // before, so `scale` is reused (early cut-off).
    let cutoff = run(&scratch, &["--set", "text=world"]);
    assert_eq!(executed(&scratch), ["count", "stamp", "write"]);
    assert_eq!(cutoff.task("scale")["cached"], true);
    assert_eq!(scratch.read("out/words.txt"), "world");

    // A file output deleted since: a hit puts it back.
    std::fs::remove_file(scratch.join("out/words.txt")).unwrap();
    run(&scratch, &["--set", "text=world"]);
    assert_eq!(executed(&scratch), ["stamp"]);
    assert_eq!(scratch.read("out/words.txt"), "world");
    // And the earlier text's result is still there: going back runs nothing new.
    run(&scratch, &[]);
    assert_eq!(executed(&scratch), ["stamp"]);
    assert_eq!(scratch.read("out/words.txt"), "hello");

    let forced = run(&scratch, &["--no-cache"]);
    assert_eq!(executed(&scratch), ["count", "scale", "stamp", "write"]);
    assert_eq!(forced.0["cached"], 0);
}

#[test]
fn explain_names_the_changed_input_and_the_reused_result() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let first = run(&scratch, &[]);
    let second = run(&scratch, &["--set", "factor=5"]);
    let first_id = first.0["run_id"].as_str().unwrap();
    let second_id = second.0["run_id"].as_str().unwrap();

    let scale = scratch.plait(&["explain", &second_id[..13], "scale"]);
    let text = &scale.expect_code(0).stdout;
    assert!(text.contains("`scale` in run"), "{text}");
    assert!(text.contains(": executed"), "{text}");
    assert!(text.contains("input `factor` changed: 2 -> 5"), "{text}");
    assert!(
        text.contains(&format!("compared with run {first_id}")),
        "{text}"
    );

    let count = scratch.plait(&["explain", second_id, "count", "--json"]);
    let count: serde_json::Value = serde_json::from_str(&count.expect_code(0).stdout).unwrap();
    assert_eq!(count["verdict"], "reused");
    assert_eq!(count["reused_from"], first_id);

    let shown = scratch.plait(&["show", second_id, "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown.expect_code(0).stdout).unwrap();
    assert_eq!(shown["tasks"]["count"]["cached"], true);
    assert_eq!(shown["tasks"]["count"]["reused_from"], first_id);
    assert_eq!(shown["tasks"]["scale"]["cached"], false);
    let text = scratch.plait(&["show", second_id]);
    let text = &text.expect_code(0).stdout;
    assert!(
        text.lines().any(|line| line.starts_with("count")
            && line.contains(&format!("reused from run {first_id}"))),
        "{text}"
    );

    let stamp = scratch.plait(&["explain", second_id, "stamp"]);
    let text = &stamp.expect_code(0).stdout;
    assert!(text.contains("`cache = false` on the task"), "{text}");

    let first_run = scratch.plait(&["explain", first_id, "write"]);
    assert!(
        first_run
            .expect_code(0)
            .stdout
            .contains("no earlier run of this workflow recorded this task"),
        "{}",
        first_run.stdout
    );

    let unknown = scratch.plait(&["explain", second_id, "nope"]);
    let unknown = unknown.expect_code(2);
    assert!(
        unknown.stderr.contains("has no task `nope`"),
        "{}",
        unknown.stderr
    );
}

#[test]
fn cache_stats_and_gc() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    run(&scratch, &[]);
    run(&scratch, &[]);
    let stats = scratch.plait(&["cache", "stats", "--json"]);
    let stats: serde_json::Value = serde_json::from_str(&stats.expect_code(0).stdout).unwrap();
    assert_eq!(stats["entries"], 3);
    assert_eq!(stats["blobs"], 1, "the one file output");
    assert_eq!(
        (stats["hits"].as_u64(), stats["misses"].as_u64()),
        (Some(3), Some(3))
    );
    let text = scratch.plait(&["cache", "stats"]);
    assert!(
        text.expect_code(0).stdout.contains("3 cached result(s)"),
        "{}",
        text.stdout
    );

    // Nothing is a year old; everything is bigger than one byte.
    let by_age = scratch.plait(&["cache", "gc", "--older-than", "365d", "--json"]);
    let by_age: serde_json::Value = serde_json::from_str(&by_age.expect_code(0).stdout).unwrap();
    assert_eq!(by_age["entries_removed"], 0);
    let dry = scratch.plait(&["cache", "gc", "--max-size", "1B", "--dry-run"]);
    assert!(
        dry.expect_code(0)
            .stdout
            .starts_with("would remove 3 result(s)"),
        "{}",
        dry.stdout
    );
    let gc = scratch.plait(&["cache", "gc", "--max-size", "1B", "--json"]);
    let gc: serde_json::Value = serde_json::from_str(&gc.expect_code(0).stdout).unwrap();
    assert_eq!(
        (gc["entries_removed"].as_u64(), gc["blobs_removed"].as_u64()),
        (Some(3), Some(1))
    );
    executed(&scratch);
    run(&scratch, &[]);
    assert_eq!(executed(&scratch), ["count", "scale", "stamp", "write"]);

    let nothing = scratch.plait(&["cache", "gc"]);
    assert!(nothing.expect_code(2).stderr.contains("--older-than"));
    let bad = scratch.plait(&["cache", "gc", "--max-size", "lots"]);
    assert!(
        bad.expect_code(2).stderr.contains("500MB"),
        "{}",
        bad.stderr
    );
}
