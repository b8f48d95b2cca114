//! `--json` about runs: `plait run`, `plait show` and `plait runs` print what the committed
//! schemas (`crates/plait-cli/schema/`) describe, and `run` prints the very object `show`
//! prints for the same run. `plait check --json` prints what its schema describes too.

use serde_json::{Value, json};

use crate::support::Scratch;

/// `square` undoes itself unless `n` is 13; `check` fails when `sq` reaches `limit`; `report`
/// is never reused.
const WORKFLOW: &str = r#"
outputs = ["sq", "line"]

[inputs]
n = { type = "int", default = 3 }
limit = { type = "int", default = 100 }

[tasks.square]
command = ["sh", "-c", "printf '{\"sq\": %d}' $((PLAIT_IN_N * PLAIT_IN_N))"]
requires = { n = "int" }
provides = { sq = "int" }
revert = ["sh", "-c", "[ \"$PLAIT_IN_N\" -ne 13 ] || { echo 'cannot undo 13' >&2; exit 1; }"]

[tasks.check]
command = ["sh", "-c", "[ \"$PLAIT_IN_SQ\" -lt \"$PLAIT_IN_LIMIT\" ] || { echo 'too big' >&2; exit 1; }; printf '{\"ok\": true}'"]
requires = { sq = "int", limit = "int" }
provides = { ok = "bool" }

[tasks.report]
command = ["sh", "-c", "printf '{\"line\": \"%s is fine\"}' \"$PLAIT_IN_SQ\""]
requires = { sq = "int", ok = "bool" }
provides = { line = "string" }
cache = false
"#;

/// The committed schema `name`, as a validator.
fn schema(name: &str) -> jsonschema::Validator {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

#[track_caller]
fn assert_valid(schema: &jsonschema::Validator, value: &Value) {
    let errors: Vec<String> = schema
        .iter_errors(value)
        .map(|error| format!("at `{}`: {error}", error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}\n--- in:\n{value:#}",
        errors.join("\n")
    );
}

/// `plait run flow.toml --json ARGS`: its object, checked against the run schema and equal to
/// what `plait show` prints for the run.
#[track_caller]
fn run_and_show(scratch: &Scratch, code: i32, args: &[&str]) -> Value {
    let mut all = vec!["run", "flow.toml", "--json", "--jobs", "1"];
    all.extend_from_slice(args);
    let run = scratch.plait(&all).expect_code(code).json().0;
    assert_valid(&schema("run.schema.json"), &run);
    let id = run["run_id"].as_str().expect("a run id");
    let shown = scratch
        .plait(&["show", id, "--json"])
        .expect_code(0)
        .json()
        .0;
    assert_valid(&schema("run.schema.json"), &shown);
    assert_eq!(
        run, shown,
        "`plait run --json` and `plait show --json` differ"
    );
    run
}

#[test]
fn run_and_show_print_the_same_object_in_every_outcome() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);

    let first = run_and_show(&scratch, 0, &[]);
    assert_eq!(first["status"], "succeeded");
    assert_eq!(first["inputs"], json!({"n": 3, "limit": 100}));
    assert_eq!(first["outputs"], json!({"sq": 9, "line": "9 is fine"}));
    assert_eq!(first["tasks"]["square"]["outputs"], json!({"sq": 9}));
    assert_eq!(
        keys(&first["tasks"]["square"]),
        [
            "attempts",
            "cached",
            "duration_ms",
            "error",
            "finished_at",
            "outputs",
            "reused_from",
            "revert_error",
            "started_at",
            "state"
        ],
        "every key, null or not"
    );
    assert_eq!(first["tasks"]["square"]["error"], Value::Null);
    assert_eq!(
        (&first["executed"], &first["cached"]),
        (&json!(3), &json!(0))
    );

    let again = run_and_show(&scratch, 0, &[]);
    let square = &again["tasks"]["square"];
    assert_eq!(
        (&square["cached"], &square["attempts"]),
        (&json!(true), &json!(0))
    );
    assert_eq!(square["reused_from"], first["run_id"]);
    assert_eq!(again["tasks"]["report"]["reused_from"], Value::Null);
    assert_eq!(
        (&again["executed"], &again["cached"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(again["counts"]["succeeded"], 3);

    // `check` fails and the run is reverted: `report` never started, and is there all the same.
    let reverted = run_and_show(&scratch, 1, &["--set", "n=11"]);
    assert_eq!(reverted["status"], "reverted");
    assert_eq!(reverted["outputs"], json!({}));
    let check = &reverted["tasks"]["check"];
    assert!(
        check["error"].as_str().unwrap().contains("too big"),
        "{check}"
    );
    assert_eq!(reverted["tasks"]["square"]["outputs"], Value::Null);
    assert_eq!(reverted["tasks"]["report"]["state"], "pending");
    assert_eq!(reverted["counts"]["pending"], 1);
    assert_eq!(reverted["counts"]["reverted"], 2);

    let stuck = run_and_show(&scratch, 1, &["--set", "n=13"]);
    assert_eq!(stuck["status"], "revert_failed");
    let square = &stuck["tasks"]["square"];
    assert!(
        square["revert_error"]
            .as_str()
            .unwrap()
            .contains("cannot undo 13"),
        "{square}"
    );

    let runs = scratch.plait(&["runs", "--json"]);
    let runs: Value =
        serde_json::from_str(&runs.expect_code(0).stdout).expect("`plait runs --json` is JSON");
    assert_valid(&schema("runs.schema.json"), &runs);
    let ids: Vec<&Value> = runs
        .as_array()
        .unwrap()
        .iter()
        .map(|run| &run["run_id"])
        .collect();
    assert_eq!(
        ids,
        [
            &stuck["run_id"],
            &reverted["run_id"],
            &again["run_id"],
            &first["run_id"]
        ]
    );
    // A summary is the run object less its inputs, outputs and tasks; what a listing does
    // not read is null.
    let mut expected = first.as_object().unwrap().clone();
    for key in ["inputs", "outputs", "tasks"] {
        expected.remove(key);
    }
    for key in ["definition_hash", "executed", "cached", "counts"] {
        expected.insert(key.to_owned(), Value::Null);
    }
    assert_eq!(runs[3], Value::Object(expected));
}

#[test]
fn a_run_not_recorded_prints_the_same_keys_from_the_engines_report() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let schema = schema("run.schema.json");
    for (code, set) in [(0, "n=3"), (1, "n=11"), (1, "n=13")] {
        let run = scratch
            .plait(&[
                "run",
                "flow.toml",
                "--json",
                "--store",
                ":memory:",
                "--set",
                set,
            ])
            .expect_code(code)
            .json()
            .0;
        assert_valid(&schema, &run);
        for task in run["tasks"].as_object().unwrap().values() {
            assert_eq!(
                task["outputs"],
                Value::Null,
                "not kept without a store: {task}"
            );
        }
    }
    let recorded = scratch
        .plait(&["run", "flow.toml", "--json"])
        .expect_code(0)
        .json()
        .0;
    let memory = scratch
        .plait(&["run", "flow.toml", "--json", "--store", ":memory:"])
        .expect_code(0)
        .json()
        .0;
    assert_eq!(keys(&recorded), keys(&memory));
    assert_eq!(
        keys(&recorded["tasks"]["check"]),
        keys(&memory["tasks"]["check"])
    );
    for key in [
        "workflow",
        "source",
        "definition_hash",
        "status",
        "inputs",
        "outputs",
        "counts",
    ] {
        assert_eq!(recorded[key], memory[key], "{key}");
    }
}

/// A run whose process was killed: `interrupted`, without an end, its task `running`.
#[test]
fn an_interrupted_run_is_shown_and_listed_as_the_schemas_say() {
    let scratch = Scratch::new();
    let run = crate::store::crashed_run(&scratch);
    let shown = scratch
        .plait(&["show", &run, "--json"])
        .expect_code(0)
        .json()
        .0;
    assert_valid(&schema("run.schema.json"), &shown);
    assert_eq!(shown["status"], "interrupted");
    assert_eq!(
        (&shown["finished_at"], &shown["duration_ms"]),
        (&Value::Null, &Value::Null)
    );
    assert_eq!(shown["outputs"], json!({}));
    let states: Vec<&Value> = ["a", "boom", "c"]
        .iter()
        .map(|task| &shown["tasks"][task]["state"])
        .collect();
    assert_eq!(states, ["succeeded", "running", "pending"]);
    let runs = scratch.plait(&["runs", "--json"]);
    let runs: Value =
        serde_json::from_str(&runs.expect_code(0).stdout).expect("`plait runs --json` is JSON");
    assert_valid(&schema("runs.schema.json"), &runs);
    assert_eq!(runs[0]["finished_at"], Value::Null);
}

/// `a` fails; `b` needs its output; the flow `later` runs after `b`; `c` is independent.
const CONTINUE: &str = r#"
on_failure = "continue"

[tasks.a]
command = ["sh", "-c", "exit 3"]
provides = { x = "int" }

[tasks.b]
command = ["sh", "-c", "printf '{\"y\": 1}'"]
requires = { x = "int" }
provides = { y = "int" }

[tasks.later]
after = ["b"]

[tasks.later.tasks.e]
command = ["sh", "-c", "printf '{\"z\": 1}'"]
provides = { z = "int" }

[tasks.c]
command = ["sh", "-c", "printf '{\"w\": 1}'"]
provides = { w = "int" }
"#;

/// The engine records nothing of a task it settles as failed without running it; the record
/// read back shows it as the engine's report does.
#[test]
fn tasks_a_failure_kept_from_running_are_failed_in_the_record_too() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", CONTINUE);
    let recorded = run_and_show(&scratch, 1, &[]);
    let memory = scratch
        .plait(&["run", "flow.toml", "--json", "--store", ":memory:"])
        .expect_code(1)
        .json()
        .0;
    assert_eq!(keys(&recorded["tasks"]), ["a", "b", "c", "later/e"]);
    for (path, task) in recorded["tasks"].as_object().unwrap() {
        for key in ["state", "attempts", "error"] {
            assert_eq!(task[key], memory["tasks"][path][key], "`{path}`: {key}");
        }
    }
    assert_eq!(recorded["tasks"]["b"]["error"], "not run: `a` failed");
    assert_eq!(
        recorded["tasks"]["later/e"]["error"],
        "not run: a task it waits for failed"
    );
    for key in ["status", "outputs", "executed", "counts"] {
        assert_eq!(recorded[key], memory[key], "{key}");
    }
}

/// The keys of an object, sorted.
fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// `plait check FILE --json` on `text`: the exit code and the object, checked against the
/// check schema; nothing goes to stderr.
fn check_json(text: &str) -> (i32, Value) {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", text);
    let run = scratch.plait(&["check", "workflow.toml", "--json"]);
    assert_eq!(run.stderr, "", "nothing on stderr");
    let value = run.json().0;
    assert_valid(&schema("check.schema.json"), &value);
    (run.code, value)
}

#[test]
fn check_json_lists_every_problem_and_exits_2_only_for_an_error() {
    let (code, problems) = check_json(
        r#"[inputs]
v = "string"

[tasks.a]
command = ["sh", "-c", "echo {v}"]
requires = { v = "string" }
timeout = "soon"
"#,
    );
    assert_eq!(code, 2);
    assert_eq!(
        problems,
        json!({"problems": [
            {
                "file": "workflow.toml", "line": 5, "column": 24, "code": "shell-placeholder",
                "severity": "warning",
                "message": "`command` of task `a` pastes `{v}` into the script `sh -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code",
                "help": "read the value from the environment, in double quotes: `\"$PLAIT_IN_V\"` for `{v}`; or pass it after the script and read `\"$1\"`: [\"sh\", \"-c\", \"... \\\"$1\\\"\", \"sh\", \"{v}\"]",
            },
            {
                "file": "workflow.toml", "line": 7, "column": 11, "code": "bad-value",
                "severity": "error",
                "message": "`timeout` of task `a` is not a duration: `soon`",
                "help": "write a number and a unit, such as \"250ms\", \"5s\", \"1m 30s\" or \"2h\" (units: ns, us, ms, s, m, h, d)",
            },
        ]})
    );

    // Warnings alone: exit 0.
    let (code, problems) = check_json(
        "[inputs]\nv = \"string\"\n[tasks.a]\ncommand = [\"sh\", \"-c\", \"echo {v}\"]\nrequires = { v = \"string\" }\n",
    );
    assert_eq!(code, 0);
    assert_eq!(problems["problems"][0]["code"], "shell-placeholder");

    let (code, problems) = check_json("[tasks.a]\ncommand = [\"true\"]\n");
    assert_eq!(code, 0);
    assert_eq!(problems, json!({"problems": []}));
}

#[test]
fn check_json_of_a_file_that_cannot_be_read() {
    let scratch = Scratch::new();
    let run = scratch.plait(&["check", "nowhere.toml", "--json"]);
    run.expect_code(2);
    assert_eq!(run.stderr, "");
    let value = run.json().0;
    assert_valid(&schema("check.schema.json"), &value);
    assert_eq!(value["problems"][0]["code"], "unreadable");
    assert_eq!(
        value["problems"][0]["message"],
        "cannot read `nowhere.toml`: No such file or directory (os error 2)"
    );
}

/// `plait explain RUN TASK --json`: its object, checked against the explain schema.
#[track_caller]
fn explain(scratch: &Scratch, run: &Value, task: &str) -> Value {
    let id = run["run_id"].as_str().expect("a run id");
    let explained = scratch
        .plait(&["explain", id, task, "--json"])
        .expect_code(0)
        .json()
        .0;
    assert_valid(&schema("explain.schema.json"), &explained);
    explained
}

#[test]
fn explain_prints_what_its_schema_describes() {
    let scratch = Scratch::new();
    scratch.write("flow.toml", WORKFLOW);
    let first = run_and_show(&scratch, 0, &[]);
    let alone = explain(&scratch, &first, "square");
    assert_eq!(alone["verdict"], "executed");
    assert_eq!(alone["compared_with"], Value::Null);

    let changed = run_and_show(&scratch, 0, &["--set", "n=4"]);
    let check = explain(&scratch, &changed, "check");
    assert_eq!(
        keys(&check),
        [
            "cause",
            "compared_with",
            "first_cause",
            "key",
            "reasons",
            "reused_from",
            "task",
            "verdict"
        ],
        "every key, null or not"
    );
    assert_eq!(check["cause"][1]["from"], "input n");
    assert_eq!(
        check["first_cause"],
        "`square`'s input `n` changed: 3 -> 4, which changed `square.sq`"
    );
    let report = explain(&scratch, &changed, "report");
    assert_eq!(report["cause"][0]["input"], Value::Null);

    let again = run_and_show(&scratch, 0, &[]);
    let reused = explain(&scratch, &again, "square");
    assert_eq!(reused["verdict"], "reused");
    assert_eq!(reused["reused_from"], first["run_id"]);

    // `check` fails, and is explained like a success.
    let failed = run_and_show(&scratch, 1, &["--set", "limit=5"]);
    let check = explain(&scratch, &failed, "check");
    assert_eq!(check["reasons"], json!(["input `limit` changed: 100 -> 5"]));
    assert_eq!(check["cause"][0]["from"], "input limit");
}
