//! The result cache's rows: entries by key, the key each task of a run ran under, and the
//! one gc that removes entries and then the files no entry names.

use std::collections::HashSet;

use rustc_hash::FxHashSet;

use plait_store::blobs::BlobDir;
use plait_store::{
    Blob, CacheEntry, CacheGc, CacheGcReport, CacheKey, CacheStats, EntryUse, Json, Millis, RunId,
    StoreError, TaskPath,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::{from_io, from_sqlite};
use crate::rows::name_at;

/// The columns [`entry`] reads, in its order (a macro, for `concat!`).
macro_rules! entry_columns {
    () => {
        "key, task, run_id, outputs, blobs, created_at, used_at"
    };
}

/// An entry's files as stored in `cache.blobs`: `[output, hash, size]` triples.
type BlobRow = (String, String, u64);

/// An entry's task and key, and the key's index value (see [`prefix`]).
pub(crate) struct EntryId {
    task: TaskPath,
    prefix: i64,
    key: CacheKey,
}

impl EntryId {
    pub(crate) fn new(task: TaskPath, key: CacheKey) -> EntryId {
        EntryId {
            task,
            prefix: prefix(&key),
            key,
        }
    }
}

/// An entry's row, its columns encoded on the caller's thread (`encode.rs`).
pub(crate) struct CacheRow {
    id: EntryId,
    pub(crate) run_id: RunId,
    outputs: Json,
    /// `[output, hash, size]` triples, as JSON.
    files: String,
    /// The files' hashes, which must still be kept when the row is written.
    hashes: Vec<String>,
    size: i64,
    created_at: Millis,
    used_at: Millis,
}

impl CacheRow {
    pub(crate) fn new(entry: CacheEntry) -> serde_json::Result<CacheRow> {
        let files: Vec<(&str, &str, u64)> = entry
            .blobs
            .iter()
            .map(|(name, blob)| (name.as_str(), blob.hash.as_str(), blob.size))
            .collect();
        let files = serde_json::to_string(&files)?;
        let size = entry.size();
        Ok(CacheRow {
            hashes: entry.blobs.into_iter().map(|(_, blob)| blob.hash).collect(),
            id: EntryId::new(entry.task, entry.key),
            run_id: entry.run_id,
            outputs: entry.outputs,
            files,
            size: to_sql_size(size),
            created_at: entry.created_at,
            used_at: entry.used_at,
        })
    }
}

/// Records an entry, replacing any under its key. Skipped, silently, when a file it names
/// is gone: a gc (of this process or another) may have removed it between the task's
/// `put_blob` and this commit, and an entry whose file cannot be restored could only ever
/// miss. No gc runs meanwhile: gc holds the write lock throughout, and this runs inside the
/// writer's transaction.
pub(crate) fn insert_entry(
    tx: &Connection,
    blobs: &BlobDir,
    row: &CacheRow,
) -> rusqlite::Result<()> {
    if !row.hashes.iter().all(|hash| blobs.contains(hash)) {
        return Ok(());
    }
    // The newest result for a key replaces any other (the index is unique).
    tx.prepare_cached(
        "INSERT OR REPLACE INTO cache (prefix, key, task, run_id, outputs, blobs, size, created_at, used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        row.id.prefix,
        row.id.key.as_str(),
        row.id.task.as_str(),
        row.run_id.as_str(),
        row.outputs.as_str(),
        row.files,
        row.size,
        row.created_at,
        row.used_at,
    ])?;
    Ok(())
}

/// A reuse marks its entry used (never back in time).
pub(crate) fn mark_used(tx: &Connection, entry: &EntryId, at: Millis) -> rusqlite::Result<()> {
    tx.prepare_cached(MARK_USED)?.execute(params![
        entry.task.as_str(),
        entry.prefix,
        entry.key.as_str(),
        at
    ])?;
    Ok(())
}

/// A reverted task's result is no longer valid.
pub(crate) fn forget(tx: &Connection, entry: &EntryId) -> rusqlite::Result<()> {
    tx.prepare_cached(FORGET)?.execute(params![
        entry.task.as_str(),
        entry.prefix,
        entry.key.as_str()
    ])?;
    Ok(())
}

/// The statements that find one entry or one task's, each through the index on (task,
/// prefix) (tested in `schema.rs`).
pub(crate) const GET: &str = concat!(
    "SELECT ",
    entry_columns!(),
    " FROM cache WHERE task = ?1 AND prefix = ?2 AND key = ?3"
);
pub(crate) const MARK_USED: &str =
    "UPDATE cache SET used_at = ?4 WHERE task = ?1 AND prefix = ?2 AND key = ?3 AND used_at < ?4";
pub(crate) const FORGET: &str = "DELETE FROM cache WHERE task = ?1 AND prefix = ?2 AND key = ?3";
pub(crate) const BY_TASK: &str =
    concat!("SELECT ", entry_columns!(), " FROM cache WHERE task = ?1");

/// The entry under `key`, computed by `task`.
pub(crate) fn get(
    conn: &Connection,
    task: &TaskPath,
    key: &CacheKey,
) -> rusqlite::Result<Option<CacheEntry>> {
    // A constant, not a `format!`: this runs for every task of a run not preloaded.
    let found = conn
        .prepare_cached(GET)?
        .query_row(params![task.as_str(), prefix(key), key.as_str()], entry)
        .optional()?;
    Ok(found.flatten())
}

/// How a run's preload reads the entries of its tasks (`SqliteStore::entries_of`): one
/// pass over the table, or a lookup per task.
pub(crate) enum EntriesPlan {
    /// Every entry (the common case: one project's store holds not many more entries than
    /// a run has tasks), in rowid ranges that can be read in parallel.
    Scan(Vec<(i64, i64)>),
    ByTask,
}

/// Up to this many entries per task wanted, the preload reads the whole table.
const SCAN_FACTOR: usize = 4;

/// A scan is split in parts only when the table holds at least this many entries per part.
const SCAN_PART_MIN: i64 = 4_096;

/// Decides how to read the entries of `tasks`, in at most `ways` parallel parts.
pub(crate) fn plan_entries(
    conn: &Connection,
    tasks: usize,
    ways: usize,
) -> rusqlite::Result<EntriesPlan> {
    let (total, first, last): (i64, Option<i64>, Option<i64>) = conn
        .prepare_cached("SELECT count(*), min(id), max(id) FROM cache")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    if total as usize > SCAN_FACTOR * tasks {
        return Ok(EntriesPlan::ByTask);
    }
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(EntriesPlan::Scan(Vec::new()));
    };
    let parts = (total / SCAN_PART_MIN).clamp(1, ways.max(1) as i64);
    Ok(EntriesPlan::Scan(split_range(first, last, parts as usize)))
}

/// `first..=last` cut in `parts` contiguous ranges of (nearly) equal span, in order; the
/// last ends at `last`. Computed wide: rowids may sit anywhere in `i64`.
fn split_range(first: i64, last: i64, parts: usize) -> Vec<(i64, i64)> {
    let (first, last) = (i128::from(first), i128::from(last));
    let parts = (parts.max(1) as i128).min(last - first + 1);
    let step = (last - first + 1 + parts - 1) / parts;
    (0..parts)
        .map(|part| {
            let low = first + part * step;
            let high = if part == parts - 1 {
                last
            } else {
                (low + step - 1).min(last)
            };
            // Both lie within the original `first..=last`.
            (low as i64, high as i64)
        })
        .collect()
}

/// The entries with a rowid in `range` computed by one of `wanted`.
pub(crate) fn scan_entries(
    conn: &Connection,
    range: (i64, i64),
    wanted: &FxHashSet<&str>,
) -> rusqlite::Result<Vec<CacheEntry>> {
    let mut statement = conn.prepare_cached(concat!(
        "SELECT ",
        entry_columns!(),
        " FROM cache WHERE id BETWEEN ?1 AND ?2"
    ))?;
    let mut rows = statement.query(params![range.0, range.1])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        if wanted.contains(row.get_ref(1)?.as_str()?) {
            entries.extend(entry(row)?);
        }
    }
    Ok(entries)
}

/// Every entry computed by one of `tasks`, by the index on `task`, in one read
/// transaction.
pub(crate) fn entries_by_task(
    conn: &Connection,
    tasks: &[TaskPath],
) -> rusqlite::Result<Vec<CacheEntry>> {
    let snapshot = conn.unchecked_transaction()?;
    let mut entries = Vec::new();
    {
        let mut statement = snapshot.prepare_cached(BY_TASK)?;
        for task in tasks {
            for found in statement.query_map([task.as_str()], entry)? {
                entries.extend(found?);
            }
        }
    }
    snapshot.commit()?;
    Ok(entries)
}

/// An entry from its row. One that cannot be read back (its JSON damaged) is a miss, with a
/// warning: the task then runs, and its completion replaces the entry.
fn entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Option<CacheEntry>> {
    // Checked, not parsed: a run hands the text on (a reuse's record) and parses it only
    // when a task reuses it.
    let outputs = Json::parse(row.get_ref(3)?.as_str()?.to_owned());
    let files = match row.get_ref(4)?.as_str()? {
        // Most results are not files: no parse for them.
        "[]" => Ok(Vec::new()),
        listed => serde_json::from_str::<Vec<BlobRow>>(listed),
    };
    let key: CacheKey = name_at(row, 0)?;
    let (Ok(outputs), Ok(files)) = (outputs, files) else {
        tracing::warn!(%key, "a cache entry is damaged; taken as a miss");
        return Ok(None);
    };
    Ok(Some(CacheEntry {
        key,
        task: name_at(row, 1)?,
        run_id: name_at(row, 2)?,
        outputs,
        blobs: files
            .into_iter()
            .map(|(name, hash, size)| (name, Blob { hash, size }))
            .collect(),
        created_at: row.get(5)?,
        used_at: row.get(6)?,
    }))
}

/// What the cache's tables hold; the caller adds what the blob directory holds.
pub(crate) fn stats(conn: &Connection) -> rusqlite::Result<CacheStats> {
    let (entries, bytes, oldest_used_at, newest_used_at) = conn
        .prepare_cached(
            "SELECT count(*), coalesce(sum(size), 0), min(used_at), max(used_at) FROM cache",
        )?
        .query_row([], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, i64>(1)?,
                row.get(2)?,
                row.get(3)?,
            ))
        })?;
    // Counted as the log is written (`log.rs`): a hit reused a result; a miss had a key
    // (so could have) and executed.
    let (hits, misses) = conn
        .prepare_cached("SELECT hits, misses FROM cache_counts")?
        .query_row([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))?;
    Ok(CacheStats {
        entries: entries as u64,
        bytes: bytes as u64,
        oldest_used_at,
        newest_used_at,
        hits: hits as u64,
        misses: misses as u64,
        ..CacheStats::default()
    })
}

/// Removes the entries `gc` selects, then every file no remaining entry names, inside one
/// `BEGIN IMMEDIATE` transaction: no commit of this process or another interleaves, so an
/// entry naming a file cannot be committed between listing the files and removing them
/// (a completion whose file went meanwhile finds it gone, see [`insert_entry`]). A dry run
/// reads the same and changes nothing.
///
/// A file that cannot be removed fails the gc, and the entries it selected stay; files
/// already removed stay removed, and an entry naming one of them misses (its task runs
/// again, and its completion keeps the file anew).
pub(crate) fn gc(
    conn: &mut Connection,
    path: &str,
    blobs: &BlobDir,
    gc: &CacheGc,
) -> Result<CacheGcReport, StoreError> {
    let sqlite = |error: rusqlite::Error| from_sqlite(path, &error);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(sqlite)?;
    // Every entry's use, and its row with the files of those that have any.
    let mut uses = Vec::new();
    let mut rows_files: Vec<(i64, Option<String>)> = Vec::new();
    {
        let mut statement = tx
            .prepare_cached("SELECT key, used_at, size, blobs, id FROM cache")
            .map_err(sqlite)?;
        let mut rows = statement.query([]).map_err(sqlite)?;
        while let Some(row) = rows.next().map_err(sqlite)? {
            uses.push(EntryUse {
                key: name_at(row, 0).map_err(sqlite)?,
                used_at: row.get(1).map_err(sqlite)?,
                size: row.get::<_, i64>(2).map_err(sqlite)? as u64,
            });
            let listed: String = row.get(3).map_err(sqlite)?;
            rows_files.push((
                row.get(4).map_err(sqlite)?,
                (listed != "[]").then_some(listed),
            ));
        }
    }
    // By key alone: a key is a hash over its task's path too, so it names one task's entry.
    let doomed: HashSet<CacheKey> = gc.select(&uses).into_iter().collect();
    let mut report = CacheGcReport::default();
    let mut needed: HashSet<String> = HashSet::new();
    let mut removed = Vec::new();
    for (entry, (rowid, listed)) in uses.iter().zip(rows_files) {
        if doomed.contains(&entry.key) {
            report.entries_removed += 1;
            report.bytes_removed += entry.size;
            removed.push(rowid);
            continue;
        }
        report.entries_kept += 1;
        report.bytes_kept += entry.size;
        // An entry whose list is damaged is a miss anyway (see `get`): it keeps no file.
        if let Some(Ok(listed)) = listed.map(|text| serde_json::from_str::<Vec<BlobRow>>(&text)) {
            needed.extend(listed.into_iter().map(|(_, hash, _)| hash));
        }
    }
    if !gc.dry_run {
        let mut delete = tx
            .prepare_cached("DELETE FROM cache WHERE id = ?1")
            .map_err(sqlite)?;
        for rowid in removed {
            delete.execute([rowid]).map_err(sqlite)?;
        }
    }
    let io = |error: std::io::Error| from_io(blobs.root(), &error);
    let unneeded = blobs
        .unneeded(needed.iter().map(String::as_str))
        .map_err(io)?;
    report.blobs_removed = unneeded.len() as u64;
    if !gc.dry_run {
        for hash in &unneeded {
            blobs.remove(hash).map_err(io)?;
        }
        tx.commit().map_err(sqlite)?;
    }
    Ok(report)
}

/// The key's index value: 63 bits of its hash. The index on it is small (a few bytes per
/// entry beside the task's path), so inserting keys in random order touches few pages; the
/// full key is compared in the row.
fn prefix(key: &CacheKey) -> i64 {
    let hash = blake3::hash(key.as_str().as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_bytes()[..8]);
    (u64::from_le_bytes(bytes) >> 1) as i64
}

/// SQLite integers are signed; no entry is 8 EiB.
fn to_sql_size(size: u64) -> i64 {
    i64::try_from(size).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::{EntriesPlan, plan_entries, split_range};

    fn table_with(rows: usize) -> rusqlite::Connection {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        crate::schema::migrations().to_latest(&mut conn).unwrap();
        if rows == 0 {
            return conn;
        }
        conn.execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO cache (prefix, key, task, run_id, outputs, blobs, size, created_at, used_at)
             SELECT i, 'k' || i, 't' || i, 'r', '{{}}', '[]', 2, 0, 0 FROM n;"
        ))
        .unwrap();
        conn
    }

    /// A table about the plan's size is scanned, in two parts once big enough; a table much
    /// bigger than the plan is read by task.
    #[test]
    fn the_preload_scans_in_parts_or_reads_by_task() {
        let parts = |rows, tasks| match plan_entries(&table_with(rows), tasks, 2).unwrap() {
            EntriesPlan::Scan(ranges) => Some(ranges.len()),
            EntriesPlan::ByTask => None,
        };
        assert_eq!(parts(0, 10), Some(0));
        assert_eq!(parts(100, 100), Some(1));
        assert_eq!(parts(9_000, 3_000), Some(2));
        assert_eq!(parts(9_000, 100), None);
    }

    /// The ranges cover `first..=last` exactly once, in order, whatever the ids.
    #[test]
    fn ranges_cover_every_rowid_once() {
        let cases = [
            (1, 10_000, 2),
            (1, 1, 2),
            (5, 6, 2),
            (1, 3, 2),
            (-7, 7, 3),
            (1, i64::MAX, 2),
            (i64::MIN, i64::MAX, 2),
            (i64::MAX - 1, i64::MAX, 4),
            (42, 42, 1),
        ];
        for (first, last, parts) in cases {
            let ranges = split_range(first, last, parts);
            assert!(!ranges.is_empty(), "{first}..={last}");
            assert!(ranges.len() <= parts);
            assert_eq!(ranges[0].0, first);
            assert_eq!(ranges[ranges.len() - 1].1, last);
            for (low, high) in &ranges {
                assert!(low <= high, "{first}..={last}: {ranges:?}");
            }
            for pair in ranges.windows(2) {
                assert_eq!(pair[0].1.checked_add(1), Some(pair[1].0), "{ranges:?}");
            }
        }
        assert_eq!(split_range(1, 10_000, 2), [(1, 5_000), (5_001, 10_000)]);
    }
}
