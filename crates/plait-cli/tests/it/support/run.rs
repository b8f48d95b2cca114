//! Running `plait` to its end, and reading what it printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::cargo::CommandCargoExt;
use serde_json::Value;

/// Only keeps a hung run from hanging the suite: every run here takes a second or less.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// The repository's root: the documented commands run from there.
pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the repository root exists")
}

/// What one `plait` process did.
#[derive(Debug)]
pub(crate) struct Output {
    pub(crate) code: i32,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Output {
    pub(super) fn new(output: std::process::Output) -> Output {
        let stdout = String::from_utf8(output.stdout).expect("stdout is UTF-8");
        let stderr = String::from_utf8(output.stderr).expect("stderr is UTF-8");
        // Killed by a signal: the shell's convention, 128 + the signal.
        let code = output.status.code().unwrap_or_else(|| {
            128 + std::os::unix::process::ExitStatusExt::signal(&output.status).unwrap_or(0)
        });
        Output {
            code,
            stdout,
            stderr,
        }
    }

    /// Asserts the exit code, showing everything plait printed if it is another.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Output {
        assert_eq!(
            self.code, code,
            "exit code\n--- stdout:\n{}\n--- stderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// The `--json` report: stdout must be exactly one JSON object, and nothing else.
    #[track_caller]
    pub(crate) fn json(&self) -> Report {
        let mut values = serde_json::Deserializer::from_str(&self.stdout).into_iter::<Value>();
        let value = match values.next() {
            Some(Ok(value)) => value,
            other => panic!(
                "stdout is not JSON ({other:?}):\n{}\n--- stderr:\n{}",
                self.stdout, self.stderr
            ),
        };
        assert!(
            values.next().is_none(),
            "stdout holds more than one JSON value:\n{}",
            self.stdout
        );
        assert!(value.is_object(), "the report is not an object: {value}");
        assert!(
            self.stdout.ends_with("}\n") && !self.stdout.starts_with(char::is_whitespace),
            "stdout is the object and a newline, nothing else: {:?}",
            self.stdout
        );
        Report(value)
    }

    /// The run's id, from the summary line on stderr (`run <id> <status> in ...`).
    pub(crate) fn run_id(&self) -> Option<&str> {
        self.stderr
            .lines()
            .find_map(|line| line.strip_prefix("run "))
            .and_then(|rest| rest.split(' ').next())
    }
}

/// The object `plait run --json` prints.
#[derive(Debug)]
pub(crate) struct Report(pub(crate) Value);

impl Report {
    pub(crate) fn status(&self) -> &str {
        self.0["status"].as_str().expect("`status` is a string")
    }

    pub(crate) fn output(&self, name: &str) -> &Value {
        &self.0["outputs"][name]
    }

    #[track_caller]
    pub(crate) fn task(&self, path: &str) -> &Value {
        let task = &self.0["tasks"][path];
        assert!(task.is_object(), "no task `{path}` in {}", self.0);
        task
    }

    pub(crate) fn state(&self, path: &str) -> &str {
        self.task(path)["state"]
            .as_str()
            .expect("`state` is a string")
    }

    pub(crate) fn attempts(&self, path: &str) -> u64 {
        self.task(path)["attempts"]
            .as_u64()
            .expect("`attempts` is a number")
    }

    /// The status, each output, and each task's state and attempts (and the first line of its
    /// error), one per line in name order: a few lines a snapshot can hold.
    pub(crate) fn summary(&self) -> String {
        let mut out = format!("status: {}\n", self.status());
        let outputs = self.0["outputs"]
            .as_object()
            .expect("`outputs` is an object");
        for (name, value) in outputs {
            out.push_str(&format!("output {name} = {value}\n"));
        }
        let tasks = self.0["tasks"].as_object().expect("`tasks` is an object");
        let tasks: BTreeMap<&String, &Value> = tasks.iter().collect();
        for (path, task) in tasks {
            out.push_str(&format!(
                "{path}: {} x{}",
                task["state"].as_str().unwrap_or("?"),
                task["attempts"]
            ));
            for key in ["error", "revert_error"] {
                if let Some(error) = task[key].as_str() {
                    let first = error.lines().next().unwrap_or_default();
                    out.push_str(&format!(" ({key}: {first})"));
                }
            }
            out.push('\n');
        }
        out
    }
}

/// A command for the `plait` binary, not yet started.
pub(crate) fn command(dir: &Path, args: &[&str]) -> std::process::Command {
    let mut command = std::process::Command::cargo_bin("plait").expect("the plait binary is built");
    command
        .current_dir(dir)
        .args(args)
        .env_remove("PLAIT_LOG")
        .env("NO_COLOR", "1");
    command
}

/// Runs `plait ARGS` in `dir` to its end.
pub(crate) fn plait(dir: &Path, args: &[&str]) -> Output {
    plait_with_env(dir, args, &[])
}

/// Runs `plait ARGS` in `dir` to its end, with these environment variables on top of the
/// inherited ones (commands inherit them in turn).
pub(crate) fn plait_with_env(dir: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let mut command = command(dir, args);
    command.envs(env.iter().map(|(name, value)| (name, value)));
    let output = assert_cmd::Command::from_std(command)
        .timeout(RUN_LIMIT)
        .output()
        .expect("plait starts");
    Output::new(output)
}

/// `plait run examples/NAME/workflow.toml ARGS`, from the repository root, as the examples'
/// READMEs say; with `--store :memory:`, so tests running at once record nothing in the
/// repository (the store has tests of its own).
pub(crate) fn run_example(name: &str, args: &[&str]) -> Output {
    run_example_with_env(name, args, &[])
}

pub(crate) fn run_example_with_env(name: &str, args: &[&str], env: &[(&str, String)]) -> Output {
    let file = format!("examples/{name}/workflow.toml");
    let mut all = vec!["run", file.as_str(), "--store", ":memory:"];
    all.extend_from_slice(args);
    plait_with_env(&repo_root(), &all, env)
}
