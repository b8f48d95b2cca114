//! What an input that changed held before and after: the values themselves where the record
//! tells them, checked against the key's hashes, so that nothing is shown that did not go
//! into the key.

use std::borrow::Cow;

use plait_core::{Value, ValueType};
use plait_store::RunRecord;
use serde_json::Value as Json;

use crate::value_hash::{InputHash, inline_value, value_hash};

/// The longest value, as JSON text, shown in a sentence: a longer one is named by its hash.
const SHOWN_MAX: usize = 120;

/// One side of a changed input: its entry in a key's components (`hash`, `from`, and
/// `content` for a file) and the run whose record holds the value.
#[derive(Clone, Copy)]
pub(super) struct Side<'a> {
    pub(super) input: &'a Json,
    pub(super) run: &'a RunRecord,
}

impl<'a> Side<'a> {
    fn hash(&self) -> &'a str {
        self.input.get("hash").and_then(Json::as_str).unwrap_or("")
    }

    /// The hash of a file's content (hex), recorded with its key.
    fn content(&self) -> Option<&'a str> {
        self.input.get("content").and_then(Json::as_str)
    }

    /// The value as the run recorded it: a run input, or the output of the task it came
    /// from (`from` is `input <name>` or `<task>.<port>`).
    fn recorded(&self, from: &str) -> Option<Cow<'a, Json>> {
        if let Some(name) = from.strip_prefix("input ") {
            return self.run.inputs.get(name).map(Cow::Borrowed);
        }
        if let Some(given) = from.strip_prefix("given ") {
            return self.given(given).map(Cow::Owned);
        }
        let (task, port) = from.rsplit_once('.')?;
        let record = super::task_record(self.run, task)?;
        record.outputs.as_ref()?.get(port).map(Cow::Borrowed)
    }

    /// A value a parent gave its child (`<child>.<input>`), from the record of its spawn.
    fn given(&self, given: &str) -> Option<Json> {
        let (child, input) = given.rsplit_once('.')?;
        let spawned = self.run.spawned.iter().find(|c| c.task.as_str() == child)?;
        spawned
            .inputs
            .to_value()
            .ok()?
            .get_mut(input)
            .map(Json::take)
    }

    /// The value, when it can be known: a number, a boolean or a short string is its own
    /// hash; any other value is the one recorded, if it hashes to the key's hash.
    fn value(&self, from: &str) -> Option<Json> {
        let hash = parse_hash(self.hash())?;
        if let Some(value) = inline_value(&hash) {
            return Some(value.to_json());
        }
        let recorded = self.recorded(from)?;
        let recorded = &*recorded;
        // The record does not say the port's type: a string is a `string`'s or a `json`'s,
        // an array a `json`'s or a list's.
        let candidates = [
            recorded.as_str().map(Value::from),
            Some(Value::json(recorded.clone())),
            list_type(recorded).and_then(|ty| ty.value_from_json(recorded).ok()),
            recorded
                .is_array()
                .then(|| {
                    ValueType::list(ValueType::Json)
                        .value_from_json(recorded)
                        .ok()
                })
                .flatten(),
        ];
        let matches = candidates
            .into_iter()
            .flatten()
            .any(|value| value_hash(&value, &[]).is_ok_and(|bytes| bytes == hash));
        matches.then(|| recorded.clone())
    }

    /// The path of a file input, when the record has one that went into the hash. A run's
    /// own input is trusted without a content hash to check it against (runs recorded it
    /// before content hashes were kept), an upstream output is not.
    fn path(&self, from: &str) -> Option<String> {
        let recorded = self.recorded(from)?;
        let path = recorded.as_str()?;
        let matches = match self.content() {
            Some(content) => hashes_to(&Value::file(path), Some(content), self.hash()),
            None => from.starts_with("input "),
        };
        matches.then(|| path.to_owned())
    }
}

/// Whether `value` hashes to `hash` (hex), as it would in a key.
fn hashes_to(value: &Value, content: Option<&str>, hash: &str) -> bool {
    let expected = parse_hash(hash);
    value_hash(value, content.as_slice()).is_ok_and(|bytes| Some(bytes) == expected)
}

/// The list type a recorded array most likely had, from its elements: `list<string>` for
/// strings, `list<int>` for integers, and so on, nested for arrays of arrays; `list<json>`
/// for mixed ones. A guess, which the caller checks against the key's hash (`list<file>`
/// values never match: their hash needs their contents).
fn list_type(json: &Json) -> Option<ValueType> {
    let items = json.as_array()?;
    let guess = |item: &Json| match item {
        Json::String(_) => Some(ValueType::String),
        Json::Number(number) if number.is_i64() => Some(ValueType::Int),
        Json::Number(_) => Some(ValueType::Float),
        Json::Bool(_) => Some(ValueType::Bool),
        Json::Array(_) => list_type(item),
        Json::Null | Json::Object(_) => None,
    };
    // An empty array is a list of any type, and hashes alike whatever its type: it does
    // not vote.
    let mut guesses = items
        .iter()
        .filter(|item| !item.as_array().is_some_and(Vec::is_empty))
        .map(guess);
    let element = match guesses.next() {
        None if items.is_empty() => ValueType::Json,
        None => ValueType::list(ValueType::Json),
        Some(Some(first)) if guesses.all(|ty| ty.as_ref() == Some(&first)) => first,
        Some(_) => ValueType::Json,
    };
    Some(ValueType::list(element))
}

/// A recorded input hash: 32 hex digits.
fn parse_hash(hex: &str) -> Option<InputHash> {
    let mut hash = [0u8; 16];
    if hex.len() != 32 {
        return None;
    }
    for (byte, pair) in hash.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
    }
    Some(hash)
}

/// What changed in an input whose hash differs: the text after "input `x` changed: ".
pub(super) fn input_change(from: &str, before: Side<'_>, after: Side<'_>) -> String {
    if before.content().is_some() || after.content().is_some() {
        if let Some(change) = listed_files_change(from, before, after) {
            return change;
        }
        if let Some(change) = file_change(from, before, after) {
            return change;
        }
    } else if let Some(run_input) = from.strip_prefix("input ") {
        // A run input: both runs recorded its value.
        return format!(
            "{} -> {}",
            shown(before.run.inputs.get(run_input)),
            shown(after.run.inputs.get(run_input))
        );
    } else if from.starts_with("given ") {
        // Given by a parent: its record of the spawn holds the value, if the value is
        // the one hashed.
        let [old, new] = [before.value(from), after.value(from)];
        if old.is_some() || new.is_some() {
            return format!("{} -> {}", shown(old.as_ref()), shown(new.as_ref()));
        }
    }
    upstream_change(from, before, after)
}

/// An upstream task's output changed: the two values when both are known and short, else
/// their hashes, saying why the values are not shown.
fn upstream_change(from: &str, before: Side<'_>, after: Side<'_>) -> String {
    let values = [before.value(from), after.value(from)];
    let texts = values
        .iter()
        .map(|value| value.as_ref().map(Json::to_string));
    let texts: Vec<Option<String>> = texts.collect();
    if let [Some(old), Some(new)] = &texts[..]
        && old.chars().count() <= SHOWN_MAX
        && new.chars().count() <= SHOWN_MAX
    {
        return format!("`{from}` produced a different value: {old} -> {new}");
    }
    let unknown: Vec<String> = [before, after]
        .iter()
        .zip(&values)
        .filter(|(_, value)| value.is_none())
        .map(|(side, _)| side.run.summary.run_id.to_string())
        .collect();
    let why = match &unknown[..] {
        [] => "the values are too long to show".to_owned(),
        [run] => format!("the record of run {run} does not tell its value"),
        _ => "neither run's record tells its value".to_owned(),
    };
    format!(
        "`{from}` produced a different value (hash {} -> {}; {why})",
        short(before.hash()),
        short(after.hash())
    )
}

/// A `list<file>` run input's change: the lists when they differ, else the content of a file
/// they list. `None` for anything else. (An upstream list is not shown: the record keeps one
/// hash of its files' contents, which cannot check each path.)
fn listed_files_change(from: &str, before: Side<'_>, after: Side<'_>) -> Option<String> {
    let name = from.strip_prefix("input ")?;
    let old = before.run.inputs.get(name).filter(|json| json.is_array())?;
    let new = after.run.inputs.get(name).filter(|json| json.is_array())?;
    if old != new {
        return Some(format!("{} -> {}", shown(Some(old)), shown(Some(new))));
    }
    let (old, new) = before.content().zip(after.content())?;
    Some(format!(
        "the content of a file it lists changed: blake3 {} -> {}",
        short(old),
        short(new)
    ))
}

/// A file's change: its content, its path, or both. `None` when neither its content hashes
/// nor its paths are known, so that only the hashes can be shown.
fn file_change(from: &str, before: Side<'_>, after: Side<'_>) -> Option<String> {
    let paths = (before.path(from), after.path(from));
    let paths = (paths.0.as_deref(), paths.1.as_deref());
    let (old_path, new_path) = (quoted(paths.0), quoted(paths.1));
    let Some((old_content, new_content)) = before.content().zip(after.content()) else {
        // Only one run recorded the content's hash: the paths tell what they can.
        let (old, new) = paths.0.zip(paths.1)?;
        return Some(if old == new {
            format!(
                "the content of {new_path} changed (run {} did not record the hash of its content)",
                before.run.summary.run_id
            )
        } else {
            format!("{old_path} -> {new_path}")
        });
    };
    let contents = format!("blake3 {} -> {}", short(old_content), short(new_content));
    if old_content == new_content {
        let content = short(new_content);
        return Some(match paths {
            (Some(_), Some(_)) => {
                format!("{old_path} -> {new_path} (the same content, blake3 {content})")
            }
            _ => format!("its path changed (the same content, blake3 {content})"),
        });
    }
    Some(match paths {
        (Some(old), Some(new)) if old == new => {
            format!("the content of {new_path} changed: {contents}")
        }
        (Some(_), Some(_)) => {
            format!("{old_path} -> {new_path}, and its content changed: {contents}")
        }
        _ => format!("its content changed: {contents}"),
    })
}

fn quoted(path: Option<&str>) -> String {
    shown(path.map(|path| Json::String(path.to_owned())).as_ref())
}

pub(super) fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A JSON value in a sentence, abridged.
pub(super) fn shown(value: Option<&Json>) -> String {
    let text = match value {
        None | Some(Json::Null) => "none".to_owned(),
        Some(value) => value.to_string(),
    };
    if text.chars().count() > SHOWN_MAX {
        let cut: String = text.chars().take(SHOWN_MAX - 3).collect();
        format!("{cut}...")
    } else {
        text
    }
}
