//! Each attempt's stdout and stderr (table `output`): chunks as they were written, keyed by
//! the attempt's stream and where each starts, trimmed to the stream's last `limit` bytes
//! as chunks arrive. Only attempts that write anything have rows.

use plait_store::{Output, OutputChunk, OutputInfo, OutputStream, RunId, TaskPath};
use rusqlite::{Connection, OptionalExtension, params};

use crate::rows::name_at;

const STREAM: &str = "run_id = ?1 AND task = ?2 AND attempt = ?3 AND stream = ?4";

/// Appends `chunk` to what its stream keeps, then drops what falls before its limit (the
/// same rules as `plait_store::KeptOutput::append`).
pub(crate) fn append(tx: &Connection, chunk: &OutputChunk) -> rusqlite::Result<()> {
    let stream = (
        chunk.run_id.as_str(),
        chunk.task.as_str(),
        chunk.attempt,
        chunk.stream.name(),
    );
    let end: Option<i64> = tx
        .prepare_cached(&format!(
            "SELECT start + length(bytes) FROM output WHERE {STREAM} ORDER BY start DESC LIMIT 1"
        ))?
        .query_row(params![stream.0, stream.1, stream.2, stream.3], |row| {
            row.get(0)
        })
        .optional()?;
    let end = end.unwrap_or(0) as u64;
    let mut start = chunk.offset;
    let mut bytes = &chunk.bytes[..];
    if start > end {
        // What came between was cut by the writer: nothing before it is kept.
        tx.prepare_cached(&format!("DELETE FROM output WHERE {STREAM}"))?
            .execute(params![stream.0, stream.1, stream.2, stream.3])?;
    } else {
        let seen = usize::try_from(end - start).unwrap_or(usize::MAX);
        bytes = bytes.get(seen..).unwrap_or_default();
        start = end;
    }
    if bytes.is_empty() {
        return Ok(());
    }
    tx.prepare_cached(
        "INSERT INTO output (run_id, task, attempt, stream, start, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![stream.0, stream.1, stream.2, stream.3, start as i64, bytes])?;
    let keep_from = (start + bytes.len() as u64).saturating_sub(chunk.limit);
    if keep_from > 0 {
        let keep_from = keep_from as i64;
        tx.prepare_cached(&format!(
            "DELETE FROM output WHERE {STREAM} AND start + length(bytes) <= ?5"
        ))?
        .execute(params![stream.0, stream.1, stream.2, stream.3, keep_from])?;
        tx.prepare_cached(&format!(
            "UPDATE output SET bytes = substr(bytes, ?5 - start + 1), start = ?5 WHERE {STREAM} AND start < ?5"
        ))?
        .execute(params![stream.0, stream.1, stream.2, stream.3, keep_from])?;
    }
    Ok(())
}

/// What a stream keeps from `from` on; `None` if the attempt wrote nothing to it.
pub(crate) fn read(
    conn: &Connection,
    run_id: &RunId,
    task: &TaskPath,
    attempt: u32,
    stream: OutputStream,
    from: u64,
) -> rusqlite::Result<Option<Output>> {
    let stream = (run_id.as_str(), task.as_str(), attempt, stream.name());
    // One read transaction, so the bounds and the bytes agree.
    let tx = conn.unchecked_transaction()?;
    let bounds: (Option<i64>, Option<i64>) = tx
        .prepare_cached(&format!(
            "SELECT min(start), max(start + length(bytes)) FROM output WHERE {STREAM}"
        ))?
        .query_row(params![stream.0, stream.1, stream.2, stream.3], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })?;
    let (Some(cut), Some(end)) = bounds else {
        return Ok(None);
    };
    let (cut, end) = (cut as u64, end as u64);
    let offset = from.clamp(cut, end);
    let mut bytes = Vec::new();
    let mut statement = tx.prepare_cached(&format!(
        "SELECT start, bytes FROM output WHERE {STREAM} AND start + length(bytes) > ?5 ORDER BY start"
    ))?;
    let mut rows = statement.query(params![
        stream.0,
        stream.1,
        stream.2,
        stream.3,
        offset as i64
    ])?;
    while let Some(row) = rows.next()? {
        let start = row.get::<_, i64>(0)? as u64;
        let chunk = row.get_ref(1)?.as_blob()?;
        let skip = usize::try_from(offset.saturating_sub(start)).unwrap_or(usize::MAX);
        bytes.extend_from_slice(chunk.get(skip..).unwrap_or_default());
    }
    Ok(Some(Output { offset, bytes, cut }))
}

/// Every stream of the run that has output.
pub(crate) fn list(conn: &Connection, run_id: &RunId) -> rusqlite::Result<Vec<OutputInfo>> {
    let mut statement = conn.prepare_cached(
        "SELECT task, attempt, stream, min(start), max(start + length(bytes)) FROM output
         WHERE run_id = ?1 GROUP BY task, attempt, stream ORDER BY task, attempt, stream",
    )?;
    let rows = statement.query_map([run_id.as_str()], |row| {
        let stream: String = row.get(2)?;
        Ok(OutputInfo {
            task: name_at(row, 0)?,
            attempt: row.get(1)?,
            stream: match stream.as_str() {
                "stdout" => OutputStream::Stdout,
                _ => OutputStream::Stderr,
            },
            cut: row.get::<_, i64>(3)? as u64,
            end: row.get::<_, i64>(4)? as u64,
        })
    })?;
    rows.collect()
}
