//! Bounds on what a workflow file may hold (RELIABILITY.md rule 19), checked before the work
//! they bound: the size before reading, the nesting before parsing, the task count and flow
//! depth while reading the schema, before core builds a graph.

/// Largest file read, in bytes.
pub(crate) const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Deepest nesting of tables and arrays (and dotted keys, which are tables too).
pub(crate) const MAX_DEPTH: usize = 64;

/// Most tasks in one workflow, counting those in nested flows.
pub(crate) const MAX_TASKS: usize = 100_000;

/// Deepest nesting of flows inside flows.
pub(crate) const MAX_FLOW_DEPTH: usize = 64;
