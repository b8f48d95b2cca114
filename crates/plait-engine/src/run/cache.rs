//! The result cache, on the engine's side: a task's key, reusing a result, keeping one.
//!
//! A key is the blake3 hash of what decides a task's result: its path in the plan, its
//! `version`, its code (a command's arguments and environment; a Rust function's type name
//! and the program's build) and the hash of each input value (a `file` by its content).
//! Upstream keys are not part of it, only upstream *values*: a task that re-runs and
//! produces what it produced before leaves its dependents' keys unchanged, so they are
//! reused (early cut-off).
//!
//! The components are recorded with the run, so `plait explain` can say which one changed.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use plait_core::{NodeId, Outputs, Source, TaskCode, TaskSlot, Value, ValueType};
use plait_store::{Blob, CacheEntry, TaskKey, Write};
use serde_json::json;

use super::Shared;
use super::persist::millis;

/// Hex digits of the program's identity.
const PROGRAM_HEX: usize = 32;

/// Plans up to this many tasks read their cache entries up front.
const PRELOAD_MAX_TASKS: usize = 200_000;

/// Queued results written in one batch.
const FLUSH_ENTRIES: usize = 512;

/// The key a task runs under, and the input hashes that went into it (the rest of the
/// components is the plan's, rebuilt only when a key is recorded: a reuse records none).
#[derive(Clone, Debug)]
pub(super) struct Keyed {
    pub(super) key: String,
    inputs: Vec<InputHash>,
    /// Set when the run executes every task whatever the cache holds.
    not_reused: bool,
}

/// An input value's hash: 128 bits of blake3.
type InputHash = [u8; 16];

/// What went into a key, as recorded (the text of a JSON object).
#[derive(serde::Serialize)]
struct Components<'a> {
    task: &'a str,
    version: Option<&'a str>,
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    program: Option<&'a str>,
    #[serde(serialize_with = "as_map")]
    inputs: Vec<(&'a str, InputComponent)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    not_reused: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct InputComponent {
    hash: String,
    from: String,
}

fn as_map<S: serde::Serializer>(
    entries: &[(&str, InputComponent)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(entries.iter().map(|(name, input)| (name, input)))
}

/// What the cache says about a task about to run.
pub(super) enum Decision {
    /// The run has no store: nothing to record.
    Off,
    /// The task runs and its result is not kept; the record says why.
    Uncached(TaskKey),
    /// The task runs and its result is kept for later runs.
    Run(Keyed),
    /// An earlier result for the same key, its outputs decoded.
    Hit(Keyed, CacheEntry, Outputs),
}

/// Results waiting to be written to the cache in a batch. Tasks add to `pending` without
/// waiting; a batch being written holds `writing`, which a forget takes too (see
/// [`Shared::forget_then`]).
#[derive(Default)]
pub(super) struct ResultQueue {
    pending: Mutex<Vec<CacheEntry>>,
    writing: tokio::sync::Mutex<()>,
}

/// Per-run memo of file hashes, so a file many tasks read is hashed once while unchanged.
#[derive(Default)]
pub(super) struct FileHashes {
    files: Mutex<HashMap<PathBuf, (FileStamp, String)>>,
}

/// What tells a file changed without reading it.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
}

impl Shared {
    /// Reads every entry the plan's tasks could reuse, in one go: a lookup per task costs
    /// a read transaction each, more than the task itself when it is small. A plan too big
    /// to hold its entries in memory looks them up one by one instead. The run sees the
    /// cache as it was when it started.
    pub(super) async fn preload_cache(&self) {
        let Some(store) = &self.config.store else {
            return;
        };
        if !self.config.reuse_cached || self.plan.n_tasks() > PRELOAD_MAX_TASKS {
            return;
        }
        let tasks = self
            .plan
            .nodes()
            .iter()
            .filter(|node| node.task().is_some_and(|slot| slot.policy.cache))
            .map(|node| node.path.to_string())
            .collect();
        match store.cache_entries_of(tasks).await {
            Ok(entries) => {
                let entries = entries
                    .into_iter()
                    .map(|entry| (entry.key.clone(), entry))
                    .collect();
                *lock(&self.cache_preloaded) = Some(entries);
            }
            Err(error) => {
                tracing::warn!(%error, "reading the cache failed; looking results up one by one");
            }
        }
    }

    /// Computes the task's key and looks it up.
    pub(super) async fn cache_decision(&self, node: NodeId, values: &[Value]) -> Decision {
        let Some(store) = self.config.store.clone() else {
            return Decision::Off;
        };
        let slot = self.plan.node(node).task().expect("only tasks are run");
        let keyed = match self.cache_key(node, slot, values).await {
            Ok(keyed) => keyed,
            Err(why) => {
                return Decision::Uncached(TaskKey {
                    key: None,
                    components: json!({ "disabled": why }).to_string(),
                    cached_from: None,
                });
            }
        };
        if !self.config.reuse_cached {
            let mut keyed = keyed;
            keyed.not_reused = true;
            return Decision::Run(keyed);
        }
        let preloaded = lock(&self.cache_preloaded)
            .as_mut()
            .map(|entries| entries.remove(&keyed.key));
        let entry = match preloaded {
            Some(entry) => entry,
            None => match store.cache_get(&keyed.key).await {
                Ok(entry) => entry,
                Err(error) => {
                    // A lookup that fails costs a re-execution, not the run.
                    tracing::warn!(%error, task = %self.plan.node(node).path, "cache lookup failed; running the task");
                    None
                }
            },
        };
        let decoded = entry.and_then(|entry| {
            let outputs = super::resume::restore_outputs(&entry.outputs, &slot.provides)?;
            Some((entry, outputs))
        });
        match decoded {
            Some((entry, outputs)) => Decision::Hit(keyed, entry, outputs),
            None => Decision::Run(keyed),
        }
    }

    async fn cache_key(
        &self,
        node: NodeId,
        slot: &TaskSlot,
        values: &[Value],
    ) -> Result<Keyed, String> {
        let task_path = &self.plan.node(node).path;
        if !slot.policy.cache {
            return Err("`cache = false` on the task".to_owned());
        }
        if let Some(port) = slot
            .provides
            .iter()
            .find(|port| matches!(port.ty, ValueType::Native(_)))
        {
            return Err(format!(
                "output `{}` is a native value, which cannot be stored",
                port.name
            ));
        }
        let code = slot
            .task
            .code()
            .ok_or_else(|| "the task does not describe its code (`Task::code`)".to_owned())?;
        let mut hasher = blake3::Hasher::new();
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so no two different component lists hash alike.
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"plait cache key v1");
        field(task_path.as_bytes());
        field(slot.policy.version.as_deref().unwrap_or("").as_bytes());
        match &code {
            TaskCode::Text(text) => {
                field(b"text");
                field(text.as_bytes());
            }
            TaskCode::Compiled(name) => {
                field(b"compiled");
                field(name.as_bytes());
                field(program_identity().as_bytes());
            }
        }
        let mut inputs = Vec::with_capacity(values.len());
        // In port order, which is part of the task's code; the names label them.
        for (port, value) in slot.requires.iter().zip(values) {
            let hash = self
                .value_hash(value)
                .await
                .map_err(|why| format!("input `{}` {why}", port.name))?;
            field(port.name.as_bytes());
            field(&hash);
            inputs.push(hash);
        }
        Ok(Keyed {
            key: hasher.finalize().to_hex().to_string(),
            inputs,
            not_reused: false,
        })
    }

    /// The key as recorded with an execution: its components, for `plait explain`.
    pub(super) fn key_record(&self, node: NodeId, keyed: &Keyed) -> TaskKey {
        let plan_node = self.plan.node(node);
        let slot = plan_node.task().expect("only tasks have keys");
        let code = slot.task.code();
        let (code, program) = match &code {
            Some(TaskCode::Text(text)) => (text.as_str(), None),
            Some(TaskCode::Compiled(name)) => (*name, Some(program_identity())),
            None => ("", None),
        };
        let inputs = slot
            .requires
            .iter()
            .zip(&keyed.inputs)
            .zip(slot.sources.iter())
            .map(|((port, hash), &source)| {
                let input = InputComponent {
                    hash: hex(hash),
                    from: self.source_name(source),
                };
                (&*port.name, input)
            })
            .collect();
        let components = Components {
            task: &plan_node.path,
            version: slot.policy.version.as_deref(),
            code,
            program,
            inputs,
            not_reused: keyed.not_reused.then_some("caching was off for the run"),
        };
        TaskKey {
            key: Some(keyed.key.clone()),
            components: serde_json::to_string(&components).unwrap_or_default(),
            cached_from: None,
        }
    }

    /// Where an input comes from, for `plait explain`: `input <name>` or `<task>.<port>`.
    fn source_name(&self, source: Source) -> String {
        match source {
            Source::Input(idx) => format!("input {}", self.plan.inputs()[idx as usize].name),
            Source::Output { node, port } => {
                let provider = self.plan.node(node);
                let name = provider
                    .task()
                    .map(|slot| slot.provides[port as usize].name.to_string())
                    .unwrap_or_default();
                format!("{}.{name}", provider.path)
            }
        }
    }

    async fn value_hash(&self, value: &Value) -> Result<InputHash, String> {
        let mut hasher = blake3::Hasher::new();
        // A type tag first: `1` the int and `"1"` the string differ.
        hasher.update(value.value_type().name().as_bytes());
        hasher.update(&[0]);
        match value {
            Value::Native(..) => return Err("is a native value, which has no content hash".into()),
            Value::File(path) => {
                let content = self.file_hash(path.to_path_buf()).await?;
                hasher.update(path.as_os_str().as_encoded_bytes());
                hasher.update(&[0]);
                hasher.update(content.as_bytes());
            }
            Value::Json(json) => {
                hasher.update(canonical_json(json).as_bytes());
            }
            Value::String(text) => {
                hasher.update(text.as_bytes());
            }
            Value::Int(n) => {
                hasher.update(&n.to_le_bytes());
            }
            Value::Float(x) => {
                hasher.update(&x.to_bits().to_le_bytes());
            }
            Value::Bool(b) => {
                hasher.update(&[u8::from(*b)]);
            }
        }
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        Ok(hash)
    }

    async fn file_hash(&self, path: PathBuf) -> Result<String, String> {
        let stamp = |meta: &std::fs::Metadata| FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        let meta = std::fs::metadata(&path)
            .map_err(|error| format!("(file {}): {error}", path.display()))?;
        let memo = &self.cache_files.files;
        // A directory's own stamp does not change when a file in it does: hashed each time.
        if !meta.is_dir()
            && let Some((seen, hash)) = lock(memo).get(&path)
            && *seen == stamp(&meta)
        {
            return Ok(hash.clone());
        }
        let shown = path.display().to_string();
        let hashed = path.clone();
        let digest = tokio::task::spawn_blocking(move || plait_store::blobs::digest_path(&hashed))
            .await
            .map_err(|error| format!("(file {shown}): {error}"))?
            .map_err(|error| format!("(file {shown}): {error}"))?;
        lock(memo).insert(path, (stamp(&meta), digest.hash.clone()));
        Ok(digest.hash)
    }

    /// The result of a task that ran under `keyed`, for the cache: its file outputs are kept
    /// in the store first. `None` (logged) if a file cannot be kept.
    pub(super) async fn cache_entry(
        &self,
        node: NodeId,
        keyed: &Keyed,
        outputs: &Outputs,
    ) -> Option<CacheEntry> {
        let store = self.config.store.as_ref()?;
        let plan_node = self.plan.node(node);
        let mut blobs = Vec::new();
        for (name, value) in outputs.iter() {
            let Value::File(path) = value else {
                continue;
            };
            match store.put_blob(path.to_path_buf()).await {
                Ok(blob) => blobs.push((name.to_owned(), blob)),
                Err(error) => {
                    tracing::warn!(%error, task = %plan_node.path, output = name, "cannot keep the file output; the result is not cached");
                    return None;
                }
            }
        }
        let now = millis(self.now());
        Some(CacheEntry {
            key: keyed.key.clone(),
            task: plan_node.path.to_string(),
            run_id: self.config.run_id.to_string(),
            outputs: outputs.to_json(),
            blobs,
            created_at: now,
            used_at: now,
        })
    }

    /// Puts a hit's files back. False if one cannot be: the task runs instead.
    pub(super) async fn restore_files(&self, node: NodeId, entry: &CacheEntry) -> bool {
        let Some(store) = &self.config.store else {
            return false;
        };
        let outputs = entry.outputs.as_object();
        for (name, blob) in &entry.blobs {
            let Some(path) = outputs
                .and_then(|outputs| outputs.get(name))
                .and_then(serde_json::Value::as_str)
            else {
                return false;
            };
            match store
                .restore_blob(Blob::clone(blob), PathBuf::from(path))
                .await
            {
                Ok(true) => {}
                Ok(false) => return false,
                Err(error) => {
                    tracing::warn!(%error, task = %self.plan.node(node).path, output = %name, "cannot restore a cached file; running the task");
                    return false;
                }
            }
        }
        true
    }

    /// The writes recording a reused result: a completion naming the key and the run that
    /// computed it (the components are that run's, so they are not repeated), and the
    /// entry's use when the last one is old.
    pub(super) fn reuse_writes(&self, node: NodeId, keyed: Keyed, entry: CacheEntry) -> Vec<Write> {
        let mut transition = self.transition(node, plait_core::TaskState::Succeeded, 0, None);
        let mut writes = Vec::with_capacity(2);
        if entry.used_at <= transition.at - plait_store::USE_RESOLUTION {
            writes.push(Write::Used {
                run_id: transition.run_id.clone(),
                key: keyed.key.clone(),
                at: transition.at,
            });
        }
        transition.key = Some(TaskKey {
            key: Some(keyed.key),
            components: String::new(),
            cached_from: Some(entry.run_id),
        });
        writes.push(Write::Completed {
            transition,
            outputs: entry.outputs,
        });
        writes
    }

    /// Queues a result for the cache. Entries are derived data, written in batches sorted
    /// by key (one commit, neighbouring pages) rather than one random insert per task on
    /// the critical path; a crash loses only the queue, which costs re-executions.
    pub(super) fn keep_result(&self, entry: CacheEntry) {
        lock(&self.cache_queue.pending).push(entry);
    }

    /// Writes the queued results once there are enough for a batch; called after a task's
    /// dependents were released, so they do not wait for it.
    pub(super) async fn flush_results_if_many(&self) {
        if self.has_store() && lock(&self.cache_queue.pending).len() >= FLUSH_ENTRIES {
            self.flush_results().await;
        }
    }

    /// Writes every queued result.
    pub(super) async fn flush_results(&self) {
        let Some(store) = &self.config.store else {
            return;
        };
        let _writing = self.cache_queue.writing.lock().await;
        let mut entries = std::mem::take(&mut *lock(&self.cache_queue.pending));
        if entries.is_empty() {
            return;
        }
        entries.sort_unstable_by(|a, b| a.key.cmp(&b.key));
        let writes = entries.into_iter().map(Write::Cache).collect();
        // Losing entries costs re-executions, not correctness: the run goes on.
        if let Err(error) = store.write(writes).await {
            tracing::warn!(%error, "keeping results in the cache failed");
        }
    }

    /// Records `write` (a task's `reverting`) after forgetting the result it left in the
    /// cache. With the queue's writing lock held, so a queued entry is dropped and one
    /// being written is deleted after it lands, never before.
    pub(super) async fn forget_then(&self, node: NodeId, key: String, write: Write) -> bool {
        let _writing = self.cache_queue.writing.lock().await;
        lock(&self.cache_queue.pending).retain(|entry| entry.key != key);
        let forget = Write::Forget {
            run_id: self.config.run_id.to_string(),
            key,
        };
        self.commit(node, vec![forget, write]).await
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// JSON with object keys sorted at every level, whatever map the JSON library was built
/// with: the same document always hashes alike.
fn canonical_json(json: &serde_json::Value) -> String {
    fn write(json: &serde_json::Value, out: &mut String) {
        match json {
            serde_json::Value::Object(map) => {
                let mut entries: Vec<_> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (idx, (key, value)) in entries.into_iter().enumerate() {
                    if idx > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(value, out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (idx, item) in items.iter().enumerate() {
                    if idx > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut out = String::new();
    write(json, &mut out);
    out
}

/// Which build of the program is running, for compiled tasks' keys: its executable's path,
/// size and modification time (read once). Rebuilding the program changes it, so compiled
/// code's results are not reused across builds unless the executable is unchanged.
fn program_identity() -> &'static str {
    static IDENTITY: OnceLock<String> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let described = std::env::current_exe().and_then(|exe| {
            let meta = std::fs::metadata(&exe)?;
            let modified = meta
                .modified()?
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            Ok(format!(
                "{}\0{}\0{}",
                exe.display(),
                meta.len(),
                modified.as_nanos()
            ))
        });
        match described {
            Ok(text) => blake3::hash(text.as_bytes()).to_hex()[..PROGRAM_HEX].to_owned(),
            // Unknown: a fresh identity per process, so nothing compiled is reused wrongly.
            Err(_) => uuid::Uuid::now_v7().simple().to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 1}], "x": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,{"p":1,"q":2}]},"b":1}"#
        );
    }
}
