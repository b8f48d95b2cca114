//! Core's validation, through a file: each diagnostic lands on the line that causes it.

use expect_test::expect;

use crate::check;

#[test]
fn cycles_are_printed() {
    check(
        r#"
[tasks.a]
command = ["a"]
requires = { z = "int" }
provides = { x = "int" }

[tasks.b]
command = ["b"]
requires = { x = "int" }
provides = { y = "int" }

[tasks.c]
command = ["c"]
requires = { y = "int" }
provides = { z = "int" }
"#,
        expect![[r#"
            /flows/test.toml:2:8: error[cycle]: cycle: `a` -> `b` -> `c` -> `a`
              help: a task cannot wait, directly or through others, for itself: remove one of these dependencies
              also 7:8: task `b`
              also 12:8: task `c`
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
}

#[test]
fn missing_inputs() {
    check(
        r#"
[tasks.a]
command = ["a"]
requires = { n = "int", m = { type = "int", from = "count" } }
"#,
        expect![[r#"
            /flows/test.toml:4:14: error[missing-input]: task `a` requires `n`, which no task provides and the workflow does not take as an input
              help: declare `n` as a workflow input, or add a task that provides it
            /flows/test.toml:4:25: error[missing-input]: task `a` requires `m` (bound to `count`), which no task provides and the workflow does not take as an input
              help: declare `count` as a workflow input, or add a task that provides it
            => `/flows/test.toml` has 2 error(s)
        "#]],
    );
}

#[test]
fn ambiguous_providers() {
    check(
        r#"
[inputs]
x = "int"
[tasks.a]
command = ["a"]
provides = { x = "int", y = "int" }
[tasks.b]
command = ["b"]
provides = { y = "int" }
[tasks.c]
command = ["c"]
requires = { y = "int" }
"#,
        expect![[r#"
            /flows/test.toml:3:1: error[ambiguous-provider]: `x` is both a workflow input and provided by task `a`
              help: rename the input or the output: a value has one source
              also 6:14: `a` provides `x`
            /flows/test.toml:3:1: warning[unused-input]: input `x` is never used
            /flows/test.toml:12:14: error[ambiguous-provider]: task `c` requires `y`, which `a` and `b` both provide
              help: a value has exactly one provider: rename one of the outputs (`rebind`)
              also 6:25: `a` provides `y`
              also 9:14: `b` provides `y`
            => `/flows/test.toml` has 2 error(s)
        "#]],
    );
}

#[test]
fn type_mismatches() {
    check(
        r#"
[inputs]
n = "string"
[tasks.a]
command = ["a"]
requires = { n = "int" }
provides = { x = "float" }
[tasks.b]
command = ["b"]
requires = { x = "int" }
"#,
        expect![[r#"
            /flows/test.toml:6:14: error[type-mismatch]: task `a` requires `n` as int, but input `n` is string
              also 3:1: input `n`
            /flows/test.toml:10:14: error[type-mismatch]: task `b` requires `x` as int, but task `a` provides it as float
              also 7:14: `a` provides `x`
            => `/flows/test.toml` has 2 error(s)
        "#]],
    );
}

#[test]
fn unordered_members_cannot_depend_on_each_other() {
    check(
        r#"
[tasks.setup]
flow = "unordered"
[tasks.setup.tasks.a]
command = ["a"]
provides = { x = "int" }
[tasks.setup.tasks.b]
command = ["b"]
requires = { x = "int" }
"#,
        expect![[r#"
            /flows/test.toml:9:14: error[unordered-dependency]: task `setup/b` requires `x` from task `setup/a`, but both are members of unordered flow `setup`
              help: members of an unordered flow must not depend on each other: make the flow a graph or linear flow
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
}

#[test]
fn after_names_a_sibling() {
    check(
        r#"
[tasks.a]
command = ["a"]
after = ["b", "nowhere"]
[tasks.b]
command = ["b"]
[tasks.sub.tasks.c]
command = ["c"]
after = ["a"]
"#,
        expect![[r#"
            /flows/test.toml:4:15: error[unknown-member]: `a` runs after `nowhere`, which is not in its flow
              help: `after` names members of the same flow: `b`, `sub`
            /flows/test.toml:9:10: error[unknown-member]: `sub/c` runs after `a`, which is not in its flow
              help: `after` names other members of the same flow, and this flow has none
            => `/flows/test.toml` has 2 error(s)
        "#]],
    );
}

#[test]
fn unknown_outputs() {
    check(
        r#"
outputs = ["x", "y"]
[tasks.a]
command = ["a"]
provides = { x = "int" }
"#,
        expect![[r#"
            /flows/test.toml:2:17: error[unknown-output]: output `y` is not provided by any task of the workflow
              help: the workflow provides `x`
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
}

#[test]
fn unused_values_are_warnings() {
    check(
        r#"
outputs = ["y"]
[inputs]
spare = "int"
[tasks.a]
command = ["a"]
provides = { x = "int", y = "int" }
"#,
        expect![[r#"
            workflow `test` (1 tasks, on_failure Revert)
            input spare: int
            task `a` [command]
              requires [] provides [x: int, y: int]
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            output y <- `a`.y
            /flows/test.toml:4:1: warning[unused-input]: input `spare` is never used
            /flows/test.toml:7:14: warning[unused-output]: task `a` provides `x`, which nothing uses
        "#]],
    );
}

#[test]
fn flows_rename_values_at_their_border() {
    check(
        r#"
[tasks.sub]
rebind = { inner = "outer" }
[tasks.sub.tasks.a]
command = ["a"]
provides = { x = { type = "int", to = "inner" } }
"#,
        expect![[r#"
            workflow `test` (1 tasks, on_failure Revert)
            task `sub/a` [command]
              requires [] provides [x: int]
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            output outer <- `sub/a`.x
        "#]],
    );
}
