//! Types in a workflow file: type names (with hints for unknown ones) and input defaults,
//! read as values of their input's type.

use plait_core::{TypeMismatch, ValueType};

use super::Reader;
use super::fields::{quote_list, suggest};
use crate::diagnostics::Problem;
use crate::syntax::{Node, Value};

impl Reader {
    /// A type name; an unknown one is reported and `None`.
    pub(super) fn value_type(&mut self, node: &Node, what: &str) -> Option<ValueType> {
        let name = self.str(node, what)?;
        if let Some(ty) = ValueType::from_name(name) {
            return Some(ty);
        }
        let help = type_help(name);
        self.report(
            Problem::error(
                "bad-type",
                node.span.clone(),
                format!("unknown type `{name}` for {what}"),
                "unknown type",
            )
            .help(help),
        );
        None
    }

    /// A relative `file` default means a file beside the workflow (where its commands run):
    /// made absolute, it means the same file to the engine, which hashes it for the cache,
    /// and to a task with another working directory.
    /// So does each relative path of a `list<file>` default.
    pub(super) fn anchored(&self, value: plait_core::Value) -> plait_core::Value {
        value.map_files(&mut |path| self.workdir.join(path))
    }

    pub(super) fn type_of_default(&mut self, default: &Node, what: &str) -> Option<ValueType> {
        Some(match default.value {
            Value::String(_) => ValueType::String,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Array(_) | Value::Table(_) | Value::Null => ValueType::Json,
            Value::Datetime(_) => {
                self.bad_type(
                    default,
                    &format!("the default of {what}"),
                    "a string, number, boolean, array or table",
                );
                return None;
            }
        })
    }

    pub(super) fn default_value(
        &mut self,
        default: &Node,
        ty: &ValueType,
        what: &str,
    ) -> Option<plait_core::Value> {
        let Some(json) = to_json(default) else {
            self.bad_type(
                default,
                &format!("the default of {what}"),
                &format!("a value of type {ty}"),
            );
            return None;
        };
        match ty.value_from_json(&json) {
            Ok(value) => Some(value),
            Err(mismatch) if !mismatch.at.is_empty() => {
                self.bad_element(default, &mismatch, ty, what);
                None
            }
            Err(_) => {
                self.report(
                    Problem::error(
                        "bad-type",
                        default.span.clone(),
                        format!(
                            "the default of {what} is {}, but the input is {ty}",
                            default.kind_name()
                        ),
                        format!("expected {ty}"),
                    )
                    .help(format!(
                        "write a default of type {ty}, or change the input's `type`"
                    )),
                );
                None
            }
        }
    }
}

impl Reader {
    /// A list default with an element of another type: reported at the element.
    fn bad_element(&mut self, default: &Node, mismatch: &TypeMismatch, ty: &ValueType, what: &str) {
        let mut element = default;
        for &idx in &mismatch.at {
            match &element.value {
                Value::Array(items) if idx < items.len() => element = &items[idx],
                _ => break,
            }
        }
        let indices: String = mismatch.at.iter().map(|idx| format!("[{idx}]")).collect();
        let expected = &mismatch.expected;
        self.report(
            Problem::error(
                "bad-type",
                element.span.clone(),
                format!(
                    "element {indices} of the default of {what} is {}, but the input is {ty}",
                    element.kind_name()
                ),
                format!("expected {expected}"),
            )
            .help(format!(
                "write each element as {expected}, or change the input's `type`"
            )),
        );
    }
}

/// What to say of an unknown type name: the nearest known one, if there is one, and the
/// types there are.
fn type_help(name: &str) -> String {
    let listed = quote_list(ValueType::FILE_TYPE_NAMES);
    let element = name
        .strip_prefix("list<")
        .and_then(|rest| rest.strip_suffix('>'));
    let bare_list = matches!(name.to_ascii_lowercase().as_str(), "list" | "array" | "vec");
    if bare_list || element.is_some_and(|element| element.trim().is_empty()) {
        return format!(
            "a list names the type of its elements, as in `list<string>`; the types are {listed}"
        );
    }
    match near_type(name) {
        Some(near) if near == name => {
            format!("lists nest at most eight deep; the types are {listed}")
        }
        Some(near) => format!("did you mean `{near}`? the types are {listed}"),
        None => format!("the types are {listed}"),
    }
}

/// The known type nearest to `name`: a misspelling's, or another language's spelling; a
/// list's with its element's type corrected.
fn near_type(name: &str) -> Option<String> {
    if let Some(element) = name
        .strip_prefix("list<")
        .and_then(|rest| rest.strip_suffix('>'))
    {
        return near_type(element.trim()).map(|near| format!("list<{near}>"));
    }
    let scalars = ValueType::FILE_TYPE_NAMES
        .into_iter()
        .filter(|name| ValueType::from_name(name).is_some());
    suggest(name, scalars)
        .or_else(|| alias(name))
        .map(str::to_owned)
}

/// Common spellings of other languages' types.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "integer" | "i64" | "number" | "long" => "int",
        "double" | "f64" | "real" => "float",
        "boolean" => "bool",
        "str" | "text" => "string",
        "object" | "map" | "any" => "json",
        "path" => "file",
        _ => return None,
    })
}

/// The JSON form of a value written in the file, for typed defaults. A date-time and a
/// non-finite float have none.
fn to_json(node: &Node) -> Option<serde_json::Value> {
    Some(match &node.value {
        Value::String(s) => serde_json::Value::String(s.clone()),
        Value::Int(i) => serde_json::Value::from(*i),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(serde_json::Value::Number)?,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Null => serde_json::Value::Null,
        Value::Datetime(_) => return None,
        Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(to_json).collect::<Option<_>>()?)
        }
        Value::Table(entries) => serde_json::Value::Object(
            entries
                .iter()
                .map(|entry| Some((entry.key.clone(), to_json(&entry.value)?)))
                .collect::<Option<_>>()?,
        ),
    })
}
