//! `examples/nested-retry`: a flow two deep, and a flow reverted and run again as a unit.

use expect_test::expect;

use crate::support::{Output, Scratch, run_example};

const EXAMPLE: &str = "nested-retry";

fn release(state: &Scratch, sets: &[&str]) -> Output {
    let set_state = format!("state_dir={}", state.path().display());
    let mut args = vec!["--json", "--set", set_state.as_str()];
    for set in sets {
        args.extend(["--set", set]);
    }
    run_example(EXAMPLE, &args)
}

#[test]
fn publish_is_reverted_once_and_run_again_then_the_release_succeeds() {
    let state = Scratch::new();
    let run = release(&state, &[]);
    let report = run.expect_code(0).json();
    expect![[r#"
        status: succeeded
        output announcement = "app 1.4.0 is out: https://releases.plait.test/app/1.4.0/app.sh"
        output url = "https://releases.plait.test/app/1.4.0/app.sh"
        announce: succeeded x1
        build/compile: succeeded x1
        build/test/lint: succeeded x1
        build/test/unit: succeeded x1
        publish/stage: succeeded x2
        publish/upload: succeeded x2
    "#]]
    .assert_eq(&report.summary());
    // Tests run side by side, so their two lines come in either order.
    let journal = state
        .read("journal.log")
        .replace("tested lint\ntested unit", "tested unit\ntested lint");
    expect![[r#"
        compiled 1.4.0
        tested unit
        tested lint
        staged
        upload failed
        reverted upload
        reverted stage
        staged
        uploaded
        announced
    "#]]
    .assert_eq(&journal);
    assert_eq!(
        state.read("releases/1.4.0/app.sh"),
        state.read("build/app-1.4.0.sh")
    );
    assert!(
        state
            .read("releases/1.4.0/app.sh")
            .contains("hello from app 1.4.0")
    );
    assert!(
        !state
            .list("")
            .iter()
            .any(|name| name.starts_with(".upload-failures")),
        "the flaky server's marker is cleaned up: {:?}",
        state.list("")
    );
    // The retry shows on stderr: one failure, one revert of the flow, a second attempt.
    assert_eq!(
        run.stderr.matches("publish/upload: failed").count(),
        1,
        "{}",
        run.stderr
    );
    assert_eq!(run.stderr.matches("publish/stage: reverted").count(), 1);
    assert!(run.stderr.contains("publish/stage: running (attempt 2)"));
}

#[test]
fn when_every_attempt_of_publish_fails_the_whole_release_is_reverted() {
    let state = Scratch::new();
    let run = release(&state, &["upload_failures=3"]);
    let report = run.expect_code(1).json();
    expect![[r#"
        status: reverted
        announce: pending x0
        build/compile: reverted x1
        build/test/lint: reverted x1
        build/test/unit: reverted x1
        publish/stage: reverted x3
        publish/upload: reverted x3 (error: `sh` exited with status 1; stderr:)
    "#]]
    .assert_eq(&report.summary());
    let journal = state
        .read("journal.log")
        .replace("tested lint\ntested unit", "tested unit\ntested lint");
    expect![[r#"
        compiled 1.4.0
        tested unit
        tested lint
        staged
        upload failed
        reverted upload
        reverted stage
        staged
        upload failed
        reverted upload
        reverted stage
        staged
        upload failed
        reverted upload
        reverted stage
        reverted compile
    "#]]
    .assert_eq(&journal);
    assert!(state.list("build").is_empty() && state.list("staging").is_empty());
    assert!(state.list("releases").is_empty());
}
