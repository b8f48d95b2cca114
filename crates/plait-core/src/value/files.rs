//! The paths a value holds: a `file`'s, or each `file` in a list. What reads or keeps files
//! (the engine's input checks, cache keys and cache entries, anchoring relative paths)
//! walks them here, so that a `list<file>` is handled wherever a `file` is.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{Value, ValueType};

impl ValueType {
    /// Whether a value of this type holds paths: `file`, or a list of them.
    pub fn has_files(&self) -> bool {
        match self {
            ValueType::File => true,
            ValueType::List(element) => element.has_files(),
            _ => false,
        }
    }
}

impl Value {
    /// Every path this value holds, in order (depth-first through nested lists).
    pub fn files(&self) -> Vec<&Arc<Path>> {
        let mut paths = Vec::new();
        self.collect_files(&mut paths);
        paths
    }

    fn collect_files<'v>(&'v self, paths: &mut Vec<&'v Arc<Path>>) {
        match self {
            Value::File(path) => paths.push(path),
            Value::List(element, items) if element.has_files() => {
                for item in items.iter() {
                    item.collect_files(paths);
                }
            }
            _ => {}
        }
    }

    /// Whether this value holds a path, without gathering them.
    pub fn has_files(&self) -> bool {
        match self {
            Value::File(_) => true,
            Value::List(element, items) => element.has_files() && !items.is_empty(),
            _ => false,
        }
    }

    /// This value with each path it holds replaced by `map`'s (an unchanged value is shared,
    /// not copied).
    pub fn map_files(&self, map: &mut impl FnMut(&Path) -> PathBuf) -> Value {
        match self {
            Value::File(path) => Value::file(map(path)),
            Value::List(element, items) if element.has_files() => {
                let items: Vec<Value> = items.iter().map(|item| item.map_files(map)).collect();
                Value::List(element.clone(), items.into())
            }
            other => other.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_of_files_holds_each_path_in_order() {
        let nested = ValueType::from_name("list<list<file>>").unwrap();
        let value = nested
            .value_from_json(&serde_json::json!([["a", "b"], [], ["c"]]))
            .unwrap();
        assert!(nested.has_files() && value.has_files());
        let paths: Vec<&Path> = value.files().into_iter().map(|path| &**path).collect();
        assert_eq!(paths, [Path::new("a"), Path::new("b"), Path::new("c")]);
        let moved = value.map_files(&mut |path| Path::new("/w").join(path));
        assert_eq!(
            moved.to_json(),
            serde_json::json!([["/w/a", "/w/b"], [], ["/w/c"]])
        );
        assert_eq!(moved.value_type(), nested);
        let names = Value::list(Arc::new(ValueType::String), [Value::from("a")]);
        assert!(names.files().is_empty() && !names.has_files());
        assert_eq!(Value::file("x").files().len(), 1);
    }
}
