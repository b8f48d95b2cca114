//! SQLite's errors as the store's typed ones.

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
