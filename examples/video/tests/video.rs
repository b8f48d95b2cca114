//! Runs the example's binary and reads what it prints.

use assert_cmd::cargo::CommandCargoExt;

/// The numbers on the line that starts with `prefix`.
fn numbers(stdout: &str, prefix: &str) -> Vec<f64> {
    let line = stdout
        .lines()
        .find(|line| line.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting `{prefix}` in:\n{stdout}"));
    line.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|word| word.trim_end_matches('.').parse().ok())
        .collect()
}

#[test]
fn the_thumbnails_run_at_once_and_the_times_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store.db");
    let output = std::process::Command::cargo_bin("video")
        .expect("the example's binary")
        .args(["--chapters", "4", "--sleep-ms", "100", "--store"])
        .arg(&store)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    // Every call ran, as a child of the workflow's task, at its position.
    for path in [
        "video/0", "video/1", "video/2", "video/3", "video/4", "video/5",
    ] {
        assert!(
            stdout
                .lines()
                .any(|line| line.trim_start().starts_with(path)),
            "no `{path}` in:\n{stdout}"
        );
    }
    assert!(stdout.contains("chapter-3-at-270s.png"), "{stdout}");
    let sum = numbers(&stdout, "the tasks' times add up to")[0];
    let wall = numbers(&stdout, "the workflow took")[0];
    // find_chapters and four thumbnails of 100 ms, and index of 50: 550 ms one after another.
    assert!(sum >= 500.0, "{stdout}");
    assert!(wall > 0.0, "{stdout}");
}

/// Each path's count of `start` lines in the ledger.
fn starts(ledger: &std::path::Path) -> std::collections::BTreeMap<String, u32> {
    let text = std::fs::read_to_string(ledger).unwrap_or_default();
    let mut starts = std::collections::BTreeMap::new();
    for line in text.lines() {
        if let Some(path) = line.strip_prefix("start ") {
            *starts.entry(path.to_owned()).or_default() += 1;
        }
    }
    starts
}

/// The calls whose completion the store recorded.
fn recorded_done(store: &std::path::Path, run_id: &str) -> Vec<String> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = plait_store_sqlite::SqliteStore::open(store).unwrap();
        let record = plait_store::Store::run(&store, &run_id.into())
            .await
            .unwrap()
            .expect("the run is recorded");
        record
            .tasks
            .iter()
            .filter(|task| task.state == plait_core::TaskState::Succeeded)
            .map(|task| task.task.as_str().to_owned())
            .filter(|path| path.contains('/'))
            .collect()
    })
}

#[test]
fn killed_mid_run_a_resume_runs_only_the_calls_that_did_not_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (store, ledger) = (dir.path().join("store.db"), dir.path().join("ledger"));
    let video = |extra: &[&str]| {
        let mut command = std::process::Command::cargo_bin("video").expect("the binary");
        command
            .args([
                "--chapters",
                "4",
                "--sleep-ms",
                "300",
                "--jobs",
                "1",
                "--store",
            ])
            .arg(&store)
            .arg("--ledger")
            .arg(&ledger)
            .args(extra);
        command
    };
    let mut child = video(&["--run-id", "killed"])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once the first thumbnail finished (find_chapters is video/0): the others are
    // queued or running.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&ledger)
        .unwrap_or_default()
        .contains("end video/1")
    {
        assert!(std::time::Instant::now() < deadline, "no thumbnail ended");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::thread::sleep(std::time::Duration::from_millis(50));
    child.kill().unwrap();
    child.wait().unwrap();
    let done = recorded_done(&store, "killed");
    assert!(done.contains(&"video/0".to_owned()), "{done:?}");
    assert!(
        !done.contains(&"video/5".to_owned()),
        "the index ran: {done:?}"
    );
    let before = starts(&ledger);

    let output = video(&["--resume", "killed"]).output().unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("chapter-3-at-270s.png"), "{stdout}");
    let after = starts(&ledger);
    for path in [
        "video/0", "video/1", "video/2", "video/3", "video/4", "video/5",
    ] {
        let again = after.get(path).copied().unwrap_or(0) - before.get(path).copied().unwrap_or(0);
        let expected = u32::from(!done.contains(&path.to_owned()));
        assert_eq!(
            again, expected,
            "{path}: done before the kill {done:?}, {after:?}"
        );
    }
}
