//! Bad input: exit 2, nothing run, and a message naming the file, line and column.

use std::time::{Duration, Instant};

use expect_test::{Expect, expect};

use crate::support::Scratch;

/// A task that leaves a mark if it ever runs: no bad file may run anything.
const CANARY: &str = r#"
[tasks.canary]
command = ["touch", "canary.ran"]
"#;

/// Writes `name` with `text`, runs `plait ARGS` on it, and snapshots stderr; checks exit 2, an
/// empty stdout, and that nothing ran.
fn check(name: &str, text: &str, args: &[&str], expect: Expect) {
    let scratch = Scratch::new();
    scratch.write(name, text);
    // `--jobs`: the default is the number of cores, which the progress line shows.
    let mut all = vec!["run", name, "--jobs", "2"];
    all.extend_from_slice(args);
    let run = scratch.plait(&all);
    run.expect_code(2);
    assert_eq!(run.stdout, "", "nothing on stdout");
    assert!(!scratch.join("canary.ran").exists(), "a task ran");
    expect.assert_eq(&run.stderr);
}

#[test]
fn a_syntax_error() {
    check(
        "workflow.toml",
        &format!("{CANARY}\n[tasks.broken\ncommand = [\"true\"]\n"),
        &[],
        expect![[r#"
            syntax

              × TOML syntax: unclosed table, expected `]`
               ╭─[workflow.toml:5:14]
             4 │ 
             5 │ [tasks.broken
               ·              ▲
               ·              ╰── here
             6 │ command = ["true"]
               ╰────
              help: see https://toml.io for the syntax

            error: `workflow.toml` has 1 error(s); nothing was run
        "#]],
    );
}

#[test]
fn a_syntax_error_in_json() {
    check(
        "workflow.json",
        "{\n  \"tasks\": {\n    \"a\": {\"command\": [\"true\"]\n  }\n",
        &[],
        expect![[r#"
            syntax

              × JSON syntax: unterminated object
               ╭─[workflow.json:2:12]
             1 │     {
             2 │ ╭─▶   "tasks": {
             3 │ │       "a": {"command": ["true"]
             4 │ ├─▶   }
               · ╰──── here
               ╰────
              help: see https://www.json.org for the syntax (comments and trailing commas are allowed)

            error: `workflow.json` has 1 error(s); nothing was run
        "#]],
    );
}

#[test]
fn an_unknown_key_with_the_nearest_valid_one() {
    check(
        "workflow.toml",
        &format!("{CANARY}\n[tasks.build]\ncomand = [\"make\"]\n"),
        &[],
        expect![[r#"
            unknown-key

              × unknown key `comand` in task `build`
               ╭─[workflow.toml:6:1]
             5 │ [tasks.build]
             6 │ comand = ["make"]
               · ───┬──
               ·    ╰── unknown key
               ╰────
              help: did you mean `command`? task `build` takes `command`, `requires`, `provides`, `revert`, `retry`, `timeout`, `after`, `description`, `env`, `kill_grace`, `permanent_exit_codes`, `cache`,
                    `version`, `for_each`, `max_parallel`; a member with `tasks` or `flow` is a flow instead

            error: `workflow.toml` has 1 error(s); nothing was run
        "#]],
    );
}

#[test]
fn a_cycle_printed_task_by_task() {
    let text = r#"
[tasks.a]
command = ["true"]
requires = { z = "int" }
provides = { x = "int" }

[tasks.b]
command = ["true"]
requires = { x = "int" }
provides = { y = "int" }

[tasks.c]
command = ["true"]
requires = { y = "int" }
provides = { z = "int" }
"#;
    check(
        "workflow.toml",
        &format!("{CANARY}{text}"),
        &[],
        expect![[r#"
        cycle

          × cycle: `a` -> `b` -> `c` -> `a`
            ╭─[workflow.toml:5:8]
          4 │ 
          5 │ [tasks.a]
            ·        ┬
            ·        ╰── task `a`
          6 │ command = ["true"]
          7 │ requires = { z = "int" }
          8 │ provides = { x = "int" }
          9 │ 
         10 │ [tasks.b]
            ·        ┬
            ·        ╰── task `b`
         11 │ command = ["true"]
         12 │ requires = { x = "int" }
         13 │ provides = { y = "int" }
         14 │ 
         15 │ [tasks.c]
            ·        ┬
            ·        ╰── task `c`
         16 │ command = ["true"]
            ╰────
          help: a task cannot wait, directly or through others, for itself: remove one of these dependencies

        error: `workflow.toml` has 1 error(s); nothing was run
    "#]],
    );
}

#[test]
fn a_required_value_nothing_provides() {
    let text = r#"
[tasks.deploy]
command = ["deploy", "{site}"]
requires = { site = "file" }
"#;
    check(
        "workflow.toml",
        &format!("{CANARY}{text}"),
        &[],
        expect![[r#"
        missing-input

          × task `deploy` requires `site`, which no task provides and the workflow does not take as an input
           ╭─[workflow.toml:7:14]
         6 │ command = ["deploy", "{site}"]
         7 │ requires = { site = "file" }
           ·              ──┬─
           ·                ╰── `deploy` requires `site`
           ╰────
          help: declare `site` as a workflow input, or add a task that provides it

        error: `workflow.toml` has 1 error(s); nothing was run
    "#]],
    );
}

#[test]
fn a_run_input_that_is_not_given() {
    let text = r#"
[inputs]
n = { type = "int", description = "how many" }

[tasks.square]
command = ["sh", "-c", "touch canary.ran; printf '{\"sq\": %d}' $((PLAIT_IN_N * PLAIT_IN_N))"]
requires = { n = "int" }
provides = { sq = "int" }
"#;
    check(
        "workflow.toml",
        text,
        &[],
        expect![[r#"
            error: the workflow needs input `n`, which was not given
              help: pass it with `--set n=VALUE` (int)
        "#]],
    );
}

#[test]
fn two_providers_of_one_name() {
    let text = r#"
[tasks.left]
command = ["true"]
provides = { x = "int" }

[tasks.right]
command = ["true"]
provides = { x = "int" }

[tasks.use]
command = ["true"]
requires = { x = "int" }
"#;
    check(
        "workflow.toml",
        &format!("{CANARY}{text}"),
        &[],
        expect![[r#"
            ambiguous-provider

              × task `use` requires `x`, which `left` and `right` both provide
                ╭─[workflow.toml:15:14]
              6 │ command = ["true"]
              7 │ provides = { x = "int" }
                ·              ┬
                ·              ╰── `left` provides `x`
              8 │ 
              9 │ [tasks.right]
             10 │ command = ["true"]
             11 │ provides = { x = "int" }
                ·              ┬
                ·              ╰── `right` provides `x`
             12 │ 
             13 │ [tasks.use]
             14 │ command = ["true"]
             15 │ requires = { x = "int" }
                ·              ┬
                ·              ╰── `use` requires `x`
                ╰────
              help: a value has exactly one provider: rename one of the outputs (`rebind`)

            error: `workflow.toml` has 1 error(s); nothing was run
        "#]],
    );
}

#[test]
fn a_type_mismatch_between_provider_and_consumer() {
    let text = r#"
[tasks.count]
command = ["true"]
provides = { n = "int" }

[tasks.greet]
command = ["true"]
requires = { n = "string" }
"#;
    check(
        "workflow.toml",
        &format!("{CANARY}{text}"),
        &[],
        expect![[r#"
        type-mismatch

          × task `greet` requires `n` as string, but task `count` provides it as int
            ╭─[workflow.toml:11:14]
          6 │ command = ["true"]
          7 │ provides = { n = "int" }
            ·              ┬
            ·              ╰── `count` provides `n`
          8 │ 
          9 │ [tasks.greet]
         10 │ command = ["true"]
         11 │ requires = { n = "string" }
            ·              ┬
            ·              ╰── `greet` requires `n`
            ╰────

        error: `workflow.toml` has 1 error(s); nothing was run
    "#]],
    );
}

const WITH_INPUTS: &str = r#"
[inputs]
n = { type = "int", default = 3 }
label = { default = "x" }

[tasks.canary]
command = ["touch", "canary.ran"]
requires = { n = "int", label = "string" }
"#;

#[test]
fn a_set_naming_no_input() {
    check(
        "workflow.toml",
        WITH_INPUTS,
        &["--set", "m=4"],
        expect![[r#"
            error: the workflow takes no input named `m` (`--set m=4`); it takes `n` (int), `label` (string)
            error: 1 bad `--set` value(s); nothing was run
        "#]],
    );
}

#[test]
fn a_set_whose_value_does_not_fit_the_type() {
    check(
        "workflow.toml",
        WITH_INPUTS,
        &["--set", "n=three"],
        expect![[r#"
            error: input `n` is int, and `three` is not a valid int
            error: 1 bad `--set` value(s); nothing was run
        "#]],
    );
}

#[test]
fn a_set_without_a_value() {
    check(
        "workflow.toml",
        WITH_INPUTS,
        &["--set", "n"],
        expect![[r#"
            error: `--set n` is not NAME=VALUE: write `--set n=VALUE`
            error: 1 bad `--set` value(s); nothing was run
        "#]],
    );
}

#[test]
fn every_bad_set_at_once() {
    check(
        "workflow.toml",
        WITH_INPUTS,
        &[
            "--set", "m=4", "--set", "n=three", "--set", "x", "--set", "label=a", "--set",
            "label=b",
        ],
        expect![[r#"
            error: the workflow takes no input named `m` (`--set m=4`); it takes `n` (int), `label` (string)
            error: input `n` is int, and `three` is not a valid int
            error: `--set x` is not NAME=VALUE: write `--set x=VALUE`
            error: input `label` is set twice, by `--set label=a` and `--set label=b`: set it once
            error: 4 bad `--set` value(s); nothing was run
        "#]],
    );
}

#[test]
fn an_input_set_twice() {
    check(
        "workflow.toml",
        WITH_INPUTS,
        &["--set", "n=1", "--set", "n=2"],
        expect![[r#"
            error: input `n` is set twice, by `--set n=1` and `--set n=2`: set it once
            error: 1 bad `--set` value(s); nothing was run
        "#]],
    );
}

#[test]
fn an_empty_toml_file() {
    check(
        "workflow.toml",
        "\n# nothing yet\n",
        &[],
        expect![[r#"
            syntax

              × the file is empty
               ╭─[workflow.toml:1:1]
             1 │ ╭─▶ 
             2 │ ├─▶ # nothing yet
               · ╰──── empty
               ╰────
              help: a TOML workflow has tasks: `[tasks.hello]`, then `command = ["echo", "hello"]` on the next line

            error: `workflow.toml` has 1 error(s); nothing was run
        "#]],
    );
}

/// A `file` input naming a path with nothing there is refused before anything runs, whether
/// it comes from `--set` or from the workflow's default.
#[test]
fn a_file_input_that_does_not_exist() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"
[inputs]
photo = { type = "file", default = "missing-default.png" }

[tasks.canary]
command = ["touch", "canary.ran"]
requires = { photo = "file" }
"#,
    );
    let refused = |args: &[&str]| {
        let mut all = vec!["run", "workflow.toml", "--jobs", "2"];
        all.extend_from_slice(args);
        let run = scratch.plait(&all);
        run.expect_code(2);
        assert_eq!(run.stdout, "", "nothing on stdout");
        assert!(!scratch.join("canary.ran").exists(), "a task ran");
        let dir = scratch.path().display().to_string();
        crate::support::normalize(&run.stderr, &[(&dir, "<dir>")])
    };
    expect![[r#"
        error: input `photo` is a file, and there is nothing at `<dir>/missing-default.png`
          help: create it, or name another with `--set photo=PATH` (relative to the directory plait runs in)
    "#]].assert_eq(&refused(&[]));
    expect![[r#"
        error: input `photo` is a file, and there is nothing at `<dir>/missing.png`
          help: create it, or name another with `--set photo=PATH` (relative to the directory plait runs in)
    "#]].assert_eq(&refused(&["--set", "photo=missing.png"]));
    scratch.write("there.png", "");
    scratch
        .plait(&["run", "workflow.toml", "--set", "photo=there.png"])
        .expect_code(0);
    assert!(scratch.join("canary.ran").exists());
}

#[test]
fn a_file_that_does_not_exist() {
    let scratch = Scratch::new();
    let run = scratch.plait(&["run", "nowhere.toml"]);
    run.expect_code(2);
    expect![[r#"
        error: cannot read `nowhere.toml`: No such file or directory (os error 2)
    "#]]
    .assert_eq(&run.stderr);
}

#[test]
fn a_file_with_an_unknown_extension() {
    check(
        "workflow.yaml",
        CANARY,
        &[],
        expect![[r#"
        unknown-format

          × `workflow.yaml` is not a workflow file
           ╭─[workflow.yaml:1:1]
           ╰────
          help: name workflow files `*.toml` or `*.json`, by the syntax they are written in

        error: `workflow.yaml` has 1 error(s); nothing was run
    "#]],
    );
}

/// 100,000 nested arrays: refused at the 65th level, without a stack overflow, in no time.
#[test]
fn a_hundred_thousand_nested_arrays_are_too_deep() {
    let depth = 100_000;
    let nested = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut first_lines = String::new();
    for (name, text) in [
        (
            "deep.toml",
            format!("{CANARY}\n[tasks.deep]\ncommand = {nested}\n"),
        ),
        (
            "deep.json",
            format!("{{\"tasks\": {{\"deep\": {{\"command\": {nested}}}}}}}"),
        ),
    ] {
        let scratch = Scratch::new();
        scratch.write(name, &text);
        for command in ["check", "run"] {
            let start = Instant::now();
            let run = scratch.plait(&[command, name]);
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "{command} {name}"
            );
            run.expect_code(2);
            assert!(!scratch.join("canary.ran").exists());
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            let first = run.stderr.lines().next().unwrap_or_default();
            first_lines.push_str(&format!("{command}: {first}\n"));
        }
    }
    expect![[r#"
        check: deep.toml:6:73: error[too-deep]: the file nests tables and arrays more than 64 levels deep
        run: deep.toml:6:73: error[too-deep]: the file nests tables and arrays more than 64 levels deep
        check: deep.json:1:94: error[too-deep]: the file nests tables and arrays more than 64 levels deep
        run: deep.json:1:94: error[too-deep]: the file nests tables and arrays more than 64 levels deep
    "#]].assert_eq(&first_lines);
}
