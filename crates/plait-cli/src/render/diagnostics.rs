//! File problems, drawn with their source (in colour on a terminal, unless `NO_COLOR`).

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};
use plait_core::Severity;
use plait_spec::FileDiagnostic;

pub(crate) fn print(diagnostics: &[FileDiagnostic]) {
    let handler = handler();
    for diagnostic in diagnostics {
        // A snippet of a huge line (a minified file, 100,000 brackets) helps nobody.
        if line_length(diagnostic) > MAX_SNIPPET_LINE {
            eprintln!("{diagnostic}");
            continue;
        }
        let report = Report::new(diagnostic);
        let mut out = String::new();
        if handler.render_report(&mut out, &report).is_err() {
            out = diagnostic.to_string();
        }
        eprintln!("{out}");
    }
}

const MAX_SNIPPET_LINE: usize = 400;

/// The length of the line the diagnostic points at.
fn line_length(diagnostic: &FileDiagnostic) -> usize {
    let text = diagnostic.source_text();
    let at = diagnostic.span.start.min(text.len());
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    end - start
}

pub(crate) fn print_error(error: &(dyn std::error::Error + 'static)) {
    eprintln!("error: {}", with_causes(error));
}

/// The error and its sources, on one line: `cannot read `x`: No such file or directory`.
pub(crate) fn with_causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    message
}

fn handler() -> GraphicalReportHandler {
    let theme = if super::terminal::color_on_stderr() {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    GraphicalReportHandler::new_themed(theme).with_context_lines(1)
}

/// A diagnostic as miette draws it: the message as the header (the snippet below shows where),
/// and `file:line:column` in the snippet's title, the form editors jump to.
struct Report<'a> {
    diagnostic: &'a FileDiagnostic,
    source: NamedSource<String>,
}

impl<'a> Report<'a> {
    fn new(diagnostic: &'a FileDiagnostic) -> Self {
        let name = diagnostic.file.display().to_string();
        let source = NamedSource::new(name, diagnostic.source_text().to_owned());
        Report { diagnostic, source }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl std::error::Error for Report<'_> {}

impl miette::Diagnostic for Report<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(&self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let labels = self
            .diagnostic
            .labels
            .iter()
            .enumerate()
            .map(|(idx, (span, text))| {
                let label = Some(text.clone());
                if idx == 0 {
                    LabeledSpan::new_primary_with_span(label, span.clone())
                } else {
                    LabeledSpan::new_with_span(label, span.clone())
                }
            });
        Some(Box::new(labels))
    }
}
