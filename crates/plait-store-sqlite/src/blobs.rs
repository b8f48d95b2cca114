//! The store's files: a [`BlobDir`] beside the database (`.plait/blobs` for
//! `.plait/plait.db`), where `file` outputs are kept for the cache. Copying and hashing a
//! file can take long, so it runs on a blocking thread, never on the caller's.

use std::path::{Path, PathBuf};

use plait_store::blobs::BlobDir;
use plait_store::{Blob, StoreError};

use crate::error::from_io;

/// The blob directory of the database at `db`.
pub(crate) fn dir_for(db: &Path) -> BlobDir {
    let parent = db.parent().unwrap_or(Path::new(""));
    BlobDir::new(parent.join("blobs"))
}

pub(crate) async fn put(blobs: BlobDir, path: PathBuf) -> Result<Blob, StoreError> {
    off_thread(move || {
        blobs.put(&path).map_err(|error| {
            // A file the task left unreadable is not the store's fault: say which file.
            if std::fs::File::open(&path).is_err() {
                StoreError::Other {
                    detail: format!("cannot read {}: {error}", path.display()),
                }
            } else {
                from_io(blobs.root(), &error)
            }
        })
    })
    .await
}

pub(crate) async fn restore(blobs: BlobDir, blob: Blob, to: PathBuf) -> Result<bool, StoreError> {
    off_thread(move || {
        blobs
            .restore(&blob, &to)
            .map_err(|error| from_io(&to, &error))
    })
    .await
}

/// Runs `work` on tokio's blocking pool; in place when there is no tokio runtime (a caller
/// on another executor), rather than panicking.
async fn off_thread<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) => runtime.spawn_blocking(work).await.unwrap_or_else(|error| {
            Err(StoreError::Other {
                detail: format!("a blob operation stopped: {error}"),
            })
        }),
        Err(_) => work(),
    }
}
