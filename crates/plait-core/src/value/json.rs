//! Converting JSON and command-line text to typed values.

use std::borrow::Cow;
use std::sync::Arc;

use super::{Value, ValueType};

impl ValueType {
    /// Converts a JSON value (from a command's stdout, a `--set`, a file default) to this type.
    pub fn value_from_json(&self, json: &serde_json::Value) -> Result<Value, TypeMismatch> {
        let mismatch = || TypeMismatch::new(self.clone(), json_kind(json));
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
            (ValueType::List(element), serde_json::Value::Array(items)) => {
                let values = items.iter().enumerate().map(|(idx, item)| {
                    element
                        .value_from_json(item)
                        .map_err(|mismatch| mismatch.within(idx))
                });
                Value::List(element.clone(), values.collect::<Result<_, _>>()?)
            }
            _ => return Err(mismatch()),
        })
    }

    /// Parses a command-line spelling (`--set n=3`): a bare word for strings and files, JSON
    /// for `json` and lists, the usual literals otherwise.
    pub fn parse_text(&self, text: &str) -> Result<Value, TypeMismatch> {
        let mismatch = || TypeMismatch::new(self.clone(), "text");
        Ok(match self {
            ValueType::String => Value::from(text),
            ValueType::File => Value::file(text),
            ValueType::Int => Value::Int(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Float => Value::Float(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Bool => Value::Bool(text.trim().parse().map_err(|_| mismatch())?),
            ValueType::Json => Value::Json(Arc::new(
                serde_json::from_str(text).map_err(|_| mismatch())?,
            )),
            ValueType::List(_) => {
                let json: serde_json::Value = serde_json::from_str(text).map_err(|_| mismatch())?;
                self.value_from_json(&json)?
            }
            ValueType::Native(_) => return Err(mismatch()),
        })
    }
}

/// A value did not have the type its port declares.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}expected {expected}, found {found}", element_prefix(.at))]
pub struct TypeMismatch {
    /// The type expected where the mismatch is: for a bad element of a list, the element's.
    pub expected: ValueType,
    pub found: Cow<'static, str>,
    /// Where the bad element is: its index in each enclosing list, the outermost first.
    /// Empty when the value as a whole does not fit.
    pub at: Vec<usize>,
}

impl TypeMismatch {
    pub fn new(expected: ValueType, found: impl Into<Cow<'static, str>>) -> TypeMismatch {
        TypeMismatch {
            expected,
            found: found.into(),
            at: Vec::new(),
        }
    }

    /// The same mismatch, seen from the list that holds the mismatched value at `idx`.
    fn within(mut self, idx: usize) -> TypeMismatch {
        self.at.insert(0, idx);
        self
    }
}

/// `element [2][0]: ` for a mismatch inside a list, nothing for a whole value.
fn element_prefix(at: &[usize]) -> String {
    if at.is_empty() {
        return String::new();
    }
    let indices: String = at.iter().map(|idx| format!("[{idx}]")).collect();
    format!("element {indices}: ")
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn names() -> ValueType {
        ValueType::list(ValueType::String)
    }

    #[test]
    fn a_list_is_a_json_array_of_its_elements() {
        let value = names().value_from_json(&json!(["a", "b"])).unwrap();
        assert_eq!(value.value_type(), names());
        assert_eq!(value.to_json(), json!(["a", "b"]));
        assert_eq!(value.to_text(), r#"["a","b"]"#);
        let items = value.as_list().unwrap();
        assert_eq!(items, [Value::from("a"), Value::from("b")]);
        let empty = names().value_from_json(&json!([])).unwrap();
        assert_eq!(empty.value_type(), names(), "an empty list keeps its type");
        assert_ne!(
            empty,
            ValueType::list(ValueType::Int)
                .value_from_json(&json!([]))
                .unwrap()
        );
    }

    #[test]
    fn a_bad_element_is_named_by_its_index() {
        let error = names().value_from_json(&json!(["a", 1])).unwrap_err();
        assert_eq!(error.to_string(), "element [1]: expected string, found int");
        assert_eq!(error.at, [1]);
        let nested = ValueType::from_name("list<list<int>>").unwrap();
        let error = nested.value_from_json(&json!([[1], [2, "x"]])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "element [1][1]: expected int, found string"
        );
        let error = names().value_from_json(&json!("a")).unwrap_err();
        assert_eq!(error.to_string(), "expected list<string>, found string");
    }

    #[test]
    fn list_text_is_json() {
        let value = names().parse_text(r#"["x", "y z"]"#).unwrap();
        assert_eq!(value.to_json(), json!(["x", "y z"]));
        let files = ValueType::list(ValueType::File)
            .parse_text(r#"["a.txt"]"#)
            .unwrap();
        assert_eq!(
            files.as_list().unwrap()[0].as_path(),
            Some(std::path::Path::new("a.txt"))
        );
        let error = names().parse_text("x,y").unwrap_err();
        assert_eq!(error.to_string(), "expected list<string>, found text");
        let error = names().parse_text("[true]").unwrap_err();
        assert_eq!(
            error.to_string(),
            "element [0]: expected string, found bool"
        );
    }
}
