//! `plait cache stats` and `plait cache gc`.

use bytesize::ByteSize;
use plait_store::{CacheGc, CacheGcReport, CacheStats, Store};
use serde_json::json;

use crate::cli::{CacheCommand, StoreArgs};
use crate::exit;
use crate::render::time::timestamp;

pub(crate) async fn cache(command: CacheCommand) -> u8 {
    match command {
        CacheCommand::Stats { store, json } => stats(&store, json).await,
        CacheCommand::Gc {
            older_than,
            max_size,
            dry_run,
            store,
            json,
        } => {
            if older_than.is_none() && max_size.is_none() {
                eprintln!(
                    "error: say what to remove: `--older-than AGE`, `--max-size SIZE`, or both"
                );
                return exit::BAD_INPUT;
            }
            let gc = CacheGc {
                now: i64::try_from(plait_engine::unix_millis(std::time::SystemTime::now()))
                    .unwrap_or(i64::MAX),
                unused_for: older_than
                    .map(|age| i64::try_from(age.as_millis()).unwrap_or(i64::MAX)),
                max_bytes: max_size,
                dry_run,
            };
            gc_cache(&store, gc, json).await
        }
    }
}

/// Asks the store, if there is one (none: the answer is empty). `Err` is the exit code, after
/// the reason was printed.
async fn ask<T, F>(
    args: &StoreArgs,
    question: impl FnOnce(plait_store_sqlite::SqliteStore) -> F,
) -> Result<T, u8>
where
    T: Default,
    F: std::future::Future<Output = Result<T, plait_store::StoreError>>,
{
    if args.in_memory() {
        eprintln!("error: `:memory:` keeps no cache");
        return Err(exit::BAD_INPUT);
    }
    match super::store::for_reading(args)? {
        None => Ok(T::default()),
        Some(store) => question(store).await.map_err(|error| {
            eprintln!("error: {error}");
            exit::STORE_UNUSABLE
        }),
    }
}

async fn stats(args: &StoreArgs, as_json: bool) -> u8 {
    let stats: CacheStats = match ask(args, |store| async move { store.cache_stats().await }).await
    {
        Ok(stats) => stats,
        Err(code) => return code,
    };
    if as_json {
        println!(
            "{}",
            json!({
                "entries": stats.entries,
                "bytes": stats.bytes,
                "blobs": stats.blobs,
                "blob_bytes": stats.blob_bytes,
                "oldest_used_at": stats.oldest_used_at.map(timestamp),
                "newest_used_at": stats.newest_used_at.map(timestamp),
                "hits": stats.hits,
                "misses": stats.misses,
            })
        );
        return exit::OK;
    }
    println!(
        "{} cached result(s), {} ({} file(s), {} on disk)",
        stats.entries,
        ByteSize::b(stats.bytes).display().iec(),
        stats.blobs,
        ByteSize::b(stats.blob_bytes).display().iec()
    );
    if let (Some(oldest), Some(newest)) = (stats.oldest_used_at, stats.newest_used_at) {
        println!(
            "last used between {} and {}",
            timestamp(oldest),
            timestamp(newest)
        );
    }
    let looked_up = stats.hits + stats.misses;
    if looked_up > 0 {
        println!(
            "recorded runs reused {} of {} cacheable task result(s) ({:.0}%)",
            stats.hits,
            looked_up,
            100.0 * stats.hits as f64 / looked_up as f64
        );
    }
    exit::OK
}

async fn gc_cache(args: &StoreArgs, gc: CacheGc, as_json: bool) -> u8 {
    let dry_run = gc.dry_run;
    let report: CacheGcReport =
        match ask(args, |store| async move { store.cache_gc(gc).await }).await {
            Ok(report) => report,
            Err(code) => return code,
        };
    if as_json {
        println!(
            "{}",
            json!({
                "dry_run": dry_run,
                "entries_removed": report.entries_removed,
                "bytes_removed": report.bytes_removed,
                "blobs_removed": report.blobs_removed,
                "entries_kept": report.entries_kept,
                "bytes_kept": report.bytes_kept,
            })
        );
        return exit::OK;
    }
    let verb = if dry_run { "would remove" } else { "removed" };
    println!(
        "{verb} {} result(s) ({}) and {} file(s); {} result(s) ({}) kept",
        report.entries_removed,
        ByteSize::b(report.bytes_removed).display().iec(),
        report.blobs_removed,
        report.entries_kept,
        ByteSize::b(report.bytes_kept).display().iec()
    );
    exit::OK
}
