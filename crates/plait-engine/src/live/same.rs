//! When a recomputed value counts as unchanged (early cut-off).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use plait_core::Value;

/// Whether `a` and `b` are the same value: equal data, a float by its bits (so a NaN equals
/// itself and a recomputed NaN stops the propagation), a file or a native value only if it
/// is the very same allocation. A native value's type has no equality the engine can see; a
/// file's content is what counts, and [`Files::canonical`] gives a task's `file` output the
/// allocation of the last value at its path when their contents hash alike. A list is the
/// same when its elements are; a recomputed `list<file>` holds new allocations, so it always
/// counts as changed (its files are not compared by content: correct, only less cut-off).
pub(crate) fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(a), Value::String(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Json(a), Value::Json(b)) => Arc::ptr_eq(a, b) || a == b,
        (Value::File(a), Value::File(b)) => Arc::ptr_eq(a, b),
        (Value::List(type_a, a), Value::List(type_b, b)) => {
            Arc::ptr_eq(a, b) || (type_a == type_b && same_values(a, b))
        }
        (Value::Native(_, a), Value::Native(_, b)) => Arc::ptr_eq(a, b),
        _ => false,
    }
}

/// Element-wise [`same_value`].
pub(crate) fn same_values(a: &[Value], b: &[Value]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_value(a, b))
}

/// The `file` values tasks gave, by path: the hash of the content the latest one had, and
/// its allocation, which stands for that content. Only the latest per path is kept: a file
/// that comes back to an older content gets a new allocation, and what read the older one
/// runs again rather than being restored.
#[derive(Default)]
pub(crate) struct Files {
    latest: HashMap<Arc<Path>, String>,
}

impl Files {
    /// `value` as the flow keeps it, given the hash of its content if it is a file: the
    /// latest allocation at its path if that one's content hashed alike, else a new one
    /// that no other value holds (a task passing on a file it rewrote gives the allocation
    /// it was given, which stands for the old content).
    pub(crate) fn canonical(&mut self, value: Value, content: Option<String>) -> Value {
        let Value::File(path) = value else {
            return value;
        };
        if let Some(content) = &content
            && let Some((known, hash)) = self.latest.get_key_value(&*path)
            && hash == content
        {
            return Value::File(known.clone());
        }
        // Removed first: an insert would keep the old key, the old content's allocation.
        self.latest.remove(&*path);
        let fresh: Arc<Path> = Arc::from(&*path);
        // Without a content, nothing is kept: a file that cannot be read (gone, not yet
        // written, no permission) counts as changed. Its content is unknown, and taking it
        // as unchanged would keep what depends on it computed from a content that may be
        // gone; running them again lets them see the file as it is, or report why they
        // cannot.
        if let Some(content) = content {
            self.latest.insert(fresh.clone(), content);
        }
        Value::File(fresh)
    }
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
        let file = Value::file("a");
        assert!(same_value(&file, &file.clone()));
        assert!(!same_value(&file, &Value::file("a")), "by allocation");
        let names = |json| {
            plait_core::ValueType::list(plait_core::ValueType::String)
                .value_from_json(&json)
                .unwrap()
        };
        let ab = names(serde_json::json!(["a", "b"]));
        assert!(same_value(&ab, &names(serde_json::json!(["a", "b"]))));
        assert!(!same_value(&ab, &names(serde_json::json!(["b", "a"]))));
        assert!(!same_value(&ab, &names(serde_json::json!(["a"]))));
        let files = plait_core::ValueType::list(plait_core::ValueType::File)
            .value_from_json(&serde_json::json!(["a"]))
            .unwrap();
        assert!(same_value(&files, &files.clone()));
        assert!(!same_value(
            &files,
            &files.map_files(&mut |path| path.to_path_buf())
        ));
        let native = Value::native(vec![1u8]);
        assert!(same_value(&native, &native.clone()));
        assert!(!same_value(&native, &Value::native(vec![1u8])));
    }

    #[test]
    fn a_file_keeps_its_allocation_while_its_content_hashes_alike() {
        let mut files = Files::default();
        let hash = |text: &str| Some(text.to_owned());
        let first = files.canonical(Value::file("out"), hash("one"));
        let again = files.canonical(Value::file("out"), hash("one"));
        assert!(same_value(&first, &again));
        // Passed on after a rewrite: the same allocation, new content.
        let rewritten = files.canonical(first.clone(), hash("two"));
        assert!(!same_value(&first, &rewritten));
        assert!(same_value(
            &rewritten,
            &files.canonical(Value::file("out"), hash("two"))
        ));
        // Unreadable: never the same as anything.
        let unreadable = files.canonical(rewritten.clone(), None);
        assert!(!same_value(&unreadable, &rewritten));
        assert!(!same_value(
            &unreadable,
            &files.canonical(unreadable.clone(), None)
        ));
        assert!(same_value(
            &Value::Int(1),
            &files.canonical(Value::Int(1), None)
        ));
    }
}
