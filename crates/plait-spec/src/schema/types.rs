//! Types in a workflow file: type names (with hints for unknown ones) and input defaults,
//! read as values of their input's type.

use plait_core::ValueType;

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
        let names = ValueType::FILE_TYPE_NAMES;
        let listed = quote_list(names);
        let help = match suggest(name, names).or_else(|| alias(name)) {
            Some(near) => format!("did you mean `{near}`? the types are {listed}"),
            None => format!("the types are {listed}"),
        };
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
    pub(super) fn anchored(&self, value: plait_core::Value) -> plait_core::Value {
        match value.as_path() {
            Some(path) if path.is_relative() => plait_core::Value::file(self.workdir.join(path)),
            _ => value,
        }
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

/// Common spellings of other languages' types.
fn alias(name: &str) -> Option<&'static str> {
    Some(match name.to_ascii_lowercase().as_str() {
        "integer" | "i64" | "number" | "long" => "int",
        "double" | "f64" | "real" => "float",
        "boolean" => "bool",
        "str" | "text" => "string",
        "object" | "array" | "list" | "map" | "any" => "json",
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
