//! Problems with a workflow file, located by file, line and column.
//!
//! Inside the crate a [`Problem`] carries byte spans only; [`SourceFile::locate`] turns it into
//! the public [`FileDiagnostic`] once, at the end, so every stage reports the same way.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceCode};
use plait_core::Severity;

use crate::syntax::Span;

/// One problem with a workflow file, located in it.
///
/// `Display` is a one-line `file:line:column: error[code]: message`, then `  help: …` on its
/// own line if there is help. As a [`miette::Diagnostic`] it carries the file's text, so a
/// graphical handler can show the labelled spans.
#[derive(Clone)]
pub struct FileDiagnostic {
    pub severity: Severity,
    /// Stable for tests and tools: a validation code of core (`Code::name`, such as `cycle`),
    /// or one of this crate's (`syntax`, `unknown-key`, `bad-type`, `bad-value`,
    /// `missing-key`, `duplicate-key`, `too-deep`, `too-large`, `unknown-format`,
    /// `shell-placeholder`).
    pub code: String,
    pub message: String,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// Byte offsets of the primary place in the file.
    pub span: Range<usize>,
    /// Every labelled place, the primary first (at `span`), then related ones.
    pub labels: Vec<(Range<usize>, String)>,
    pub help: Option<String>,
    source: Arc<NamedSource<Arc<str>>>,
}

impl FileDiagnostic {
    /// The text of the file the spans point into.
    pub fn source_text(&self) -> &str {
        self.source.inner()
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Debug for FileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileDiagnostic")
            .field("severity", &self.severity)
            .field("code", &self.code)
            .field("message", &self.message)
            .field("file", &self.file)
            .field("line", &self.line)
            .field("column", &self.column)
            .field("span", &self.span)
            .field("labels", &self.labels)
            .field("help", &self.help)
            .finish_non_exhaustive()
    }
}

impl fmt::Display for FileDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(
            f,
            "{}:{}:{}: {severity}[{}]: {}",
            self.file.display(),
            self.line,
            self.column,
            self.code,
            self.message
        )?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for FileDiagnostic {}

impl miette::Diagnostic for FileDiagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&*self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.source_text().is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(idx, (span, label))| {
                let span = span.start..span.end.max(span.start);
                if idx == 0 {
                    LabeledSpan::new_primary_with_span(Some(label.clone()), span)
                } else {
                    LabeledSpan::new_with_span(Some(label.clone()), span)
                }
            },
        )))
    }
}

/// A problem found in the file, before it is given a line and column.
#[derive(Clone, Debug)]
pub(crate) struct Problem {
    pub(crate) severity: Severity,
    pub(crate) code: &'static str,
    pub(crate) message: String,
    pub(crate) span: Span,
    /// The first is at `span`.
    pub(crate) labels: Vec<(Span, String)>,
    pub(crate) help: Option<String>,
}

impl Problem {
    pub(crate) fn error(
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: vec![(span.clone(), label.into())],
            span,
            help: None,
        }
    }

    pub(crate) fn warning(
        code: &'static str,
        span: Span,
        message: impl Into<String>,
        label: impl Into<String>,
    ) -> Self {
        Problem {
            severity: Severity::Warning,
            ..Problem::error(code, span, message, label)
        }
    }

    /// Adds a related place.
    pub(crate) fn also(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// The file a problem is in, with what it takes to turn offsets into lines and columns.
#[derive(Debug)]
pub(crate) struct SourceFile {
    path: PathBuf,
    source: Arc<NamedSource<Arc<str>>>,
    /// Byte offset where each line starts.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub(crate) fn new(path: &Path, text: Arc<str>) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(at, _)| at + 1))
            .collect();
        SourceFile {
            path: path.to_owned(),
            source: Arc::new(NamedSource::new(path.display().to_string(), text)),
            line_starts,
        }
    }

    pub(crate) fn text(&self) -> &str {
        self.source.inner()
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_column(&self, offset: usize) -> (usize, usize) {
        let text = self.text();
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.line_starts.partition_point(|&start| start <= offset);
        let line_start = self.line_starts[line - 1];
        let column = text[line_start..offset].chars().count() + 1;
        (line, column)
    }

    pub(crate) fn locate(&self, problem: Problem) -> FileDiagnostic {
        let (line, column) = self.line_column(problem.span.start);
        FileDiagnostic {
            severity: problem.severity,
            code: problem.code.to_owned(),
            message: problem.message,
            file: self.path.clone(),
            line,
            column,
            span: problem.span,
            labels: problem.labels,
            help: problem.help,
            source: self.source.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_characters_not_bytes() {
        let file = SourceFile::new(Path::new("w.toml"), Arc::from("a = 1\né = \"ü\" x\n"));
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(6), (2, 1));
        let x = file.text().find('x').unwrap();
        assert_eq!(file.line_column(x), (2, 9));
        assert_eq!(file.line_column(10_000), (3, 1));
    }
}
