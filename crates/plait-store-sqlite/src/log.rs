//! The transition log: one row per run per commit, holding that commit's transitions of the
//! run as a JSON array, in the order they were written.
//!
//! A group commit carries tens of transitions; as rows of their own, each costs a statement,
//! a b-tree insert, an index insert and a foreign-key check, and the writer thread spent
//! most of its time there (docs/store.md). As one row, the commit pays those once. Stores
//! written before this layout keep their `transitions` rows, read before the log.

use plait_core::TaskState;
use plait_store::{TaskKey, Transition};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};

/// One transition as the log keeps it.
#[derive(Serialize)]
struct Entry<'a> {
    task: &'a str,
    state: &'a str,
    attempt: u32,
    at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    outputs: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    /// The key's components (JSON text); not kept for a reuse, whose are its source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_from: Option<&'a str>,
}

#[derive(Deserialize)]
struct ReadEntry {
    task: String,
    state: String,
    attempt: u32,
    at: i64,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    outputs: Option<serde_json::Value>,
    #[serde(default)]
    key: Option<String>,
    #[serde(default)]
    components: Option<String>,
    #[serde(default)]
    cached_from: Option<String>,
}

/// The transitions of one commit, by run, and the cache's use counts they carry.
#[derive(Default)]
pub(crate) struct LogBatch {
    /// Run id and the JSON array so far (without its closing bracket).
    runs: Vec<(String, String)>,
    hits: i64,
    misses: i64,
}

impl LogBatch {
    pub(crate) fn push(
        &mut self,
        transition: &Transition,
        outputs: Option<&serde_json::Value>,
    ) -> rusqlite::Result<()> {
        let key = transition.key.as_ref();
        let reused = key.is_some_and(|key| key.cached_from.is_some());
        match key {
            Some(TaskKey { key: Some(_), .. }) if reused => self.hits += 1,
            Some(TaskKey { key: Some(_), .. }) => self.misses += 1,
            _ => {}
        }
        let entry = Entry {
            task: &transition.task,
            state: transition.state.name(),
            attempt: transition.attempt,
            at: transition.at,
            error: transition.error.as_deref(),
            outputs,
            key: key.and_then(|key| key.key.as_deref()),
            components: key.filter(|_| !reused).map(|key| key.components.as_str()),
            cached_from: key.and_then(|key| key.cached_from.as_deref()),
        };
        let idx = match self
            .runs
            .iter()
            .position(|(run_id, _)| *run_id == transition.run_id)
        {
            Some(idx) => {
                self.runs[idx].1.push(',');
                idx
            }
            None => {
                self.runs
                    .push((transition.run_id.clone(), String::from("[")));
                self.runs.len() - 1
            }
        };
        let text = &mut self.runs[idx].1;
        // Writing into a `String` only fails for a map with non-string keys, which an
        // `Entry` has none of.
        let json = serde_json::to_string(&entry)
            .map_err(|error| rusqlite::Error::ToSqlConversionFailure(Box::new(error)))?;
        text.push_str(&json);
        Ok(())
    }

    /// Writes the batch's rows (one per run) and counts, in the caller's transaction.
    pub(crate) fn write(self, tx: &Connection) -> rusqlite::Result<()> {
        let mut insert = tx.prepare_cached("INSERT INTO log (run_id, entries) VALUES (?1, ?2)")?;
        for (run_id, mut entries) in self.runs {
            entries.push(']');
            insert.execute(params![run_id, entries])?;
        }
        if self.hits != 0 || self.misses != 0 {
            tx.prepare_cached("UPDATE cache_counts SET hits = hits + ?1, misses = misses + ?2")?
                .execute(params![self.hits, self.misses])?;
        }
        Ok(())
    }
}

/// The run's logged transitions, in order, with the outputs of each success.
pub(crate) fn read(
    conn: &Connection,
    run_id: &str,
) -> rusqlite::Result<Vec<(Transition, Option<serde_json::Value>)>> {
    let mut statement =
        conn.prepare_cached("SELECT entries FROM log WHERE run_id = ?1 ORDER BY id")?;
    let mut rows = statement.query([run_id])?;
    let mut transitions = Vec::new();
    while let Some(row) = rows.next()? {
        let text = row.get_ref(0)?.as_str()?;
        let entries: Vec<ReadEntry> = match serde_json::from_str(text) {
            Ok(entries) => entries,
            Err(error) => {
                return Err(rusqlite::Error::FromSqlConversionFailure(
                    0,
                    rusqlite::types::Type::Text,
                    Box::new(error),
                ));
            }
        };
        for entry in entries {
            let key = (entry.key.is_some() || entry.components.is_some()).then(|| TaskKey {
                key: entry.key,
                components: entry.components.unwrap_or_default(),
                cached_from: entry.cached_from,
            });
            let transition = Transition {
                run_id: run_id.to_owned(),
                task: entry.task,
                state: super::rows::task_state(&entry.state).unwrap_or(TaskState::Pending),
                attempt: entry.attempt,
                at: entry.at,
                error: entry.error,
                key,
            };
            transitions.push((transition, entry.outputs));
        }
    }
    Ok(transitions)
}
