//! `examples/fan-out-analysis`: four shards counted in parallel add up to one count of the whole.

use std::collections::BTreeMap;

use serde_json::json;

use crate::support::{Scratch, repo_root, run_example};

const EXAMPLE: &str = "fan-out-analysis";

/// The example's word frequencies, computed here in one pass over the whole text with the same
/// definition of a word (a run of ASCII letters and apostrophes, lower-cased, apostrophes at
/// its ends removed) but none of its code.
fn single_pass(text: &str) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    let lower = text.to_ascii_lowercase();
    for raw in lower.split(|c: char| !(c.is_ascii_lowercase() || c == '\'')) {
        let word = raw.trim_matches('\'');
        if !word.is_empty() {
            *counts.entry(word.to_owned()).or_default() += 1;
        }
    }
    counts
}

#[test]
fn the_merged_shard_counts_equal_a_single_pass_count() {
    let text =
        std::fs::read_to_string(repo_root().join("examples/fan-out-analysis/alice.txt")).unwrap();
    let expected = single_pass(&text);

    let work = Scratch::new();
    let set_work = format!("work_dir={}", work.path().display());
    let run = run_example(EXAMPLE, &["--json", "--set", &set_work]);
    let report = run.expect_code(0).json();
    assert_eq!(report.status(), "succeeded");
    let tasks = [
        "split",
        "count/count_1",
        "count/count_2",
        "count/count_3",
        "count/count_4",
        "merge",
        "report",
    ];
    assert_eq!(report.0["tasks"].as_object().unwrap().len(), tasks.len());
    for task in tasks {
        assert_eq!(report.state(task), "succeeded", "{task}");
    }

    // Fan-out: the shards are the text, cut in four, none empty.
    let shards: Vec<String> = (1..=4)
        .map(|i| work.read(&format!("shard{i}.txt")))
        .collect();
    assert_eq!(shards.concat(), text);
    assert!(shards.iter().all(|shard| shard.lines().count() > 100));
    // Each shard was counted on its own: no shard's count is the whole.
    for i in 1..=4 {
        let counts = work.read(&format!("shard{i}.txt.counts"));
        let total: u64 = counts
            .lines()
            .map(|line| line.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
            .sum();
        assert!(total > 0 && total < expected.values().sum(), "shard {i}");
    }

    // Fan-in: the merged counts are the single-pass counts, word for word.
    let merged: BTreeMap<String, u64> = work
        .read("merged.counts")
        .lines()
        .map(|line| {
            let (word, count) = line.split_once(' ').unwrap();
            (word.to_owned(), count.parse().unwrap())
        })
        .collect();
    assert_eq!(merged, expected);

    let total: u64 = expected.values().sum();
    let mut ranked: Vec<(&String, &u64)> = expected.iter().collect();
    ranked.sort_by(|(w1, c1), (w2, c2)| c2.cmp(c1).then(w1.cmp(w2)));
    let top: Vec<_> = ranked
        .iter()
        .take(10)
        .map(|(word, count)| json!({"word": word, "count": count}))
        .collect();
    assert_eq!(report.output("total_words"), &json!(total));
    assert_eq!(report.output("distinct_words"), &json!(expected.len()));
    assert_eq!(report.output("top_words"), &json!(top));
    // And the numbers themselves, so a change to the text or to the word rule shows here.
    assert_eq!((total, expected.len()), (6016, 1173));
    assert_eq!(top[0], json!({"word": "the", "count": 289}));
}
