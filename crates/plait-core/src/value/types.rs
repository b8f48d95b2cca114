//! The types of values: the ones workflow files name, and native Rust types.

use std::any::{Any, TypeId};
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

/// The type of a port. Workflow files know all but `Native`, which carries any Rust type
/// between in-process tasks.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ValueType {
    String,
    Int,
    Float,
    Bool,
    /// Any JSON document.
    Json,
    /// A path to a file whose content matters (for caching).
    File,
    /// A list whose elements all have the given type (`list<string>`); its JSON form is an
    /// array. Behind an `Arc` so that a port's type stays two words and a list value can
    /// share its element type with the port.
    List(Arc<ValueType>),
    /// A Rust value passed by reference count between in-process tasks.
    Native(NativeType),
}

/// The identity of a Rust type used as a [`ValueType::Native`].
///
/// One function pointer that tells the type's id and name: every port carries a type, so it
/// is kept to a word, which keeps a [`ValueType`] to two and a [`Value`] to four.
#[derive(Clone, Copy)]
pub struct NativeType(fn() -> (TypeId, &'static str));

fn identity<T: Any>() -> (TypeId, &'static str) {
    (TypeId::of::<T>(), std::any::type_name::<T>())
}

impl NativeType {
    pub fn of<T: Any>() -> Self {
        NativeType(identity::<T>)
    }

    pub fn name(&self) -> &'static str {
        (self.0)().1
    }

    // Not the pointer: one generic function may be instantiated more than once, so two
    // pointers for one type need not be equal.
    fn id(&self) -> TypeId {
        (self.0)().0
    }
}

impl fmt::Debug for NativeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NativeType").field(&self.name()).finish()
    }
}

impl PartialEq for NativeType {
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id()
    }
}

impl Eq for NativeType {}

impl std::hash::Hash for NativeType {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

/// How deep `list<...>` may nest in a workflow file: deeper types are surely a mistake, and
/// every walk over a type or a value recurses once per level.
const MAX_LIST_DEPTH: usize = 8;

impl ValueType {
    /// `list<element>`.
    pub fn list(element: ValueType) -> ValueType {
        ValueType::List(Arc::new(element))
    }

    /// The type of a list's elements; `None` for any other type.
    pub fn element(&self) -> Option<&ValueType> {
        match self {
            ValueType::List(element) => Some(element),
            _ => None,
        }
    }

    /// The spelling used in workflow files and messages (a list's is built, the others'
    /// are constants).
    pub fn name(&self) -> Cow<'static, str> {
        Cow::Borrowed(match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Json => "json",
            ValueType::File => "file",
            ValueType::List(_) => return Cow::Owned(self.to_string()),
            ValueType::Native(native) => native.name(),
        })
    }

    /// Parses the spelling used in workflow files: a scalar's name, or `list<T>` for any of
    /// them (nested up to eight deep).
    pub fn from_name(name: &str) -> Option<ValueType> {
        let mut inner = name;
        let mut depth = 0;
        while let Some(element) = inner
            .strip_prefix("list<")
            .and_then(|rest| rest.strip_suffix('>'))
        {
            inner = element;
            depth += 1;
        }
        if depth > MAX_LIST_DEPTH {
            return None;
        }
        let scalar = match inner {
            "string" => ValueType::String,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "json" => ValueType::Json,
            "file" => ValueType::File,
            _ => return None,
        };
        Some((0..depth).fold(scalar, |element, _| ValueType::list(element)))
    }

    /// The names workflow files spell, for hints: `list<T>` stands for a list of any type.
    pub const FILE_TYPE_NAMES: [&'static str; 7] =
        ["string", "int", "float", "bool", "json", "file", "list<T>"];

    /// Whether a value of this type has a JSON form: everything but native values and
    /// lists of them.
    pub fn has_json_form(&self) -> bool {
        match self {
            ValueType::Native(_) => false,
            ValueType::List(element) => element.has_json_form(),
            _ => true,
        }
    }
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ValueType::List(element) => write!(f, "list<{element}>"),
            scalar => f.write_str(&scalar.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_parse_and_print_alike() {
        for name in [
            "list<string>",
            "list<int>",
            "list<float>",
            "list<bool>",
            "list<json>",
            "list<file>",
            "list<list<int>>",
        ] {
            let ty = ValueType::from_name(name).expect(name);
            assert_eq!(ty.name(), name);
            assert_eq!(ty.to_string(), name);
        }
        let nested = ValueType::from_name("list<list<int>>").unwrap();
        assert_eq!(nested.element(), Some(&ValueType::list(ValueType::Int)));
        assert_eq!(
            nested.element().and_then(ValueType::element),
            Some(&ValueType::Int)
        );
        assert_eq!(ValueType::Int.element(), None);
    }

    #[test]
    fn bad_list_names_are_none() {
        let deep = format!("{}int{}", "list<".repeat(9), ">".repeat(9));
        for name in [
            "list<>",
            "list<strin>",
            "list",
            "list<int",
            "list<int>>",
            "list< int>",
            "List<int>",
            &deep,
        ] {
            assert_eq!(ValueType::from_name(name), None, "{name}");
        }
        let deepest = format!("{}int{}", "list<".repeat(8), ">".repeat(8));
        assert!(ValueType::from_name(&deepest).is_some());
    }
}
