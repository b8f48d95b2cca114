//! The one error type of loading a workflow file.

use std::path::PathBuf;

use crate::FileDiagnostic;

/// Why a workflow file did not load.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The file could not be read (missing, unreadable).
    #[error("cannot read `{}`", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file was read and has problems: every one found, errors and warnings, in the
    /// order they appear in the file.
    #[error("{}", summary(diagnostics))]
    Invalid { diagnostics: Vec<FileDiagnostic> },
}

fn summary(diagnostics: &[FileDiagnostic]) -> String {
    let n_errors = diagnostics.iter().filter(|d| d.is_error()).count();
    match diagnostics.first() {
        Some(first) => format!("`{}` has {n_errors} error(s)", first.file.display()),
        None => format!("the workflow has {n_errors} error(s)"),
    }
}

impl miette::Diagnostic for SpecError {
    /// Each problem renders as its own report, with its labelled source.
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        match self {
            SpecError::Read { .. } => None,
            SpecError::Invalid { diagnostics } => Some(Box::new(
                diagnostics.iter().map(|d| d as &dyn miette::Diagnostic),
            )),
        }
    }
}
