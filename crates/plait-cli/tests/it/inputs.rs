//! How a command gets its inputs (placeholders, `PLAIT_IN_<NAME>`, files and stdin) and the
//! other `PLAIT_*` variables FORMAT.md documents.

use std::collections::BTreeMap;

use expect_test::expect;

use crate::support::{Scratch, repo_root};

/// `big` provides a string of 70,000 bytes, more than an environment variable holds.
const BIG: &str = r#"
[tasks.big]
command = ["sh", "-c", "printf '{\"s\": \"'; head -c 70000 /dev/zero | tr '\\0' x; printf '\"}'"]
provides = { s = "string" }
"#;

#[test]
fn an_input_too_long_for_the_environment_fails_the_task_before_it_starts() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        &format!(
            r#"{BIG}
[tasks.length]
command = ["sh", "-c", "echo ${{#PLAIT_IN_S}} > length.txt"]
requires = {{ s = "string" }}
"#
        ),
    );
    let run = scratch.plait(&["run", "workflow.toml", "--store", ":memory:", "--jobs", "1"]);
    run.expect_code(1);
    assert_eq!(scratch.read("length.txt"), "", "the task did not start");
    let failure = run
        .stderr
        .lines()
        .find(|line| line.contains("`length` failed"))
        .unwrap_or_else(|| panic!("no failure line in:\n{}", run.stderr));
    expect!["  `length` failed after 1 attempt(s): input `s` is 70000 bytes, too long for environment variable `PLAIT_IN_S` (at most 65536): read it from stdin or from the file `$PLAIT_IN_S_FILE` names, and set `env = false` on the task to keep its inputs out of the environment"]
        .assert_eq(failure);
}

#[test]
fn with_env_false_inputs_come_by_file_and_stdin_only() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        &format!(
            r#"{BIG}
[tasks.length]
command = ["sh", "-c", '''
printf '%s' "${{PLAIT_IN_S-unset}}" > env.txt
wc -c < "$PLAIT_IN_S_FILE" | tr -d ' ' > file.txt
wc -c | tr -d ' ' > stdin.txt
''']
requires = {{ s = "string" }}
env = false
"#
        ),
    );
    let run = scratch.plait(&["run", "workflow.toml", "--store", ":memory:"]);
    run.expect_code(0);
    assert_eq!(scratch.read("env.txt"), "unset");
    assert_eq!(scratch.read("file.txt"), "70000\n");
    // `{"s":"xxx…"}` and a newline.
    assert_eq!(scratch.read("stdin.txt"), "70009\n");
}

#[test]
fn every_input_is_also_a_file_removed_once_the_command_ends() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"
[inputs]
n = { type = "int", default = 7 }
doc = { type = "json", default = { k = [1, 2] } }

[tasks.read]
command = ["sh", "-c", '''
cat "$PLAIT_IN_N_FILE" > n.txt
cat "$PLAIT_IN_DOC_FILE" > doc.txt
echo "$PLAIT_IN_N_FILE" > path.txt
''']
requires = { n = "int", doc = "json" }
"#,
    );
    scratch
        .plait(&["run", "workflow.toml", "--store", ":memory:"])
        .expect_code(0);
    assert_eq!(scratch.read("n.txt"), "7");
    assert_eq!(scratch.read("doc.txt"), r#"{"k":[1,2]}"#);
    let path = scratch.read("path.txt");
    let path = std::path::Path::new(path.trim());
    assert!(path.ends_with("PLAIT_IN_N"), "{}", path.display());
    let dir = path.parent().expect("the file is in a directory");
    assert!(!dir.exists(), "{} is left", dir.display());
}

/// `a` succeeds, `b` fails, and both are reverted: each command and revert writes its
/// environment to a file of its own.
const DUMPS: &str = r#"
[inputs]
v = { type = "string", default = "hello" }

[tasks.a]
command = ["sh", "-c", "env -0 > a.command.env; printf '{\"x\": 1}'"]
revert = ["sh", "-c", "env -0 > a.revert.env"]
requires = { v = "string" }
provides = { x = "int" }

[tasks.b]
command = ["sh", "-c", "env -0 > b.command.env; echo 'b broke' >&2; exit 1"]
revert = ["sh", "-c", "env -0 > b.revert.env"]
requires = { x = "int" }
"#;

/// The environment a command wrote with `env -0`: plait's variables only.
fn plait_vars(scratch: &Scratch, file: &str) -> BTreeMap<String, String> {
    let text = scratch.read(file);
    assert!(!text.is_empty(), "{file} was written");
    text.split('\0')
        .filter_map(|entry| entry.split_once('='))
        .filter(|(name, _)| name.starts_with("PLAIT_"))
        .map(|(name, value)| (name.to_owned(), value.to_owned()))
        .collect()
}

/// The rows of FORMAT.md's table of the variables a command gets: name and "given to".
fn documented_vars() -> Vec<(String, String)> {
    let format = std::fs::read_to_string(repo_root().join("crates/plait-spec/FORMAT.md"))
        .expect("FORMAT.md");
    let section = format
        .split("### The environment of a command")
        .nth(1)
        .expect("FORMAT.md has the section");
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .filter_map(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let name = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            Some((name.to_owned(), cells.get(2)?.to_string()))
        })
        .collect()
}

/// Every variable FORMAT.md documents is set where it says, with the value it says; and
/// every `PLAIT_` variable a command or revert gets is documented.
#[test]
fn every_documented_variable_is_set_and_every_variable_documented() {
    let scratch = Scratch::new();
    scratch.write("workflow.toml", DUMPS);
    let run = scratch.plait(&["run", "workflow.toml", "--json"]);
    run.expect_code(1);
    let report = run.json();
    let run_id = report.0["run_id"].as_str().expect("a run id");

    // File, task, its input's `<NAME>`.
    let dumps = [
        ("a.command.env", "a", "V"),
        ("a.revert.env", "a", "V"),
        ("b.command.env", "b", "X"),
        ("b.revert.env", "b", "X"),
    ];
    let documented = documented_vars();
    assert!(documented.len() >= 8, "{documented:?}");
    for (file, task, input) in dumps {
        let vars = plait_vars(&scratch, file);
        let mut expected: Vec<String> = Vec::new();
        for (pattern, given_to) in &documented {
            let wanted = match given_to.as_str() {
                "every command and revert" => true,
                "the revert of a task that succeeded" => file == "a.revert.env",
                "the revert of a task that failed or was stopped" => file == "b.revert.env",
                other => panic!("FORMAT.md gives `{pattern}` to {other:?}: teach this test"),
            };
            if wanted {
                expected.push(pattern.replace("<NAME>", input));
            }
        }
        let found: Vec<&String> = vars.keys().collect();
        let mut expected_sorted: Vec<&String> = expected.iter().collect();
        expected_sorted.sort();
        assert_eq!(found, expected_sorted, "{file}: found vs documented");

        assert_eq!(vars["PLAIT_TASK"], task, "{file}");
        assert_eq!(vars["PLAIT_RUN_ID"], run_id, "{file}");
        assert_eq!(vars["PLAIT_ATTEMPT"], "1", "{file}");
        assert_eq!(
            vars["PLAIT_IDEMPOTENCY_KEY"],
            format!("{run_id}/{task}"),
            "{file}"
        );
        let value = &vars[&format!("PLAIT_IN_{input}")];
        assert_eq!(value, if task == "a" { "hello" } else { "1" }, "{file}");
    }
    assert_eq!(
        plait_vars(&scratch, "a.revert.env")["PLAIT_RESULT"],
        r#"{"x":1}"#
    );
    let error = &plait_vars(&scratch, "b.revert.env")["PLAIT_ERROR"];
    assert!(error.contains("b broke"), "{error}");
}
