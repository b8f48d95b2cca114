//! A cheap lexical pass that bounds nesting before any recursive parser sees the text.
//!
//! The `toml` and `jsonc-parser` parsers, our tree conversion and the drop of the trees they
//! build all recurse once per level. A hostile or generated file (`a = [[[[…]]]]` a hundred
//! thousand times) would overflow the stack (RELIABILITY.md rule 19), so this pass counts
//! levels with a loop and an explicit stack and refuses the file at the first bracket, brace
//! or dotted-key segment past the limit.
//!
//! It understands just enough of each syntax to not count brackets inside strings and
//! comments. Where it must guess on malformed text it errs towards counting more, never less:
//! the parser reports the malformed text afterwards.

use super::Format;
use super::node::Span;
use crate::limits::MAX_DEPTH;

/// Where the text first nests deeper than [`MAX_DEPTH`].
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct TooDeep {
    pub(crate) span: Span,
}

pub(crate) fn check_depth(text: &str, format: Format) -> Result<(), TooDeep> {
    match format {
        Format::Toml => toml_depth(text.as_bytes()),
        Format::Json => json_depth(text.as_bytes()),
    }
}

fn too_deep(depth: usize, at: usize) -> Result<(), TooDeep> {
    if depth > MAX_DEPTH {
        Err(TooDeep { span: at..at + 1 })
    } else {
        Ok(())
    }
}

/// Depth counts every table and array below the document: in `[tasks.a]` then
/// `command = ["x"]`, `tasks` is at 1, `a` at 2 and the array at 3. A JSON file's outer object
/// is the document, so `{"a": [1]}` nests as deep as `a = [1]`.
fn json_depth(bytes: &[u8]) -> Result<(), TooDeep> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i = skip_single_line_string(bytes, i, true);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => i = skip_line(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |end| end + 2);
                continue;
            }
            b'[' | b'{' => {
                depth += 1;
                too_deep(depth.saturating_sub(1), i)?;
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Container {
    Array,
    InlineTable,
}

/// An open array or inline table and the depth of the values directly inside it.
struct Frame {
    container: Container,
    inner: usize,
}

/// TOML nests three ways: brackets and braces as in JSON, but also dotted keys (`a.b.c = 1`)
/// and table headers (`[a.b.c]`), whose every segment is a table. So this tracks whether it
/// is reading a key (where a `.` starts a deeper table) or a value (where `.` is part of a
/// number or a date).
fn toml_depth(bytes: &[u8]) -> Result<(), TooDeep> {
    let mut stack: Vec<Frame> = Vec::new();
    // Depth of the table the last header opened; top-level keys start there.
    let mut table_depth = 0usize;
    let mut depth = 0usize;
    let mut in_key = true;
    // `Some(is_array_of_tables)` between `[` and `]` of a header.
    let mut header: Option<bool> = None;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' | b'\'' => {
                i = skip_toml_string(bytes, i);
                continue;
            }
            b'#' => {
                i = skip_line(bytes, i);
                continue;
            }
            // A newline ends a top-level key-value pair or a header; inside brackets and
            // braces it is only whitespace.
            b'\n' if stack.is_empty() => {
                header = None;
                in_key = true;
                depth = table_depth;
            }
            b'[' if stack.is_empty() && in_key && header.is_none() => {
                // Keys cannot contain `[`: at the top level, in a key, this opens a header.
                let is_array = bytes.get(i + 1) == Some(&b'[');
                depth = if is_array { 2 } else { 1 };
                too_deep(depth, i)?;
                header = Some(is_array);
                if is_array {
                    i += 1;
                }
            }
            b']' if header.is_some() => {
                if header == Some(true) && bytes.get(i + 1) == Some(&b']') {
                    i += 1;
                }
                header = None;
                table_depth = depth;
            }
            b'[' | b'{' if !in_key => {
                depth += 1;
                too_deep(depth, i)?;
                let container = if bytes[i] == b'[' {
                    Container::Array
                } else {
                    in_key = true;
                    Container::InlineTable
                };
                stack.push(Frame {
                    container,
                    inner: depth,
                });
            }
            // An unmatched closer is the parser's to report.
            b']' | b'}' if !stack.is_empty() => {
                stack.pop();
                depth = stack.last().map_or(table_depth, |frame| frame.inner);
                in_key = false;
            }
            b'.' if in_key || header.is_some() => {
                depth += 1;
                too_deep(depth, i)?;
            }
            b'=' if in_key && header.is_none() => in_key = false,
            b',' => {
                if let Some(frame) = stack.last() {
                    depth = frame.inner;
                    in_key = frame.container == Container::InlineTable;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Skips a TOML string starting at `start` (a quote), returning the index after it.
fn skip_toml_string(bytes: &[u8], start: usize) -> usize {
    let quote = bytes[start];
    let escapes = quote == b'"';
    let delimiter = [quote; 3];
    if !bytes[start..].starts_with(&delimiter) {
        return skip_single_line_string(bytes, start, escapes);
    }
    let mut i = start + 3;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
            continue;
        }
        if bytes[i..].starts_with(&delimiter) {
            i += 3;
            // Up to two more quotes right before the delimiter are content: `"""a"""""`.
            for _ in 0..2 {
                if bytes.get(i) == Some(&quote) {
                    i += 1;
                }
            }
            return i;
        }
        i += 1;
    }
    bytes.len()
}

/// Skips a one-line string (`"…"`, or TOML's `'…'`), returning the index after it. An
/// unterminated string ends at the newline, as both parsers end it: reading on would hide
/// brackets from the count.
fn skip_single_line_string(bytes: &[u8], start: usize, escapes: bool) -> usize {
    let quote = bytes[start];
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if escapes && bytes.get(i + 1).is_some_and(|&next| next != b'\n') => i += 2,
            b'\n' => return i,
            byte if byte == quote => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index of the newline that ends the line `i` is on (or the end).
fn skip_line(bytes: &[u8], i: usize) -> usize {
    find(bytes, i, b"\n").unwrap_or(bytes.len())
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|window| window == needle)
        .map(|at| from + at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str, format: Format) -> Option<usize> {
        check_depth(text, format).err().map(|e| e.span.start)
    }

    #[test]
    fn counts_brackets_keys_and_headers_but_not_strings() {
        let limit = MAX_DEPTH;
        let ok = format!("a = {}{}", "[".repeat(limit), "]".repeat(limit));
        assert_eq!(depth_error(&ok, Format::Toml), None);
        let deep = format!("a = {}{}", "[".repeat(limit + 1), "]".repeat(limit + 1));
        assert_eq!(depth_error(&deep, Format::Toml), Some(4 + limit));

        // `k.k = 1` is one table (`k`) holding a scalar.
        let dotted = format!("{} = 1", vec!["k"; limit + 1].join("."));
        assert_eq!(depth_error(&dotted, Format::Toml), None);
        let dotted = format!("{} = 1", vec!["k"; limit + 2].join("."));
        assert!(depth_error(&dotted, Format::Toml).is_some());
        let header = format!("[{}]", vec!["k"; limit + 1].join("."));
        assert!(depth_error(&header, Format::Toml).is_some());
        let header_ok = format!("[{}]\nx = 1.5", vec!["k"; limit].join("."));
        assert_eq!(depth_error(&header_ok, Format::Toml), None);

        let in_strings = format!(
            "a = \"{0}\"\nb = '{0}'\nc = \"\"\"\n{0}\"\"\"\nd = '''{0}''' # {0}\n",
            "[".repeat(100)
        );
        assert_eq!(depth_error(&in_strings, Format::Toml), None);

        let json = format!("{{\"a\": {}{}}}", "[".repeat(limit), "]".repeat(limit));
        assert_eq!(depth_error(&json, Format::Json), None);
        let json = format!("{{\"a\": {}}}", "[".repeat(limit + 1));
        assert_eq!(depth_error(&json, Format::Json), Some(6 + limit));
        let json = format!(
            "{{\"a\": \"{0}\\\"{0}\" // {0}\n /* {0} */}}",
            "[".repeat(100)
        );
        assert_eq!(depth_error(&json, Format::Json), None);
    }

    #[test]
    fn inline_tables_reset_at_commas() {
        let many = format!("a = {{ {} }}", vec!["x.y = 1"; 200].join(", "));
        assert_eq!(depth_error(&many, Format::Toml), None);
        let array = format!("a = [{}]", vec!["[1]"; 200].join(", "));
        assert_eq!(depth_error(&array, Format::Toml), None);
    }
}
