//! The schema, as embedded migrations. `PRAGMA user_version` holds the version; a file newer
//! than this binary knows is refused rather than misread.

use rusqlite_migration::{M, Migrations};

/// Runs; their transitions, append-only. A task's latest state is folded from its
/// transitions when read, so recording one is a single insert.
const V1: &str = "
CREATE TABLE runs (
    run_id          TEXT PRIMARY KEY,
    workflow        TEXT NOT NULL,
    source          TEXT NOT NULL,
    definition      TEXT NOT NULL,
    definition_hash TEXT NOT NULL,
    inputs          TEXT NOT NULL,
    status          TEXT,
    started_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    owner_host      TEXT NOT NULL,
    owner_pid       INTEGER NOT NULL,
    owner_started   INTEGER NOT NULL
);
CREATE INDEX runs_by_start ON runs (started_at);
CREATE TABLE transitions (
    id       INTEGER PRIMARY KEY,
    run_id   TEXT NOT NULL REFERENCES runs (run_id),
    task     TEXT NOT NULL,
    state    TEXT NOT NULL,
    attempt  INTEGER NOT NULL,
    at       INTEGER NOT NULL,
    error    TEXT,
    outputs  TEXT
);
CREATE INDEX transitions_by_run ON transitions (run_id, id);
";

pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(V1)])
}

/// The newest schema version this binary knows.
pub(crate) const LATEST: i64 = 1;
