//! The result cache's records, and the one eviction policy every store applies.

use crate::{CacheKey, Millis, RunId, TaskPath};

/// How stale an entry's `used_at` must be before a reuse moves it forward. Eviction by age
/// works in hours and days; moving it on every hit would cost a random write per reused
/// task.
pub const USE_RESOLUTION: Millis = 60 * 60 * 1000;

/// The cache key a task ran under, recorded with the run so `plait explain` can compare two
/// runs' keys component by component.
#[derive(Clone, Debug, PartialEq)]
pub struct TaskKey {
    /// The blake3 hash (hex) of `components`; `None` when the task could not be cached, and
    /// `components.disabled` says why.
    pub key: Option<CacheKey>,
    /// What went into the key, as the text of a JSON object: `task`, `version`, `code`,
    /// `program` and `inputs` (each input's value hash and where it came from). Kept as
    /// text: it is written with every executed task and read only by `plait explain`.
    /// Empty for a reused result (the components are those of the run that computed it).
    pub components: String,
    /// The run whose result was reused, when the task was not executed.
    pub cached_from: Option<RunId>,
}

impl TaskKey {
    /// The components as JSON (`Null` when there are none or they cannot be read).
    pub fn components_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.components).unwrap_or(serde_json::Value::Null)
    }
}

/// A file kept in the store's content-addressed blob store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    /// blake3 of the content, hex.
    pub hash: String,
    pub size: u64,
}

/// A task's result, reusable by any later run whose key is the same.
#[derive(Clone, Debug, PartialEq)]
pub struct CacheEntry {
    pub key: CacheKey,
    /// The task that computed it, and in which run.
    pub task: TaskPath,
    pub run_id: RunId,
    /// The outputs, as a JSON object (a file output as its path).
    pub outputs: crate::Json,
    /// File outputs' contents: output name and blob, restored to the path on a hit.
    pub blobs: Vec<(String, Blob)>,
    pub created_at: Millis,
    /// Last time the entry was written or reused: eviction by age goes by it.
    pub used_at: Millis,
}

impl CacheEntry {
    /// What the entry costs: its outputs and its files.
    pub fn size(&self) -> u64 {
        self.outputs.as_str().len() as u64 + self.file_bytes()
    }

    /// The size of its files.
    pub fn file_bytes(&self) -> u64 {
        self.blobs.iter().map(|(_, blob)| blob.size).sum()
    }
}

/// What the cache holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheStats {
    pub entries: u64,
    /// Outputs and files, counted per entry (a file two entries share counts twice).
    pub bytes: u64,
    /// Distinct files in the blob store, and their size on disk.
    pub blobs: u64,
    pub blob_bytes: u64,
    pub oldest_used_at: Option<Millis>,
    pub newest_used_at: Option<Millis>,
    /// Tasks of recorded runs that reused a result, and that were executed with a key (so
    /// could have): the hit rate over the store's history.
    pub hits: u64,
    pub misses: u64,
}

/// What `plait cache gc` removes: entries not used since `unused_for` before `now`, then the
/// least recently used ones until at most `max_bytes` remain; then files no entry needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheGc {
    pub now: Millis,
    pub unused_for: Option<Millis>,
    pub max_bytes: Option<u64>,
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CacheGcReport {
    pub entries_removed: u64,
    pub bytes_removed: u64,
    pub blobs_removed: u64,
    pub entries_kept: u64,
    pub bytes_kept: u64,
}

/// One entry as eviction sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryUse {
    pub key: CacheKey,
    pub used_at: Millis,
    pub size: u64,
}

impl CacheGc {
    /// The keys to remove, out of `entries`. The same policy in every store.
    pub fn select(&self, entries: &[EntryUse]) -> Vec<CacheKey> {
        let mut by_recency: Vec<&EntryUse> = entries.iter().collect();
        // Most recently used first; ties broken by key so the choice is deterministic.
        by_recency.sort_by(|a, b| b.used_at.cmp(&a.used_at).then_with(|| a.key.cmp(&b.key)));
        let mut kept_bytes = 0u64;
        let mut removed = Vec::new();
        for entry in by_recency {
            let too_old = self
                .unused_for
                .is_some_and(|age| entry.used_at < self.now.saturating_sub(age));
            let too_big = self
                .max_bytes
                .is_some_and(|max| kept_bytes.saturating_add(entry.size) > max);
            if too_old || too_big {
                removed.push(entry.key.clone());
            } else {
                kept_bytes += entry.size;
            }
        }
        removed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, used_at: Millis, size: u64) -> EntryUse {
        EntryUse {
            key: key.into(),
            used_at,
            size,
        }
    }

    #[test]
    fn gc_by_age_removes_what_was_not_used_lately() {
        let gc = CacheGc {
            now: 10_000,
            unused_for: Some(5_000),
            ..CacheGc::default()
        };
        let entries = [
            entry("a", 1_000, 1),
            entry("b", 6_000, 1),
            entry("c", 4_999, 1),
        ];
        let mut removed = gc.select(&entries);
        removed.sort();
        assert_eq!(removed, [CacheKey::from("a"), CacheKey::from("c")]);
    }

    #[test]
    fn gc_by_size_keeps_the_most_recently_used() {
        let gc = CacheGc {
            now: 10_000,
            max_bytes: Some(25),
            ..CacheGc::default()
        };
        let entries = [
            entry("old", 1, 10),
            entry("new", 3, 10),
            entry("mid", 2, 10),
        ];
        assert_eq!(gc.select(&entries), [CacheKey::from("old")]);
        let nothing = CacheGc::default();
        assert!(nothing.select(&entries).is_empty());
    }
}
