//! Shell scripts and input values: a placeholder inside a script is warned of, and the forms
//! the documentation teaches keep a value data, whatever it holds.

use expect_test::expect;

use crate::support::{Scratch, repo_root};

#[test]
fn check_warns_of_a_placeholder_inside_a_shell_script() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"[inputs]
v = "string"

[tasks.write]
command = ["sh", "-c", "echo {v} > out.txt"]
requires = { v = "string" }
"#,
    );
    let run = scratch.plait(&["check", "workflow.toml"]);
    run.expect_code(0);
    expect![[r#"
        shell-placeholder

          ⚠ `command` of task `write` pastes `{v}` into the script `sh -c` runs: a value holding `$(...)`, `;` or a quote runs as shell code
           ╭─[workflow.toml:5:24]
         4 │ [tasks.write]
         5 │ command = ["sh", "-c", "echo {v} > out.txt"]
           ·                        ──────────┬─────────
           ·                                  ╰── placeholder in a shell script
         6 │ requires = { v = "string" }
           ╰────
          help: read the value from the environment, in double quotes: `"$PLAIT_IN_V"` for `{v}`; or pass it after the script and read `"$1"`: ["sh", "-c", "... \"$1\"", "sh", "{v}"]

        `workflow.toml` is valid: 1 task(s), 1 input(s), 0 output(s)
    "#]]
    .assert_eq(&run.stderr);
}

/// A run shows its file's first warnings and counts the rest; `check` shows them all.
#[test]
fn a_run_shows_the_first_warnings_and_check_all_of_them() {
    let scratch = Scratch::new();
    let mut text = String::from("[inputs]\nv = { type = \"string\", default = \"x\" }\n");
    for idx in 0..8 {
        text.push_str(&format!(
            "[tasks.t{idx}]\ncommand = [\"sh\", \"-c\", \"echo {{v}}\"]\nrequires = {{ v = \"string\" }}\n"
        ));
    }
    scratch.write("workflow.toml", &text);
    let run = scratch.plait(&["run", "workflow.toml"]);
    run.expect_code(0);
    assert_eq!(
        run.stderr.matches("shell-placeholder").count(),
        5,
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("3 more warning(s): `plait check workflow.toml` shows them all"),
        "{}",
        run.stderr
    );
    let check = scratch.plait(&["check", "workflow.toml"]);
    check.expect_code(0);
    assert_eq!(
        check.stderr.matches("shell-placeholder").count(),
        8,
        "{}",
        check.stderr
    );
}

#[test]
fn the_documented_forms_keep_a_value_out_of_the_shell() {
    let scratch = Scratch::new();
    scratch.write(
        "workflow.toml",
        r#"[inputs]
v = "string"

[tasks.from_env]
command = ["sh", "-c", "echo \"$PLAIT_IN_V\" > env.txt"]
requires = { v = "string" }

[tasks.from_argument]
command = ["sh", "-c", "echo \"$1\" > argument.txt", "sh", "{v}"]
requires = { v = "string" }
"#,
    );
    let value = "$(touch pwned); touch pwned2 `touch pwned3` \"'";
    let check = scratch.plait(&["check", "workflow.toml"]);
    assert!(
        !check.expect_code(0).stderr.contains("warning"),
        "{}",
        check.stderr
    );
    scratch
        .plait(&[
            "run",
            "workflow.toml",
            "--store",
            ":memory:",
            "--set",
            &format!("v={value}"),
        ])
        .expect_code(0);
    assert_eq!(scratch.read("env.txt"), format!("{value}\n"));
    assert_eq!(scratch.read("argument.txt"), format!("{value}\n"));
    let names = scratch.list("");
    assert!(
        !names.iter().any(|name| name.starts_with("pwned")),
        "{names:?}"
    );
}

/// Every workflow the README and FORMAT.md show, as `plait check` sees it: none pastes a
/// placeholder into a shell script.
#[test]
fn no_documented_workflow_pastes_a_placeholder_into_a_shell_script() {
    let scratch = Scratch::new();
    let mut n_blocks = 0;
    for doc in ["README.md", "crates/plait-spec/FORMAT.md"] {
        let text = std::fs::read_to_string(repo_root().join(doc)).expect("the doc exists");
        for (idx, (extension, block)) in code_blocks(&text).into_iter().enumerate() {
            let name = format!("block{idx}.{extension}");
            scratch.write(&name, &block);
            let run = scratch.plait(&["check", &name]);
            assert!(
                !run.stderr.contains("shell-placeholder"),
                "{doc}, block {idx}:\n{block}\n{}",
                run.stderr
            );
            n_blocks += 1;
        }
    }
    assert!(n_blocks >= 5, "found {n_blocks} workflow blocks");
}

/// The README's workflow runs as it says: `--set n=4` gives `total = 24`.
#[test]
fn the_readme_workflow_runs() {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let (_, block) = code_blocks(&readme)
        .into_iter()
        .find(|(extension, _)| *extension == "toml")
        .expect("the README shows a workflow");
    let scratch = Scratch::new();
    scratch.write("workflow.toml", &block);
    let run = scratch.plait(&[
        "run",
        "workflow.toml",
        "--set",
        "n=4",
        "--store",
        ":memory:",
    ]);
    assert_eq!(run.expect_code(0).stdout, "total = 24\n");
}

/// The ```toml and ```json blocks of a Markdown text, with their extensions.
fn code_blocks(text: &str) -> Vec<(&'static str, String)> {
    let mut blocks = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let extension = match line.trim() {
            "```toml" => "toml",
            "```json" => "json",
            _ => continue,
        };
        let body: Vec<&str> = lines.by_ref().take_while(|l| l.trim() != "```").collect();
        blocks.push((extension, body.join("\n") + "\n"));
    }
    blocks
}
