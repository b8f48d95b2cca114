//! Values that flow between tasks, and their types.
//!
//! A [`Value`] is cheap to clone: scalars are copied, everything else sits behind an `Arc`, so
//! handing one output to many dependents never copies its payload.

mod files;
mod json;
mod types;

use std::any::Any;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use json::TypeMismatch;
pub use types::{NativeType, ValueType};

/// A value produced by a task or given as a run input.
#[derive(Clone)]
pub enum Value {
    String(Arc<str>),
    Int(i64),
    Float(f64),
    Bool(bool),
    Json(Arc<serde_json::Value>),
    File(Arc<Path>),
    /// A list: its element type (the port type's own `Arc`, so it costs no allocation) and
    /// its elements, each of that type. The type is kept because an empty list has no
    /// element to tell it.
    List(Arc<ValueType>, Arc<[Value]>),
    Native(NativeType, Arc<dyn Any + Send + Sync>),
}

impl Value {
    pub fn file(path: impl Into<PathBuf>) -> Value {
        Value::File(Arc::from(path.into()))
    }

    pub fn json(json: serde_json::Value) -> Value {
        Value::Json(Arc::new(json))
    }

    /// A list of `element`s; each of `items` must be of that type.
    pub fn list(element: Arc<ValueType>, items: impl Into<Arc<[Value]>>) -> Value {
        let items = items.into();
        debug_assert!(
            items.iter().all(|item| item.fits_exactly(&element)),
            "a list's items are of its element type"
        );
        Value::List(element, items)
    }

    pub fn native<T: Any + Send + Sync>(value: T) -> Value {
        Value::Native(NativeType::of::<T>(), Arc::new(value))
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::String(_) => ValueType::String,
            Value::Int(_) => ValueType::Int,
            Value::Float(_) => ValueType::Float,
            Value::Bool(_) => ValueType::Bool,
            Value::Json(_) => ValueType::Json,
            Value::File(_) => ValueType::File,
            Value::List(element, _) => ValueType::List(element.clone()),
            Value::Native(native, _) => ValueType::Native(*native),
        }
    }

    /// Whether this value may flow into a port of type `ty`. A `json` port accepts any value
    /// that has a JSON form, so a command can take a typed output as a document.
    pub fn fits(&self, ty: &ValueType) -> bool {
        match (self, ty) {
            (Value::Native(..), ValueType::Json) => false,
            (Value::List(element, _), ValueType::Json) => element.has_json_form(),
            (_, ValueType::Json) => true,
            (value, ty) => value.fits_exactly(ty),
        }
    }

    /// Whether this value is of type `ty` itself (no JSON form taken for a `json`).
    fn fits_exactly(&self, ty: &ValueType) -> bool {
        match (self, ty) {
            (Value::List(element, _), ValueType::List(expected)) => {
                Arc::ptr_eq(element, expected) || element == expected
            }
            (value, ty) => value.value_type() == *ty,
        }
    }

    /// The JSON form, used for command stdin, `PLAIT_IN_*` and the CLI's output, as a tree
    /// (its `Serialize` impl writes the same without building one). A native value has none
    /// and shows as its type name.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self)
            .expect("every value is a string, a number, a bool or JSON, which a tree holds")
    }

    /// The form used for `{name}` placeholders and `PLAIT_IN_<NAME>`: strings and paths as
    /// they are, everything else as compact JSON (a list as an array: `["a","b"]`).
    pub fn to_text(&self) -> String {
        match self {
            Value::String(s) => s.to_string(),
            Value::File(path) => path.to_string_lossy().into_owned(),
            other => other.to_json().to_string(),
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(x) => Some(*x),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_path(&self) -> Option<&Path> {
        match self {
            Value::File(path) => Some(path),
            _ => None,
        }
    }

    pub fn as_json(&self) -> Option<&serde_json::Value> {
        match self {
            Value::Json(json) => Some(json),
            _ => None,
        }
    }

    /// A list's elements.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(_, items) => Some(items),
            _ => None,
        }
    }

    pub fn downcast_ref<T: Any>(&self) -> Option<&T> {
        match self {
            Value::Native(_, any) => any.downcast_ref(),
            _ => None,
        }
    }
}

/// The JSON form (see [`Value::to_json`]), written straight from the value: a completion's
/// outputs are printed once, with no tree built and no copy of a JSON value's.
impl serde::Serialize for Value {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::String(s) => serializer.serialize_str(s),
            Value::Int(i) => serializer.serialize_i64(*i),
            // Not finite: `null`, as JSON has no such number.
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::Bool(b) => serializer.serialize_bool(*b),
            Value::Json(json) => json.serialize(serializer),
            Value::File(path) => serializer.serialize_str(&path.to_string_lossy()),
            Value::List(_, items) => serializer.collect_seq(items.iter()),
            Value::Native(native, _) => {
                serializer.collect_str(&format_args!("<{}>", native.name()))
            }
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Native(native, _) => write!(f, "<{}>", native.name()),
            other => write!(f, "{}", other.to_json()),
        }
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Json(a), Value::Json(b)) => a == b,
            (Value::File(a), Value::File(b)) => a == b,
            (Value::List(ta, a), Value::List(tb, b)) => ta == tb && a == b,
            (Value::Native(_, a), Value::Native(_, b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(Arc::from(s))
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<f64> for Value {
    fn from(x: f64) -> Self {
        Value::Float(x)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<serde_json::Value> for Value {
    fn from(json: serde_json::Value) -> Self {
        Value::json(json)
    }
}

impl From<PathBuf> for Value {
    fn from(path: PathBuf) -> Self {
        Value::file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Printed straight from the value or built as a tree, the JSON form is the same.
    #[test]
    fn the_json_form_is_the_same_printed_or_as_a_tree() {
        let cases = [
            (Value::from("a \"q\""), serde_json::json!("a \"q\"")),
            (Value::Int(-3), serde_json::json!(-3)),
            (Value::Float(2.5), serde_json::json!(2.5)),
            (Value::Float(f64::NAN), serde_json::Value::Null),
            (Value::Bool(true), serde_json::json!(true)),
            (
                Value::json(serde_json::json!({"b": [1, {"c": null}], "a": 1.5})),
                serde_json::json!({"b": [1, {"c": null}], "a": 1.5}),
            ),
            (Value::file("/tmp/x y"), serde_json::json!("/tmp/x y")),
            (
                Value::list(
                    Arc::new(ValueType::list(ValueType::Int)),
                    [Value::list(Arc::new(ValueType::Int), [Value::Int(1)])],
                ),
                serde_json::json!([[1]]),
            ),
            (
                Value::native(7u8),
                serde_json::json!(format!("<{}>", std::any::type_name::<u8>())),
            ),
        ];
        for (value, tree) in cases {
            assert_eq!(value.to_json(), tree, "{value:?}");
            assert_eq!(serde_json::to_string(&value).unwrap(), tree.to_string());
        }
    }

    #[test]
    fn json_round_trip_keeps_types() {
        let json = serde_json::json!(3);
        assert_eq!(
            ValueType::Int.value_from_json(&json).unwrap(),
            Value::Int(3)
        );
        let err = ValueType::Int
            .value_from_json(&serde_json::json!(3.5))
            .unwrap_err();
        assert_eq!(err.to_string(), "expected int, found float");
        assert_eq!(
            ValueType::String.parse_text("a b").unwrap().to_text(),
            "a b"
        );
        assert_eq!(Value::Int(7).to_text(), "7");
    }

    #[test]
    fn native_values_are_shared_not_copied() {
        let value = Value::native(vec![1u8; 1024]);
        let clone = value.clone();
        assert_eq!(value, clone);
        assert_eq!(clone.downcast_ref::<Vec<u8>>().map(Vec::len), Some(1024));
        assert!(value.fits(&ValueType::Native(NativeType::of::<Vec<u8>>())));
        assert!(!value.fits(&ValueType::Json));
        assert!(!value.fits(&ValueType::Native(NativeType::of::<Vec<u16>>())));
    }

    #[test]
    fn a_list_fits_its_own_type_and_json() {
        let names = ValueType::list(ValueType::String);
        let value = Value::list(Arc::new(ValueType::String), [Value::from("a")]);
        assert!(value.fits(&names));
        assert!(value.fits(&ValueType::Json));
        assert!(!value.fits(&ValueType::list(ValueType::File)));
        assert!(!value.fits(&ValueType::String));
        let natives = Value::list(
            Arc::new(ValueType::Native(NativeType::of::<u8>())),
            [Value::native(1u8)],
        );
        assert!(!natives.fits(&ValueType::Json), "natives have no JSON form");
    }

    /// Every port and value carries a type: both stay small.
    #[test]
    fn types_and_values_stay_small() {
        assert!(std::mem::size_of::<ValueType>() <= 16);
        assert!(std::mem::size_of::<Value>() <= 32);
        assert_eq!(
            ValueType::Native(NativeType::of::<u8>()).name(),
            std::any::type_name::<u8>()
        );
    }
}
