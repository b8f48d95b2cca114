//! TOML text -> [`Node`], through `toml`'s fully spanned `DeTable`.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::node::{Entry, Node, Span, Value};
use crate::diagnostics::Problem;

pub(crate) fn parse(text: &str) -> Result<Node, Problem> {
    let root = DeTable::parse(text).map_err(|error| syntax_error(text, &error))?;
    // The document's own span is empty; the whole text is what it covers.
    let span = 0..text.len();
    // Nothing but blanks and comments: refused, as an empty JSON file is.
    if root.get_ref().is_empty() {
        return Err(
            Problem::error("syntax", span, "the file is empty", "empty")
                .help("a TOML workflow has tasks: `[tasks.hello]`, then `command = [\"echo\", \"hello\"]` on the next line"),
        );
    }
    let (value, _) = table(root.into_inner())?;
    Ok(Node { span, value })
}

fn syntax_error(text: &str, error: &toml::de::Error) -> Problem {
    let span = error.span().unwrap_or(0..0);
    let message = error.message().trim_end_matches('.');
    if message.starts_with("duplicate key") {
        // `toml` rejects a repeated key or table header outright; say which, in our words.
        let key = text.get(span.clone()).unwrap_or_default();
        let key = key.trim_matches(['"', '\'']);
        return Problem::error(
            "duplicate-key",
            span,
            format!("`{key}` is defined twice"),
            "defined again here",
        )
        .help("a key appears once in a table: give each task, input and port its own name, and write each table header once");
    }
    Problem::error("syntax", span, format!("TOML syntax: {message}"), "here")
        .help("see https://toml.io for the syntax")
}

/// The node, and the earliest offset written inside it (see [`table`]).
fn node(value: Spanned<DeValue<'_>>) -> Result<(Node, usize), Problem> {
    let span = value.span();
    let mut earliest = span.start;
    let value = match value.into_inner() {
        DeValue::String(s) => Value::String(s.into_owned()),
        DeValue::Integer(int) => match i64::from_str_radix(int.as_str(), int.radix()) {
            Ok(int) => Value::Int(int),
            Err(_) => return Err(out_of_range(span, "integer", "a 64-bit signed integer")),
        },
        DeValue::Float(float) => match parse_float(float.as_str()) {
            Some(float) => Value::Float(float),
            None => return Err(out_of_range(span, "float", "a 64-bit float")),
        },
        DeValue::Boolean(b) => Value::Bool(b),
        DeValue::Datetime(datetime) => Value::Datetime(datetime.to_string()),
        DeValue::Array(array) => Value::Array(
            array
                .into_iter()
                .map(|item| node(item).map(|(item, _)| item))
                .collect::<Result<_, _>>()?,
        ),
        DeValue::Table(table_value) => {
            let (entries, first) = table(table_value)?;
            earliest = earliest.min(first);
            entries
        }
    };
    Ok((Node { span, value }, earliest))
}

/// A table's entries in document order, whatever map `toml` keeps them in: each entry sorts
/// by the first place it is written. That is its key, except for a table first made
/// implicitly by a deeper header (`[tasks.sub.tasks.a]` before `[tasks.sub]`), whose key
/// `toml` records at its own header but whose contents were written earlier.
fn table(table: DeTable<'_>) -> Result<(Value, usize), Problem> {
    let mut entries = table
        .into_iter()
        .map(|(key, value)| {
            let key_span = key.span();
            let (value, earliest) = node(value)?;
            let entry = Entry {
                key: key.into_inner().into_owned(),
                value,
                key_span: key_span.clone(),
            };
            Ok((key_span.start.min(earliest), entry))
        })
        .collect::<Result<Vec<_>, Problem>>()?;
    entries.sort_by_key(|(first, _)| *first);
    let earliest = entries.first().map_or(usize::MAX, |(first, _)| *first);
    let entries = entries.into_iter().map(|(_, entry)| entry).collect();
    Ok((Value::Table(entries), earliest))
}

fn parse_float(text: &str) -> Option<f64> {
    let float: f64 = text.replace('_', "").parse().ok()?;
    // `inf` and `nan` are floats TOML can write; a finite literal too large for f64 is not.
    (float.is_finite() || text.contains("inf") || text.contains("nan")).then_some(float)
}

fn out_of_range(span: Span, what: &str, fits: &str) -> Problem {
    Problem::error(
        "bad-value",
        span,
        format!("this {what} does not fit in {fits}"),
        "out of range",
    )
    .help("write a smaller number")
}
