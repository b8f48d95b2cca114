//! The SQLite store: conformance, durability across reopening, group commit, typed errors
//! for a store that is newer, corrupt, read-only or locked, and the cache's files and
//! lookups.

use std::path::PathBuf;
use std::time::Duration;

use futures::future::BoxFuture;

use plait_core::TaskState;
use plait_store::conformance::{lookup, new_run, transition};
use plait_store::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheKey, CacheStats, RunId, Store, StoreError,
    TaskKey, TaskPath, Write, this_process,
};
use plait_store_sqlite::{SqliteOptions, SqliteStore};
use serde_json::json;

/// A store in a directory of its own, removed when the store is dropped.
#[derive(Clone, Debug)]
struct Fresh {
    store: SqliteStore,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

impl Store for Fresh {
    fn create_run(&self, run: plait_store::NewRun) -> BoxFuture<'static, Result<(), StoreError>> {
        self.store.create_run(run)
    }
    fn write(&self, writes: Vec<Write>) -> BoxFuture<'static, Result<(), StoreError>> {
        self.store.write(writes)
    }
    fn run(
        &self,
        run_id: &RunId,
    ) -> BoxFuture<'static, Result<Option<plait_store::RunRecord>, StoreError>> {
        self.store.run(run_id)
    }
    fn runs(&self) -> BoxFuture<'static, Result<Vec<plait_store::RunSummary>, StoreError>> {
        self.store.runs()
    }
    fn cache_get(
        &self,
        task: &TaskPath,
        key: &CacheKey,
    ) -> BoxFuture<'static, Result<Option<CacheEntry>, StoreError>> {
        self.store.cache_get(task, key)
    }
    fn cache_entries_of(
        &self,
        tasks: Vec<TaskPath>,
    ) -> BoxFuture<'static, Result<Vec<CacheEntry>, StoreError>> {
        self.store.cache_entries_of(tasks)
    }
    fn put_blob(&self, path: PathBuf) -> BoxFuture<'static, Result<Blob, StoreError>> {
        self.store.put_blob(path)
    }
    fn restore_blob(
        &self,
        blob: Blob,
        to: PathBuf,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.store.restore_blob(blob, to)
    }
    fn cache_stats(&self) -> BoxFuture<'static, Result<CacheStats, StoreError>> {
        self.store.cache_stats()
    }
    fn cache_gc(&self, gc: CacheGc) -> BoxFuture<'static, Result<CacheGcReport, StoreError>> {
        self.store.cache_gc(gc)
    }
    fn output(
        &self,
        run_id: &RunId,
        task: &TaskPath,
        attempt: u32,
        stream: plait_store::OutputStream,
        from: u64,
    ) -> BoxFuture<'static, Result<Option<plait_store::Output>, StoreError>> {
        self.store.output(run_id, task, attempt, stream, from)
    }
    fn outputs(
        &self,
        run_id: &RunId,
    ) -> BoxFuture<'static, Result<Vec<plait_store::OutputInfo>, StoreError>> {
        self.store.outputs(run_id)
    }
}

fn fresh() -> Fresh {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join(".plait").join("plait.db")).unwrap();
    Fresh {
        store,
        _dir: std::sync::Arc::new(dir),
    }
}

/// A fresh store holding run `r1`.
async fn fresh_with_run() -> Fresh {
    let fresh = fresh();
    fresh
        .store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    fresh
}

plait_store::store_conformance_tests!(fresh());

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_was_written_is_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plait.db");
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .create_run(new_run("r1", this_process()))
            .await
            .unwrap();
        store
            .write(vec![Write::Transition(transition(
                "r1",
                "a",
                TaskState::Running,
                1,
                5,
            ))])
            .await
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.tasks[0].state, TaskState::Running);
}

/// A new store gets 8 KiB pages; a store made with SQLite's default keeps its 4 KiB and
/// still works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_store_has_8_kib_pages_and_an_old_one_keeps_its_own() {
    let page_size = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .pragma_query_value(None, "page_size", |row| row.get(0))
            .unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.db");
    drop(SqliteStore::open(&new).unwrap());
    assert_eq!(page_size(&new), 8_192);

    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (x); DROP TABLE t;")
        .unwrap();
    assert_eq!(page_size(&old), 4_096);
    let store = SqliteStore::open(&old).unwrap();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    assert!(store.run(&"r1".into()).await.unwrap().is_some());
    drop(store);
    assert_eq!(page_size(&old), 4_096);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_share_commits() {
    let fresh = fresh();
    let store = fresh.store.clone();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let writers: Vec<_> = (0..500)
        .map(|idx| {
            let store = store.clone();
            tokio::spawn(async move {
                let write = Write::Transition(transition(
                    "r1",
                    &format!("t{idx}"),
                    TaskState::Running,
                    1,
                    idx,
                ));
                store.write(vec![write]).await
            })
        })
        .collect();
    for writer in writers {
        writer.await.unwrap().unwrap();
    }
    let (commits, writes) = store.commits();
    assert_eq!(writes, 501);
    assert!(
        commits < writes,
        "{commits} commits for {writes} writes: no batching"
    );
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plait.db");
    drop(SqliteStore::open(&path).unwrap());
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", 99).unwrap();
    drop(conn);
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::SchemaTooNew {
                found: 99,
                known: 10,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("upgrade plait"), "{error}");
}

#[test]
fn a_file_that_is_not_a_store_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plait.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let error = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(error, StoreError::Corrupt { .. }), "{error:?}");
}

#[test]
fn a_read_only_directory_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let readonly = dir.path().join("ro");
    std::fs::create_dir(&readonly).unwrap();
    let mut permissions = std::fs::metadata(&readonly).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut permissions, 0o555);
    std::fs::set_permissions(&readonly, permissions).unwrap();
    let result = SqliteStore::open(readonly.join("sub").join("plait.db"));
    // root ignores permissions: then the store simply opens, which is right too.
    if nix_is_root() {
        assert!(result.is_ok());
    } else {
        assert!(
            matches!(result, Err(StoreError::ReadOnly { .. })),
            "{result:?}"
        );
    }
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_locked_by_another_process_gives_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plait.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_millis(100),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).unwrap();
    // Another connection holds the write lock, as another plait mid-commit would.
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let error = store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap_err();
    assert!(matches!(error, StoreError::Locked { .. }), "{error:?}");
    holder.execute_batch("ROLLBACK").unwrap();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
}

#[test]
fn many_processes_may_create_one_store_at_once() {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plait.db");
        let openers: Vec<_> = (0..4)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || SqliteStore::open(&path).map(drop))
            })
            .collect();
        for opener in openers {
            opener.join().unwrap().unwrap();
        }
    }
}

fn entry(key: &str, blobs: Vec<(String, Blob)>) -> CacheEntry {
    CacheEntry {
        key: key.into(),
        task: "a".into(),
        run_id: "r1".into(),
        outputs: json!({"out": "out.bin"}).into(),
        blobs,
        created_at: 7,
        used_at: 7,
    }
}

fn completed(task: &str, cache: Option<CacheEntry>) -> Vec<Write> {
    let mut writes = vec![Write::Completed {
        transition: transition("r1", task, TaskState::Succeeded, 1, 7),
        outputs: json!({"out": "out.bin"}).into(),
    }];
    writes.extend(cache.map(Write::Cache));
    writes
}

fn running_with_key(task: &str, key: TaskKey) -> Write {
    let mut running = transition("r1", task, TaskState::Running, 1, 6);
    running.key = Some(key);
    Write::Transition(running)
}

fn task_key(key: &str) -> TaskKey {
    TaskKey {
        key: Some(key.into()),
        components: json!({"task": "a", "inputs": {"n": "hash"}}).to_string(),
        cached_from: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cache_and_its_files_are_there_after_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".plait").join("plait.db");
    let output = dir.path().join("out.bin");
    std::fs::write(&output, b"kept").unwrap();
    {
        let store = SqliteStore::open(&path).unwrap();
        store
            .create_run(new_run("r1", this_process()))
            .await
            .unwrap();
        let blob = store.put_blob(output.clone()).await.unwrap();
        let mut writes = vec![running_with_key("a", task_key("k1"))];
        writes.extend(completed(
            "a",
            Some(entry("k1", vec![("out".to_owned(), blob)])),
        ));
        store.write(writes).await.unwrap();
    }
    // The files are kept beside the database.
    let kept = dir.path().join(".plait").join("blobs");
    assert!(kept.is_dir(), "no blob directory at {}", kept.display());

    let store = SqliteStore::open(&path).unwrap();
    let found = lookup(&store, "a", "k1").await.expect("cached");
    assert_eq!(found.blobs.len(), 1);
    assert_eq!(found.blobs[0].1.size, 4);
    std::fs::remove_file(&output).unwrap();
    assert!(
        store
            .restore_blob(found.blobs[0].1.clone(), output.clone())
            .await
            .unwrap()
    );
    assert_eq!(std::fs::read(&output).unwrap(), b"kept");
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.tasks[0].key, Some(task_key("k1")));
}

/// A key rides on transitions: the latest (here a retry's) wins; a reuse keeps the key and the run it came
/// from, not the components (they are the source run's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_are_read_back_from_the_transitions_that_carry_them() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let mut reused = task_key("k2");
    reused.cached_from = Some("r0".into());
    let mut hit = transition("r1", "b", TaskState::Succeeded, 0, 3);
    hit.key = Some(reused.clone());
    store
        .write(vec![
            running_with_key("a", task_key("old")),
            Write::Transition(transition("r1", "a", TaskState::Retrying, 1, 6)),
            running_with_key("a", task_key("new")),
            Write::Transition(transition("r1", "a", TaskState::Failed, 1, 7)),
            Write::Completed {
                transition: hit,
                outputs: json!({"y": 1}).into(),
            },
        ])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    let tasks: Vec<(&str, TaskState, Option<TaskKey>)> = record
        .tasks
        .iter()
        .map(|task| (task.task.as_str(), task.state, task.key.clone()))
        .collect();
    reused.components = String::new();
    assert_eq!(
        tasks,
        [
            ("a", TaskState::Failed, Some(task_key("new"))),
            ("b", TaskState::Succeeded, Some(reused))
        ]
    );
    assert!(record.tasks[1].cached());
}

/// A file a gc removed after the task kept it, before its completion was committed: the
/// completion is recorded, the entry is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_whose_file_a_gc_removed_meanwhile_is_not_cached() {
    let fresh = fresh();
    let store = &fresh.store;
    let output = fresh._dir.path().join("out.bin");
    std::fs::write(&output, b"bytes").unwrap();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    let blob = store.put_blob(output).await.unwrap();
    let report = store.cache_gc(CacheGc::default()).await.unwrap();
    assert_eq!(report.blobs_removed, 1, "no entry names the file yet");
    store
        .write(completed(
            "a",
            Some(entry("k1", vec![("out".to_owned(), blob)])),
        ))
        .await
        .unwrap();
    assert!(lookup(store, "a", "k1").await.is_none());
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    assert_eq!(record.tasks[0].state, TaskState::Succeeded);
}

/// Lookups have a connection of their own: one answers while the writer waits for a lock
/// another process holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lookup_does_not_wait_for_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plait.db");
    let options = SqliteOptions {
        busy_timeout: Duration::from_secs(5),
        ..SqliteOptions::default()
    };
    let store = SqliteStore::open_with(&path, options).unwrap();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    store
        .write(completed("a", Some(entry("k1", Vec::new()))))
        .await
        .unwrap();
    let holder = rusqlite::Connection::open(&path).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let blocked = tokio::spawn({
        let store = store.clone();
        async move {
            store
                .write(vec![Write::Transition(transition(
                    "r1",
                    "b",
                    TaskState::Running,
                    1,
                    8,
                ))])
                .await
        }
    });
    // Let the writer reach the lock.
    std::thread::sleep(Duration::from_millis(50));
    let started = std::time::Instant::now();
    let found = lookup(&store, "a", "k1").await;
    assert!(found.is_some());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the lookup waited {:?}",
        started.elapsed()
    );
    assert!(!blocked.is_finished(), "the writer should still be waiting");
    holder.execute_batch("ROLLBACK").unwrap();
    blocked.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_gc_keeps_every_file() {
    let fresh = fresh();
    let store = &fresh.store;
    let output = fresh._dir.path().join("out.bin");
    std::fs::write(&output, b"bytes").unwrap();
    let blob = store.put_blob(output.clone()).await.unwrap();
    let dry = store
        .cache_gc(CacheGc {
            dry_run: true,
            ..CacheGc::default()
        })
        .await
        .unwrap();
    assert_eq!(dry.blobs_removed, 1);
    assert_eq!(store.cache_stats().await.unwrap().blobs, 1);
    std::fs::remove_file(&output).unwrap();
    assert!(store.restore_blob(blob, output).await.unwrap());
}

/// A run's preload reads the whole table when the cache is about the plan's size, and asks
/// per task when it is much bigger: both give the same entries.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_of_tasks_by_scan_or_by_index() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let mut writes = Vec::new();
    for idx in 0..12 {
        let mut cached = entry(&format!("k{idx}"), Vec::new());
        cached.task = if idx < 10 { "a" } else { "b" }.into();
        writes.push(Write::Cache(cached));
    }
    store.write(writes).await.unwrap();
    let keys = |entries: Vec<CacheEntry>| {
        let mut keys: Vec<String> = entries.iter().map(|entry| entry.key.to_string()).collect();
        keys.sort();
        keys
    };
    // 12 entries for 1 task wanted: by the index.
    let of_b = store.cache_entries_of(vec!["b".into()]).await.unwrap();
    assert_eq!(keys(of_b), ["k10", "k11"]);
    // 12 entries for 3 tasks wanted: one pass over the table.
    let tasks = vec!["a".into(), "b".into(), "c".into()];
    assert_eq!(store.cache_entries_of(tasks).await.unwrap().len(), 12);
    assert!(
        store
            .cache_entries_of(vec!["c".into()])
            .await
            .unwrap()
            .is_empty()
    );
}

/// A cache big enough is read in parallel parts (rowid ranges): every wanted entry comes
/// back once, including entries replaced since (a gap in the rowids), and no other.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_big_cache_is_read_in_parts_and_nothing_is_lost_or_doubled() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let n = 9_000;
    let task = |idx: usize| TaskPath::from(format!("t{}", idx % 3_000));
    let writes = (0..n)
        .map(|idx| {
            let mut cached = entry(&format!("k{idx}"), Vec::new());
            cached.task = task(idx);
            Write::Cache(cached)
        })
        .collect();
    store.write(writes).await.unwrap();
    // Replacing entries moves them to the end of the table and leaves gaps behind.
    let replaced = (0..n)
        .step_by(7)
        .map(|idx| {
            let mut cached = entry(&format!("k{idx}"), Vec::new());
            cached.task = task(idx);
            cached.used_at = 99;
            Write::Cache(cached)
        })
        .collect();
    store.write(replaced).await.unwrap();
    // Every task but t0..t99 wanted: 2,900 of 3,000, so 8,700 entries, read by scan.
    let wanted: Vec<TaskPath> = (100..3_000).map(|idx| format!("t{idx}").into()).collect();
    let found = store.cache_entries_of(wanted).await.unwrap();
    let mut keys: Vec<usize> = found
        .iter()
        .map(|entry| entry.key.as_str()[1..].parse().unwrap())
        .collect();
    keys.sort_unstable();
    let expected: Vec<usize> = (0..n).filter(|idx| idx % 3_000 >= 100).collect();
    assert_eq!(keys, expected);
    for entry in &found {
        let idx: usize = entry.key.as_str()[1..].parse().unwrap();
        assert_eq!(
            entry.used_at,
            if idx.is_multiple_of(7) { 99 } else { 7 },
            "{}",
            entry.key
        );
    }
}

/// Components are kept as the JSON they are, and read back as the same text; text that is
/// not a JSON object (a store's caller may write anything) comes back unchanged too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_come_back_as_written() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let texts = [
        json!({"task": "a", "inputs": {"n": {"hash": "h\"1", "from": "input n"}}}).to_string(),
        "not json {".to_owned(),
        "\"a string\"".to_owned(),
        "[1,2]".to_owned(),
        " {\"spaced\": true} ".to_owned(),
        String::new(),
    ];
    let writes = texts
        .iter()
        .enumerate()
        .map(|(idx, text)| {
            let mut key = task_key(&format!("k{idx}"));
            key.components = text.clone();
            running_with_key(&format!("t{idx}"), key)
        })
        .collect();
    store.write(writes).await.unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    let read: Vec<String> = record
        .tasks
        .iter()
        .map(|task| task.key.as_ref().unwrap().components.clone())
        .collect();
    assert_eq!(read, texts);
}

/// Logs written before components were embedded as JSON kept them as a string: those read
/// back the same.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn components_logged_as_a_string_still_read_back() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let components = json!({"task": "a", "inputs": {}}).to_string();
    let line = json!([{
        "task": "a", "state": "running", "attempt": 1, "at": 5,
        "key": "k1", "components": components,
    }]);
    let conn = rusqlite::Connection::open(store.path()).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    // The first row of r1's log: its log key in the high bits (`log.rs`).
    conn.execute(
        "INSERT INTO run_log (id, run_id, entries)
         VALUES (((SELECT log_key FROM runs WHERE run_id = 'r1') << 32) + 1, 'r1', ?1)",
        [line.to_string()],
    )
    .unwrap();
    drop(conn);
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    let key = record.tasks[0].key.clone().unwrap();
    assert_eq!(key.components, components);
    assert_eq!(key.key.as_ref().map(CacheKey::as_str), Some("k1"));
}

/// Outputs the store accepts as JSON text but no JSON tree can hold (a number out of
/// range) cost that one task its recorded outputs, not the run its log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outputs_no_tree_can_hold_do_not_make_the_run_unreadable() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let odd = plait_store::Json::parse(r#"{"x":1e400}"#.to_owned()).unwrap();
    store
        .write(vec![
            Write::Completed {
                transition: transition("r1", "odd", TaskState::Succeeded, 1, 5),
                outputs: odd,
            },
            Write::Completed {
                transition: transition("r1", "fine", TaskState::Succeeded, 1, 6),
                outputs: json!({"y": 2}).into(),
            },
        ])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();
    let outputs: Vec<(&str, TaskState, Option<serde_json::Value>)> = record
        .tasks
        .iter()
        .map(|task| (task.task.as_str(), task.state, task.outputs.clone()))
        .collect();
    assert_eq!(
        outputs,
        [
            ("odd", TaskState::Succeeded, None),
            ("fine", TaskState::Succeeded, Some(json!({"y": 2}))),
        ]
    );
}

/// The cache's use counts are written with the commit that keeps entries or ends a run, not
/// in every commit; until then the stats add those the writer holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_counts_are_written_with_a_run_end_and_counted_meanwhile() {
    let fresh = fresh_with_run().await;
    let store = &fresh.store;
    let written = || -> (i64, i64) {
        let conn = rusqlite::Connection::open(store.path()).unwrap();
        conn.busy_timeout(Duration::from_secs(10)).unwrap();
        conn.query_row("SELECT hits, misses FROM cache_counts", [], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .unwrap()
    };
    let mut reused = task_key("k2");
    reused.cached_from = Some("r0".into());
    let mut hit = transition("r1", "b", TaskState::Succeeded, 0, 3);
    hit.key = Some(reused);
    store
        .write(vec![
            running_with_key("a", task_key("k1")),
            Write::Completed {
                transition: hit,
                outputs: json!({"y": 1}).into(),
            },
        ])
        .await
        .unwrap();
    assert_eq!(written(), (0, 0), "not written by a commit of transitions");
    let stats = store.cache_stats().await.unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
    store
        .write(vec![Write::RunFinished {
            run_id: "r1".into(),
            status: plait_core::RunStatus::Succeeded,
            at: 9,
        }])
        .await
        .unwrap();
    assert_eq!(written(), (1, 1));
    let stats = store.cache_stats().await.unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1), "counted once");
}

/// A store opened afresh reads a run's recorded states back before it judges a write to it
/// (the conformance tests check the refusal itself).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reopened_store_judges_transitions_by_what_is_recorded() {
    let fresh = fresh_with_run().await;
    fresh
        .store
        .write(vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Running,
            1,
            5,
        ))])
        .await
        .unwrap();
    let reopened = SqliteStore::open(fresh.store.path()).unwrap();
    let refused = reopened
        .write(vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Reverted,
            1,
            6,
        ))])
        .await;
    assert_eq!(
        refused.unwrap_err().to_string(),
        "run `r1`: task `a` cannot be recorded as `reverted` after `running`: this is a bug in plait, please report it"
    );
    reopened
        .write(vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Succeeded,
            1,
            7,
        ))])
        .await
        .unwrap();
}

/// A run this store let go of and another process resumed is read again when this store
/// claims it back: its next transition is judged against what the other process recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_run_is_judged_by_what_others_recorded_since() {
    let here = fresh_with_run().await;
    let path = here._dir.path().join(".plait").join("plait.db");
    let release = || Write::Release {
        run_id: "r1".into(),
    };
    let claim = || Write::Claim {
        run_id: "r1".into(),
        owner: this_process(),
        lease_until: plait_store::now_millis() + 60_000,
    };
    let write = |store: &SqliteStore, writes: Vec<Write>| {
        let store = store.clone();
        async move { store.write(writes).await }
    };
    write(
        &here.store,
        vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Running,
            1,
            1_001,
        ))],
    )
    .await
    .unwrap();
    write(&here.store, vec![release()]).await.unwrap();
    // Another process resumes the run and finishes `a`.
    let there = SqliteStore::open(&path).unwrap();
    write(&there, vec![claim()]).await.unwrap();
    write(
        &there,
        vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Succeeded,
            1,
            1_002,
        ))],
    )
    .await
    .unwrap();
    write(&there, vec![release()]).await.unwrap();
    // Back here, `a` is succeeded, so its revert may begin.
    write(&here.store, vec![claim()]).await.unwrap();
    write(
        &here.store,
        vec![Write::Transition(transition(
            "r1",
            "a",
            TaskState::Reverting,
            1,
            1_003,
        ))],
    )
    .await
    .unwrap();
}
