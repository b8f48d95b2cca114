//! Locks without poisoning.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`. Every lock in the engine is held only to read or update plain state, which a
/// panic elsewhere cannot leave half-written: poisoning carries no information.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
