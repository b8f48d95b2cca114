//! Cache keys: what goes into one, hashing input values (a `file` by its content, a
//! directory as a tree), and the components recorded for `plait explain`.

use std::sync::OnceLock;
use std::time::SystemTime;

use plait_core::{NodeId, Source, TaskCode, TaskSlot, Value, ValueType};
use plait_store::{CacheKey, TaskKey};

use super::components::{Components, Input};
use crate::run::Shared;

/// Hex digits of the program's identity.
const PROGRAM_HEX: usize = 32;

/// The key a task runs under, and the input hashes that went into it (the rest of the
/// components is the plan's, rebuilt only when a key is recorded: a reuse records none).
#[derive(Clone, Debug)]
pub(crate) struct Keyed {
    pub(crate) key: CacheKey,
    inputs: Vec<InputHash>,
    /// Set when the run executes every task whatever the cache holds.
    pub(crate) not_reused: bool,
}

/// An input value's hash: 128 bits of blake3, or the value itself when it fits (see
/// [`inline_hash`]).
type InputHash = [u8; 16];

/// The first byte of a value that stands for its own hash. A blake3 hash matches an inlined
/// value only by a 128-bit collision.
const INLINE: u8 = 0xff;

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
        // In port order, which is part of the task's code; the names label them.
        for (port, value) in slot.requires().iter().zip(values) {
            let hash = self
                .value_hash(value)
                .await
                .map_err(|why| format!("input `{}` {why}", port.name))?;
            field(port.name.as_bytes());
            field(&hash);
            inputs.push(hash);
        }
        Ok(Keyed {
            key: CacheKey::from(blake3::hash(&material).to_hex().as_str()),
            inputs,
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
            .map(|((port, hash), &source)| Input {
                name: &port.name,
                hash,
                from: self.source_name(source),
            });
        TaskKey {
            key: Some(keyed.key.clone()),
            components: components.write(inputs),
            cached_from: None,
        }
    }

    /// Where an input comes from, for `plait explain`: `input <name>` or `<task>.<port>`
    /// (in pieces, written one after the other).
    fn source_name(&self, source: Source) -> [&str; 3] {
        match source {
            Source::Input(idx) => ["input ", &self.graph.plan().inputs()[idx as usize].name, ""],
            Source::Output { node, port } => {
                let provider = self.graph.node(node);
                let name = provider
                    .task()
                    .map_or("", |slot| &*slot.provides()[port as usize].name);
                [&provider.path, ".", name]
            }
        }
    }

    async fn value_hash(&self, value: &Value) -> Result<InputHash, String> {
        if let Some(hash) = inline_hash(value) {
            return Ok(hash);
        }
        // A type tag first: `1` the int and `"1"` the string differ.
        let ty = value.value_type();
        let mut hasher = blake3::Hasher::new();
        hasher.update(ty.name().as_bytes());
        hasher.update(&[0]);
        match value {
            Value::Native(..) => return Err("is a native value, which has no content hash".into()),
            Value::File(path) => {
                let content = self.cache.files.hash(path.to_path_buf()).await?;
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
            Value::Int(_) | Value::Float(_) | Value::Bool(_) => {
                unreachable!("numbers and booleans are their own hash")
            }
        }
        let mut hash = [0u8; 16];
        hash.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
        Ok(hash)
    }
}

/// A number, a boolean or a short string as its own hash: a type code and the value's bytes,
/// after [`INLINE`]. Most inputs are such values, and hashing them took three times what the
/// rest of a key costs.
fn inline_hash(value: &Value) -> Option<InputHash> {
    let mut hash = [0u8; 16];
    hash[0] = INLINE;
    let number;
    let (code, bytes): (u8, &[u8]) = match value {
        Value::Int(n) => {
            number = n.to_le_bytes();
            (b'i', &number)
        }
        Value::Float(x) => {
            number = x.to_bits().to_le_bytes();
            (b'f', &number)
        }
        Value::Bool(b) => (b'b', if *b { &[1] } else { &[0] }),
        // The length goes in too: "a" and "a\0" differ.
        Value::String(text) if text.len() <= 13 => (b's', text.as_bytes()),
        _ => return None,
    };
    hash[1] = code;
    hash[2] = bytes.len() as u8;
    hash[3..3 + bytes.len()].copy_from_slice(bytes);
    Some(hash)
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
    use serde_json::json;

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        let mut bytes = [0x11; 16];
        bytes[..4].copy_from_slice(&[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(
            hex(&bytes, &mut [0; 32]),
            "000fa5ff111111111111111111111111"
        );
    }

    #[test]
    fn small_values_are_their_own_hash_and_never_alike() {
        let values = [
            Value::Int(1),
            Value::Int(-1),
            Value::Float(1.0),
            Value::Bool(true),
            Value::Bool(false),
            Value::String("".into()),
            Value::String("a".into()),
            Value::String("a\0".into()),
            Value::String("\u{1}".into()),
            Value::String("thirteen char".into()),
        ];
        let hashes: Vec<InputHash> = values.iter().map(|v| inline_hash(v).unwrap()).collect();
        for (idx, hash) in hashes.iter().enumerate() {
            assert!(!hashes[idx + 1..].contains(hash), "{:?}", values[idx]);
        }
        assert_eq!(inline_hash(&Value::String("fourteen chars".into())), None);
        assert_eq!(inline_hash(&Value::json(json!(1))), None);
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"y": [1, {"q": 2, "p": 1}], "x": null}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"x":null,"y":[1,{"p":1,"q":2}]},"b":1}"#
        );
    }
}
