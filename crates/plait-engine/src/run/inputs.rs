//! Checking a run's inputs against what the plan declares.

use std::sync::Arc;

use plait_core::{Plan, Value};

use crate::report::RunError;

/// One value per declared input, in declaration order, defaults filled in.
pub(crate) fn resolve_inputs<K, V>(
    plan: &Plan,
    given: impl IntoIterator<Item = (K, V)>,
) -> Result<Box<[Value]>, RunError>
where
    K: Into<Arc<str>>,
    V: Into<Value>,
{
    let declared = plan.inputs();
    let mut values: Vec<Option<Value>> =
        declared.iter().map(|input| input.default.clone()).collect();
    for (name, value) in given {
        let name: Arc<str> = name.into();
        let value: Value = value.into();
        let Some(idx) = declared.iter().position(|input| input.name == name) else {
            let known = declared.iter().map(|input| input.name.clone()).collect();
            return Err(RunError::UnknownInput { name, known });
        };
        let ty = &declared[idx].ty;
        if !value.fits(ty) {
            let mismatch = plait_core::TypeMismatch {
                expected: ty.clone(),
                found: type_word(&value),
            };
            return Err(RunError::InputType { name, mismatch });
        }
        values[idx] = Some(value);
    }
    values
        .into_iter()
        .zip(declared)
        .map(|(value, input)| {
            value.ok_or_else(|| RunError::MissingInput {
                name: input.name.clone(),
            })
        })
        .collect()
}

pub(crate) fn type_word(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Int(_) => "int",
        Value::Float(_) => "float",
        Value::Bool(_) => "bool",
        Value::Json(_) => "json",
        Value::File(_) => "file",
        Value::Native(..) => "a native value",
    }
}
