//! Rust types as input and output values of function tasks.

use std::path::PathBuf;
use std::sync::Arc;

use crate::{TaskError, Value, ValueType};

pub trait FromValue: Sized + Send + 'static {
    fn value_type() -> ValueType;
    fn from_value(value: &Value) -> Option<Self>;
}

/// A Rust type that can be returned as an output value.
pub trait IntoValue: Send + 'static {
    fn value_type() -> ValueType;
    fn into_value(self) -> Value;
}

macro_rules! scalar_value {
    ($ty:ty, $variant:ident, $get:expr) => {
        impl FromValue for $ty {
            fn value_type() -> ValueType {
                ValueType::$variant
            }
            fn from_value(value: &Value) -> Option<Self> {
                $get(value)
            }
        }
        impl IntoValue for $ty {
            fn value_type() -> ValueType {
                ValueType::$variant
            }
            fn into_value(self) -> Value {
                Value::from(self)
            }
        }
    };
}

scalar_value!(i64, Int, Value::as_int);
scalar_value!(f64, Float, Value::as_float);
scalar_value!(bool, Bool, Value::as_bool);
scalar_value!(String, String, |value: &Value| value
    .as_str()
    .map(str::to_owned));
scalar_value!(PathBuf, File, |value: &Value| value
    .as_path()
    .map(PathBuf::from));
scalar_value!(serde_json::Value, Json, |value: &Value| Some(
    value.to_json()
));

impl FromValue for Arc<str> {
    fn value_type() -> ValueType {
        ValueType::String
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::String(s) => Some(s.clone()),
            _ => None,
        }
    }
}

/// A `Vec` is a `list<T>` of its elements' type: read from a list value, returned as one.
impl<T: FromValue> FromValue for Vec<T> {
    fn value_type() -> ValueType {
        ValueType::list(T::value_type())
    }
    fn from_value(value: &Value) -> Option<Self> {
        value.as_list()?.iter().map(T::from_value).collect()
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    fn value_type() -> ValueType {
        ValueType::list(T::value_type())
    }
    fn into_value(self) -> Value {
        let items: Vec<Value> = self.into_iter().map(IntoValue::into_value).collect();
        Value::list(Arc::new(T::value_type()), items)
    }
}

/// A Rust value of any type, shared between in-process tasks without copying.
#[derive(Debug)]
pub struct Native<T>(pub Arc<T>);

impl<T> Clone for Native<T> {
    fn clone(&self) -> Self {
        Native(self.0.clone())
    }
}

impl<T> std::ops::Deref for Native<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: Send + Sync + 'static> FromValue for Native<T> {
    fn value_type() -> ValueType {
        ValueType::Native(crate::NativeType::of::<T>())
    }
    fn from_value(value: &Value) -> Option<Self> {
        match value {
            Value::Native(_, any) => any.clone().downcast::<T>().ok().map(Native),
            _ => None,
        }
    }
}

impl<T: Send + Sync + 'static> IntoValue for Native<T> {
    fn value_type() -> ValueType {
        ValueType::Native(crate::NativeType::of::<T>())
    }
    fn into_value(self) -> Value {
        Value::Native(crate::NativeType::of::<T>(), self.0)
    }
}

/// What a function task may return: nothing, one value, a tuple of values, or a `Result` of
/// those whose error converts into a [`TaskError`].
pub trait IntoTaskResult: Send + 'static {
    fn output_types() -> Vec<ValueType>;
    fn into_values(self) -> Result<Vec<Value>, TaskError>;
}

impl<T: IntoTaskResult, E: Into<TaskError> + Send + 'static> IntoTaskResult for Result<T, E> {
    fn output_types() -> Vec<ValueType> {
        T::output_types()
    }
    fn into_values(self) -> Result<Vec<Value>, TaskError> {
        self.map_err(Into::into)?.into_values()
    }
}

macro_rules! single_result {
    ($($ty:ty),*) => {$(
        impl IntoTaskResult for $ty {
            fn output_types() -> Vec<ValueType> {
                vec![<$ty as IntoValue>::value_type()]
            }
            fn into_values(self) -> Result<Vec<Value>, TaskError> {
                Ok(vec![self.into_value()])
            }
        }
    )*};
}

single_result!(i64, f64, bool, String, PathBuf, serde_json::Value);

impl<T: IntoValue> IntoTaskResult for Vec<T> {
    fn output_types() -> Vec<ValueType> {
        vec![<Self as IntoValue>::value_type()]
    }
    fn into_values(self) -> Result<Vec<Value>, TaskError> {
        Ok(vec![self.into_value()])
    }
}

impl<T: Send + Sync + 'static> IntoTaskResult for Native<T> {
    fn output_types() -> Vec<ValueType> {
        vec![<Self as IntoValue>::value_type()]
    }
    fn into_values(self) -> Result<Vec<Value>, TaskError> {
        Ok(vec![self.into_value()])
    }
}

macro_rules! tuple_result {
    ($($name:ident),*) => {
        impl<$($name: IntoValue),*> IntoTaskResult for ($($name,)*) {
            fn output_types() -> Vec<ValueType> {
                vec![$($name::value_type()),*]
            }
            #[allow(non_snake_case, reason = "the type parameters name the tuple's fields")]
            fn into_values(self) -> Result<Vec<Value>, TaskError> {
                let ($($name,)*) = self;
                Ok(vec![$($name.into_value()),*])
            }
        }
    };
}

tuple_result!();
tuple_result!(A);
tuple_result!(A, B);
tuple_result!(A, B, C);
tuple_result!(A, B, C, D);
tuple_result!(A, B, C, D, E);
tuple_result!(A, B, C, D, E, F);
