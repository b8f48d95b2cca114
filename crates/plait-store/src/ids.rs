//! The names a store records things by: runs, tasks and cache keys, each a type of its own,
//! so that one cannot be passed where another is expected.
//!
//! Each is text behind an `Arc`: the engine clones them into every record it writes, and a
//! clone is a reference count, not a copy. They are stored as their text, as it is.

use std::fmt;
use std::sync::Arc;

macro_rules! text_name {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        /// Shown as its text, padded and cut as a `str` would be (`{:<28}` lines a table up).
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.pad(&self.0)
            }
        }

        /// Shown as its text, quoted, as a `String` would be.
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(&*self.0, f)
            }
        }

        impl From<&str> for $name {
            fn from(text: &str) -> Self {
                $name(Arc::from(text))
            }
        }

        impl From<String> for $name {
            fn from(text: String) -> Self {
                $name(Arc::from(text))
            }
        }

        /// Shares the text: no copy.
        impl From<Arc<str>> for $name {
            fn from(text: Arc<str>) -> Self {
                $name(text)
            }
        }
    };
}

text_name! {
    /// A run's id.
    RunId
}

text_name! {
    /// A task's path in its workflow (`flow/sub/task`), which names it within a run and
    /// across runs.
    TaskPath
}

text_name! {
    /// A result's cache key: the hex text of a blake3 hash over its task's identity and
    /// input values (see `docs/cache.md`).
    CacheKey
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_pads_as_its_text_would() {
        assert_eq!(format!("[{:<6}]", TaskPath::from("ab")), "[ab    ]");
        assert_eq!(format!("[{:>4}]", RunId::from("r1")), "[  r1]");
    }
}
