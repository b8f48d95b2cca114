//! The one spanned tree both formats parse into, so the schema is read once.

use std::ops::Range;

/// Byte offsets into the file's text.
pub(crate) type Span = Range<usize>;

/// A value of the file and where it is written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Node {
    pub(crate) span: Span,
    pub(crate) value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    String(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    /// TOML only, kept as written: no key of the schema takes one, but the message should say
    /// what was found.
    Datetime(String),
    /// JSON only.
    Null,
    Array(Vec<Node>),
    /// Entries in document order. Keys may repeat (JSON allows it); the schema reports that.
    Table(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) key: String,
    pub(crate) key_span: Span,
    pub(crate) value: Node,
}

impl Node {
    /// How messages name what was found: "found an integer".
    pub(crate) fn kind_name(&self) -> &'static str {
        match self.value {
            Value::String(_) => "a string",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a float",
            Value::Bool(_) => "a boolean",
            Value::Datetime(_) => "a date-time",
            Value::Null => "null",
            Value::Array(_) => "an array",
            Value::Table(_) => "a table",
        }
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn as_table(&self) -> Option<&[Entry]> {
        match &self.value {
            Value::Table(entries) => Some(entries),
            _ => None,
        }
    }

    pub(crate) fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }
}

impl Node {
    /// Feeds the parsed value to `hasher`, its spans left out: two files that differ only in
    /// comments, whitespace or the way a table is written (a header or inline) give the same
    /// bytes, and two that parse differently give different ones (each part is tagged, and
    /// each text and list prefixed with its length). Iterative, as deep files cannot
    /// overflow the stack.
    pub(crate) fn digest(&self, hasher: &mut blake3::Hasher) {
        enum Part<'a> {
            Key(&'a str),
            Node(&'a Node),
        }
        let mut pending = vec![Part::Node(self)];
        while let Some(part) = pending.pop() {
            let node = match part {
                Part::Key(key) => {
                    tagged_text(hasher, b'k', key);
                    continue;
                }
                Part::Node(node) => node,
            };
            match &node.value {
                Value::String(text) => tagged_text(hasher, b's', text),
                Value::Int(int) => {
                    hasher.update(b"i");
                    hasher.update(&int.to_le_bytes());
                }
                Value::Float(float) => {
                    hasher.update(b"f");
                    hasher.update(&float.to_bits().to_le_bytes());
                }
                Value::Bool(bool) => {
                    hasher.update(if *bool { b"t" } else { b"F" });
                }
                Value::Datetime(text) => tagged_text(hasher, b'd', text),
                Value::Null => {
                    hasher.update(b"n");
                }
                Value::Array(items) => {
                    tagged_len(hasher, b'a', items.len());
                    pending.extend(items.iter().rev().map(Part::Node));
                }
                Value::Table(entries) => {
                    tagged_len(hasher, b'T', entries.len());
                    // Last pushed, first hashed: the bytes follow the document's order.
                    for entry in entries.iter().rev() {
                        pending.push(Part::Node(&entry.value));
                        pending.push(Part::Key(&entry.key));
                    }
                }
            }
        }
    }
}

fn tagged_len(hasher: &mut blake3::Hasher, tag: u8, len: usize) {
    hasher.update(&[tag]);
    hasher.update(&(len as u64).to_le_bytes());
}

fn tagged_text(hasher: &mut blake3::Hasher, tag: u8, text: &str) {
    tagged_len(hasher, tag, text.len());
    hasher.update(text.as_bytes());
}
