//! Checking a run's inputs against what the plan declares.

use std::sync::Arc;

use plait_core::{Plan, TypeMismatch, Value, ValueType};

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
        if let Err(mismatch) = check_type(&declared[idx].ty, &value) {
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

/// Every path a `file` or `list<file>` input holds names something that exists: a run does
/// not start otherwise, since its tasks would find nothing to read and the cache could not
/// know it by its content. (A path whose existence cannot be told, for want of permission,
/// is left to the tasks.)
pub(crate) fn check_files(plan: &Plan, values: &[Value]) -> Result<(), RunError> {
    for (input, value) in plan.inputs().iter().zip(values) {
        for path in value.files() {
            if matches!(path.try_exists(), Ok(false)) {
                let (name, path) = (input.name.clone(), path.to_path_buf());
                return Err(match value {
                    Value::File(_) => RunError::MissingFile { name, path },
                    _ => RunError::MissingListedFile { name, path },
                });
            }
        }
    }
    Ok(())
}

/// Whether `value` may be given for an input of type `ty` (runs and live flows alike).
pub(crate) fn check_type(ty: &ValueType, value: &Value) -> Result<(), TypeMismatch> {
    if value.fits(ty) {
        return Ok(());
    }
    let found = match value {
        Value::Native(..) => "a native value".into(),
        other => other.value_type().name(),
    };
    Err(TypeMismatch::new(ty.clone(), found))
}
