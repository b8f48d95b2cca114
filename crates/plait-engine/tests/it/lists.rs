//! `list<T>` values through a run: a `list<file>` is keyed by each file's content and its
//! files kept and put back by the cache, every listed input file must exist, and a recorded
//! list output comes back from SQLite with its type on a resume.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use plait_core::{Flow, FnTask, Outputs, Port, RunStatus, TaskError, TaskState, Value, ValueType};
use plait_core::{Workflow, task_fn};
use plait_engine::{Engine, RunError, RunOptions};
use plait_store::conformance::{new_run, transition};
use plait_store::{MemoryStore, Store, Write, this_process};
use serde_json::json;

use crate::common::*;

fn files_type() -> ValueType {
    ValueType::list(ValueType::File)
}

/// Writes `a.txt` and `b.txt` into `dir`, `n` in each, and provides them as a list.
fn writer(dir: &std::path::Path, executed: &Arc<Mutex<Vec<String>>>) -> FnTask {
    let (dir, executed) = (dir.to_path_buf(), executed.clone());
    FnTask::raw(
        ints(&["n"]),
        vec![Port::new("files", files_type())],
        move |ctx, inputs| {
            executed.lock().unwrap().push(ctx.task().to_owned());
            let result = inputs.int("n").and_then(|n| {
                let mut files = Vec::new();
                for name in ["a.txt", "b.txt"] {
                    let path = dir.join(name);
                    std::fs::write(&path, format!("{name} {n}"))
                        .map_err(|e| TaskError::permanent(e.to_string()))?;
                    files.push(Value::file(path));
                }
                let files = Value::list(Arc::new(ValueType::File), files);
                Ok(Outputs::new().set("files", files))
            });
            async move { result }
        },
    )
}

/// The listed files' contents, joined: a Rust function over `Vec<PathBuf>`.
fn reader(executed: &Arc<Mutex<Vec<String>>>) -> FnTask {
    let executed = executed.clone();
    task_fn(["files"], ["text"], move |files: Vec<PathBuf>| {
        executed.lock().unwrap().push("read".to_owned());
        let texts = files
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap());
        let text = texts.collect::<Vec<_>>().join("+");
        async move { text }
    })
}

fn taken(executed: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    std::mem::take(&mut *executed.lock().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_files_is_kept_and_put_back_by_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let executed = Arc::new(Mutex::new(Vec::new()));
    let flow = Flow::linear("main")
        .task("write", writer(dir.path(), &executed))
        .task("read", reader(&executed));
    let plan = plan(
        Workflow::new(flow)
            .input("n", ValueType::Int)
            .outputs(["text"]),
    );
    let engine = Engine::new().with_store(Arc::new(MemoryStore::new()));
    let first = engine.run(&plan, [("n", 1)], RunOptions::new()).await;
    assert_eq!(
        first.unwrap().output("text"),
        Some(&Value::from("a.txt 1+b.txt 1"))
    );
    assert_eq!(taken(&executed), ["write", "read"]);

    // Both files are gone: a hit puts each back where it was, and nothing runs.
    for name in ["a.txt", "b.txt"] {
        std::fs::remove_file(dir.path().join(name)).unwrap();
    }
    let again = engine
        .run(&plan, [("n", 1)], RunOptions::new())
        .await
        .unwrap();
    assert!(taken(&executed).is_empty());
    assert_eq!(again.output("text"), Some(&Value::from("a.txt 1+b.txt 1")));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("b.txt")).unwrap(),
        "b.txt 1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_of_input_files_is_keyed_by_each_content_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let executed = Arc::new(Mutex::new(Vec::new()));
    let flow = Flow::linear("main").task("read", reader(&executed));
    let plan = plan(Workflow::new(flow).input("files", files_type()));
    let engine = Engine::new().with_store(Arc::new(MemoryStore::new()));
    let [a, b] = ["a.txt", "b.txt"].map(|name| dir.path().join(name));
    std::fs::write(&a, "A").unwrap();
    std::fs::write(&b, "B").unwrap();
    let inputs = |paths: [&PathBuf; 2]| {
        let files: Vec<Value> = paths.iter().map(|path| Value::file(*path)).collect();
        vec![("files", Value::list(Arc::new(ValueType::File), files))]
    };
    let run = |paths: [&PathBuf; 2]| engine.run(&plan, inputs(paths), RunOptions::new());
    let text = async |paths: [&PathBuf; 2]| {
        let report = run(paths).await.unwrap();
        report
            .output("text")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(text([&a, &b]).await.as_deref(), Some("A+B"));
    assert_eq!(text([&a, &b]).await.as_deref(), Some("A+B"));
    assert_eq!(
        taken(&executed),
        ["read"],
        "the second run reused the first"
    );
    std::fs::write(&b, "C").unwrap();
    assert_eq!(text([&a, &b]).await.as_deref(), Some("A+C"));
    assert_eq!(text([&b, &a]).await.as_deref(), Some("C+A"));
    assert_eq!(
        taken(&executed),
        ["read", "read"],
        "a content and an order changed"
    );

    let missing = dir.path().join("missing.txt");
    let error = run([&a, &missing]).await.unwrap_err();
    assert!(
        matches!(&error, RunError::MissingListedFile { name, path } if &**name == "files" && *path == missing),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_list_output_recorded_in_sqlite_is_restored_with_its_type() {
    let dir = tempfile::tempdir().unwrap();
    let store = plait_store_sqlite::SqliteStore::open(dir.path().join("plait.db")).unwrap();
    store
        .create_run(new_run("r1", this_process()))
        .await
        .unwrap();
    // `names` completed, then the process died while `count` ran.
    let completed = Write::Completed {
        transition: transition("r1", "names", TaskState::Succeeded, 1, 2),
        outputs: json!({"names": ["a", "b", "c"]}).into(),
    };
    let running = transition("r1", "count", TaskState::Running, 1, 3);
    store
        .write(vec![completed, Write::Transition(running)])
        .await
        .unwrap();
    let record = store.run(&"r1".into()).await.unwrap().unwrap();

    let names = task_fn([], ["names"], || async {
        Err::<Vec<String>, _>(TaskError::permanent("completed before the crash"))
    });
    let count = task_fn(["names"], ["n"], |names: Vec<String>| async move {
        names.len() as i64
    });
    let flow = Flow::linear("main")
        .task("names", names)
        .task("count", count);
    let plan = plan(Workflow::new(flow).outputs(["n", "names"]));
    // The store the run was recorded in resumes it, as `plait resume` does.
    let engine = Engine::new().with_store(Arc::new(store));
    let resumed = engine.resume(&plan, &record, RunOptions::new()).await;
    let report = resumed.unwrap();
    assert_eq!(report.status, RunStatus::Succeeded);
    assert_eq!(report.output("n"), Some(&Value::Int(3)));
    let restored = report.output("names").unwrap();
    assert_eq!(restored.value_type(), ValueType::list(ValueType::String));
    assert_eq!(restored.to_json(), json!(["a", "b", "c"]));
}
