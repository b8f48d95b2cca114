//! Reading and writing the tables of runs (the cache's own rows are in `cache.rs`).

use plait_core::{RunStatus, TaskState};
use plait_store::blobs::BlobDir;
use plait_store::{
    Millis, NewRun, Owner, RunId, RunRecord, RunSettings, RunState, RunSummary, SpawnedChild,
    TaskFold, TaskProcess, Transition, now_millis, owner_alive,
};
use rusqlite::{Connection, OptionalExtension, params};
use rustc_hash::FxHashMap;

use crate::cache;
use crate::encode::Encoded;
use crate::log::LogBatch;

/// Runs a batch names, by id: each one's log key (see `log.rs`), or `None` for a run the
/// store does not have.
pub(crate) type KnownRuns = FxHashMap<RunId, Option<i64>>;

/// The log key of `run_id`, `None` if the run is not in the store; asks the database once
/// per batch.
pub(crate) fn log_key(
    tx: &Connection,
    known: &mut KnownRuns,
    run_id: &RunId,
) -> rusqlite::Result<Option<i64>> {
    if let Some(&key) = known.get(run_id) {
        return Ok(key);
    }
    let key = tx
        .prepare_cached("SELECT log_key FROM runs WHERE run_id = ?1")?
        .query_row([run_id.as_str()], |row| row.get(0))
        .optional()?;
    known.insert(run_id.clone(), key);
    Ok(key)
}

/// Inserts a run the caller checked is new; returns its log key, the next after every
/// run's so far.
pub(crate) fn insert_run(tx: &Connection, run: &NewRun) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO runs (run_id, workflow, source, definition, definition_hash, inputs, started_at, owner_host, owner_pid, owner_started, owner_lease_until, jobs, no_cache, log_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, (SELECT coalesce(max(log_key), 0) + 1 FROM runs))
         RETURNING log_key",
    )?
    .query_row(params![
        run.run_id.as_str(),
        run.workflow,
        run.source,
        run.definition,
        run.definition_hash,
        run.inputs.to_string(),
        run.started_at,
        run.owner.host,
        run.owner.pid,
        run.owner.started as i64,
        run.lease_until,
        run.settings.jobs,
        run.settings.no_cache,
    ], |row| row.get(0))
}

/// Applies writes whose runs the caller checked exist; transitions go to `log`, written
/// once the whole batch is in. `blobs` is where a cache entry's files must be for the entry
/// to be recorded.
pub(crate) fn apply<'a>(
    tx: &Connection,
    blobs: &BlobDir,
    writes: &'a [Encoded],
    log: &mut LogBatch<'a>,
) -> rusqlite::Result<()> {
    for write in writes {
        match write {
            Encoded::Log { run_id, line } => log.push(run_id, line),
            Encoded::Cache(row) => cache::insert_entry(tx, blobs, row)?,
            Encoded::Output(chunk) => crate::output::append(tx, chunk)?,
            Encoded::Used { entry, at, .. } => cache::mark_used(tx, entry, *at)?,
            Encoded::Forget { entry, .. } => cache::forget(tx, entry)?,
            Encoded::Claim {
                run_id,
                owner,
                lease_until,
            } => {
                tx.prepare_cached(
                    "UPDATE runs SET owner_host = ?2, owner_pid = ?3, owner_started = ?4, owner_lease_until = ?5 WHERE run_id = ?1",
                )?
                .execute(params![
                    run_id.as_str(),
                    owner.host,
                    owner.pid,
                    owner.started as i64,
                    lease_until,
                ])?;
            }
            Encoded::Renew {
                run_id,
                lease_until,
                ..
            } => {
                tx.prepare_cached("UPDATE runs SET owner_lease_until = ?2 WHERE run_id = ?1")?
                    .execute(params![run_id.as_str(), lease_until])?;
            }
            Encoded::Release { run_id } => {
                tx.prepare_cached(
                    "UPDATE runs SET owner_host = '', owner_pid = ?2, owner_started = 0 WHERE run_id = ?1",
                )?
                .execute(params![run_id.as_str(), RELEASED_PID])?;
            }
            Encoded::Cancel { run_id } => {
                tx.prepare_cached("UPDATE runs SET cancelled = 1 WHERE run_id = ?1")?
                    .execute(params![run_id.as_str()])?;
            }
            Encoded::Process { run_id, process } => {
                tx.prepare_cached(
                    "INSERT INTO processes (run_id, task, attempt, pgid, started) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    run_id.as_str(),
                    process.task.as_str(),
                    process.attempt,
                    process.pgid,
                    process.started as i64
                ])?;
            }
            Encoded::Spawned { run_id, child } => {
                tx.prepare_cached(
                    "INSERT INTO spawned (run_id, task, parent, spawnable, inputs) VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    run_id.as_str(),
                    child.task.as_str(),
                    child.parent.as_str(),
                    child.spawnable,
                    child.inputs.as_str()
                ])?;
            }
            Encoded::RunFinished { run_id, status, at } => {
                tx.prepare_cached(
                    "UPDATE runs SET status = ?2, finished_at = ?3 WHERE run_id = ?1",
                )?
                .execute(params![run_id.as_str(), status, at])?;
                tx.prepare_cached("DELETE FROM processes WHERE run_id = ?1")?
                    .execute(params![run_id.as_str()])?;
            }
        }
    }
    Ok(())
}

/// The pid a released run records as its owner's: no process has it (the owner columns
/// predate releasing, and are NOT NULL).
const RELEASED_PID: u32 = 0;

/// The owner of `run_id` as recorded (`None` if it was released), and until when its lease
/// holds (`None` if it was recorded before leases).
pub(crate) fn owner(
    conn: &Connection,
    run_id: &RunId,
) -> rusqlite::Result<(Option<Owner>, Option<Millis>)> {
    conn.prepare_cached(
        "SELECT owner_host, owner_pid, owner_started, owner_lease_until FROM runs WHERE run_id = ?1",
    )?
    .query_row(params![run_id.as_str()], |row| {
        Ok((owner_at(row, 0)?, row.get(3)?))
    })
}

/// The owner in the three columns from `first` (host, pid, start time); `None` if released.
fn owner_at(row: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Option<Owner>> {
    let pid: u32 = row.get(first + 1)?;
    if pid == RELEASED_PID {
        return Ok(None);
    }
    Ok(Some(Owner {
        host: row.get(first)?,
        pid,
        started: row.get::<_, i64>(first + 2)? as u64,
    }))
}

const SUMMARY_COLUMNS: &str = "run_id, workflow, source, status, started_at, finished_at, owner_host, owner_pid, owner_started, owner_lease_until";

fn summary(row: &rusqlite::Row<'_>) -> rusqlite::Result<RunSummary> {
    let status: Option<String> = row.get(3)?;
    let owner = owner_at(row, 6)?;
    let lease_until = row.get(9)?;
    let now = now_millis();
    let state = match status.as_deref().and_then(run_status) {
        Some(status) => RunState::Finished(status),
        None if owner
            .as_ref()
            .is_some_and(|owner| owner_alive(owner, lease_until, now)) =>
        {
            RunState::Running
        }
        None => RunState::Interrupted,
    };
    Ok(RunSummary {
        run_id: name_at(row, 0)?,
        workflow: row.get(1)?,
        source: row.get(2)?,
        state,
        started_at: row.get(4)?,
        finished_at: row.get(5)?,
        owner,
        lease_until,
    })
}

pub(crate) fn runs(conn: &Connection) -> rusqlite::Result<Vec<RunSummary>> {
    let sql = format!("SELECT {SUMMARY_COLUMNS} FROM runs ORDER BY started_at DESC, log_key DESC");
    let mut statement = conn.prepare_cached(&sql)?;
    statement.query_map([], summary)?.collect()
}

pub(crate) fn run(conn: &Connection, run_id: &RunId) -> rusqlite::Result<Option<RunRecord>> {
    let sql = format!(
        "SELECT {SUMMARY_COLUMNS}, definition, definition_hash, inputs, log_key, jobs, no_cache, cancelled FROM runs WHERE run_id = ?1"
    );
    let found = conn
        .prepare_cached(&sql)?
        .query_row([run_id.as_str()], |row| {
            let inputs: String = row.get(12)?;
            let settings = match (row.get(14)?, row.get(15)?) {
                (Some(jobs), Some(no_cache)) => Some(RunSettings { jobs, no_cache }),
                _ => None,
            };
            Ok((
                summary(row)?,
                row.get::<_, String>(10)?,
                row.get::<_, String>(11)?,
                inputs,
                row.get::<_, i64>(13)?,
                settings,
                row.get::<_, bool>(16)?,
            ))
        })
        .optional()?;
    let Some((summary, definition, definition_hash, inputs, log_key, settings, cancelled)) = found
    else {
        return Ok(None);
    };
    // Rows of a store written before the log came first; then the log.
    let mut statement = conn.prepare_cached(
        "SELECT task, state, attempt, at, error, outputs FROM transitions WHERE run_id = ?1 ORDER BY id",
    )?;
    let rows = statement.query_map([run_id.as_str()], |row| {
        let state: String = row.get(1)?;
        let outputs: Option<String> = row.get(5)?;
        Ok((
            Transition {
                run_id: run_id.clone(),
                task: name_at(row, 0)?,
                state: task_state(&state).unwrap_or(TaskState::Pending),
                attempt: row.get(2)?,
                at: row.get(3)?,
                error: row.get(4)?,
                key: None,
                ran: None,
            },
            outputs.and_then(|text| serde_json::from_str(&text).ok()),
        ))
    })?;
    let mut recorded = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    recorded.extend(crate::log::read(conn, run_id, log_key)?);
    let processes = conn
        .prepare_cached(
            "SELECT task, attempt, pgid, started FROM processes WHERE run_id = ?1 ORDER BY rowid",
        )?
        .query_map([run_id.as_str()], |row| {
            Ok(TaskProcess {
                task: name_at(row, 0)?,
                attempt: row.get(1)?,
                pgid: row.get(2)?,
                started: row.get::<_, i64>(3)? as u64,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let spawned = conn
        .prepare_cached(
            "SELECT task, parent, spawnable, inputs FROM spawned WHERE run_id = ?1 ORDER BY rowid",
        )?
        .query_map([run_id.as_str()], |row| {
            Ok(SpawnedChild {
                task: name_at(row, 0)?,
                parent: name_at(row, 1)?,
                spawnable: row.get(2)?,
                // Written from a `Json`; a damaged one restores no child (a resume spawns
                // it again).
                inputs: plait_store::Json::parse(row.get(3)?)
                    .unwrap_or_else(|_| plait_store::Json::from_value(&serde_json::Value::Null)),
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut tasks = TaskFold::default();
    let mut transitions = Vec::new();
    for (transition, outputs) in recorded {
        tasks.apply(&transition, outputs.as_ref());
        transitions.push(transition);
    }
    Ok(Some(RunRecord {
        summary,
        definition,
        definition_hash,
        inputs: serde_json::from_str(&inputs).unwrap_or(serde_json::Value::Null),
        settings,
        cancelled,
        processes,
        spawned,
        tasks: tasks.into_tasks(),
        transitions,
    }))
}

/// A text column as a run id, task path or cache key: the text copied once, not through a
/// `String`.
pub(crate) fn name_at<T: for<'text> From<&'text str>>(
    row: &rusqlite::Row<'_>,
    idx: usize,
) -> rusqlite::Result<T> {
    Ok(T::from(row.get_ref(idx)?.as_str()?))
}

pub(crate) fn task_state(name: &str) -> Option<TaskState> {
    TaskState::ALL
        .into_iter()
        .find(|state| state.name() == name)
}

fn run_status(name: &str) -> Option<RunStatus> {
    RunStatus::ALL
        .into_iter()
        .find(|status| status.name() == name)
}
