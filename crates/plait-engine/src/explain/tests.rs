//! `explain` over hand-made run records.

use super::*;
use plait_core::TaskState;
use plait_store::{Owner, RunState, RunSummary};
use serde_json::json;

fn run(id: &str, inputs: Json, tasks: Vec<TaskRecord>) -> RunRecord {
    RunRecord {
        summary: RunSummary {
            run_id: id.into(),
            workflow: "w".to_owned(),
            source: "w.toml".to_owned(),
            state: RunState::Finished(plait_core::RunStatus::Succeeded),
            started_at: 0,
            finished_at: Some(1),
            owner: Some(Owner {
                host: "h".to_owned(),
                pid: 1,
                started: 1,
            }),
            lease_until: None,
        },
        definition: String::new(),
        definition_hash: String::new(),
        inputs,
        settings: None,
        cancelled: false,
        processes: Vec::new(),
        spawned: Vec::new(),
        tasks,
        transitions: Vec::new(),
    }
}

fn task(name: &str, key: &str, components: Json, from: Option<&str>) -> TaskRecord {
    TaskRecord {
        state: TaskState::Succeeded,
        attempts: u32::from(from.is_none()),
        key: Some(TaskKey {
            key: Some(key.into()),
            components: components.to_string(),
            cached_from: from.map(RunId::from),
        }),
        ..TaskRecord::pending(name.into())
    }
}

fn components(version: &str, code: &str, n_hash: &str, l_hash: &str) -> Json {
    json!({
        "task": "t", "version": version, "code": code,
        "inputs": {
            "n": {"hash": n_hash, "from": "input n"},
            "l": {"hash": l_hash, "from": "left.l"},
        }
    })
}

#[test]
fn names_each_changed_component() {
    let old = run(
        "r1",
        json!({"n": 3}),
        vec![task("t", "k1", components("1", "echo a", "h1", "x1"), None)],
    );
    let new = run(
        "r2",
        json!({"n": 5}),
        vec![task("t", "k2", components("2", "echo b", "h2", "x2"), None)],
    );
    let explained = explain(&new, "t", &[old]).unwrap();
    assert_eq!(explained.verdict, Verdict::Executed);
    assert_eq!(explained.compared_with.as_deref(), Some("r1"));
    assert_eq!(
        explained.reasons,
        [
            r#"its version changed: "1" -> "2""#,
            r#"its code changed: "echo a" -> "echo b""#,
            "input `n` changed: 3 -> 5",
            "input `l` changed: `left.l` produced a different value (hash x1 -> x2; neither run's record tells its value)",
        ]
    );
}

#[test]
fn reuse_first_runs_and_unknown_tasks() {
    let first = run(
        "r1",
        json!({}),
        vec![task("t", "k1", components("1", "c", "h", "x"), None)],
    );
    let second = run(
        "r2",
        json!({}),
        vec![task("t", "k1", components("1", "c", "h", "x"), Some("r1"))],
    );
    let reused = explain(&second, "t", std::slice::from_ref(&first)).unwrap();
    assert_eq!(
        reused.verdict,
        Verdict::Reused {
            from_run: "r1".to_owned()
        }
    );
    let alone = explain(&first, "t", &[]).unwrap();
    assert!(alone.reasons[0].starts_with("no earlier run"));
    // Same key, yet executed: the result was gone.
    let rerun = run(
        "r3",
        json!({}),
        vec![task("t", "k1", components("1", "c", "h", "x"), None)],
    );
    let gone = explain(&rerun, "t", &[first]).unwrap();
    assert!(gone.reasons[0].contains("no longer in the cache"));
    let error = explain(&rerun, "s/t2", &[]).unwrap_err();
    assert_eq!(error.to_string(), "run `r3` has no task `s/t2`");
}

#[test]
fn a_reuse_is_compared_through_the_run_it_came_from() {
    let source = run(
        "r1",
        json!({}),
        vec![task("t", "k1", components("1", "c", "h", "x"), None)],
    );
    let reuse = run(
        "r2",
        json!({}),
        vec![task("t", "k1", Json::Null, Some("r1"))],
    );
    let changed = run(
        "r3",
        json!({}),
        vec![task("t", "k2", components("2", "c", "h", "x"), None)],
    );
    let explained = explain(&changed, "t", &[reuse.clone(), source]).unwrap();
    assert_eq!(explained.compared_with.as_deref(), Some("r2"));
    assert_eq!(explained.reasons, [r#"its version changed: "1" -> "2""#]);
    let alone = explain(&changed, "t", &[reuse]).unwrap();
    assert!(
        alone.reasons[0].contains("too far back"),
        "{:?}",
        alone.reasons
    );
}

/// A `file` input's entry in a key's components, with the hash a key would give it.
fn file_input(path: &str, content: Option<&str>, from: &str) -> Json {
    let hash =
        crate::value_hash::value_hash(&plait_core::Value::file(path), &[content.unwrap_or("00")])
            .unwrap();
    let hash: String = hash.iter().map(|byte| format!("{byte:02x}")).collect();
    match content {
        Some(content) => json!({"hash": hash, "from": from, "content": content}),
        None => json!({"hash": hash, "from": from}),
    }
}

fn file_components(input: Json) -> Json {
    json!({"task": "t", "version": null, "code": "c", "inputs": {"f": input}})
}

/// `t` reads the file `f` from `from`; `produced` records what `up` gave in each run.
fn file_reasons(
    from: &str,
    before: (&str, Option<&str>),
    after: (&str, Option<&str>),
) -> Vec<String> {
    let side = |id: &str, key: &str, (path, content): (&str, Option<&str>)| {
        let upstream = TaskRecord {
            outputs: Some(json!({"f": path})),
            ..task("up", "u", json!({}), None)
        };
        let t = task(
            "t",
            key,
            file_components(file_input(path, content, from)),
            None,
        );
        run(id, json!({"f": path}), vec![upstream, t])
    };
    let old = side("r1", "k1", before);
    let new = side("r2", "k2", after);
    explain(&new, "t", &[old]).unwrap().reasons
}

#[test]
fn a_file_is_explained_by_its_content_and_its_path() {
    let (one, two) = (&*"1".repeat(64), &*"2".repeat(64));
    for from in ["input f", "up.f"] {
        assert_eq!(
            file_reasons(from, ("/d/a", Some(one)), ("/d/a", Some(two))),
            [
                r#"input `f` changed: the content of "/d/a" changed: blake3 111111111111 -> 222222222222"#
            ]
        );
        assert_eq!(
            file_reasons(from, ("/d/a", Some(one)), ("/d/b", Some(one))),
            [r#"input `f` changed: "/d/a" -> "/d/b" (the same content, blake3 111111111111)"#]
        );
        assert_eq!(
            file_reasons(from, ("/d/a", Some(one)), ("/d/b", Some(two))),
            [
                r#"input `f` changed: "/d/a" -> "/d/b", and its content changed: blake3 111111111111 -> 222222222222"#
            ]
        );
    }
    // A run recorded before content hashes were kept: its own input's path is trusted, and an
    // unchanged path means the content changed.
    assert_eq!(
        file_reasons("input f", ("/d/a", None), ("/d/a", Some(two))),
        [
            "input `f` changed: the content of \"/d/a\" changed (run r1 did not record the hash of its content)"
        ]
    );
    // An upstream path that cannot be checked against the hash is not shown.
    let unchecked = file_reasons("up.f", ("/d/a", None), ("/d/a", Some(two)));
    assert!(
        unchecked[0].starts_with("input `f` changed: `up.f` produced a different value (hash "),
        "{unchecked:?}"
    );
}

#[test]
fn a_list_of_input_files_is_explained_by_its_paths_or_their_content() {
    let reasons = |before: (Json, &str), after: (Json, &str)| {
        let side = |id: &str, key: &str, (paths, content): (Json, &str)| {
            let input = json!({"hash": key, "from": "input f", "content": content});
            let t = task("t", key, file_components(input), None);
            run(id, json!({ "f": paths }), vec![t])
        };
        let old = side("r1", "k1", before);
        explain(&side("r2", "k2", after), "t", &[old])
            .unwrap()
            .reasons
    };
    let (one, two) = (&*"1".repeat(64), &*"2".repeat(64));
    assert_eq!(
        reasons((json!(["/a", "/b"]), one), (json!(["/a", "/c"]), two)),
        [r#"input `f` changed: ["/a","/b"] -> ["/a","/c"]"#]
    );
    assert_eq!(
        reasons((json!(["/a"]), one), (json!(["/a"]), two)),
        [
            "input `f` changed: the content of a file it lists changed: blake3 111111111111 -> 222222222222"
        ]
    );
}

#[test]
fn a_path_that_did_not_go_into_the_key_is_not_shown() {
    let (one, two) = ("1".repeat(64), "2".repeat(64));
    let side = |id: &str, key: &str, recorded: &str, content: &str| {
        let upstream = TaskRecord {
            outputs: Some(json!({"f": recorded})),
            ..task("up", "u", json!({}), None)
        };
        let input = file_input("/d/a", Some(content), "up.f");
        run(
            id,
            json!({}),
            vec![upstream, task("t", key, file_components(input), None)],
        )
    };
    // `up` was run again since and recorded another path: its record does not tell.
    let old = side("r1", "k1", "/d/elsewhere", &one);
    let new = side("r2", "k2", "/d/a", &two);
    assert_eq!(
        explain(&new, "t", &[old]).unwrap().reasons,
        ["input `f` changed: its content changed: blake3 111111111111 -> 222222222222"]
    );
}

/// The hash a key gives `value`, in hex.
fn hash_of(value: &plait_core::Value) -> String {
    let hash = crate::value_hash::value_hash(value, &[]).unwrap();
    hash.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What explain says of `t`'s input `v`, which `up.v` gave: `values` are what went into the
/// two keys, `recorded` what the two runs recorded `up` giving (`None`: nothing).
fn upstream_reasons(values: [plait_core::Value; 2], recorded: [Option<Json>; 2]) -> Vec<String> {
    let side = |idx: usize| {
        let upstream = TaskRecord {
            outputs: recorded[idx].clone().map(|value| json!({ "v": value })),
            ..task("up", "u", json!({}), None)
        };
        let input = json!({"hash": hash_of(&values[idx]), "from": "up.v"});
        let components = json!({"task": "t", "version": null, "code": "c", "inputs": {"v": input}});
        let (id, key) = [("r1", "k1"), ("r2", "k2")][idx];
        run(
            id,
            json!({}),
            vec![upstream, task("t", key, components, None)],
        )
    };
    explain(&side(1), "t", &[side(0)]).unwrap().reasons
}

#[test]
fn an_upstream_value_is_shown_when_it_is_known_and_short() {
    use plait_core::Value;
    // Small values are their own hash: nothing recorded is needed.
    assert_eq!(
        upstream_reasons([Value::Int(3), Value::Int(5)], [None, None]),
        ["input `v` changed: `up.v` produced a different value: 3 -> 5"]
    );
    assert_eq!(
        upstream_reasons([Value::from("short"), Value::Bool(true)], [None, None]),
        [r#"input `v` changed: `up.v` produced a different value: "short" -> true"#]
    );
    // Longer ones are read from the record, once they hash as the key says.
    let (before, after) = ("3 characters long", "5 characters long");
    assert_eq!(
        upstream_reasons(
            [Value::from(before), Value::from(after)],
            [Some(json!(before)), Some(json!(after))]
        ),
        [
            r#"input `v` changed: `up.v` produced a different value: "3 characters long" -> "5 characters long""#
        ]
    );
    let document = json!({"b": [1, 2], "a": "x"});
    assert_eq!(
        upstream_reasons(
            [Value::json(document.clone()), Value::from(after)],
            [Some(document), Some(json!(after))]
        ),
        [
            r#"input `v` changed: `up.v` produced a different value: {"a":"x","b":[1,2]} -> "5 characters long""#
        ]
    );
    // A record that does not hash as the key says (the task ran again since), or none.
    let stale = upstream_reasons(
        [Value::from(before), Value::from(after)],
        [Some(json!("another value here")), None],
    );
    let (old, new) = (hash_of(&Value::from(before)), hash_of(&Value::from(after)));
    assert_eq!(
        stale,
        [format!(
            "input `v` changed: `up.v` produced a different value (hash {} -> {}; neither run's record tells its value)",
            &old[..12],
            &new[..12]
        )]
    );
    // A list is read back from its record, its element type guessed and checked.
    let names = |json: Json| {
        plait_core::ValueType::from_name("list<string>")
            .unwrap()
            .value_from_json(&json)
            .unwrap()
    };
    assert_eq!(
        upstream_reasons(
            [names(json!(["a", "b"])), names(json!(["a", "c"]))],
            [Some(json!(["a", "b"])), Some(json!(["a", "c"]))]
        ),
        [r#"input `v` changed: `up.v` produced a different value: ["a","b"] -> ["a","c"]"#]
    );
    let grid = plait_core::ValueType::from_name("list<list<int>>").unwrap();
    let grids = [json!([[1], []]), json!([])].map(|json| grid.value_from_json(&json).unwrap());
    assert_eq!(
        upstream_reasons(grids, [Some(json!([[1], []])), Some(json!([]))]),
        ["input `v` changed: `up.v` produced a different value: [[1],[]] -> []"]
    );
    let long = "x".repeat(200);
    let too_long = upstream_reasons(
        [Value::from(before), Value::from(long.as_str())],
        [Some(json!(before)), Some(json!(long))],
    );
    assert_eq!(
        too_long,
        [format!(
            "input `v` changed: `up.v` produced a different value (hash {} -> {}; the values are too long to show)",
            &old[..12],
            &hash_of(&Value::from(long.as_str()))[..12]
        )]
    );
    let one_side = upstream_reasons(
        [Value::from(before), Value::from(after)],
        [None, Some(json!(after))],
    );
    assert!(
        one_side[0].ends_with("; the record of run r1 does not tell its value)"),
        "{one_side:?}"
    );
}

/// Components of a task `version` whose inputs are `(name, value, from)`.
fn keyed(version: &str, inputs: &[(&str, plait_core::Value, &str)]) -> Json {
    let inputs: serde_json::Map<String, Json> = inputs
        .iter()
        .map(|(name, value, from)| {
            (
                (*name).to_owned(),
                json!({"hash": hash_of(value), "from": from}),
            )
        })
        .collect();
    json!({"task": "t", "version": version, "code": "c", "inputs": inputs})
}

/// A run of `load -> parse -> report`: `load` reads the run input `path`, each task gives the
/// next one value; `values` are `path`, `load.config` and `parse.tree`, `versions` those of
/// the three tasks.
fn pipeline(id: &str, values: [i64; 3], versions: [&str; 3]) -> RunRecord {
    use plait_core::Value;
    let [path, config, tree] = values;
    run(
        id,
        json!({ "path": path }),
        vec![
            task(
                "load",
                &format!("{id}-l"),
                keyed(versions[0], &[("path", Value::Int(path), "input path")]),
                None,
            ),
            task(
                "parse",
                &format!("{id}-p"),
                keyed(
                    versions[1],
                    &[("config", Value::Int(config), "load.config")],
                ),
                None,
            ),
            task(
                "report",
                &format!("{id}-r"),
                keyed(versions[2], &[("tree", Value::Int(tree), "parse.tree")]),
                None,
            ),
        ],
    )
}

#[test]
fn the_cause_is_followed_upstream_to_the_first_change() {
    let old = pipeline("r1", [1, 10, 100], ["1", "1", "1"]);
    let new = pipeline("r2", [2, 20, 200], ["1", "1", "1"]);
    let explained = explain(&new, "report", &[old]).unwrap();
    assert_eq!(
        explained.reasons,
        ["input `tree` changed: `parse.tree` produced a different value: 100 -> 200"]
    );
    let steps: Vec<(&str, Option<&str>, Option<&str>)> = explained
        .cause
        .iter()
        .map(|link| {
            (
                link.task.as_str(),
                link.input.as_deref(),
                link.from.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        steps,
        [
            ("report", Some("tree"), Some("parse.tree")),
            ("parse", Some("config"), Some("load.config")),
            ("load", Some("path"), Some("input path")),
        ]
    );
    assert_eq!(explained.cause[2].reason, "input `path` changed: 1 -> 2");
    assert_eq!(
        explained.first_cause,
        "`load`'s input `path` changed: 1 -> 2, which changed `load.config`, then `parse.tree`"
    );

    // A change of the task's own is the cause, even with an upstream value changed too.
    let bumped = pipeline("r3", [2, 20, 200], ["1", "2", "1"]);
    let explained = explain(
        &bumped,
        "report",
        &[pipeline("r1", [1, 10, 100], ["1", "1", "1"])],
    )
    .unwrap();
    assert_eq!(
        explained.first_cause,
        r#"`parse`'s version changed: "1" -> "2", which changed `parse.tree`"#
    );
    // One link: the task's own reason.
    let explained = explain(
        &bumped,
        "load",
        &[pipeline("r1", [1, 10, 100], ["1", "1", "1"])],
    )
    .unwrap();
    assert_eq!(explained.cause.len(), 1);
    assert_eq!(
        explained.first_cause,
        "`load`'s input `path` changed: 1 -> 2"
    );
}

#[test]
fn the_cause_ends_where_the_records_stop_telling() {
    use plait_core::Value;
    let old = pipeline("r1", [1, 10, 100], ["1", "1", "1"]);
    // `parse` is never reused: it ran again and gave another tree for the same config.
    let mut never = pipeline("r2", [1, 10, 200], ["1", "1", "1"]);
    never.tasks[1].key = Some(TaskKey {
        key: None,
        components: json!({"disabled": "`cache = false` on the task"}).to_string(),
        cached_from: None,
    });
    let explained = explain(&never, "report", std::slice::from_ref(&old)).unwrap();
    assert_eq!(
        explained.first_cause,
        "`parse` is never reused (`cache = false` on the task), so it ran again and produced a different value, which changed `parse.tree`"
    );
    assert_eq!(explained.cause.len(), 2);
    // The same key, yet another value (its result was gone, and it is not deterministic).
    let same = pipeline("r2", [1, 10, 200], ["1", "1", "1"]);
    let explained = explain(&same, "report", std::slice::from_ref(&old)).unwrap();
    assert_eq!(
        explained.first_cause,
        "`parse`'s key is the same as in run r1, yet it produced a different value, which changed `parse.tree`"
    );
    // `parse` reused a result of a run that was not read.
    let mut reused = pipeline("r2", [1, 10, 200], ["1", "1", "1"]);
    reused.tasks[1] = task("parse", "k", Json::Null, Some("r0"));
    let explained = explain(&reused, "report", std::slice::from_ref(&old)).unwrap();
    assert_eq!(
        explained.first_cause,
        "`parse` reused the result of run r0, too far back to compare with, which changed `parse.tree`"
    );
    // Reused from one that was: its components are that run's.
    let source = run(
        "r0",
        json!({}),
        vec![task(
            "parse",
            "k",
            keyed("1", &[("config", Value::Int(30), "load.config")]),
            None,
        )],
    );
    let explained = explain(&reused, "report", &[old, source]).unwrap();
    assert_eq!(
        explained.cause[1].reason,
        "input `config` changed: `load.config` produced a different value: 10 -> 30"
    );
    assert_eq!(
        explained.first_cause,
        "`load`'s key is the same as in run r1, yet it produced a different value, which changed `load.config`, then `parse.tree`"
    );
}
