//! The types of values: the ones workflow files name, and native Rust types.

use std::any::{Any, TypeId};
use std::fmt;

/// The type of a port. Workflow files know the first six; `Native` carries any Rust type
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

impl ValueType {
    /// The spelling used in workflow files and messages.
    pub fn name(&self) -> &str {
        match self {
            ValueType::String => "string",
            ValueType::Int => "int",
            ValueType::Float => "float",
            ValueType::Bool => "bool",
            ValueType::Json => "json",
            ValueType::File => "file",
            ValueType::Native(native) => native.name(),
        }
    }

    /// Parses the spelling used in workflow files.
    pub fn from_name(name: &str) -> Option<ValueType> {
        Some(match name {
            "string" => ValueType::String,
            "int" => ValueType::Int,
            "float" => ValueType::Float,
            "bool" => ValueType::Bool,
            "json" => ValueType::Json,
            "file" => ValueType::File,
            _ => return None,
        })
    }

    /// The names [`ValueType::from_name`] accepts, for hints.
    pub const FILE_TYPE_NAMES: [&'static str; 6] =
        ["string", "int", "float", "bool", "json", "file"];
}

impl fmt::Display for ValueType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
