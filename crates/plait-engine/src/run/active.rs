//! The runs this process is executing, by store and run id. A store tells processes apart by
//! their owner record; within one process, this tells a run still going from one whose
//! execution ended without finishing it (its future dropped, or its store failed), which a
//! resume here may take up. A store is known by the address of the handle the engine holds
//! (run ids are unique per store, not per process); two handles to one store's data, as
//! two `Arc`s around clones of one `MemoryStore`, are two stores here.

use std::collections::HashSet;
use std::sync::{Arc, LazyLock, Mutex};

use plait_store::Store;

use crate::sync::lock;

/// A store handle's address and a run id.
type Key = (usize, String);

static ACTIVE: LazyLock<Mutex<HashSet<Key>>> = LazyLock::new(Mutex::default);

/// A run held by an execution in this process, until this is dropped.
#[derive(Debug)]
pub(super) struct Active(Option<Key>);

impl Active {
    /// Holds `run_id` in `store`, or `None` if an execution in this process holds it
    /// already. A run without a store has no record to hold.
    pub(super) fn enter(store: Option<&Arc<dyn Store>>, run_id: &str) -> Option<Active> {
        let Some(store) = store else {
            return Some(Active(None));
        };
        let key = (Arc::as_ptr(store).cast::<()>() as usize, run_id.to_owned());
        lock(&ACTIVE).insert(key.clone()).then(|| Active(Some(key)))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        if let Some(key) = &self.0 {
            lock(&ACTIVE).remove(key);
        }
    }
}
