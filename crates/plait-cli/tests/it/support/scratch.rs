//! Temporary directories for workflow files and what their commands write.

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::process::Running;
use super::run::{Output, command, plait};

/// A temporary directory for workflow files, their data and what their commands write.
#[derive(Debug)]
pub(crate) struct Scratch {
    dir: TempDir,
}

impl Scratch {
    pub(crate) fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("plait-e2e-")
            .tempdir()
            .expect("a temporary directory");
        Scratch { dir }
    }

    /// The directory, with symbolic links resolved (as `pwd` prints it in commands).
    pub(crate) fn path(&self) -> PathBuf {
        self.dir
            .path()
            .canonicalize()
            .expect("the scratch directory exists")
    }

    pub(crate) fn join(&self, name: &str) -> PathBuf {
        self.path().join(name)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create the file's directory");
        }
        std::fs::write(&path, text).expect("write a scratch file");
        path
    }

    /// The file's text; empty if it does not exist.
    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.join(name)).unwrap_or_default()
    }

    /// Runs `plait ARGS` with this directory as the working directory.
    pub(crate) fn plait(&self, args: &[&str]) -> Output {
        plait(&self.path(), args)
    }

    /// `plait ARGS` here, not started: for a test that reads its output as it comes.
    pub(crate) fn command(&self, args: &[&str]) -> std::process::Command {
        command(&self.path(), args)
    }

    /// Starts `plait ARGS` here without waiting for it.
    pub(crate) fn spawn(&self, args: &[&str]) -> Running {
        Running::spawn(command(&self.path(), args))
    }

    /// The names in the directory `name` (`""`: the scratch directory), sorted.
    pub(crate) fn list(&self, name: &str) -> Vec<String> {
        list(&self.join(name))
    }
}

/// The names in `dir`, sorted; none if it does not exist.
pub(crate) fn list(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Copies the directory `from` into `to`, recursively, leaving out `out/` and `state/`.
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create the copy's directory");
    for entry in std::fs::read_dir(from).expect("read the directory to copy") {
        let entry = entry.expect("a directory entry");
        // What an example wrote when someone ran it in place (the README's first command does)
        // is not part of it: git ignores it, and so does the copy.
        if matches!(entry.file_name().to_str(), Some("out" | "state")) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().expect("a file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy a file");
        }
    }
}
