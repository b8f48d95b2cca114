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

/// Hex digits of an input's hash kept in the components: 128 bits.
const INPUT_HASH_HEX: usize = 32;

/// The key a task runs under, and what went into it.
#[derive(Clone, Debug)]
pub(super) struct Keyed {
    pub(super) key: String,
    components: serde_json::Value,
}

impl Keyed {
    pub(super) fn record(&self, cached_from: Option<String>) -> TaskKey {
        TaskKey {
            key: Some(self.key.clone()),
            components: self.components.clone(),
            cached_from,
        }
    }
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
                    components: json!({ "disabled": why }),
                    cached_from: None,
                });
            }
        };
        if !self.config.reuse_cached {
            let mut keyed = keyed;
            keyed.components["not_reused"] = json!("caching was off for the run");
            return Decision::Run(keyed);
        }
        let entry = match store.cache_get(&keyed.key).await {
            Ok(entry) => entry,
            Err(error) => {
                // A lookup that fails costs a re-execution, not the run.
                tracing::warn!(%error, task = %self.plan.node(node).path, "cache lookup failed; running the task");
                None
            }
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
        let mut hasher = blake3::Hasher::new();
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so no two different component lists hash alike.
            hasher.update(&(bytes.len() as u64).to_le_bytes());
            hasher.update(bytes);
        };
        field(b"plait cache key v1");
        field(task_path.as_bytes());
        let version = slot.policy.version.as_deref();
        field(version.unwrap_or("").as_bytes());
        let mut components = serde_json::Map::new();
        components.insert("task".into(), json!(&**task_path));
        components.insert("version".into(), json!(version));
        match slot.task.code() {
            None => return Err("the task does not describe its code (`Task::code`)".to_owned()),
            Some(TaskCode::Text(text)) => {
                field(b"text");
                field(text.as_bytes());
                components.insert("code".into(), json!(text));
            }
            Some(TaskCode::Compiled(name)) => {
                let program = program_identity();
                field(b"compiled");
                field(name.as_bytes());
                field(program.as_bytes());
                components.insert("code".into(), json!(name));
                components.insert("program".into(), json!(program));
            }
        }
        let mut inputs = serde_json::Map::new();
        // In port order, which is part of the task's code; the names label them.
        for ((port, value), &source) in slot.requires.iter().zip(values).zip(slot.sources.iter()) {
            let hash = self
                .value_hash(value)
                .await
                .map_err(|why| format!("input `{}` {why}", port.name))?;
            field(port.name.as_bytes());
            field(hash.as_bytes());
            inputs.insert(
                port.name.to_string(),
                json!({ "hash": hash, "from": self.source_name(source) }),
            );
        }
        components.insert("inputs".into(), serde_json::Value::Object(inputs));
        Ok(Keyed {
            key: hasher.finalize().to_hex().to_string(),
            components: serde_json::Value::Object(components),
        })
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

    async fn value_hash(&self, value: &Value) -> Result<String, String> {
        let text = match value {
            Value::Native(..) => return Err("is a native value, which has no content hash".into()),
            Value::File(path) => {
                let content = self.file_hash(path.to_path_buf()).await?;
                format!("file\0{}\0{content}", path.display())
            }
            Value::Json(json) => format!("json\0{}", canonical_json(json)),
            other => format!("{}\0{}", other.value_type().name(), other.to_text()),
        };
        let hash = blake3::hash(text.as_bytes()).to_hex();
        Ok(hash[..INPUT_HASH_HEX].to_owned())
    }

    async fn file_hash(&self, path: PathBuf) -> Result<String, String> {
        let stamp = |meta: &std::fs::Metadata| FileStamp {
            len: meta.len(),
            modified: meta.modified().ok(),
        };
        let meta = std::fs::metadata(&path)
            .map_err(|error| format!("(file {}): {error}", path.display()))?;
        let memo = &self.cache_files.files;
        if let Some((seen, hash)) = lock(memo).get(&path)
            && *seen == stamp(&meta)
        {
            return Ok(hash.clone());
        }
        let shown = path.display().to_string();
        let hashed = path.clone();
        let digest = tokio::task::spawn_blocking(move || plait_store::blobs::digest_file(&hashed))
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

    /// The writes recording a reused result.
    pub(super) fn reuse_writes(
        &self,
        node: NodeId,
        keyed: &Keyed,
        entry: &CacheEntry,
        outputs: &Outputs,
    ) -> Vec<Write> {
        let at = millis(self.now());
        vec![
            Write::Key {
                run_id: self.config.run_id.to_string(),
                task: self.plan.node(node).path.to_string(),
                key: keyed.record(Some(entry.run_id.clone())),
                at,
            },
            Write::Completed {
                transition: self.transition(node, plait_core::TaskState::Succeeded, 0, None),
                outputs: outputs.to_json(),
                cache: None,
            },
        ]
    }
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
            Ok(text) => blake3::hash(text.as_bytes()).to_hex()[..INPUT_HASH_HEX].to_owned(),
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
