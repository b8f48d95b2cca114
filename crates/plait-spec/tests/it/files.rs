//! Problems with what the file says, before validation: keys, types, values.

use expect_test::expect;

use std::path::Path;

use plait_spec::{Format, load_str};

use crate::{JSON_PATH, check, check_json, load_toml};

#[test]
fn unknown_keys_suggest_the_nearest() {
    check(
        r#"
nmae = "oops"
[tasks.a]
comand = ["true"]
requires = { n = { type = "int", form = "m" } }
[tasks.sub]
flow = "linear"
command = ["true"]
"#,
        expect![[r#"
            /flows/test.toml:2:1: error[unknown-key]: unknown key `nmae` in the workflow
              help: did you mean `name`? the workflow takes `name`, `description`, `on_failure`, `outputs`, `flow`, `workdir`, `defaults`, `inputs`, `tasks`
            /flows/test.toml:4:1: error[unknown-key]: unknown key `comand` in task `a`
              help: did you mean `command`? task `a` takes `command`, `requires`, `provides`, `revert`, `retry`, `timeout`, `after`, `description`, `env`, `kill_grace`, `permanent_exit_codes`, `cache`, `version`, `for_each`, `max_parallel`; a member with `tasks` or `flow` is a flow instead
            /flows/test.toml:5:14: error[missing-input]: task `a` requires `n`, which no task provides and the workflow does not take as an input
              help: declare `n` as a workflow input, or add a task that provides it
            /flows/test.toml:5:34: error[unknown-key]: unknown key `form` in `n` in `requires` of task `a`
              help: did you mean `from`? `n` in `requires` of task `a` takes `type`, `from`; `from` names the value in the flow when it differs from the task's name
            /flows/test.toml:8:1: error[unknown-key]: unknown key `command` in flow `sub`
              help: flow `sub` takes `flow`, `tasks`, `retry`, `after`, `rebind`, `description`; this member is a flow because it has `tasks` or `flow`: put commands in tasks under its `tasks`
            => `/flows/test.toml` has 5 error(s)
        "#]],
    );
}

#[test]
fn type_names_are_checked() {
    check(
        r#"
[inputs]
n = "integer"
s = { type = "strng" }
[tasks.a]
command = ["true"]
requires = { n = "int", s = "string" }
provides = { out = "colour" }
"#,
        expect![[r#"
            /flows/test.toml:3:5: error[bad-type]: unknown type `integer` for input `n`
              help: did you mean `int`? the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            /flows/test.toml:4:14: error[bad-type]: unknown type `strng` for input `s`
              help: did you mean `string`? the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            /flows/test.toml:8:20: error[bad-type]: unknown type `colour` for `out` in `provides` of task `a`
              help: the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            => `/flows/test.toml` has 3 error(s)
        "#]],
    );
}

#[test]
fn durations_are_checked() {
    check(
        r#"
[defaults]
timeout = 30
[tasks.a]
command = ["true"]
timeout = "5 parsecs"
kill_grace = "soon"
retry = { attempts = 2, backoff = "1 fortnight" }
"#,
        expect![[r#"
            /flows/test.toml:3:11: error[bad-type]: `timeout` in `[defaults]` must be a duration string, not an integer
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            /flows/test.toml:6:11: error[bad-value]: `timeout` of task `a` is not a duration: `5 parsecs`
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            /flows/test.toml:7:14: error[bad-value]: `kill_grace` of task `a` is not a duration: `soon`
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            /flows/test.toml:8:35: error[bad-value]: `backoff` of `retry` of task `a` is not a duration: `1 fortnight`
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            => `/flows/test.toml` has 4 error(s)
        "#]],
    );
}

#[test]
fn input_defaults_have_the_input_type() {
    check(
        r#"
[inputs]
n = { type = "int", default = "three" }
x = { type = "float", default = 3 }
f = { type = "file", default = 1.5 }
flag = { default = true, description = "typed by its default" }
when = { default = 1979-05-27 }
none = { description = "no type" }
[tasks.a]
command = ["echo", "{n}", "{x}", "{f}", "{flag}"]
requires = { n = "int", x = "float", f = "file", flag = "bool" }
"#,
        expect![[r#"
            /flows/test.toml:3:31: error[bad-type]: the default of input `n` is a string, but the input is int
              help: write a default of type int, or change the input's `type`
            /flows/test.toml:5:32: error[bad-type]: the default of input `f` is a float, but the input is file
              help: write a default of type file, or change the input's `type`
            /flows/test.toml:7:20: error[bad-type]: the default of input `when` must be a string, number, boolean, array or table, not a date-time
              help: write the default of input `when` as a string, number, boolean, array or table
            /flows/test.toml:8:8: error[missing-key]: input `none` has no `type`
              help: add `type = "int"` (or another type), or a `default`
            => `/flows/test.toml` has 4 error(s)
        "#]],
    );
}

#[test]
fn list_inputs_take_array_defaults_of_their_element_type() {
    check(
        r#"
[inputs]
names = { type = "list<string>", default = ["a", "b"] }
grid = { type = "list<list<int>>", default = [[1, 2], []] }
files = { type = "list<file>", default = ["data/a.csv", "/abs/b.csv"] }
[tasks.greet]
command = ["greet", "{names}"]
requires = { names = "list<string>", grid = "list<list<int>>", files = "list<file>" }
provides = { greeted = "list<string>" }
"#,
        expect![[r#"
            workflow `test` (1 tasks, on_failure Revert)
            input names: list<string> = ["a","b"]
            input grid: list<list<int>> = [[1,2],[]]
            input files: list<file> = ["/flows/data/a.csv","/abs/b.csv"]
            task `greet` [command]
              requires [names: list<string> <- input `names`, grid: list<list<int>> <- input `grid`, files: list<file> <- input `files`] provides [greeted: list<string>]
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            output greeted <- `greet`.greeted
        "#]],
    );
}

#[test]
fn bad_list_defaults_and_list_type_names_are_located() {
    check(
        r#"
[inputs]
names = { type = "list<string>", default = ["a", 2] }
grid = { type = "list<list<int>>", default = [[1], [2, "x"]] }
one = { type = "list<string>", default = "a" }
typo = { type = "list<strin>" }
empty = "list<>"
bare = "list"
[tasks.a]
command = ["a"]
requires = { names = "list<string>", grid = "list<list<int>>", one = "list<string>" }
"#,
        expect![[r#"
            /flows/test.toml:3:50: error[bad-type]: element [1] of the default of input `names` is an integer, but the input is list<string>
              help: write each element as string, or change the input's `type`
            /flows/test.toml:4:56: error[bad-type]: element [1][1] of the default of input `grid` is a string, but the input is list<list<int>>
              help: write each element as int, or change the input's `type`
            /flows/test.toml:5:42: error[bad-type]: the default of input `one` is a string, but the input is list<string>
              help: write a default of type list<string>, or change the input's `type`
            /flows/test.toml:6:17: error[bad-type]: unknown type `list<strin>` for input `typo`
              help: did you mean `list<string>`? the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            /flows/test.toml:7:9: error[bad-type]: unknown type `list<>` for input `empty`
              help: a list names the type of its elements, as in `list<string>`; the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            /flows/test.toml:8:8: error[bad-type]: unknown type `list` for input `bare`
              help: a list names the type of its elements, as in `list<string>`; the types are `string`, `int`, `float`, `bool`, `json`, `file`, `list<T>`
            => `/flows/test.toml` has 6 error(s)
        "#]],
    );
}

#[test]
fn commands_are_non_empty_arrays_of_strings() {
    check(
        r#"
[tasks.shell]
command = "echo hi | wc -c"
[tasks.empty]
command = []
[tasks.mixed]
command = ["echo", 3]
[tasks.revert]
command = ["true"]
revert = "rm -rf out"
[tasks.nothing]
description = "no command, no tasks"
"#,
        expect![[r#"
            /flows/test.toml:3:11: error[bad-type]: `command` of task `shell` must be an array of strings, not a string
              help: write the program and its arguments as an array; for a shell line, write ["sh", "-c", "echo hi | wc -c"]
            /flows/test.toml:5:11: error[bad-value]: `command` of task `empty` is empty
              help: name the program to run and its arguments: ["echo", "hello"]
            /flows/test.toml:7:20: error[bad-type]: each item of `command` of task `mixed` must be a string, not an integer
              help: write each item of `command` of task `mixed` as a string
            /flows/test.toml:10:10: error[bad-type]: `revert` of task `revert` must be an array of strings, not a string
              help: write the program and its arguments as an array; for a shell line, write ["sh", "-c", "rm -rf out"]
            /flows/test.toml:11:8: error[missing-key]: task `nothing` has no `command`
              help: add `command = ["program", "argument"]`, or `tasks` to make `nothing` a flow
            => `/flows/test.toml` has 5 error(s)
        "#]],
    );
}

#[test]
fn placeholders_must_name_inputs() {
    check(
        r#"
[inputs]
n = "int"
[tasks.a]
command = ["echo", "{n}", "{m}", "{broken"]
requires = { n = "int" }
"#,
        expect![[r#"
            /flows/test.toml:5:11: error[bad-task]: task `a`: `argv` uses placeholder `{m}`, but no input is named `m`: known inputs are `n` (declare it in `requires`, or write `{{m}}` to keep it as it is)
            => `/flows/test.toml` has 1 error(s)
        "#]],
    );
}

#[test]
fn placeholders_in_shell_scripts_are_warned_of() {
    check(
        r#"
[inputs]
v = "string"
[tasks.a]
command = ["sh", "-c", "echo {v} > out.txt"]
revert = ["bash", "-ec", "rm -f {v}"]
requires = { v = "string" }
[tasks.safe]
command = ["sh", "-c", "echo \"$PLAIT_IN_V\" \"$1\"", "sh", "{v}"]
requires = { v = "string" }
"#,
        expect![[r#"
            workflow `test` (2 tasks, on_failure Revert)
            input v: string
            task `a` [command]
              requires [v: string <- input `v`] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            task `safe` [command]
              requires [v: string <- input `v`] provides []
              attempts 1, backoff 100ms, max 30s, x2, jitter 0.5
            /flows/test.toml:5:24: warning[shell-placeholder]: `command` of task `a` pastes `{v}` into the script `sh -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code
              help: read the value from the environment, in double quotes: `"$PLAIT_IN_V"` for `{v}`; or pass it after the script and read `"$1"`: ["sh", "-c", "... \"$1\"", "sh", "{v}"]
            /flows/test.toml:6:26: warning[shell-placeholder]: `revert` of task `a` pastes `{v}` into the script `bash -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code
              help: read the value from the environment, in double quotes: `"$PLAIT_IN_V"` for `{v}`; or pass it after the script and read `"$1"`: ["bash", "-c", "... \"$1\"", "bash", "{v}"]
        "#]],
    );
}

#[test]
fn retry_values_are_checked() {
    check(
        r#"
[tasks.a]
command = ["true"]
retry = 0
[tasks.b]
command = ["true"]
retry = { attempts = 2, multiplier = 0.5, jitter = 2, max_backof = "1s" }
[tasks.c]
command = ["true"]
retry = "forever"
"#,
        expect![[r#"
            /flows/test.toml:4:9: error[bad-value]: `retry` of task `a` must be at least 1
              help: attempts count the first try too: 1 means no retry, 3 means up to two retries
            /flows/test.toml:7:38: error[bad-value]: `multiplier` of `retry` of task `b` must be a number of at least 1
              help: write `multiplier` of `retry` of task `b` as a number of at least 1
            /flows/test.toml:7:52: error[bad-value]: `jitter` of `retry` of task `b` must be a fraction from 0 to 1
              help: write `jitter` of `retry` of task `b` as a fraction from 0 to 1
            /flows/test.toml:7:55: error[unknown-key]: unknown key `max_backof` in `retry` of task `b`
              help: did you mean `max_backoff`? `retry` of task `b` takes `attempts`, `backoff`, `max_backoff`, `multiplier`, `jitter`
            /flows/test.toml:10:9: error[bad-type]: `retry` of task `c` must be a number of attempts or a table, not a string
              help: write `retry` of task `c` as a number of attempts or a table
            => `/flows/test.toml` has 5 error(s)
        "#]],
    );
}

#[test]
fn words_suggest_the_nearest() {
    check(
        r#"
on_failure = "rollback"
flow = "lineer"
[tasks.a]
command = ["true"]
cache = "yes"
version = 1.5
env = { A = "1", B = 2 }
after = "b"
"#,
        expect![[r#"
            /flows/test.toml:2:14: error[bad-value]: `on_failure` cannot be `rollback`
              help: `on_failure` is one of `revert`, `continue`
            /flows/test.toml:3:8: error[bad-value]: `flow` cannot be `lineer`
              help: did you mean `linear`? `flow` is one of `graph`, `linear`, `unordered`
            /flows/test.toml:6:9: error[bad-type]: `cache` of task `a` must be a boolean (`true` or `false`), not a string
              help: write `cache` of task `a` as a boolean (`true` or `false`)
            /flows/test.toml:7:11: error[bad-type]: `version` of task `a` must be a string or an integer, not a float
              help: write `version` of task `a` as a string or an integer
            /flows/test.toml:8:22: error[bad-type]: `B` in `env` of task `a` must be a string, not an integer
              help: write `B` in `env` of task `a` as a string
            /flows/test.toml:9:9: error[bad-type]: `after` of task `a` must be an array of strings, not a string
              help: write `after` of task `a` as an array of strings
            => `/flows/test.toml` has 6 error(s)
        "#]],
    );
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    check(
        r#"
name = "everything"
outputs = ["total", "nothing"]

[inputs]
n = "int"
label = { type = "string", default = 3 }

[tasks.square]
command = ["sh", "-c", "echo {n}"]
requires = { n = "float" }
provides = { sq = "int" }
timeout = "fast"

[tasks.sum]
command = ["sum", "{sq}", "{missing}"]
requires = { sq = "int", extra = "int" }
provides = { total = "int" }
after = ["squar"]

[tasks.loop]
comand = ["loop"]
"#,
        expect![[r#"
            /flows/test.toml:3:21: error[unknown-output]: output `nothing` is not provided by any task of the workflow
              help: the workflow provides `sq`, `total`
            /flows/test.toml:7:1: warning[unused-input]: input `label` is never used
            /flows/test.toml:7:38: error[bad-type]: the default of input `label` is an integer, but the input is string
              help: write a default of type string, or change the input's `type`
            /flows/test.toml:10:24: warning[shell-placeholder]: `command` of task `square` pastes `{n}` into the script `sh -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code
              help: read the value from the environment, in double quotes: `"$PLAIT_IN_N"` for `{n}`; or pass it after the script and read `"$1"`: ["sh", "-c", "... \"$1\"", "sh", "{n}"]
            /flows/test.toml:11:14: error[type-mismatch]: task `square` requires `n` as float, but input `n` is int
              also 6:1: input `n`
            /flows/test.toml:13:11: error[bad-value]: `timeout` of task `square` is not a duration: `fast`
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            /flows/test.toml:16:11: error[bad-task]: task `sum`: `argv` uses placeholder `{missing}`, but no input is named `missing`: known inputs are `sq`, `extra` (declare it in `requires`, or write `{{missing}}` to keep it as it is)
            /flows/test.toml:17:26: error[missing-input]: task `sum` requires `extra`, which no task provides and the workflow does not take as an input
              help: declare `extra` as a workflow input, or add a task that provides it
            /flows/test.toml:19:10: error[unknown-member]: `sum` runs after `squar`, which is not in its flow
              help: `after` names members of the same flow: `square`, `loop`
            /flows/test.toml:22:1: error[unknown-key]: unknown key `comand` in task `loop`
              help: did you mean `command`? task `loop` takes `command`, `requires`, `provides`, `revert`, `retry`, `timeout`, `after`, `description`, `env`, `kill_grace`, `permanent_exit_codes`, `cache`, `version`, `for_each`, `max_parallel`; a member with `tasks` or `flow` is a flow instead
            => `/flows/test.toml` has 8 error(s)
        "#]],
    );
}

#[test]
fn json_files_have_the_same_checks() {
    check_json(
        r#"{
  "inputs": {"n": "int"},
  "tasks": {
    "a": {"command": ["true"], "requires": {"n": "int"}, "timeout": "5 parsecs"},
    "a": {"command": ["false"]},
    "b": {"command": ["true"], "command": ["false"], "retyr": 3}
  }
}"#,
        expect![[r#"
            /flows/test.json:4:69: error[bad-value]: `timeout` of task `a` is not a duration: `5 parsecs`
              help: write a number and a unit, such as "250ms", "5s", "1m 30s" or "2h" (units: ns, us, ms, s, m, h, d)
            /flows/test.json:5:5: error[duplicate-key]: `a` is defined twice
              help: a key appears once in a table: remove or rename one of them
              also 4:5: first defined here
            /flows/test.json:6:32: error[duplicate-key]: `command` is defined twice
              help: a key appears once in a table: remove or rename one of them
              also 6:11: first defined here
            /flows/test.json:6:54: error[unknown-key]: unknown key `retyr` in task `b`
              help: did you mean `retry`? task `b` takes `command`, `requires`, `provides`, `revert`, `retry`, `timeout`, `after`, `description`, `env`, `kill_grace`, `permanent_exit_codes`, `cache`, `version`, `for_each`, `max_parallel`; a member with `tasks` or `flow` is a flow instead
            => `/flows/test.json` has 4 error(s)
        "#]],
    );
}

#[test]
fn a_task_is_a_table() {
    check(
        r#"
[tasks]
build = ["make"]
[tasks.deploy.tasks]
push = "git push"
"#,
        expect![[r#"
            /flows/test.toml:3:9: error[bad-type]: task `build` must be a table, not an array
              help: write the task as a table of its keys: `[tasks.build]` then `command = ["program", "argument"]` on the next line
            /flows/test.toml:5:8: error[bad-type]: task `deploy/push` must be a table, not a string
              help: write the task as a table of its keys: `[tasks.deploy.tasks.push]` then `command = ["program", "argument"]` on the next line
            => `/flows/test.toml` has 2 error(s)
        "#]],
    );
}

#[test]
fn permanent_exit_codes_are_statuses() {
    check(
        r#"
[tasks.a]
command = ["true"]
permanent_exit_codes = [2, 0, "3", 256]
[tasks.b]
command = ["true"]
permanent_exit_codes = 2
"#,
        expect![[r#"
            /flows/test.toml:4:28: error[bad-type]: each item of `permanent_exit_codes` of task `a` must be an exit status from 1 to 255, not an integer
              help: write each item of `permanent_exit_codes` of task `a` as an exit status from 1 to 255
            /flows/test.toml:4:31: error[bad-type]: each item of `permanent_exit_codes` of task `a` must be an exit status from 1 to 255, not a string
              help: write each item of `permanent_exit_codes` of task `a` as an exit status from 1 to 255
            /flows/test.toml:4:36: error[bad-type]: each item of `permanent_exit_codes` of task `a` must be an exit status from 1 to 255, not an integer
              help: write each item of `permanent_exit_codes` of task `a` as an exit status from 1 to 255
            /flows/test.toml:7:24: error[bad-type]: `permanent_exit_codes` of task `b` must be an array of exit statuses, not an integer
              help: write `permanent_exit_codes` of task `b` as an array of exit statuses
            => `/flows/test.toml` has 4 error(s)
        "#]],
    );
}

/// The parsed definition's hash ignores comments, whitespace and layout, and sees any change
/// to what the file says; one tree in TOML and in JSON is one definition.
#[test]
fn the_parsed_hash_sees_what_the_file_says_not_how() {
    let base = r#"
[tasks.a]
command = ["echo", "a"]
provides = { x = "int" }
"#;
    let same = [
        "# a comment\n[tasks.a]   # here too\ncommand = [ \"echo\",\n  \"a\" ]\nprovides = { x = \"int\" }\n\n",
        "tasks = { a = { command = [\"echo\", \"a\"], provides = { x = \"int\" } } }\n",
        "[tasks.a]\ncommand = ['echo', 'a']\nprovides.x = \"int\"\n",
    ];
    let other = [
        base.replace("\"a\"]", "\"b\"]"),
        base.replace("\"int\"", "\"string\""),
        format!("{base}description = \"a\"\n"),
        base.replace("[tasks.a]", "[tasks.b]"),
    ];
    let hash = |text: &str| load_toml(text).parsed_hash;
    for text in same {
        assert_eq!(hash(text), hash(base), "{text}");
    }
    for text in &other {
        assert_ne!(hash(text), hash(base), "{text}");
    }
    let json = r#"{"tasks": {"a": {"command": ["echo", "a"], "provides": {"x": "int"}}}} // ok"#;
    let json = load_str(json, Path::new(JSON_PATH), Format::Json).unwrap();
    assert_eq!(json.parsed_hash, hash(base));
}

#[test]
fn for_each_is_checked_where_it_is_written() {
    check(
        r#"
name = "fans"

[inputs]
count = { type = "int", default = 3 }
names = { type = "list<string>", default = ["a"] }

[tasks.over_int]
command = ["echo", "{item}"]
for_each = { item = "count" }

[tasks.over_nothing]
command = ["echo", "{x}"]
for_each = { x = "nowhere" }

[tasks.two_keys]
command = ["echo"]
for_each = { x = "names", y = "names" }

[tasks.wrong_item]
command = ["echo", "{name}"]
requires = { name = "int" }
for_each = { name = "names" }

[tasks.unbounded]
command = ["echo"]
max_parallel = 2

[tasks.zero]
command = ["echo", "{name}"]
for_each = { name = "names" }
max_parallel = 0
"#,
        expect![[r#"
            /flows/test.toml:10:21: error[type-mismatch]: task `over_int` runs `for_each` over `count`, but input `count` is int, not a list
              help: `for_each` takes a value of type list<T>, such as list<string>
            /flows/test.toml:14:18: error[missing-input]: task `over_nothing` requires `nowhere`, which no task provides and the workflow does not take as an input
              help: declare `nowhere` as a workflow input, or add a task that provides it
            /flows/test.toml:18:27: error[bad-value]: `for_each` of task `two_keys` has more than one key
              help: write `for_each = { item = "names" }`: each instance gets one element of the list `names` as its input `item`
            /flows/test.toml:23:21: error[type-mismatch]: task `wrong_item` takes each element of `names` as `name` (int), but input `names` is list<string>, a list of string
              help: declare `name` in `requires` with the element's type, or leave it out to take the element as it is
            /flows/test.toml:27:16: error[bad-key]: task `unbounded` sets `max_parallel` but has no `for_each`
              help: `max_parallel` bounds the items of a `for_each`: add one, or drop it
            /flows/test.toml:32:16: error[bad-value]: `max_parallel` of task `zero` is 0: no item could run
              help: give at least 1, or leave it out to run as many items as `--jobs` allows
            => `/flows/test.toml` has 6 error(s)
        "#]],
    );
}
