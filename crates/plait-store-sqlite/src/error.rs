//! SQLite's and the file system's errors as the store's typed ones.

use std::io::ErrorKind;
use std::path::Path;

use plait_store::StoreError;
use rusqlite::ErrorCode;

pub(crate) fn from_sqlite(path: &str, error: &rusqlite::Error) -> StoreError {
    let path = path.to_owned();
    if let rusqlite::Error::SqliteFailure(failure, message) = error {
        let detail = message.clone().unwrap_or_else(|| failure.to_string());
        return match failure.code {
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => StoreError::Locked { path },
            ErrorCode::ReadOnly => StoreError::ReadOnly { path },
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                StoreError::Corrupt { path, detail }
            }
            ErrorCode::DiskFull => StoreError::Full { path },
            ErrorCode::CannotOpen | ErrorCode::PermissionDenied => {
                StoreError::Open { path, detail }
            }
            _ => StoreError::Other {
                detail: format!("{path}: {detail}"),
            },
        };
    }
    StoreError::Other {
        detail: format!("{path}: {error}"),
    }
}

/// A file operation of the blob store (at `path`) as a typed error: a full disk and a
/// read-only one are for the user to fix, like SQLite's own.
pub(crate) fn from_io(path: &Path, error: &std::io::Error) -> StoreError {
    let shown = path.display().to_string();
    match error.kind() {
        ErrorKind::StorageFull => StoreError::Full { path: shown },
        ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
            StoreError::ReadOnly { path: shown }
        }
        _ => StoreError::Other {
            detail: format!("{shown}: {error}"),
        },
    }
}
