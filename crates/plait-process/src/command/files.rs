//! Each input as a file of its own, its path in `PLAIT_IN_<NAME>_FILE`: the way to hand a
//! command a value of any size (the environment holds only small ones).

use std::path::PathBuf;

use plait_core::{Inputs, TaskError};

use super::env::input_var;

/// The files of one execution's inputs, in a private temporary directory (mode 0700) that is
/// removed when this is dropped, once the command has ended. A task without inputs gets no
/// directory.
#[derive(Debug)]
pub(crate) struct InputFiles {
    _dir: Option<tempfile::TempDir>,
    /// `PLAIT_IN_<NAME>_FILE` and the path it holds, per input.
    variables: Vec<(String, String)>,
}

impl InputFiles {
    /// Writes each input's text form (`texts`, in the inputs' order: what `PLAIT_IN_<NAME>`
    /// holds) to a file.
    pub(crate) fn write(inputs: &Inputs, texts: &[String]) -> Result<InputFiles, TaskError> {
        if inputs.values().is_empty() {
            return Ok(InputFiles {
                _dir: None,
                variables: Vec::new(),
            });
        }
        let cannot = |error: std::io::Error| {
            TaskError::retryable(format!(
                "cannot write the inputs' files in `{}`: {error}",
                std::env::temp_dir().display()
            ))
        };
        let dir = tempfile::Builder::new()
            .prefix("plait-in-")
            .tempdir()
            .map_err(cannot)?;
        let mut variables = Vec::with_capacity(inputs.values().len());
        for ((name, _), text) in inputs.iter().zip(texts) {
            let variable = input_var(name);
            let path: PathBuf = dir.path().join(&variable);
            std::fs::write(&path, text).map_err(cannot)?;
            variables.push((file_var(name), path.to_string_lossy().into_owned()));
        }
        Ok(InputFiles {
            _dir: Some(dir),
            variables,
        })
    }

    /// `PLAIT_IN_<NAME>_FILE` for each input, with its file's path.
    pub(crate) fn variables(&self) -> &[(String, String)] {
        &self.variables
    }
}

/// `PLAIT_IN_<NAME>_FILE`.
pub(crate) fn file_var(name: &str) -> String {
    format!("{}_FILE", input_var(name))
}
