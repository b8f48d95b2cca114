//! The transition log: one row per run per commit, holding that commit's transitions of the
//! run as a JSON array, in the order they were written.
//!
//! A group commit carries tens of transitions; as rows of their own, each costs a statement,
//! a b-tree insert, an index insert and a foreign-key check, and the writer thread spent
//! most of its time there (docs/store.md). As one row, the commit pays those once. Stores
//! written before this layout keep their `transitions` rows, read before the log.
//!
//! A row's id places it in its run: the run's log key (`runs.log_key`, one per run) in the
//! high 32 bits, the commit's number within the run in the low ones. A run's log is then a
//! range of the table's own key, read in order with no index beside it: a commit writes no
//! index page, where an index on the run cost one more page synced per commit.

use plait_core::TaskState;
use plait_store::{Json, RunId, TaskKey, Transition};
use rusqlite::{Connection, params};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::rows::KnownRuns;

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
    outputs: Option<&'a Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    /// The key's components, embedded as JSON (text that is not JSON is kept as a string);
    /// not kept for a reuse, whose are its source's.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Components<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cached_from: Option<&'a str>,
    /// The slot and the time the attempt started executing, as `[slot, since]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    ran: Option<(u32, i64)>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Components<'a> {
    Json(&'a RawValue),
    Text(&'a str),
}

#[derive(Deserialize)]
struct ReadEntry<'a> {
    task: String,
    state: String,
    attempt: u32,
    at: i64,
    #[serde(default)]
    error: Option<String>,
    /// Parsed apart from the line (see [`read`]).
    #[serde(default, borrow)]
    outputs: Option<&'a RawValue>,
    #[serde(default)]
    key: Option<String>,
    /// An object; a string holding the object's text in logs written before.
    #[serde(default, borrow)]
    components: Option<&'a RawValue>,
    #[serde(default)]
    cached_from: Option<String>,
    #[serde(default)]
    ran: Option<(u32, i64)>,
}

/// One transition, encoded for the log on the caller's thread (`encode.rs`), and whether it
/// counts as a cache hit or miss.
pub(crate) struct Line {
    json: String,
    /// `Some(true)` a reuse, `Some(false)` an execution under a key.
    hit: Option<bool>,
}

impl Line {
    pub(crate) fn new(transition: &Transition, outputs: Option<&Json>) -> serde_json::Result<Line> {
        let key = transition.key.as_ref();
        let reused = key.is_some_and(|key| key.cached_from.is_some());
        let hit = match key {
            Some(TaskKey { key: Some(_), .. }) => Some(reused),
            _ => None,
        };
        let components = key.filter(|_| !reused).map(|key| {
            // Checked: a line that is not JSON would make the run's log unreadable. Only an
            // object with nothing around it is embedded, so any other text (another JSON
            // value, surrounding spaces) comes back exactly as it was written.
            match serde_json::from_str::<&RawValue>(&key.components) {
                Ok(raw)
                    if raw.get().starts_with('{') && raw.get().len() == key.components.len() =>
                {
                    Components::Json(raw)
                }
                _ => Components::Text(&key.components),
            }
        });
        let entry = Entry {
            task: transition.task.as_str(),
            state: transition.state.name(),
            attempt: transition.attempt,
            at: transition.at,
            error: transition.error.as_deref(),
            outputs,
            key: key.and_then(|key| key.key.as_ref()).map(|key| key.as_str()),
            components,
            cached_from: key
                .and_then(|key| key.cached_from.as_ref())
                .map(|run_id| run_id.as_str()),
            ran: transition.ran.map(|ran| (ran.slot, ran.since)),
        };
        Ok(Line {
            json: serde_json::to_string(&entry)?,
            hit,
        })
    }
}

/// The lines of one commit, by run, and the cache's use counts they carry.
#[derive(Default)]
pub(crate) struct LogBatch<'a> {
    /// Run id and its lines.
    runs: Vec<(&'a RunId, Vec<&'a str>)>,
    counts: Counts,
}

/// Cache hits and misses, counted as the log records them: a hit reused a result; a miss
/// had a key (so could have) and executed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    pub(crate) hits: i64,
    pub(crate) misses: i64,
}

impl Counts {
    pub(crate) fn add(self, other: Counts) -> Counts {
        Counts {
            hits: self.hits + other.hits,
            misses: self.misses + other.misses,
        }
    }

    /// Adds these to the store's totals, in the caller's transaction.
    pub(crate) fn write(self, tx: &Connection) -> rusqlite::Result<()> {
        if self != Counts::default() {
            tx.prepare_cached("UPDATE cache_counts SET hits = hits + ?1, misses = misses + ?2")?
                .execute(params![self.hits, self.misses])?;
        }
        Ok(())
    }
}

impl<'a> LogBatch<'a> {
    pub(crate) fn push(&mut self, run_id: &'a RunId, line: &'a Line) {
        match line.hit {
            Some(true) => self.counts.hits += 1,
            Some(false) => self.counts.misses += 1,
            None => {}
        }
        let idx = match self.runs.iter().position(|(run, _)| *run == run_id) {
            Some(idx) => idx,
            None => {
                self.runs.push((run_id, Vec::new()));
                self.runs.len() - 1
            }
        };
        self.runs[idx].1.push(&line.json);
    }

    /// The cache's use counts the batch's lines carry.
    pub(crate) fn counts(&self) -> Counts {
        self.counts
    }

    /// Writes the batch's rows (one per run, after the run's last), in the caller's
    /// transaction. Every run named is in `known`, with its log key.
    pub(crate) fn write(self, tx: &Connection, known: &KnownRuns) -> rusqlite::Result<()> {
        // The run's next commit number: one past its last row's, and never past its range
        // (a run's four billionth commit fails rather than land in the next run's). Asked
        // apart from the insert: an `INSERT ... SELECT` from the table it inserts into made
        // a first run 0.4 us per task slower (it goes through a temporary table).
        let mut next = tx.prepare_cached(
            "SELECT coalesce(max(id), ?1) + 1 FROM run_log WHERE id BETWEEN ?1 AND ?2",
        )?;
        let mut insert =
            tx.prepare_cached("INSERT INTO run_log (id, run_id, entries) VALUES (?1, ?2, ?3)")?;
        for (run_id, lines) in self.runs {
            let Some(Some(key)) = known.get(run_id).copied() else {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("run {run_id} has no log key").into(),
                ));
            };
            let (first, last) = range(key);
            // Sized up front: a re-run's commit carries thousands of lines.
            let len: usize = lines.iter().map(|line| line.len() + 1).sum();
            let mut entries = String::with_capacity(len + 1);
            entries.push('[');
            for (idx, line) in lines.into_iter().enumerate() {
                if idx > 0 {
                    entries.push(',');
                }
                entries.push_str(line);
            }
            entries.push(']');
            let id: i64 = next.query_row(params![first, last], |row| row.get(0))?;
            if id > last {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    format!("run {run_id} has used every id of its log").into(),
                ));
            }
            insert.execute(params![id, run_id.as_str(), entries])?;
        }
        Ok(())
    }
}

/// The ids a run's log rows may take: its log key in the high 32 bits.
fn range(log_key: i64) -> (i64, i64) {
    let first = log_key << 32;
    (first, first | 0xFFFF_FFFF)
}

/// The run's logged transitions, in order, with the outputs of each success.
pub(crate) fn read(
    conn: &Connection,
    run_id: &RunId,
    log_key: i64,
) -> rusqlite::Result<Vec<(Transition, Option<serde_json::Value>)>> {
    let mut statement =
        conn.prepare_cached("SELECT entries FROM run_log WHERE id BETWEEN ?1 AND ?2 ORDER BY id")?;
    let (first, last) = range(log_key);
    let mut rows = statement.query([first, last])?;
    let mut transitions = Vec::new();
    while let Some(row) = rows.next()? {
        let text = row.get_ref(0)?.as_str()?;
        let entries: Vec<ReadEntry<'_>> = match serde_json::from_str(text) {
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
            let components = entry.components.map(|raw| {
                // A string is the text of the components (as schema V2 kept them).
                serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_owned())
            });
            let key = (entry.key.is_some() || components.is_some()).then(|| TaskKey {
                key: entry.key.map(Into::into),
                components: components.unwrap_or_default(),
                cached_from: entry.cached_from.map(Into::into),
            });
            let transition = Transition {
                run_id: run_id.clone(),
                task: entry.task.into(),
                state: super::rows::task_state(&entry.state).unwrap_or(TaskState::Pending),
                attempt: entry.attempt,
                at: entry.at,
                error: entry.error,
                key,
                ran: entry
                    .ran
                    .map(|(slot, since)| plait_store::Ran { slot, since }),
            };
            // Each line's outputs on their own: text the store accepted but a JSON tree
            // cannot hold (a number out of range, say) costs that task its recorded
            // outputs (a resume runs it again), not the whole run its log.
            let outputs = entry.outputs.and_then(|raw| {
                serde_json::from_str(raw.get())
                    .inspect_err(|error| {
                        tracing::warn!(%run_id, task = %transition.task, %error, "recorded outputs cannot be read; taken as not recorded");
                    })
                    .ok()
            });
            transitions.push((transition, outputs));
        }
    }
    Ok(transitions)
}
