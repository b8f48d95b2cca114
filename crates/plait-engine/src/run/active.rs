//! The runs this process is executing. A store tells processes apart by their owner record;
//! within one process, this tells a run still going from one whose execution ended without
//! finishing it (its future dropped, or its store failed), which a resume here may take up.

use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

use crate::sync::lock;

static ACTIVE: LazyLock<Mutex<HashSet<String>>> = LazyLock::new(Mutex::default);

/// A run held by an execution in this process, until this is dropped.
#[derive(Debug)]
pub(super) struct Active(String);

impl Active {
    /// Holds `run_id`, or `None` if an execution in this process holds it already.
    pub(super) fn enter(run_id: &str) -> Option<Active> {
        lock(&ACTIVE)
            .insert(run_id.to_owned())
            .then(|| Active(run_id.to_owned()))
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        lock(&ACTIVE).remove(&self.0);
    }
}
