//! Reading typed values out of [`Node`]s, reporting each wrong one and going on.
//!
//! Every getter takes `what`, how the message names the value ("`timeout` of task `a`"), and
//! returns `None` after recording a problem, so the caller simply skips what it cannot use.

use std::collections::{HashMap, hash_map};
use std::time::Duration;

use super::Reader;
use crate::diagnostics::Problem;
use crate::syntax::{Entry, Node, Span, Value};

/// The known keys of one table, each at its first occurrence.
#[derive(Debug)]
pub(super) struct Fields<'n> {
    found: Vec<&'n Entry>,
}

impl<'n> Fields<'n> {
    pub(super) fn get(&self, key: &str) -> Option<&'n Entry> {
        self.found.iter().find(|entry| entry.key == key).copied()
    }

    pub(super) fn node(&self, key: &str) -> Option<&'n Node> {
        self.get(key).map(|entry| &entry.value)
    }
}

/// The keys one kind of table takes, and how messages name such a table.
#[derive(Clone, Copy, Debug)]
pub(super) struct Schema {
    pub(super) keys: &'static [&'static str],
    /// Appended to the help of an unknown key, when there is more to say.
    pub(super) note: Option<&'static str>,
}

impl Reader {
    /// Reports unknown and repeated keys of `entries`; returns the known ones.
    pub(super) fn fields<'n>(
        &mut self,
        entries: &'n [Entry],
        schema: Schema,
        owner: &str,
    ) -> Fields<'n> {
        let mut found: Vec<&'n Entry> = Vec::new();
        for entry in self.unique(entries) {
            if schema.keys.contains(&entry.key.as_str()) {
                found.push(entry);
                continue;
            }
            let listed = quote_list(schema.keys.iter().copied());
            let mut help = match suggest(&entry.key, schema.keys.iter().copied()) {
                Some(near) => format!("did you mean `{near}`? {owner} takes {listed}"),
                None => format!("{owner} takes {listed}"),
            };
            if let Some(note) = schema.note {
                help = format!("{help}; {note}");
            }
            self.report(
                Problem::error(
                    "unknown-key",
                    entry.key_span.clone(),
                    format!("unknown key `{}` in {owner}", entry.key),
                    "unknown key",
                )
                .help(help),
            );
        }
        Fields { found }
    }

    /// The entries of a table, each key at its first occurrence; repeats are reported.
    pub(super) fn unique<'n>(&mut self, entries: &'n [Entry]) -> Vec<&'n Entry> {
        let mut seen: HashMap<&'n str, &'n Entry> = HashMap::with_capacity(entries.len());
        let mut unique = Vec::with_capacity(entries.len());
        for entry in entries {
            match seen.entry(entry.key.as_str()) {
                hash_map::Entry::Occupied(first) => self.duplicate_key(first.get(), entry),
                hash_map::Entry::Vacant(slot) => {
                    slot.insert(entry);
                    unique.push(entry);
                }
            }
        }
        unique
    }

    /// JSON lets a key repeat (TOML does not, and its parser says so); the first would
    /// silently lose, so it is an error here too.
    pub(super) fn duplicate_key(&mut self, first: &Entry, again: &Entry) {
        self.report(
            Problem::error(
                "duplicate-key",
                again.key_span.clone(),
                format!("`{}` is defined twice", again.key),
                "defined again here",
            )
            .also(first.key_span.clone(), "first defined here")
            .help("a key appears once in a table: remove or rename one of them"),
        );
    }

    pub(super) fn bad_type(&mut self, node: &Node, what: &str, expected: &str) {
        self.report(
            Problem::error(
                "bad-type",
                node.span.clone(),
                format!("{what} must be {expected}, not {}", node.kind_name()),
                format!("expected {expected}"),
            )
            .help(format!("write {what} as {expected}")),
        );
    }

    pub(super) fn str<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n str> {
        let text = node.as_str();
        if text.is_none() {
            self.bad_type(node, what, "a string");
        }
        text
    }

    pub(super) fn bool(&mut self, node: &Node, what: &str) -> Option<bool> {
        match node.value {
            Value::Bool(b) => Some(b),
            _ => {
                self.bad_type(node, what, "a boolean (`true` or `false`)");
                None
            }
        }
    }

    pub(super) fn table<'n>(&mut self, node: &'n Node, what: &str) -> Option<&'n [Entry]> {
        let table = node.as_table();
        if table.is_none() {
            self.bad_type(node, what, "a table");
        }
        table
    }

    /// An array of strings, each with its span. A wrong element is reported and left out.
    pub(super) fn strings<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Option<Vec<(&'n str, Span)>> {
        let Some(items) = node.as_array() else {
            self.bad_type(node, what, "an array of strings");
            return None;
        };
        let mut strings = Vec::with_capacity(items.len());
        for item in items {
            match item.as_str() {
                Some(text) => strings.push((text, item.span.clone())),
                None => self.bad_type(item, &format!("each item of {what}"), "a string"),
            }
        }
        Some(strings)
    }

    /// An array of exit statuses (integers from 1 to 255). A wrong element is reported and
    /// left out.
    pub(super) fn exit_codes(&mut self, node: &Node, what: &str) -> Vec<i32> {
        let Some(items) = node.as_array() else {
            self.bad_type(node, what, "an array of exit statuses");
            return Vec::new();
        };
        let mut codes = Vec::with_capacity(items.len());
        for item in items {
            match item.value {
                Value::Int(code @ 1..=255) => codes.push(code as i32),
                _ => self.bad_type(
                    item,
                    &format!("each item of {what}"),
                    "an exit status from 1 to 255",
                ),
            }
        }
        codes
    }

    /// A table whose values are all strings, such as `env` or `rebind`.
    pub(super) fn string_map<'n>(
        &mut self,
        node: &'n Node,
        what: &str,
    ) -> Vec<(&'n Entry, &'n str)> {
        let Some(entries) = self.table(node, what) else {
            return Vec::new();
        };
        let mut map = Vec::with_capacity(entries.len());
        for entry in self.unique(entries) {
            let what = format!("`{}` in {what}", entry.key);
            if let Some(value) = self.str(&entry.value, &what) {
                map.push((entry, value));
            }
        }
        map
    }

    pub(super) fn duration(&mut self, node: &Node, what: &str) -> Option<Duration> {
        let text = match &node.value {
            Value::String(text) => text,
            _ => {
                self.report(
                    Problem::error(
                        "bad-type",
                        node.span.clone(),
                        format!("{what} must be a duration string, not {}", node.kind_name()),
                        "expected a string such as \"5s\"",
                    )
                    .help(DURATION_HELP),
                );
                return None;
            }
        };
        match plait_core::parse_duration(text) {
            Ok(duration) => Some(duration),
            Err(error) => {
                self.report(
                    Problem::error(
                        "bad-value",
                        node.span.clone(),
                        format!("{what} is not a duration: `{text}`"),
                        error.to_string(),
                    )
                    .help(DURATION_HELP),
                );
                None
            }
        }
    }

    /// A number (integer or float) within `range`, described by `expected` for messages.
    pub(super) fn number(
        &mut self,
        node: &Node,
        what: &str,
        range: std::ops::RangeInclusive<f64>,
        expected: &str,
    ) -> Option<f64> {
        let number = match node.value {
            Value::Int(int) => int as f64,
            Value::Float(float) => float,
            _ => {
                self.bad_type(node, what, "a number");
                return None;
            }
        };
        if range.contains(&number) {
            return Some(number);
        }
        self.report(
            Problem::error(
                "bad-value",
                node.span.clone(),
                format!("{what} must be {expected}"),
                "out of range",
            )
            .help(format!("write {what} as {expected}")),
        );
        None
    }
}

const DURATION_HELP: &str = "write a number and a unit, such as \"250ms\", \"5s\", \"1m 30s\" or \"2h\" (units: ns, us, ms, s, m, h, d)";

/// "`a`, `b`, `c`".
pub(super) fn quote_list<'a>(names: impl IntoIterator<Item = &'a str>) -> String {
    names
        .into_iter()
        .map(|name| format!("`{name}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The candidate closest to `word`, if it is close enough to be a plausible typo.
pub(super) fn suggest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let word = word.to_lowercase();
    let budget = (word.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&word, candidate), candidate))
        .filter(|&(distance, _)| distance <= budget)
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance in characters, counting a swap of two neighbours as one edit (`nmae` is
/// one edit from `name`): the optimal string alignment distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let substitution = previous[j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(previous[j] + 1).min(current[j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_near_misses_only() {
        let keys = ["command", "requires", "provides", "timeout"];
        assert_eq!(suggest("comand", keys), Some("command"));
        assert_eq!(suggest("require", keys), Some("requires"));
        assert_eq!(suggest("Timeout", keys), Some("timeout"));
        assert_eq!(suggest("colour", keys), None);
        assert_eq!(suggest("nmae", ["name", "tasks"]), Some("name"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("form", "from"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
