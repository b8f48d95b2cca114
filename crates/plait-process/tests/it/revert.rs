//! `CommandTask::revert`: the revert argv with the task's result or error.

use expect_test::{Expect, expect};
use plait_core::{Outcome, Outputs, Task, TaskError, Value, ValueType};
use plait_process::{CommandSpec, CommandTask};

use crate::support::{ctx, inputs, port, sh};

async fn check_revert(outcome: Outcome, expect: Expect) {
    let dir = tempfile::tempdir().unwrap();
    let requires = vec![port("x", ValueType::String)];
    let script = "env | grep -e '^PLAIT_RESULT=' -e '^PLAIT_ERROR=' -e '^PLAIT_IN_X=' | sort; \
                  echo \"arg: $1\"; echo \"stdin: $(cat)\"";
    let mut revert = sh(&format!("({script}) > revert.txt"));
    revert.push("{x}".to_owned());
    let task = CommandTask::new(CommandSpec {
        argv: vec!["true".to_owned()],
        revert: Some(revert),
        requires: requires.clone(),
        workdir: Some(dir.path().to_owned()),
        ..CommandSpec::default()
    });
    let inputs = inputs(&[("x", Value::from("a b"))], &requires);
    task.revert(ctx(), inputs, outcome).await.unwrap();
    let seen = std::fs::read_to_string(dir.path().join("revert.txt")).unwrap();
    expect.assert_eq(&seen);
}

#[tokio::test]
async fn revert_after_success_gets_the_result() {
    let outputs = Outputs::new().set("id", 42).set("url", "https://x");
    check_revert(
        Outcome::Succeeded(outputs),
        expect![[r#"
            PLAIT_IN_X=a b
            PLAIT_RESULT={"id":42,"url":"https://x"}
            arg: a b
            stdin: {"x":"a b"}
        "#]],
    )
    .await;
}

#[tokio::test]
async fn revert_after_failure_gets_the_error() {
    check_revert(
        Outcome::Failed(TaskError::retryable("`deploy` exited with status 1")),
        expect![[r#"
            PLAIT_ERROR=`deploy` exited with status 1
            PLAIT_IN_X=a b
            arg: a b
            stdin: {"x":"a b"}
        "#]],
    )
    .await;
}

#[tokio::test]
async fn revert_after_cancellation_is_told_so() {
    check_revert(
        Outcome::Cancelled,
        expect![[r#"
            PLAIT_ERROR=cancelled
            PLAIT_IN_X=a b
            arg: a b
            stdin: {"x":"a b"}
        "#]],
    )
    .await;
}

#[tokio::test]
async fn a_failing_revert_is_an_error_with_its_stderr() {
    let task = CommandTask::new(CommandSpec {
        argv: vec!["true".to_owned()],
        revert: Some(sh("echo 'cannot delete bucket' >&2; exit 2")),
        ..CommandSpec::default()
    });
    let error = task
        .revert(ctx(), inputs(&[], &[]), Outcome::Cancelled)
        .await
        .unwrap_err();
    expect![[r#"
        `sh` exited with status 2; stderr:
          cannot delete bucket"#]]
    .assert_eq(error.message());
}

#[tokio::test]
async fn without_a_revert_command_revert_does_nothing() {
    let task = CommandTask::new(CommandSpec {
        argv: vec!["true".to_owned()],
        ..CommandSpec::default()
    });
    assert!(!task.has_revert());
    let reverted = task
        .revert(ctx(), inputs(&[], &[]), Outcome::Cancelled)
        .await;
    assert_eq!(reverted, Ok(()));
}
