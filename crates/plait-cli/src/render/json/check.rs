//! What `plait check --json` prints: every problem of a workflow file.

use std::path::Path;

use plait_core::Severity;
use plait_spec::FileDiagnostic;
use schemars::JsonSchema;
use serde::Serialize;

/// The problems `plait check FILE --json` found, in the order they appear in the file.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct CheckView {
    /// Errors and warnings; empty when the file is valid and has nothing to warn of.
    problems: Vec<ProblemView>,
}

/// One problem, where it is in the file and what to do about it.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(deny_unknown_fields)]
pub(crate) struct ProblemView {
    /// The workflow file, as it was given.
    file: String,
    /// 1-based.
    line: usize,
    /// 1-based, in characters.
    column: usize,
    /// Stable for tools: one of the codes FORMAT.md lists (`syntax`, `missing-input`,
    /// `shell-placeholder`, ...), or `unreadable` for a file that could not be read.
    code: String,
    severity: ProblemSeverity,
    /// What is wrong.
    message: String,
    /// What to do about it. Null when there is nothing more to say.
    help: Option<String>,
}

/// An error makes the file unusable (`plait check` exits 2); a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProblemSeverity {
    Error,
    Warning,
}

impl CheckView {
    pub(crate) fn from_diagnostics(diagnostics: &[FileDiagnostic]) -> CheckView {
        let problems = diagnostics
            .iter()
            .map(|diagnostic| ProblemView {
                file: diagnostic.file.display().to_string(),
                line: diagnostic.line,
                column: diagnostic.column,
                code: diagnostic.code.clone(),
                severity: match diagnostic.severity {
                    Severity::Error => ProblemSeverity::Error,
                    Severity::Warning => ProblemSeverity::Warning,
                },
                message: diagnostic.message.clone(),
                help: diagnostic.help.clone(),
            })
            .collect();
        CheckView { problems }
    }

    /// A file that could not be read: one error, at its start.
    pub(crate) fn unreadable(file: &Path, error: &(dyn std::error::Error + 'static)) -> CheckView {
        let message = crate::render::diagnostics::with_causes(error);
        CheckView {
            problems: vec![ProblemView {
                file: file.display().to_string(),
                line: 1,
                column: 1,
                code: "unreadable".to_owned(),
                severity: ProblemSeverity::Error,
                message,
                help: Some("check the path, and that the file can be read".to_owned()),
            }],
        }
    }

    pub(crate) fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|problem| problem.severity == ProblemSeverity::Error)
    }
}
