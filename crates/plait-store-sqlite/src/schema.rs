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

/// The result cache, and the key each task of a run ran under.
///
/// `cache` is looked up by key on every task of a cached run. Keys are hashes, so they come
/// in random order: rows are appended (rowid order) and only a small index on 63 bits of
/// the key takes the random inserts, which keeps the pages a batch of entries dirties few
/// (a table clustered on the 64-character key cost twice as much per entry here).
/// A run reads the entries of its tasks up front, by `task`. Eviction goes by `used_at`,
/// with no index: `gc` and `stats` are rare and read every entry anyway, while an index
/// would cost every entry written.
/// `blobs` lists the entry's files as `[output, hash, size]` triples; `size` is
/// `CacheEntry::size()`, kept so `gc` and `stats` need not parse every entry.
///
/// Transitions are logged from V2 on in `log`, one row per run per commit (`log.rs`);
/// `transitions` keeps what a V1 store recorded. A task's key rides on its transitions: its
/// first `running` carries the key and its components, a reused result's `succeeded` the
/// key and the run it came from. `cache_counts` holds the hits and misses they record.
const V2: &str = "
CREATE TABLE cache (
    id         INTEGER PRIMARY KEY,
    prefix     INTEGER NOT NULL,
    key        TEXT NOT NULL,
    task       TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    outputs    TEXT NOT NULL,
    blobs      TEXT NOT NULL,
    size       INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL
);
CREATE INDEX cache_by_prefix ON cache (prefix);
CREATE INDEX cache_by_task ON cache (task);
CREATE TABLE cache_counts (
    hits   INTEGER NOT NULL,
    misses INTEGER NOT NULL
);
INSERT INTO cache_counts VALUES (0, 0);
CREATE TABLE log (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    entries TEXT NOT NULL
);
CREATE INDEX log_by_run ON log (run_id, id);
";

/// The log's lines keep a key's components as the JSON object they are, where V2 kept them
/// as a string (`log.rs`): a binary that knows only V2 would fail to read such a line, so
/// the version moves on and that binary refuses the file instead.
///
/// The index on the key's prefix becomes unique, so keeping an entry is one
/// `INSERT OR REPLACE` instead of a delete and an insert. Two keys sharing 63 bits of their
/// hash (about one chance in 10^19 per pair) then evict each other: a miss, never a wrong
/// hit, since a lookup compares the whole key.
const V3: &str = "
DELETE FROM cache WHERE id NOT IN (SELECT max(id) FROM cache GROUP BY prefix);
DROP INDEX cache_by_prefix;
CREATE UNIQUE INDEX cache_by_prefix ON cache (prefix);
";

/// Fewer pages written per commit (docs/store.md):
///
/// - One index for the cache where there were two: on the task and the key's prefix. Every
///   lookup knows the task that computed the key (`Store::cache_get`, a use, a forget), and
///   a preload by task reads the index's leading column. A batch of entries kept updates one
///   index instead of two. Keys sharing 63 bits now evict each other only within one task.
///   The prefix was unique, so the pair is.
/// - The log is keyed by run: each run gets a log key, and its rows' ids carry it in their
///   high 32 bits, the commit's number within the run in the low ones (`log.rs`). A run's
///   log is a range of the table's key, so the index on the run goes: a commit no longer
///   rewrites one of its pages. The rows move to the new table in order, numbered from 1
///   per run. `runs.log_key` is a column of its own, not the rowid, which VACUUM may renumber.
/// - A plait of V3 that opened the store before it was upgraded must not write to it: the
///   log's new table has a new name (`run_log`), so its inserts fail, and a trigger refuses
///   a run without a log key.
const V4: &str = "
DROP INDEX cache_by_prefix;
DROP INDEX cache_by_task;
CREATE UNIQUE INDEX cache_by_task_prefix ON cache (task, prefix);

ALTER TABLE runs ADD COLUMN log_key INTEGER;
UPDATE runs SET log_key = rowid;
CREATE UNIQUE INDEX runs_by_log_key ON runs (log_key);
CREATE TRIGGER runs_need_a_log_key BEFORE INSERT ON runs WHEN NEW.log_key IS NULL
BEGIN
    SELECT RAISE(ABORT, 'this store was upgraded by a newer plait: use that one');
END;
CREATE TABLE run_log (
    id      INTEGER PRIMARY KEY,
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    entries TEXT NOT NULL
);
INSERT INTO run_log (id, run_id, entries)
    SELECT (runs.log_key << 32) + row_number() OVER (PARTITION BY log.run_id ORDER BY log.id),
           log.run_id, log.entries
    FROM log JOIN runs ON runs.run_id = log.run_id;
DROP TABLE log;
";

/// The options a run was started with (`RunSettings`), so that a resume runs it the same
/// way: how many tasks at once, and whether earlier results were reused. Both are NULL in
/// runs recorded before, which read back with no settings. A plait of V4 writing to the
/// store after the upgrade leaves them NULL too: such a run resumes with the defaults.
const V5: &str = "
ALTER TABLE runs ADD COLUMN jobs INTEGER;
ALTER TABLE runs ADD COLUMN no_cache INTEGER;
";

/// Whether the run was cancelled (`Write::Cancel`): a resume of a cancelled run whose
/// revert did not end goes on reverting. A V5 plait writing after the upgrade never sets
/// it: its runs read back as not cancelled, as they did.
const V6: &str = "
ALTER TABLE runs ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0;
";

/// Until when the owner's lease holds (`plait_store::LEASE`), renewed while the run goes:
/// a run owned on another host is interrupted once its lease ran out. NULL in runs recorded
/// before, whose owners on other hosts are taken to be alive, as they were.
const V7: &str = "
ALTER TABLE runs ADD COLUMN owner_lease_until INTEGER;
";

/// The process groups a run's tasks started (`Write::Process`), so that a resume after
/// plait died can stop one still running: its id and its leader's start time. Rows are
/// deleted when their run finishes, so the table holds only unfinished runs' groups.
const V8: &str = "
CREATE TABLE processes (
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    task    TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    pgid    INTEGER NOT NULL,
    started INTEGER NOT NULL
);
CREATE INDEX processes_by_run ON processes (run_id);
";

/// Each attempt's stdout and stderr (`output.rs`): chunks keyed by the attempt's stream and
/// where each starts among the bytes it wrote, the stream's last bytes kept up to a limit.
/// Only attempts that write anything have rows, so a run of silent tasks writes none.
const V9: &str = "
CREATE TABLE output (
    run_id  TEXT NOT NULL REFERENCES runs (run_id),
    task    TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    stream  TEXT NOT NULL,
    start   INTEGER NOT NULL,
    bytes   BLOB NOT NULL,
    PRIMARY KEY (run_id, task, attempt, stream, start)
) WITHOUT ROWID;
";

/// The children running tasks spawned (`Write::Spawned`), in the order spawned (`rowid`):
/// a resume adds them back before anything runs.
const V10: &str = "
CREATE TABLE spawned (
    run_id    TEXT NOT NULL REFERENCES runs (run_id),
    task      TEXT NOT NULL,
    parent    TEXT NOT NULL,
    spawnable TEXT NOT NULL,
    inputs    TEXT NOT NULL
);
CREATE INDEX spawned_by_run ON spawned (run_id);
";

/// Every version in order. A released migration is never edited: a change is a new one.
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(V3),
        M::up(V4),
        M::up(V5),
        M::up(V6),
        M::up(V7),
        M::up(V8),
        M::up(V9),
        M::up(V10),
    ])
}

/// The newest schema version this binary knows.
pub(crate) const LATEST: i64 = 10;

#[cfg(test)]
mod tests {
    use plait_core::TaskState;
    use plait_store::Store;

    use super::*;
    use crate::{SqliteStore, cache};

    /// A store a plait of schema V1 wrote opens, is migrated, and still reads back.
    #[test]
    fn a_v1_store_is_migrated_and_keeps_its_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            migrations().to_version(&mut conn, 1).unwrap();
            conn.execute_batch(
                "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, status, started_at, finished_at, owner_host, owner_pid, owner_started)
                 VALUES ('old', 'demo', 'demo.toml', '', 'hash', '{\"n\":1}', 'succeeded', 1, 2, 'host', 1, 1);
                 INSERT INTO transitions (run_id, task, state, attempt, at, error, outputs)
                 VALUES ('old', 'a', 'succeeded', 1, 2, NULL, '{\"x\":9}');",
            )
            .unwrap();
            let version: i64 = conn
                .pragma_query_value(None, "user_version", |row| row.get(0))
                .unwrap();
            assert_eq!(version, 1);
        }
        let store = SqliteStore::open(&path).unwrap();
        let record = futures::executor::block_on(store.run(&"old".into()))
            .unwrap()
            .expect("the run survives the migration");
        assert_eq!(record.tasks.len(), 1);
        assert_eq!(record.tasks[0].state, TaskState::Succeeded);
        assert_eq!(record.tasks[0].outputs, Some(serde_json::json!({"x": 9})));
        assert_eq!(record.tasks[0].key, None);
        assert_eq!(record.inputs, serde_json::json!({"n": 1}));
        let stats = futures::executor::block_on(store.cache_stats()).unwrap();
        assert_eq!((stats.entries, stats.hits, stats.misses), (0, 0, 0));
        // A resume after the upgrade logs on: the old rows come first, then the log.
        let reverting = plait_store::Transition {
            run_id: "old".into(),
            task: "a".into(),
            state: TaskState::Reverting,
            attempt: 1,
            at: 3,
            error: None,
            key: None,
            ran: None,
        };
        futures::executor::block_on(store.write(vec![plait_store::Write::Transition(reverting)]))
            .unwrap();
        let record = futures::executor::block_on(store.run(&"old".into()))
            .unwrap()
            .unwrap();
        let states: Vec<TaskState> = record.transitions.iter().map(|t| t.state).collect();
        assert_eq!(states, [TaskState::Succeeded, TaskState::Reverting]);
        assert_eq!(record.tasks[0].state, TaskState::Reverting);
        drop(store);

        let conn = rusqlite::Connection::open(&path).unwrap();
        let version: i64 = conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap();
        assert_eq!(version, LATEST);
    }

    /// A V2 cache moves to the unique prefix index: of rows sharing a prefix (two keys with
    /// the same 63 bits), the newest stays; a later entry under that prefix replaces it.
    #[test]
    fn v3_keeps_the_newest_row_per_prefix() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 2).unwrap();
        conn.execute_batch(
            "INSERT INTO cache (prefix, key, task, run_id, outputs, blobs, size, created_at, used_at)
             VALUES (7, 'old', 'a', 'r', '{}', '[]', 2, 1, 1),
                    (7, 'new', 'a', 'r', '{}', '[]', 2, 2, 2),
                    (8, 'other', 'b', 'r', '{}', '[]', 2, 3, 3);",
        )
        .unwrap();
        migrations().to_version(&mut conn, 3).unwrap();
        let keys: Vec<String> = conn
            .prepare("SELECT key FROM cache ORDER BY prefix")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(keys, ["new", "other"]);
        let duplicate = conn.execute(
            "INSERT INTO cache (prefix, key, task, run_id, outputs, blobs, size, created_at, used_at)
             VALUES (8, 'again', 'b', 'r', '{}', '[]', 2, 4, 4)",
            [],
        );
        assert!(duplicate.is_err(), "the prefix index is unique");
    }

    /// From V4 on, the cache has one index, on (task, prefix), and every lookup the store
    /// makes goes through it: none scans the table.
    #[test]
    fn v4_lookups_use_the_one_index() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        migrations().to_version(&mut conn, 3).unwrap();
        conn.execute_batch(
            "INSERT INTO cache (prefix, key, task, run_id, outputs, blobs, size, created_at, used_at)
             VALUES (7, 'k', 'a', 'r', '{}', '[]', 2, 1, 1);",
        )
        .unwrap();
        migrations().to_latest(&mut conn).unwrap();
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'cache'")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(indexes, ["cache_by_task_prefix"]);
        let lookups = [cache::GET, cache::MARK_USED, cache::FORGET, cache::BY_TASK];
        for sql in lookups {
            let mut explain = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
            // Unbound parameters are NULL: the plan does not depend on their values.
            let nulls = vec![rusqlite::types::Null; explain.parameter_count()];
            let plan: Vec<String> = explain
                .query_map(rusqlite::params_from_iter(nulls), |row| row.get(3))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            assert!(
                plan.iter()
                    .any(|step| step.contains("USING INDEX cache_by_task_prefix")),
                "{sql}: {plan:?}"
            );
        }
        let kept: i64 = conn
            .query_row(
                "SELECT count(*) FROM cache WHERE task = 'a' AND prefix = 7",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(kept, 1, "entries survive the migration");
    }

    /// V4 moves each run's log into a range of its own, in order: two runs whose commits
    /// interleaved read back as they were written, and a run logs on after the upgrade.
    #[test]
    fn v4_keeps_each_runs_log_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            migrations().to_version(&mut conn, 3).unwrap();
            let line = |task: &str, at: i64| {
                format!(r#"[{{"task":"{task}","state":"running","attempt":1,"at":{at}}}]"#)
            };
            for run in ["first", "second"] {
                conn.execute(
                    "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, started_at, owner_host, owner_pid, owner_started)
                     VALUES (?1, 'demo', 'demo.toml', '', 'hash', '{}', 1, 'host', 1, 1)",
                    [run],
                )
                .unwrap();
            }
            for (run, task, at) in [
                ("first", "a", 1),
                ("second", "x", 2),
                ("first", "b", 3),
                ("second", "y", 4),
                ("first", "c", 5),
            ] {
                conn.execute(
                    "INSERT INTO log (run_id, entries) VALUES (?1, ?2)",
                    rusqlite::params![run, line(task, at)],
                )
                .unwrap();
            }
        }
        let store = SqliteStore::open(&path).unwrap();
        let tasks = |run: &str| -> Vec<String> {
            futures::executor::block_on(store.run(&run.into()))
                .unwrap()
                .unwrap()
                .transitions
                .into_iter()
                .map(|transition| transition.task.to_string())
                .collect()
        };
        assert_eq!(tasks("first"), ["a", "b", "c"]);
        assert_eq!(tasks("second"), ["x", "y"]);
        let more = plait_store::Transition {
            run_id: "second".into(),
            task: "z".into(),
            state: TaskState::Running,
            attempt: 1,
            at: 6,
            error: None,
            key: None,
            ran: None,
        };
        futures::executor::block_on(store.write(vec![plait_store::Write::Transition(more)]))
            .unwrap();
        assert_eq!(tasks("second"), ["x", "y", "z"]);
        assert_eq!(tasks("first"), ["a", "b", "c"]);

        // What a plait of V3 still running would write fails instead of misplacing rows.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .unwrap();
        let old_log = conn.execute(
            "INSERT INTO log (run_id, entries) VALUES ('first', '[]')",
            [],
        );
        assert!(old_log.is_err(), "the old log table is gone");
        let old_run = conn.execute(
            "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, started_at, owner_host, owner_pid, owner_started)
             VALUES ('third', 'demo', 'demo.toml', '', 'hash', '{}', 1, 'host', 1, 1)",
            [],
        );
        let refused = old_run.unwrap_err().to_string();
        assert!(refused.contains("upgraded by a newer plait"), "{refused}");
    }

    /// A run recorded before V5 reads back with no settings (a resume takes the defaults);
    /// one recorded after, with the settings it was created with.
    #[test]
    fn v5_keeps_a_runs_settings_and_reads_older_runs_without() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        {
            let mut conn = rusqlite::Connection::open(&path).unwrap();
            conn.pragma_update(None, "journal_mode", "WAL").unwrap();
            migrations().to_version(&mut conn, 4).unwrap();
            conn.execute_batch(
                "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, started_at, owner_host, owner_pid, owner_started, log_key)
                 VALUES ('old', 'demo', 'demo.toml', '', 'hash', '{}', 1, 'host', 1, 1, 1);",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&path).unwrap();
        let settings = |run: &str| {
            futures::executor::block_on(store.run(&run.into()))
                .unwrap()
                .unwrap()
                .settings
        };
        assert_eq!(settings("old"), None);
        let new = plait_store::conformance::new_run("new", plait_store::this_process());
        futures::executor::block_on(store.create_run(new.clone())).unwrap();
        assert_eq!(settings("new"), Some(new.settings));
    }
}
