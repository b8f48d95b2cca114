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
