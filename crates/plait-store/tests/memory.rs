//! The in-memory store behaves as every store must.

use plait_store::MemoryStore;

plait_store::store_conformance_tests!(MemoryStore::new());
