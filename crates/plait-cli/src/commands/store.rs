//! Opening the store the commands record runs in and read them from.

use std::sync::Arc;

use plait_store::Store;
use plait_store_sqlite::SqliteStore;

use crate::cli::StoreArgs;
use crate::exit;

/// The store to record a run in (`None`: `:memory:`, nothing kept). `Err` is the exit code,
/// after the reason was printed.
pub(crate) fn for_run(args: &StoreArgs) -> Result<Option<Arc<dyn Store>>, u8> {
    if args.in_memory() {
        return Ok(None);
    }
    match SqliteStore::open(&args.path).and_then(|store| store.writable().map(|()| store)) {
        Ok(store) => Ok(Some(Arc::new(store))),
        Err(error) => {
            eprintln!("error: {error}");
            Err(exit::STORE_UNUSABLE)
        }
    }
}

/// The store to read runs from, if one exists here: reading never creates one.
pub(crate) fn for_reading(args: &StoreArgs) -> Result<Option<SqliteStore>, u8> {
    if args.in_memory() || !args.path.exists() {
        return Ok(None);
    }
    SqliteStore::open(&args.path).map(Some).map_err(|error| {
        eprintln!("error: {error}");
        exit::STORE_UNUSABLE
    })
}

/// The store and the recorded run `wanted` names (an id or a prefix only it has), for the
/// commands about one run. `Err` is the exit code, after the reason was printed.
pub(crate) async fn open_run(
    args: &StoreArgs,
    wanted: &str,
) -> Result<(SqliteStore, plait_store::RunRecord), u8> {
    let store = with_runs(args)?;
    match super::show::find(&store, wanted).await {
        Ok(record) => Ok((store, record)),
        Err(message) => {
            eprintln!("error: {message}");
            Err(exit::BAD_INPUT)
        }
    }
}

/// The store, for a command about recorded runs: one must exist. `Err` is the exit code,
/// after the reason was printed.
pub(crate) fn with_runs(args: &StoreArgs) -> Result<SqliteStore, u8> {
    // A store that cannot be opened has said why.
    let Some(store) = for_reading(args)? else {
        eprintln!("error: no runs are recorded in `{}`", args.path.display());
        return Err(exit::BAD_INPUT);
    };
    Ok(store)
}
