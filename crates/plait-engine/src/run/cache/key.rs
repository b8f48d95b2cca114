//! Cache keys: what goes into one (each input value's hash, from `value_hash.rs`; a `file`'s
//! content hashed through the run's memo), and the components recorded for `plait explain`.

use std::sync::OnceLock;
use std::time::SystemTime;

use plait_core::{NodeId, Source, TaskCode, TaskSlot, Value, ValueType};
use plait_store::{CacheKey, TaskKey};

use super::components::{Components, Input};
use crate::run::Shared;
use crate::value_hash::{InputHash, value_hash};

/// Hex digits of the program's identity.
const PROGRAM_HEX: usize = 32;

/// The key a task runs under, and the input hashes that went into it (the rest of the
/// components is the plan's, rebuilt only when a key is recorded: a reuse records none).
#[derive(Clone, Debug)]
pub(crate) struct Keyed {
    pub(crate) key: CacheKey,
    inputs: Vec<InputHash>,
    /// The content hash (hex) of each input holding files, by its index among the inputs
    /// (a `list<file>`'s is one hash of its files' hashes): recorded so that `plait explain`
    /// can tell a changed content from a changed path.
    contents: Vec<(usize, String)>,
    /// Set when the run executes every task whatever the cache holds.
    pub(crate) not_reused: bool,
}

impl Shared {
    pub(crate) async fn cache_key(
        &self,
        node: NodeId,
        slot: &TaskSlot,
        values: &[Value],
    ) -> Result<Keyed, String> {
        let task_path = &self.graph.node(node).path;
        if !slot.policy.cache {
            return Err("`cache = false` on the task".to_owned());
        }
        if let Some(port) = slot
            .provides()
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
        // Gathered, then hashed in one call: blake3's incremental hasher costs more per
        // `update` than these short fields cost to copy.
        let mut material = Vec::with_capacity(256 + values.len() * 64);
        let mut field = |bytes: &[u8]| {
            // Length-prefixed, so no two different component lists hash alike.
            let len = u32::try_from(bytes.len()).expect("no component is 4 GiB");
            material.extend_from_slice(&len.to_le_bytes());
            material.extend_from_slice(bytes);
        };
        field(b"plait cache key v2");
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
        let mut contents = Vec::new();
        // In port order, which is part of the task's code; the names label them.
        for (idx, (port, value)) in slot.requires().iter().zip(values).enumerate() {
            let mut file_contents = Vec::new();
            for path in value.files() {
                let content = self.cache.files.hash(path.to_path_buf()).await;
                file_contents.push(content.map_err(|why| format!("input `{}` {why}", port.name))?);
            }
            let content_refs: Vec<&str> = file_contents.iter().map(String::as_str).collect();
            let hash = value_hash(value, &content_refs)
                .map_err(|why| format!("input `{}` {why}", port.name))?;
            let content = recorded_content(value, file_contents);
            field(port.name.as_bytes());
            field(&hash);
            inputs.push(hash);
            if let Some(content) = content {
                contents.push((idx, content));
            }
        }
        Ok(Keyed {
            key: CacheKey::from(blake3::hash(&material).to_hex().as_str()),
            inputs,
            contents,
            not_reused: false,
        })
    }

    /// The key as recorded with an execution: its components, for `plait explain`.
    pub(crate) fn key_record(&self, node: NodeId, keyed: &Keyed) -> TaskKey {
        let plan_node = self.graph.node(node);
        let slot = plan_node.task().expect("only tasks have keys");
        let code = slot.task.code();
        let (code, program) = match &code {
            Some(TaskCode::Text(text)) => (text.as_str(), None),
            Some(TaskCode::Compiled(name)) => (*name, Some(program_identity())),
            None => ("", None),
        };
        let components = Components {
            task: &plan_node.path,
            version: slot.policy.version.as_deref(),
            code,
            program,
            not_reused: keyed.not_reused.then_some("caching was off for the run"),
        };
        let inputs = slot
            .requires()
            .iter()
            .zip(&keyed.inputs)
            .zip(slot.sources.iter())
            .enumerate()
            .map(|(idx, ((port, hash), &source))| Input {
                name: &port.name,
                hash,
                from: self.source_name(source, &plan_node.path, &port.name),
                content: keyed
                    .contents
                    .iter()
                    .find(|(file_idx, _)| *file_idx == idx)
                    .map(|(_, content)| content.as_str()),
            });
        TaskKey {
            key: Some(keyed.key.clone()),
            components: components.write(inputs),
            cached_from: None,
        }
    }

    /// Where input `input` of `task` comes from, for `plait explain`: `input <name>`,
    /// `<task>.<port>`, or for a value a parent gave, `given <task>.<input>` (in pieces,
    /// written one after the other).
    fn source_name<'a>(&'a self, source: Source, task: &'a str, input: &'a str) -> [&'a str; 4] {
        match source {
            Source::Input(idx) => [
                "input ",
                &self.graph.plan().inputs()[idx as usize].name,
                "",
                "",
            ],
            Source::Output { node, port } => {
                let provider = self.graph.node(node);
                let name = provider
                    .task()
                    .map_or("", |slot| &*slot.provides()[port as usize].name);
                [&provider.path, ".", name, ""]
            }
            // The record of the child's spawn holds the value.
            Source::Given(_) => ["given ", task, ".", input],
        }
    }
}

/// What a key records of an input's file contents: a `file`'s content hash, or for a value
/// holding several files, one hash of theirs in order; `None` without files.
fn recorded_content(value: &Value, mut contents: Vec<String>) -> Option<String> {
    match value {
        Value::File(_) => contents.pop(),
        _ if contents.is_empty() => None,
        _ => {
            let mut hasher = blake3::Hasher::new();
            for content in &contents {
                hasher.update(content.as_bytes());
                hasher.update(&[0]);
            }
            Some(hasher.finalize().to_hex().to_string())
        }
    }
}

/// Lower-case hex, written into `out` (this runs for every input of every executed task).
pub(super) fn hex<'a>(bytes: &[u8; 16], out: &'a mut [u8; 32]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for (byte, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0f)];
    }
    std::str::from_utf8(out).expect("hex digits are ASCII")
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
    fn hex_is_lower_case_two_digits_a_byte() {
        let mut bytes = [0x11; 16];
        bytes[..4].copy_from_slice(&[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(
            hex(&bytes, &mut [0; 32]),
            "000fa5ff111111111111111111111111"
        );
    }
}
