//! The SQLite store: conformance, durability across reopening, group commit, and typed errors
//! for a store that is newer, corrupt, read-only or locked.

use std::time::Duration;

use futures::future::BoxFuture;

use plait_core::TaskState;
use plait_store::conformance::{new_run, transition};
use plait_store::{Store, StoreError, Write, this_process};
use plait_store_sqlite::{SqliteOptions, SqliteStore};

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
        run_id: &str,
    ) -> BoxFuture<'static, Result<Option<plait_store::RunRecord>, StoreError>> {
        self.store.run(run_id)
    }
    fn runs(&self) -> BoxFuture<'static, Result<Vec<plait_store::RunSummary>, StoreError>> {
        self.store.runs()
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
    let record = store.run("r1").await.unwrap().unwrap();
    assert_eq!(record.tasks[0].state, TaskState::Running);
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
                known: 1,
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
