//! `CommandTask::execute`: placeholders, environment, stdin, outputs and failures.

use expect_test::{Expect, expect};
use plait_core::{ErrorKind, Isolation, Task, Value, ValueType};
use plait_process::{CommandSpec, CommandTask};

use crate::support::{ctx, inputs, port, sh};

fn read(dir: &tempfile::TempDir, name: &str) -> String {
    std::fs::read_to_string(dir.path().join(name)).unwrap()
}

#[tokio::test]
async fn placeholders_become_single_arguments_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let mut argv = sh(r#"printf '%s\n' "$#" "$@" > args.txt"#);
    argv.extend(["{x}", "--count={n}", "{{literal}}", "{x}{x}"].map(String::from));
    let requires = vec![port("x", ValueType::String), port("n", ValueType::Int)];
    let task = CommandTask::new(CommandSpec {
        argv,
        requires: requires.clone(),
        workdir: Some(dir.path().to_owned()),
        ..CommandSpec::default()
    });
    assert_eq!(task.problems(), Vec::<String>::new());
    let x = Value::from("a b; rm -rf ~ $(touch pwned)");
    let inputs = inputs(&[("x", x), ("n", Value::Int(4))], &requires);
    task.execute(ctx(), inputs).await.unwrap();
    expect![[r#"
        4
        a b; rm -rf ~ $(touch pwned)
        --count=4
        {literal}
        a b; rm -rf ~ $(touch pwned)a b; rm -rf ~ $(touch pwned)
    "#]]
    .assert_eq(&read(&dir, "args.txt"));
    assert!(!dir.path().join("pwned").exists());
}

#[tokio::test]
async fn inputs_and_run_identity_reach_env_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let requires = vec![
        port("max-size", ValueType::Int),
        port("name", ValueType::String),
        port("doc", ValueType::Json),
    ];
    let task = CommandTask::new(CommandSpec {
        argv: sh(
            "env | grep -e '^PLAIT_' -e '^EXTRA=' | sed 's|=/.*/plait-in-[^/]*/|=<dir>/|' \
             | sort > env.txt; cat \"$PLAIT_IN_DOC_FILE\" > doc.txt; cat > stdin.json",
        ),
        requires: requires.clone(),
        env: vec![("EXTRA".to_owned(), "extra value".to_owned())],
        workdir: Some(dir.path().to_owned()),
        ..CommandSpec::default()
    });
    let inputs = inputs(
        &[
            ("max-size", Value::Int(10)),
            ("name", Value::from("two words")),
            ("doc", Value::json(serde_json::json!({"k": [1, 2]}))),
        ],
        &requires,
    );
    task.execute(ctx(), inputs).await.unwrap();
    expect![[r#"
        EXTRA=extra value
        PLAIT_ATTEMPT=2
        PLAIT_IDEMPOTENCY_KEY=run-7/build/compile
        PLAIT_IN_DOC={"k":[1,2]}
        PLAIT_IN_DOC_FILE=<dir>/PLAIT_IN_DOC
        PLAIT_IN_MAX_SIZE=10
        PLAIT_IN_MAX_SIZE_FILE=<dir>/PLAIT_IN_MAX_SIZE
        PLAIT_IN_NAME=two words
        PLAIT_IN_NAME_FILE=<dir>/PLAIT_IN_NAME
        PLAIT_RUN_ID=run-7
        PLAIT_TASK=build/compile
    "#]]
    .assert_eq(&read(&dir, "env.txt"));
    assert_eq!(read(&dir, "doc.txt"), r#"{"k":[1,2]}"#);
    let stdin: serde_json::Value = serde_json::from_str(&read(&dir, "stdin.json")).unwrap();
    assert_eq!(
        stdin,
        serde_json::json!({"max-size": 10, "name": "two words", "doc": {"k": [1, 2]}})
    );
}

#[tokio::test]
async fn a_list_is_json_text_in_env_file_placeholder_and_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let names_type = ValueType::list(ValueType::String);
    let requires = vec![port("names", names_type.clone())];
    let mut argv = sh("printf '%s\\n' \"$PLAIT_IN_NAMES\" \"$1\" > text.txt; \
         cat \"$PLAIT_IN_NAMES_FILE\" > file.txt; cat > stdin.json; \
         echo '{\"lengths\": [1, 3]}'");
    argv.push("{names}".to_owned());
    let task = CommandTask::new(CommandSpec {
        argv,
        requires: requires.clone(),
        provides: vec![port("lengths", ValueType::list(ValueType::Int))],
        workdir: Some(dir.path().to_owned()),
        ..CommandSpec::default()
    });
    let names = names_type
        .value_from_json(&serde_json::json!(["a", "b c"]))
        .unwrap();
    let outputs = task
        .execute(ctx(), inputs(&[("names", names)], &requires))
        .await
        .unwrap();
    expect![[r#"
        ["a","b c"]
        ["a","b c"]
    "#]]
    .assert_eq(&read(&dir, "text.txt"));
    assert_eq!(read(&dir, "file.txt"), r#"["a","b c"]"#);
    let stdin: serde_json::Value = serde_json::from_str(&read(&dir, "stdin.json")).unwrap();
    assert_eq!(stdin, serde_json::json!({"names": ["a", "b c"]}));
    let lengths = outputs.get("lengths").unwrap();
    assert_eq!(lengths.value_type(), ValueType::list(ValueType::Int));
    assert_eq!(lengths.to_json(), serde_json::json!([1, 3]));
}

#[tokio::test]
async fn outputs_are_read_from_the_json_object_on_stdout() {
    let task = CommandTask::new(CommandSpec {
        argv: sh(r#"echo '  {"n": 3, "path": "out/a.txt", "ok": true, "doc": [1]}  '"#),
        provides: vec![
            port("ok", ValueType::Bool),
            port("n", ValueType::Int),
            port("path", ValueType::File),
            port("doc", ValueType::Json),
        ],
        // A relative file output is anchored where the command ran.
        workdir: Some(std::path::PathBuf::from("/tmp")),
        ..CommandSpec::default()
    });
    let outputs = task.execute(ctx(), inputs(&[], &[])).await.unwrap();
    expect![[r#"[("ok", true), ("n", 3), ("path", "/tmp/out/a.txt"), ("doc", [1])]"#]]
        .assert_eq(&format!("{:?}", outputs.iter().collect::<Vec<_>>()));
}

#[tokio::test]
async fn without_outputs_stdout_may_be_anything() {
    let task = CommandTask::new(CommandSpec {
        argv: sh("echo 'just a log line'"),
        ..CommandSpec::default()
    });
    let outputs = task.execute(ctx(), inputs(&[], &[])).await.unwrap();
    assert!(outputs.is_empty());
}

/// Runs a command that prints `stdout` and declares one output `n: int`.
async fn check_stdout(stdout: &str, expect: Expect) {
    let requires = vec![port("out", ValueType::String)];
    let task = CommandTask::new(CommandSpec {
        argv: sh(r#"printf '%s' "$PLAIT_IN_OUT""#),
        requires: requires.clone(),
        provides: vec![port("n", ValueType::Int)],
        ..CommandSpec::default()
    });
    let inputs = inputs(&[("out", Value::from(stdout))], &requires);
    let error = task.execute(ctx(), inputs).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    expect.assert_eq(error.message());
}

#[tokio::test]
async fn bad_stdout_is_a_permanent_error_that_quotes_it() {
    check_stdout(
        "Compiling...\nok",
        expect!["stdout is not JSON (expected value at line 1 column 1): print the outputs `n` as one JSON object; stdout was `Compiling... ok`"],
    )
    .await;
    check_stdout(
        r#"{"m": 3}"#,
        expect![[r#"printed output `m`, which the task does not declare in `provides`; stdout was `{"m": 3}`"#]],
    )
    .await;
    check_stdout(
        "{}",
        expect!["did not print declared output `n`; stdout was `{}`"],
    )
    .await;
    check_stdout(
        r#"{"n": 2.5}"#,
        expect![[r#"output `n`: expected int, found float; stdout was `{"n": 2.5}`"#]],
    )
    .await;
}

#[tokio::test]
async fn a_non_zero_exit_is_retryable_and_shows_the_end_of_stderr() {
    let script = "i=0; while [ $i -lt 30 ]; do echo \"warning $i\" >&2; i=$((i+1)); done; \
                  echo '  error: disk full  ' >&2; echo >&2; exit 3";
    let task = CommandTask::new(CommandSpec {
        argv: sh(script),
        ..CommandSpec::default()
    });
    let error = task.execute(ctx(), inputs(&[], &[])).await.unwrap_err();
    assert!(error.is_retryable());
    expect![[r#"
        `sh` exited with status 3; stderr:
          warning 21
          warning 22
          warning 23
          warning 24
          warning 25
          warning 26
          warning 27
          warning 28
          warning 29
            error: disk full"#]]
    .assert_eq(error.message());
}

#[tokio::test]
async fn a_signal_is_retryable_and_named() {
    let task = CommandTask::new(CommandSpec {
        argv: sh("kill -KILL $$"),
        ..CommandSpec::default()
    });
    let error = task.execute(ctx(), inputs(&[], &[])).await.unwrap_err();
    assert!(error.is_retryable());
    expect!["`sh` was killed by signal SIGKILL (nothing on stderr)"].assert_eq(error.message());
}

#[tokio::test]
async fn a_missing_program_is_permanent_and_points_at_path() {
    let task = CommandTask::new(CommandSpec {
        argv: vec!["plait-test-no-such-program".to_owned()],
        ..CommandSpec::default()
    });
    let error = task.execute(ctx(), inputs(&[], &[])).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    expect![
        "program `plait-test-no-such-program` not found: check that it is installed and on `PATH`"
    ]
    .assert_eq(error.message());
}

#[tokio::test]
async fn problems_are_reported_not_panicked_on() {
    let requires = vec![
        port("name", ValueType::String),
        port("max-size", ValueType::Int),
        port("max_size", ValueType::Int),
    ];
    let task = CommandTask::new(CommandSpec {
        argv: ["echo", "{nme}", "{name", "{nme}{other}"]
            .map(String::from)
            .to_vec(),
        revert: Some(Vec::new()),
        requires: requires.clone(),
        ..CommandSpec::default()
    });
    expect![[r#"
        `argv` uses placeholder `{nme}`, but no input is named `nme`: known inputs are `name`, `max-size`, `max_size` (declare it in `requires`, or write `{{nme}}` to keep it as it is)
        `argv` uses placeholder `{other}`, but no input is named `other`: known inputs are `name`, `max-size`, `max_size` (declare it in `requires`, or write `{{other}}` to keep it as it is)
        `revert` is empty: give at least the program to run
        inputs `max-size` and `max_size` both map to environment variable `PLAIT_IN_MAX_SIZE`: rename one"#]]
    .assert_eq(&task.problems().join("\n"));

    let values = [
        ("name", Value::from("a")),
        ("max-size", Value::Int(1)),
        ("max_size", Value::Int(2)),
    ];
    let error = task
        .execute(ctx(), inputs(&values, &requires))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(
        error
            .message()
            .starts_with("the command task is invalid: `argv` uses placeholder `{nme}`"),
        "{error}"
    );

    let no_inputs = CommandTask::new(CommandSpec {
        argv: ["echo", "{x}"].map(String::from).to_vec(),
        ..CommandSpec::default()
    });
    expect!["`argv` uses placeholder `{x}`, but no input is named `x`: the task has no inputs (declare it in `requires`, or write `{{x}}` to keep it as it is)"]
        .assert_eq(&no_inputs.problems().join("\n"));
}

#[test]
fn a_command_task_describes_itself() {
    let spec = CommandSpec {
        argv: vec!["true".to_owned()],
        requires: vec![port("a", ValueType::Int)],
        provides: vec![port("b", ValueType::String)],
        ..CommandSpec::default()
    };
    let task = CommandTask::new(spec.clone());
    assert_eq!(task.spec(), &spec);
    assert_eq!(task.spec().kill_grace, std::time::Duration::from_secs(2));
    assert_eq!(
        (task.requires(), task.provides()),
        (&spec.requires[..], &spec.provides[..])
    );
    assert_eq!(task.kind(), "command");
    assert_eq!(task.default_policy().isolation, Isolation::Subprocess);
    assert!(!task.has_revert());
    let with_revert = CommandTask::new(CommandSpec {
        revert: Some(vec!["true".to_owned()]),
        ..spec
    });
    assert!(with_revert.has_revert());
}

#[tokio::test]
async fn listed_exit_codes_are_permanent_failures() {
    let spec = |code: i32| CommandSpec {
        argv: sh(&format!("echo 'bad input' >&2; exit {code}")),
        permanent_exit_codes: vec![2],
        ..CommandSpec::default()
    };
    let permanent = CommandTask::new(spec(2))
        .execute(ctx(), inputs(&[], &[]))
        .await
        .unwrap_err();
    assert_eq!(permanent.kind(), ErrorKind::Permanent);
    assert!(
        permanent.message().contains("exited with status 2"),
        "{permanent}"
    );
    assert!(permanent.message().contains("bad input"), "{permanent}");
    let transient = CommandTask::new(spec(3))
        .execute(ctx(), inputs(&[], &[]))
        .await
        .unwrap_err();
    assert_eq!(transient.kind(), ErrorKind::Retryable);
}
