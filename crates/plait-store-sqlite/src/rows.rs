//! Reading and writing the tables of runs (the cache's own rows are in `cache.rs`).

use std::collections::HashMap;

use plait_core::{RunStatus, TaskState};
use plait_store::blobs::BlobDir;
use plait_store::{
    NewRun, Owner, RunRecord, RunState, RunSummary, TaskFold, TaskKey, Transition, Write,
    host_name, owner_alive,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::cache;

/// Whether `run_id` is in the store, asking the database once per batch.
pub(crate) fn run_exists(
    tx: &Connection,
    known: &mut HashMap<String, bool>,
    run_id: &str,
) -> rusqlite::Result<bool> {
    if let Some(&exists) = known.get(run_id) {
        return Ok(exists);
    }
    let exists = tx
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM runs WHERE run_id = ?1)")?
        .query_row([run_id], |row| row.get(0))?;
    known.insert(run_id.to_owned(), exists);
    Ok(exists)
}

/// Inserts a run the caller checked is new.
pub(crate) fn insert_run(tx: &Connection, run: &NewRun) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, started_at, owner_host, owner_pid, owner_started)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        run.run_id,
        run.workflow,
        run.source,
        run.definition,
        run.definition_hash,
        run.inputs.to_string(),
        run.started_at,
        run.owner.host,
        run.owner.pid,
        run.owner.started as i64,
    ])?;
    Ok(())
}

/// Applies writes whose runs the caller checked exist. `blobs` is where a cache entry's
/// files must be for the entry to be recorded.
pub(crate) fn apply(tx: &Connection, blobs: &BlobDir, writes: &[Write]) -> rusqlite::Result<()> {
    for write in writes {
        match write {
            Write::Transition(transition) => insert_transition(tx, transition, None)?,
            Write::Completed {
                transition,
                outputs,
            } => insert_transition(tx, transition, Some(outputs))?,
            Write::Cache(entry) => cache::insert_entry(tx, blobs, entry)?,
            Write::Forget { key, .. } => cache::forget(tx, key)?,
            Write::RunFinished { run_id, status, at } => {
                tx.prepare_cached(
                    "UPDATE runs SET status = ?2, finished_at = ?3 WHERE run_id = ?1",
                )?
                .execute(params![run_id, status.name(), at])?;
            }
        }
    }
    Ok(())
}

fn insert_transition(
    tx: &Connection,
    transition: &Transition,
    outputs: Option<&serde_json::Value>,
) -> rusqlite::Result<()> {
    let key = transition.key.as_ref();
    tx.prepare_cached(
        "INSERT INTO transitions (run_id, task, state, attempt, at, error, outputs, key, components, cached_from)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        transition.run_id,
        transition.task,
        transition.state.name(),
        transition.attempt,
        transition.at,
        transition.error,
        outputs.map(|outputs| outputs.to_string()),
        key.and_then(|key| key.key.as_deref()),
        // A reuse's components are its source run's: only the key and source are kept.
        key.filter(|key| key.cached_from.is_none())
            .map(|key| key.components.as_str()),
        key.and_then(|key| key.cached_from.as_deref()),
    ])?;
    if let Some(TaskKey {
        key: Some(hash),
        cached_from: Some(_),
        ..
    }) = key
    {
        cache::mark_used(tx, hash, transition.at)?;
    }
    Ok(())
}

const SUMMARY_COLUMNS: &str = "run_id, workflow, source, status, started_at, finished_at, owner_host, owner_pid, owner_started";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let status: Option<String> = row.get(3)?;
    let owner = Owner {
        host: row.get(6)?,
        pid: row.get(7)?,
        started: row.get::<_, i64>(8)? as u64,
    };
    let state = match status.as_deref().and_then(run_status) {
        Some(status) => RunState::Finished(status),
        None if owner_alive(&owner, &host_name()) => RunState::Running,
        None => RunState::Interrupted,
    };
    Ok(RunSummary {
        run_id: row.get(0)?,
        workflow: row.get(1)?,
        source: row.get(2)?,
        state,
        started_at: row.get(4)?,
        finished_at: row.get(5)?,
        owner,
    })
}

pub(crate) fn runs(conn: &Connection) -> rusqlite::Result<Vec<RunSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC");
    let mut statement = conn.prepare_cached(&sql)?;
    statement.query_map([], summary)?.collect()
}

pub(crate) fn run(conn: &Connection, run_id: &str) -> rusqlite::Result<Option<RunRecord>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, definition, definition_hash, inputs FROM runs WHERE run_id = ?1"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row([run_id], |row| {
            let inputs: String = row.get(11)?;
            Ok((
                summary(row)?,
                row.get::<_, String>(9)?,
                row.get::<_, String>(10)?,
                inputs,
            ))
        })
        .optional()?;
    let Some((summary, definition, definition_hash, inputs)) = found else {
        return Ok(None);
    };
    let mut statement = conn.prepare_cached(
        "SELECT task, state, attempt, at, error, outputs, key, components, cached_from
         FROM transitions WHERE run_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([run_id], |row| {
        let state: String = row.get(1)?;
        let outputs: Option<String> = row.get(5)?;
        let components: Option<String> = row.get(7)?;
        let cached_from: Option<String> = row.get(8)?;
        let key = (components.is_some() || cached_from.is_some()).then(|| TaskKey {
            key: row.get(6).ok().flatten(),
            components: components.unwrap_or_default(),
            cached_from,
        });
        Ok((
            Transition {
                run_id: run_id.to_owned(),
                task: row.get(0)?,
                state: task_state(&state).unwrap_or(TaskState::Pending),
                attempt: row.get(2)?,
                at: row.get(3)?,
                error: row.get(4)?,
                key,
            },
            outputs.and_then(|text| serde_json::from_str(&text).ok()),
        ))
    })?;
    let mut tasks = TaskFold::default();
    let mut transitions = Vec::new();
    for row in rows {
        let (transition, outputs): (Transition, Option<serde_json::Value>) = row?;
        tasks.apply(&transition, outputs.as_ref());
        transitions.push(transition);
    }
    Ok(Some(RunRecord {
        summary,
        definition,
        definition_hash,
        inputs: serde_json::from_str(&inputs).unwrap_or(serde_json::Value::Null),
        tasks: tasks.into_tasks(),
        transitions,
    }))
}

fn task_state(name: &str) -> Option<TaskState> {
    TaskState::ALL
        .into_iter()
        .find(|state| state.name() == name)
}

fn run_status(name: &str) -> Option<RunStatus> {
    RunStatus::ALL
        .into_iter()
        .find(|status| status.name() == name)
}
