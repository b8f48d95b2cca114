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
