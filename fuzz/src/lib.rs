//! What the fuzz targets check, beyond "does not panic".

use std::ops::Range;
use std::path::Path;

use plait_spec::{FileDiagnostic, Format, SpecError, load_str};

/// Loads `data` as a workflow file in `format`, and checks what `load_str` promises:
///
/// - it reads no file, so the only error is `SpecError::Invalid`, and that holds an error;
/// - a loaded workflow keeps the text it was given, and its warnings are warnings;
/// - every diagnostic points into the text it carries (the input): its spans lie inside it, on
///   character boundaries, the primary label at the primary span, and its line and column are
///   those of the span's start;
/// - diagnostics come in the order of the file.
pub fn check_load(data: &[u8], format: Format) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new(match format {
        Format::Toml => "/fuzz/workflow.toml",
        Format::Json => "/fuzz/workflow.json",
    });
    let diagnostics = match load_str(text, path, format) {
        Ok(loaded) => {
            assert_eq!(&*loaded.text, text, "the loaded text is the input");
            assert!(
                loaded.warnings.iter().all(|d| !d.is_error()),
                "a loaded workflow has no error: {:?}",
                loaded.warnings
            );
            loaded.warnings
        }
        Err(SpecError::Invalid { diagnostics }) => {
            assert!(
                diagnostics.iter().any(FileDiagnostic::is_error),
                "an invalid workflow has an error: {diagnostics:?}"
            );
            diagnostics
        }
        Err(error) => panic!("`load_str` reads no file, yet: {error:?}"),
    };
    for diagnostic in &diagnostics {
        check_diagnostic(text, path, diagnostic);
    }
    assert!(
        diagnostics.is_sorted_by_key(|d| d.span.start),
        "diagnostics are in the order of the file: {diagnostics:?}"
    );
}

fn check_diagnostic(text: &str, path: &Path, diagnostic: &FileDiagnostic) {
    assert_eq!(diagnostic.file, path, "{diagnostic:?}");
    assert_eq!(diagnostic.source_text(), text, "{diagnostic:?}");
    assert!(!diagnostic.code.is_empty(), "{diagnostic:?}");
    assert!(!diagnostic.message.is_empty(), "{diagnostic:?}");
    check_span(text, &diagnostic.span, diagnostic);
    let Some((primary, _)) = diagnostic.labels.first() else {
        panic!("a diagnostic has a label at its span: {diagnostic:?}");
    };
    assert_eq!(*primary, diagnostic.span, "{diagnostic:?}");
    for (span, _) in &diagnostic.labels {
        check_span(text, span, diagnostic);
    }
    assert_eq!(
        (diagnostic.line, diagnostic.column),
        line_column(text, diagnostic.span.start),
        "{diagnostic:?}"
    );
    let header = format!(
        "{}:{}:{}: ",
        path.display(),
        diagnostic.line,
        diagnostic.column
    );
    assert!(diagnostic.to_string().starts_with(&header), "{diagnostic}");
}

fn check_span(text: &str, span: &Range<usize>, diagnostic: &FileDiagnostic) {
    assert!(
        span.start <= span.end && span.end <= text.len(),
        "span {span:?} outside the {} bytes of the text: {diagnostic:?}",
        text.len()
    );
    assert!(
        text.is_char_boundary(span.start) && text.is_char_boundary(span.end),
        "span {span:?} splits a character: {diagnostic:?}"
    );
}

/// 1-based line and column (in characters) of a byte offset on a character boundary, counted
/// here independently of plait-spec.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    let line = before.matches('\n').count() + 1;
    (line, text[line_start..offset].chars().count() + 1)
}
