//! An input value's hash, as it goes into a cache key: a number, a boolean or a short string
//! is its own hash; any other value is hashed by its type and content (a `file` by its path
//! and its content's hash, a list by its elements' hashes in order). Pure: the run's keys use
//! it, and `plait explain` checks a recorded value against a recorded hash and reads a small
//! value back from its hash.

use plait_core::Value;

/// An input value's hash: 128 bits of blake3, or the value itself when it fits (see
/// [`inline_hash`]).
pub(crate) type InputHash = [u8; 16];

/// The first byte of a value that stands for its own hash. A blake3 hash matches an inlined
/// value only by a 128-bit collision.
const INLINE: u8 = 0xff;

/// A value's hash, as it goes into a key: `contents` are the content hashes (hex) of the
/// value's files (`Value::files`, in that order), and are not read for other values. Pure,
/// so that `plait explain` can check a recorded value against a recorded hash.
pub(crate) fn value_hash(value: &Value, contents: &[&str]) -> Result<InputHash, String> {
    let mut contents = contents.iter().copied();
    hash_with(value, &mut contents)
}

fn hash_with<'c>(
    value: &Value,
    contents: &mut impl Iterator<Item = &'c str>,
) -> Result<InputHash, String> {
    if let Some(hash) = inline_hash(value) {
        return Ok(hash);
    }
    // A type tag first: `1` the int and `"1"` the string differ. A list's is `list` alone:
    // its elements' hashes carry their types, and `plait explain`, which reads a list back
    // from its record, cannot tell the element type of an empty one.
    let tag = match value {
        Value::List(..) => "list".into(),
        other => other.value_type().name(),
    };
    let mut hasher = blake3::Hasher::new();
    hasher.update(tag.as_bytes());
    hasher.update(&[0]);
    match value {
        Value::Native(..) => return Err("is a native value, which has no content hash".into()),
        // In order, so that changing or moving one element changes the hash; each element's
        // hash is 16 bytes, so the length needs no marker.
        Value::List(_, items) => {
            for item in items.iter() {
                hasher.update(&hash_with(item, contents)?);
            }
        }
        Value::File(path) => {
            let Some(content) = contents.next() else {
                return Err("is a file whose content was not hashed".into());
            };
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

/// A number, a boolean or a short string as its own hash: a type code and the value's bytes,
/// after [`INLINE`]. Most inputs are such values, and hashing them took three times what the
/// rest of a key costs.
pub(crate) fn inline_hash(value: &Value) -> Option<InputHash> {
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

/// The value an [`inline_hash`] stands for; `None` for a hash that is not one.
pub(crate) fn inline_value(hash: &InputHash) -> Option<Value> {
    let len = usize::from(hash[2]);
    if hash[0] != INLINE || len > 13 || hash[3 + len..].iter().any(|&byte| byte != 0) {
        return None;
    }
    let bytes = &hash[3..3 + len];
    let number = || <[u8; 8]>::try_from(bytes).ok();
    Some(match hash[1] {
        b'i' => Value::Int(i64::from_le_bytes(number()?)),
        b'f' => Value::Float(f64::from_bits(u64::from_le_bytes(number()?))),
        b'b' if bytes == [0] || bytes == [1] => Value::Bool(bytes == [1]),
        b's' => Value::from(std::str::from_utf8(bytes).ok()?),
        _ => return None,
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
        for value in &values {
            assert_eq!(
                inline_value(&inline_hash(value).unwrap()).as_ref(),
                Some(value)
            );
        }
        let hashed = value_hash(&Value::String("fourteen chars".into()), &[]).unwrap();
        assert_eq!(inline_value(&hashed), None);
    }

    #[test]
    fn a_file_is_hashed_by_its_path_and_content() {
        let file = Value::file("/data/in.txt");
        let hash = value_hash(&file, &["c0ffee"]).unwrap();
        assert_ne!(hash, value_hash(&file, &["c0ffef"]).unwrap());
        assert_ne!(
            hash,
            value_hash(&Value::file("/data/in2.txt"), &["c0ffee"]).unwrap()
        );
        assert!(value_hash(&file, &[]).is_err());
    }

    fn list(ty: &str, json: serde_json::Value) -> Value {
        plait_core::ValueType::from_name(ty)
            .unwrap()
            .value_from_json(&json)
            .unwrap()
    }

    #[test]
    fn a_list_is_hashed_by_its_elements_in_order() {
        let hash = |value: &Value| value_hash(value, &[]).unwrap();
        let names = hash(&list("list<string>", json!(["a", "b"])));
        assert_eq!(names, hash(&list("list<string>", json!(["a", "b"]))));
        assert_ne!(names, hash(&list("list<string>", json!(["a", "c"]))));
        assert_ne!(names, hash(&list("list<string>", json!(["b", "a"]))));
        assert_ne!(names, hash(&list("list<string>", json!(["a", "b", "b"]))));
        assert_ne!(names, hash(&list("list<json>", json!(["a", "b"]))));
        assert_ne!(
            hash(&list("list<list<int>>", json!([[1], [2, 3]]))),
            hash(&list("list<list<int>>", json!([[1, 2], [3]])))
        );
        assert_eq!(inline_value(&names), None);
    }

    #[test]
    fn a_list_of_files_is_hashed_by_each_content() {
        let files = list("list<file>", json!(["/a", "/b"]));
        let hash = value_hash(&files, &["c1", "c2"]).unwrap();
        assert_ne!(hash, value_hash(&files, &["c1", "c3"]).unwrap());
        assert_ne!(hash, value_hash(&files, &["c2", "c1"]).unwrap());
        assert!(value_hash(&files, &["c1"]).is_err(), "one content missing");
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
