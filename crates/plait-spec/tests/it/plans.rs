//! Files that load: the plans they compile to.

use std::path::Path;
use std::sync::Arc;

use expect_test::expect;
use plait_core::{Inputs, Outputs, TaskContext, Value};
use plait_spec::{Format, load_str};

use crate::{check, check_json, load_toml, plan_summary};

#[test]
fn the_documented_example_loads() {
    check(
        r#"
name = "provision"
description = "square a number, then add one"
on_failure = "continue"
outputs = ["total"]

[defaults]
retry = { attempts = 3, backoff = "100ms", max_backoff = "10s", multiplier = 3.0, jitter = 0.25 }
timeout = "30s"
kill_grace = "1s"

[inputs]
n = { type = "int", default = 3, description = "the number" }

[tasks.square]
command = ["sh", "-c", "printf '{\"sq\": %d}' $((PLAIT_IN_N * PLAIT_IN_N))"]
requires = { n = "int" }
provides = { sq = "int" }
revert = ["sh", "-c", "echo undo >> log"]
retry = 5
timeout = "5s"
description = "squares"
env = { KEY = "value" }
cache = true
version = 2

[tasks.plus_one]
command = ["sh", "-c", "echo '{\"total\": '$((PLAIT_IN_SQ + 1))'}'"]
requires = { sq = "int" }
provides = { total = "int" }
retry = { backoff = "1s" }

[tasks.report]
command = ["echo", "done"]
after = ["plus_one"]
retry = { attempts = 1 }
"#,
        expect![[r#"
            workflow `provision` (3 tasks, on_failure Continue)
              description: square a number, then add one
            input n: int = 3
            task `square` [command]
              requires [n: int <- input `n`] provides [sq: int]
              attempts 5, backoff 100ms, max 10s, x3, jitter 0.25, timeout 5s
            task `plus_one` [command] after [`square`]
              requires [sq: int <- `square`.sq] provides [total: int]
              attempts 3, backoff 1s, max 10s, x3, jitter 0.25, timeout 30s
            task `report` [command] after [`plus_one`]
              requires [] provides []
              attempts 1, backoff 100ms, max 10s, x3, jitter 0.25, timeout 30s
            output total <- `plus_one`.total
        "#]],
    );
}

#[test]
fn linear_flows_keep_document_order() {
    check(
        r#"
flow = "linear"
[tasks.zeta]
command = ["z"]
[tasks.alpha]
command = ["a"]
[tasks.mid]
command = ["m"]
"#,
        expect![[r#"
            workflow `test` (3 tasks, on_failure Revert)
            task `zeta` [command]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `alpha` [command] after [`zeta`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `mid` [command] after [`alpha`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        "#]],
    );
    check_json(
        r#"{"flow": "linear", "tasks": {"zeta": {"command": ["z"]}, "alpha": {"command": ["a"]}, "mid": {"command": ["m"]}}}"#,
        expect![[r#"
            workflow `test` (3 tasks, on_failure Revert)
            task `zeta` [command]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `alpha` [command] after [`zeta`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `mid` [command] after [`alpha`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        "#]],
    );
}

const NESTED_TOML: &str = r#"
outputs = ["result"]
[inputs]
seed = "int"

[tasks.prepare]
command = ["prepare", "{seed}"]
requires = { seed = "int" }
provides = { data = "json" }

[tasks.outer]
flow = "linear"
after = ["prepare"]
rebind = { payload = "data", out = "result" }

[tasks.outer.tasks.check]
command = ["check", "{payload}"]
requires = { payload = "json" }

[tasks.outer.tasks.middle]
flow = "graph"
retry = { attempts = 2, backoff = "0s" }
rebind = { input = "payload" }

[tasks.outer.tasks.middle.tasks.inner]
flow = "unordered"
retry = 3

[tasks.outer.tasks.middle.tasks.inner.tasks.left]
command = ["left", "{x}"]
requires = { x = { type = "json", from = "input" } }
provides = { l = "int" }

[tasks.outer.tasks.middle.tasks.inner.tasks.right]
command = ["right", "{input}"]
requires = { input = "json" }
provides = { r = "int" }

[tasks.outer.tasks.middle.tasks.join]
command = ["join", "{l}", "{r}"]
requires = { l = "int", r = "int" }
provides = { sum = { type = "int", to = "out" } }
"#;

#[test]
fn nested_flows_with_rebinds_and_retries() {
    check(
        NESTED_TOML,
        expect![[r#"
        workflow `test` (5 tasks, on_failure Revert)
        input seed: int
        task `prepare` [command]
          requires [seed: int <- input `seed`] provides [data: json]
          attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        task `outer/check` [command] after [`prepare`, start `outer`]
          requires [payload: json <- `prepare`.data] provides []
          attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        task `outer/middle/inner/left` [command] after [`prepare`, start `outer`, start `outer/middle`]
          requires [x: json <- `prepare`.data] provides [l: int]
          attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        task `outer/middle/inner/right` [command] after [`prepare`, start `outer`, start `outer/middle`]
          requires [input: json <- `prepare`.data] provides [r: int]
          attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        task `outer/middle/join` [command] after [`outer/middle/inner/left`, `outer/middle/inner/right`, end `outer/middle/inner`, start `outer`, start `outer/middle`]
          requires [l: int <- `outer/middle/inner/left`.l, r: int <- `outer/middle/inner/right`.r] provides [sum: int]
          attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
        end of flow `outer/middle/inner` after [`outer/middle/inner/left`, `outer/middle/inner/right`]
        start of flow `outer` after [`prepare`]
        start of flow `outer/middle` after [`outer/check`]
        end of flow `outer/middle` after [`outer/middle/inner/left`, `outer/middle/inner/right`, `outer/middle/join`]
        output result <- `outer/middle/join`.sum
        retry scope `outer/middle`: 2 attempts, backoff 0ns, 4 nodes
        retry scope `outer/middle/inner`: 3 attempts, backoff 100ms, 2 nodes
    "#]],
    );
}

const NESTED_JSON: &str = r#"{
  // The same workflow as NESTED_TOML.
  "outputs": ["result"],
  "inputs": {"seed": "int"},
  "tasks": {
    "prepare": {"command": ["prepare", "{seed}"], "requires": {"seed": "int"}, "provides": {"data": "json"}},
    "outer": {
      "flow": "linear",
      "after": ["prepare"],
      "rebind": {"payload": "data", "out": "result"},
      "tasks": {
        "check": {"command": ["check", "{payload}"], "requires": {"payload": "json"}},
        "middle": {
          "flow": "graph",
          "retry": {"attempts": 2, "backoff": "0s"},
          "rebind": {"input": "payload"},
          "tasks": {
            "inner": {
              "flow": "unordered",
              "retry": 3,
              "tasks": {
                "left": {"command": ["left", "{x}"], "requires": {"x": {"type": "json", "from": "input"}}, "provides": {"l": "int"}},
                "right": {"command": ["right", "{input}"], "requires": {"input": "json"}, "provides": {"r": "int"}},
              },
            },
            "join": {"command": ["join", "{l}", "{r}"], "requires": {"l": "int", "r": "int"}, "provides": {"sum": {"type": "int", "to": "out"}}},
          },
        },
      },
    },
  },
}"#;

#[test]
fn json_and_toml_of_one_workflow_make_the_same_plan() {
    let toml = load_toml(NESTED_TOML);
    let json = load_str(NESTED_JSON, Path::new("/flows/test.json"), Format::Json).unwrap();
    assert_eq!(plan_summary(&toml), plan_summary(&json));
    let edges = |plan: &plait_core::Plan| {
        (0..plan.len() as u32)
            .map(|id| (plan.node(id).path.clone(), plan.successors(id).to_vec()))
            .collect::<Vec<_>>()
    };
    assert_eq!(edges(&toml.plan), edges(&json.plan));
    assert_eq!(toml.plan.data_edges(), json.plan.data_edges());
}

/// Commands run in the file's directory, or in `workdir` relative to it, with `env` and the
/// inputs in their environment.
#[test]
fn commands_run_in_the_workdir() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path().canonicalize().unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    let text = r#"
[inputs]
who = "string"
[tasks.here]
command = ["sh", "-c", "printf '{\"dir\": \"%s\", \"greeting\": \"%s %s\"}' \"$PWD\" \"$GREETING\" \"$PLAIT_IN_WHO\""]
requires = { who = "string" }
provides = { dir = "string", greeting = "string" }
env = { GREETING = "hello" }
"#;
    let ran = run_first_task(text, &dir.join("flow.toml"), "plait");
    assert_eq!(
        ran.get("dir"),
        Some(&Value::from(dir.to_string_lossy().as_ref()))
    );
    assert_eq!(ran.get("greeting"), Some(&Value::from("hello plait")));

    let in_sub = format!("workdir = \"sub\"\n{text}");
    let ran = run_first_task(&in_sub, &dir.join("flow.toml"), "plait");
    let sub = dir.join("sub");
    assert_eq!(
        ran.get("dir"),
        Some(&Value::from(sub.to_string_lossy().as_ref()))
    );
}

/// Runs the plan's first task with one string input `who`, as the engine would.
fn run_first_task(text: &str, path: &Path, who: &str) -> Outputs {
    let loaded = load_str(text, path, Format::Toml).unwrap_or_else(|e| panic!("{e:?}"));
    run_task(&loaded, 0, vec![Value::from(who)])
}

fn run_task(loaded: &plait_spec::Loaded, node: usize, values: Vec<Value>) -> Outputs {
    let slot = loaded.plan.nodes()[node].task().unwrap().clone();
    let inputs = Inputs::new(slot.requires_ports(), values);
    let ctx = TaskContext::new(Arc::from("run"), Arc::from("task"), 1, Default::default());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime
        .block_on(slot.task.execute(ctx, inputs))
        .unwrap_or_else(|e| panic!("{e:?}"))
}

/// The examples of FORMAT.md that are whole workflows load, and their commands work.
#[test]
fn the_format_reference_examples_work() {
    let reference = include_str!("../../FORMAT.md");
    let block = |fence: &str| {
        let start = reference.find(fence).unwrap() + fence.len();
        let end = start + reference[start..].find("```").unwrap();
        &reference[start..end]
    };
    let dir = tempfile::tempdir().unwrap();
    let toml = load_str(
        block("```toml\n"),
        &dir.path().join("provision.toml"),
        Format::Toml,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let squared = run_task(&toml, 0, vec![Value::Int(3)]);
    assert_eq!(squared.get("sq"), Some(&Value::Int(9)));
    let total = run_task(&toml, 1, vec![Value::Int(9)]);
    assert_eq!(total.get("total"), Some(&Value::Int(10)));

    let json = load_str(
        block("```json\n"),
        &dir.path().join("provision.json"),
        Format::Json,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    let squared = run_task(&json, 0, vec![Value::Int(4)]);
    assert_eq!(squared.get("sq"), Some(&Value::Int(16)));
}

/// A member is placed where it is first written, even when a deeper header comes before
/// its own (`toml` records the key at its own header).
#[test]
fn a_flow_is_placed_where_it_is_first_written() {
    check(
        r#"
flow = "linear"
[tasks.x]
command = ["x"]
[tasks.sub.tasks.a]
command = ["a"]
[tasks.y]
command = ["y"]
[tasks.sub]
flow = "linear"
"#,
        expect![[r#"
            workflow `test` (3 tasks, on_failure Revert)
            task `x` [command]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `sub/a` [command] after [start `sub`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `y` [command] after [end `sub`]
              requires [] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            start of flow `sub` after [`x`]
            end of flow `sub` after [`sub/a`]
        "#]],
    );
}

/// A relative `file` default is a file beside the workflow (where commands run), made
/// absolute so the engine, which hashes it for the cache, finds the same file.
#[test]
fn file_defaults_are_anchored_beside_the_workflow() {
    let loaded = load_toml(
        r#"
workdir = "sub"

[inputs]
image = { type = "file", default = "images/a.ppm" }
other = { type = "file", default = "/data/b.ppm" }
text = { type = "string", default = "images/a.ppm" }

[tasks.t]
command = ["cat", "{image}", "{other}", "{text}"]
requires = { image = "file", other = "file", text = "string" }
"#,
    );
    let defaults: Vec<String> = loaded
        .plan
        .inputs()
        .iter()
        .map(|input| input.default.as_ref().unwrap().to_text())
        .collect();
    assert_eq!(
        defaults,
        ["/flows/sub/images/a.ppm", "/data/b.ppm", "images/a.ppm"]
    );
}
