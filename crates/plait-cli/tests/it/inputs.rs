//! How a command gets its inputs: placeholders, `PLAIT_IN_<NAME>`, files and stdin.

use expect_test::expect;

use crate::support::Scratch;

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
