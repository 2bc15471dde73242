//! Timestamps are stored as epoch milliseconds (BIGINT) in both dialects, so comparisons and
//! arithmetic in SQL are the same everywhere; the wire uses RFC 3339 UTC.

use chrono::{DateTime, SecondsFormat, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

pub fn to_rfc3339(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn opt_rfc3339(ms: Option<i64>) -> Option<String> {
    ms.map(to_rfc3339)
}
