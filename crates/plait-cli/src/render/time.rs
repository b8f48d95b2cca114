//! Recorded times (milliseconds since the epoch) for people and for JSON.

use std::time::{Duration, SystemTime};

/// RFC 3339, UTC, milliseconds.
pub(crate) fn timestamp(millis: i64) -> String {
    rfc3339(SystemTime::UNIX_EPOCH + Duration::from_millis(millis.max(0) as u64))
}

/// RFC 3339, UTC, milliseconds.
fn rfc3339(time: SystemTime) -> String {
    humantime::format_rfc3339_millis(time).to_string()
}

pub(crate) fn duration_between(start: i64, end: i64) -> String {
    super::seconds(Duration::from_millis((end - start).max(0) as u64))
}
