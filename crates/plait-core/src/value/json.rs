//! Converting JSON and command-line text to typed values.

use std::sync::Arc;

use super::{Value, ValueType};

impl ValueType {
    /// Converts a JSON value (from a command's stdout, a `--set`, a file default) to this type.
    pub fn value_from_json(&self, json: &serde_json::Value) -> Result<Value, TypeMismatch> {
        let mismatch = || TypeMismatch {
            expected: self.clone(),
            found: json_kind(json),
        };
        Ok(match (self, json) {
            (ValueType::String, serde_json::Value::String(s)) => Value::from(s.as_str()),
            (ValueType::File, serde_json::Value::String(s)) => Value::file(s),
            (ValueType::Int, serde_json::Value::Number(n)) => {
                Value::Int(n.as_i64().ok_or_else(mismatch)?)
            }
            (ValueType::Float, serde_json::Value::Number(n)) => {
                Value::Float(n.as_f64().ok_or_else(mismatch)?)
            }
            (ValueType::Bool, serde_json::Value::Bool(b)) => Value::Bool(*b),
            (ValueType::Json, json) => Value::Json(Arc::new(json.clone())),
            _ => return Err(mismatch()),
        })
    }

    /// Parses a command-line spelling (`--set n=3`): a bare word for strings and files, JSON
    /// for `json`, the usual literals otherwise.
    pub fn parse_text(&self, text: &str) -> Result<Value, TypeMismatch> {
        let mismatch = || TypeMismatch {
            expected: self.clone(),
            found: "text",
        };
        Ok(match self {
            ValueType::String => Value::from(text),
            ValueType::File => Value::file(text),
            ValueType::Int => Value::Int(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Float => Value::Float(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Bool => Value::Bool(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Json => Value::Json(Arc::new(
                serde_json::from_str(text).map_err(|_| mismatch())?,
            )),
            ValueType::Native(_) => return Err(mismatch()),
        })
    }
}

/// A value did not have the type its port declares.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("expected {expected}, found {found}")]
pub struct TypeMismatch {
    pub expected: ValueType,
    pub found: &'static str,
}

fn json_kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Number(n) if n.is_i64() => "int",
        serde_json::Value::Number(_) => "float",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
    }
}
