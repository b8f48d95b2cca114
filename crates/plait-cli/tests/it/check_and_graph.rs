//! `plait check` and `plait graph`.

use expect_test::expect;

use crate::support::{Scratch, normalize, plait, repo_root};

#[test]
fn check_accepts_every_example_and_runs_nothing() {
    let mut out = String::new();
    for name in [
        "image-pipeline",
        "provisioning",
        "fan-out-analysis",
        "nested-retry",
    ] {
        let file = format!("examples/{name}/workflow.toml");
        let run = plait(&repo_root(), &["check", &file]);
        run.expect_code(0);
        assert_eq!(run.stdout, "");
        out.push_str(&run.stderr);
    }
    expect![[r#"
        `examples/image-pipeline/workflow.toml` is valid: 5 task(s), 2 input(s), 2 output(s)
        `examples/provisioning/workflow.toml` is valid: 5 task(s), 4 input(s), 3 output(s)
        `examples/fan-out-analysis/workflow.toml` is valid: 7 task(s), 2 input(s), 3 output(s)
        `examples/nested-retry/workflow.toml` is valid: 6 task(s), 3 input(s), 2 output(s)
    "#]]
    .assert_eq(&out);
}

#[test]
fn check_rejects_a_bad_file_with_exit_2_and_every_problem() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"
[tasks.a]
command = ["true"]
requires = { x = "int" }

[tasks.b]
command = ["true"]
after = ["c"]
"#,
    );
    let run = scratch.plait(&["check", "workflow.toml"]);
    run.expect_code(2);
    expect![[r#"
        missing-input

          × task `a` requires `x`, which no task provides and the workflow does not take as an input
           ╭─[workflow.toml:4:14]
         3 │ command = ["true"]
         4 │ requires = { x = "int" }
           ·              ┬
           ·              ╰── `a` requires `x`
         5 │ 
           ╰────
          help: declare `x` as a workflow input, or add a task that provides it

        unknown-member

          × `b` runs after `c`, which is not in its flow
           ╭─[workflow.toml:8:10]
         7 │ command = ["true"]
         8 │ after = ["c"]
           ·          ─┬─
           ·           ╰── `b` runs after `c`
           ╰────
          help: `after` names members of the same flow: `a`

        error: `workflow.toml` has 2 error(s); nothing was run
    "#]]
    .assert_eq(&run.stderr);
}

#[test]
fn check_reports_a_workdir_that_does_not_exist() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        "workdir = \"build\"\n\n[tasks.a]\ncommand = [\"true\"]\n",
    );
    let run = scratch.plait(&["check", "workflow.toml"]);
    run.expect_code(2);
    expect![[r#"
        bad-value

          × `workdir` `<dir>/build` does not exist
           ╭─[workflow.toml:1:11]
         1 │ workdir = "build"
           ·           ───┬───
           ·              ╰── does not exist
         2 │ 
           ╰────
          help: create the directory, or fix the path: a relative `workdir` is relative to the workflow file's directory

        error: `workflow.toml` has 1 error(s); nothing was run
    "#]]
    .assert_eq(&normalize(&run.stderr, &[(&scratch.path().display().to_string(), "<dir>")]));
    std::fs::create_dir(scratch.join("build")).unwrap();
    scratch.plait(&["check", "workflow.toml"]).expect_code(0);
}

#[test]
fn graph_as_json() {
    let run = plait(
        &repo_root(),
        &[
            "graph",
            "examples/fan-out-analysis/workflow.toml",
            "--format",
            "json",
        ],
    );
    run.expect_code(0);
    let graph: serde_json::Value = serde_json::from_str(&run.stdout).expect("the graph is JSON");
    assert!(graph.is_object());
    expect![[r#"
        {
          "edges": [
            {
              "from": "split",
              "kind": "data",
              "name": "shard1",
              "to": "count/count_1"
            },
            {
              "from": "split",
              "kind": "data",
              "name": "shard2",
              "to": "count/count_2"
            },
            {
              "from": "split",
              "kind": "data",
              "name": "shard3",
              "to": "count/count_3"
            },
            {
              "from": "split",
              "kind": "data",
              "name": "shard4",
              "to": "count/count_4"
            },
            {
              "from": "count/count_1",
              "kind": "data",
              "name": "counts1",
              "to": "merge"
            },
            {
              "from": "count/count_2",
              "kind": "data",
              "name": "counts2",
              "to": "merge"
            },
            {
              "from": "count/count_3",
              "kind": "data",
              "name": "counts3",
              "to": "merge"
            },
            {
              "from": "count/count_4",
              "kind": "data",
              "name": "counts4",
              "to": "merge"
            },
            {
              "from": "merge",
              "kind": "data",
              "name": "merged",
              "to": "report"
            }
          ],
          "inputs": [
            {
              "name": "text",
              "type": "file"
            },
            {
              "name": "work_dir",
              "type": "string"
            }
          ],
          "name": "fan-out-analysis",
          "nodes": [
            {
              "id": "split",
              "kind": "command",
              "provides": [
                {
                  "name": "shard1",
                  "type": "file"
                },
                {
                  "name": "shard2",
                  "type": "file"
                },
                {
                  "name": "shard3",
                  "type": "file"
                },
                {
                  "name": "shard4",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "text",
                  "type": "file"
                },
                {
                  "name": "work_dir",
                  "type": "string"
                }
              ]
            },
            {
              "id": "count/count_1",
              "kind": "command",
              "provides": [
                {
                  "name": "counts",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "shard",
                  "type": "file"
                }
              ]
            },
            {
              "id": "count/count_2",
              "kind": "command",
              "provides": [
                {
                  "name": "counts",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "shard",
                  "type": "file"
                }
              ]
            },
            {
              "id": "count/count_3",
              "kind": "command",
              "provides": [
                {
                  "name": "counts",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "shard",
                  "type": "file"
                }
              ]
            },
            {
              "id": "count/count_4",
              "kind": "command",
              "provides": [
                {
                  "name": "counts",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "shard",
                  "type": "file"
                }
              ]
            },
            {
              "id": "merge",
              "kind": "command",
              "provides": [
                {
                  "name": "merged",
                  "type": "file"
                }
              ],
              "requires": [
                {
                  "name": "counts1",
                  "type": "file"
                },
                {
                  "name": "counts2",
                  "type": "file"
                },
                {
                  "name": "counts3",
                  "type": "file"
                },
                {
                  "name": "counts4",
                  "type": "file"
                }
              ]
            },
            {
              "id": "report",
              "kind": "command",
              "provides": [
                {
                  "name": "top_words",
                  "type": "json"
                },
                {
                  "name": "total_words",
                  "type": "int"
                },
                {
                  "name": "distinct_words",
                  "type": "int"
                }
              ],
              "requires": [
                {
                  "name": "merged",
                  "type": "file"
                }
              ]
            }
          ],
          "outputs": [
            "top_words",
            "total_words",
            "distinct_words"
          ]
        }
    "#]]
    .assert_eq(&run.stdout);
}

#[test]
fn graph_as_dot() {
    let run = plait(
        &repo_root(),
        &[
            "graph",
            "examples/image-pipeline/workflow.toml",
            "--format",
            "dot",
        ],
    );
    run.expect_code(0);
    expect![[r#"
        digraph "image-pipeline" {
          rankdir=LR;
          node [shape=box, style=rounded];
          n0 [label="validate", tooltip="command"];
          n1 [label="metadata", tooltip="command"];
          n2 [label="resize", tooltip="command"];
          n3 [label="grayscale", tooltip="command"];
          n4 [label="store", tooltip="command"];
          n2 -> n4 [label="half"];
          n3 -> n4 [label="gray"];
          n1 -> n4 [label="metadata"];
          n1 -> n4 [label="digest"];
          n0 -> n1 [style=dashed];
          n0 -> n2 [style=dashed];
          n0 -> n3 [style=dashed];
        }
    "#]]
    .assert_eq(&run.stdout);
}

#[test]
fn graph_as_mermaid() {
    let run = plait(
        &repo_root(),
        &[
            "graph",
            "examples/provisioning/workflow.toml",
            "--format",
            "mermaid",
        ],
    );
    run.expect_code(0);
    expect![[r#"
        flowchart LR
          n0["create_network"]
          n1["create_volume"]
          n2["create_vm"]
          n3["configure_dns"]
          n4["health_check"]
          n0 -->|"network"| n2
          n1 -->|"volume"| n2
          n2 -->|"vm"| n3
          n2 -->|"vm"| n4
          n3 -->|"hostname"| n4
          n0 -.-> n1
    "#]]
    .assert_eq(&run.stdout);
}

#[test]
fn graph_of_a_bad_file_exits_2() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", "[tasks.a]\nrequires = { x = \"int\" }\n");
    let run = scratch.plait(&["graph", "workflow.toml", "--format", "json"]);
    run.expect_code(2);
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("workflow.toml:1:"), "{}", run.stderr);
}
