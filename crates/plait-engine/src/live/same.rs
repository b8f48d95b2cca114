//! When a recomputed value counts as unchanged (early cut-off).

use std::sync::Arc;

use plait_core::Value;

/// Whether `a` and `b` are the same value: equal data, a float by its bits (so a NaN equals
/// itself and a recomputed NaN stops the propagation), a file by its path, a native value
/// only if it is the very same allocation (its type has no equality the engine can see).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Json(a), Value::Json(b)) => Arc::ptr_eq(a, b) || a == b,
        (Value::File(a), Value::File(b)) => a == b,
        (Value::Native(_, a), Value::Native(_, b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// Element-wise [`same_value`].
pub(crate) fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_data_is_the_same_and_natives_only_by_identity() {
        assert!(same_value(&Value::Int(3), &Value::Int(3)));
        assert!(!same_value(&Value::Int(3), &Value::Float(3.0)));
        assert!(same_value(&Value::Float(f64::NAN), &Value::Float(f64::NAN)));
        assert!(same_value(
            &Value::json(serde_json::json!({"a": [1, 2]})),
            &Value::json(serde_json::json!({"a": [1, 2]}))
        ));
        let native = Value::native(vec![1u8]);
        assert!(same_value(&native, &native.clone()));
        assert!(!same_value(&native, &Value::native(vec![1u8])));
    }
}
