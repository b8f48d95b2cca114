//! Syntax errors stop loading, still with file, line and column.

use std::path::Path;

use expect_test::expect;

use crate::{check, check_json, render};

#[test]
fn toml_syntax_error() {
    check(
        r#"
[tasks.a]
command = ["echo", "hi"
provides = { x = "int" }
"#,
        expect![[r#"
            /flows/test.toml:4:1: error[syntax]: TOML syntax: missing comma between array elements, expected `,`
              help: see https://toml.io for the syntax
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
    check(
        "[tasks.a\ncommand = []",
        expect![[r#"
        /flows/test.toml:1:9: error[syntax]: TOML syntax: unclosed table, expected `]`
          help: see https://toml.io for the syntax
        => `/flows/test.toml` has 1 error(s)
    "#]],
    );
}

#[test]
fn json_syntax_error() {
    check_json(
        r#"{
  "tasks": {
    "a": {"command": ["echo", "hi"] "provides": {"x": "int"}}
  }
}"#,
        expect![[r#"
            /flows/test.json:3:36: error[syntax]: JSON syntax: expected comma
              help: see https://www.json.org for the syntax (comments and trailing commas are allowed)
            => `/flows/test.json` has 1 error(s)
        "#]],
    );
    check_json(
        "",
        expect![[r#"
        /flows/test.json:1:1: error[syntax]: the file is empty
          help: a JSON workflow is one object: `{"tasks": {...}}`
        => `/flows/test.json` has 1 error(s)
    "#]],
    );
    check_json(
        "[1, 2]",
        expect![[r#"
        /flows/test.json:1:1: error[bad-type]: a workflow file must be an object, not an array
          help: write the workflow as one object: {"tasks": {"hello": {"command": ["echo", "hello"]}}}
        => `/flows/test.json` has 1 error(s)
    "#]],
    );
}

/// TOML itself refuses a table defined twice, so two tasks of one name never reach
/// validation: the user sees the second definition.
#[test]
fn a_task_defined_twice_in_toml() {
    check(
        r#"
[tasks.build]
command = ["make"]

[tasks.build]
command = ["make", "install"]
"#,
        expect![[r#"
            /flows/test.toml:5:8: error[duplicate-key]: `build` is defined twice
              help: a key appears once in a table: give each task, input and port its own name, and write each table header once
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
    check(
        r#"
[tasks.a]
command = ["true"]
command = ["false"]
"#,
        expect![[r#"
            /flows/test.toml:4:1: error[duplicate-key]: `command` is defined twice
              help: a key appears once in a table: give each task, input and port its own name, and write each table header once
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
}

/// Columns count characters, not bytes: what an editor shows.
#[test]
fn columns_count_characters() {
    check(
        "[tasks.a]\ncommand = [\"echo\", \"häßlich ünïcödé\"]; timeout = 5\n",
        expect![[r#"
            /flows/test.toml:2:38: error[syntax]: TOML syntax: unexpected key or value, expected newline, `#`
              help: see https://toml.io for the syntax
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
    check(
        "tasks.a = { description = \"ünïcödé ✓\", command = [\"true\"], timeout = 5 }\n",
        expect![[r#"
            /flows/test.toml:1:70: error[bad-type]: `timeout` of task `a` must be a duration string, not an integer
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
    check_json(
        "{\"tasks\": {\"a\": {\"description\": \"ünïcödé ✓\", \"command\": [\"true\"], \"timeout\": 5}}}",
        expect![[r#"
            /flows/test.json:1:78: error[bad-type]: `timeout` of task `a` must be a duration string, not an integer
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            => `/flows/test.json` has 1 error(s)
        "#]],
    );
}

#[test]
fn the_extension_names_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("flow.yaml");
    std::fs::write(&yaml, "tasks: {}").unwrap();
    let out = render(plait_spec::load_path(&yaml)).replace(&*dir.path().to_string_lossy(), "$DIR");
    expect![[r#"
        $DIR/flow.yaml:1:1: error[unknown-format]: `$DIR/flow.yaml` is not a workflow file
          help: name workflow files `*.toml` or `*.json`, by the syntax they are written in
        => `$DIR/flow.yaml` has 1 error(s)
    "#]]
    .assert_eq(&out);

    let missing = dir.path().join("missing.toml");
    let out =
        render(plait_spec::load_path(&missing)).replace(&*dir.path().to_string_lossy(), "$DIR");
    expect![[r#"
        cannot read `$DIR/missing.toml`
    "#]]
    .assert_eq(&out);

    let latin1 = dir.path().join("latin1.toml");
    std::fs::write(&latin1, b"name = \"caf\xe9\"\n").unwrap();
    let out =
        render(plait_spec::load_path(&latin1)).replace(&*dir.path().to_string_lossy(), "$DIR");
    expect![[r#"
        $DIR/latin1.toml:1:12: error[syntax]: the file is not UTF-8 text
          help: save the workflow file as UTF-8
        => `$DIR/latin1.toml` has 1 error(s)
    "#]]
    .assert_eq(&out);
}

#[test]
fn load_path_reads_toml_and_json() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("hello.toml");
    std::fs::write(&toml, "[tasks.hello]\ncommand = [\"echo\", \"hello\"]\n").unwrap();
    let loaded = plait_spec::load_path(&toml).unwrap();
    assert_eq!(loaded.name, "hello");
    assert_eq!(loaded.path, toml);
    let json = dir.path().join("hello.JSON");
    std::fs::write(
        &json,
        r#"{"name": "hi", "tasks": {"hello": {"command": ["echo"]}}}"#,
    )
    .unwrap();
    assert_eq!(plait_spec::load_path(&json).unwrap().name, "hi");
    assert!(Path::new("x").extension().is_none());
}
