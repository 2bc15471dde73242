//! Field rules shared by request types: ids, trimmed text, label lists, dates and times, and
//! the `Option<Option<T>>` shape that tells "absent" from "null" in partial updates.
//!
//! Each `check_*` function has the signature garde's `custom(...)` expects, so request types
//! report failures per field in `details.fields`.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

/// Longest accepted entity id.
pub const ID_MAX: usize = 128;

/// Whether `id` is a well-formed entity id: 1–128 characters of `A-Z a-z 0-9 . _ : -`,
/// starting with a letter or digit. Covers UUIDs and the original's `kind-<base36>-<rand>` ids.
pub fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    id.len() <= ID_MAX
        && first.is_ascii_alphanumeric()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

pub fn check_id(value: &str, _ctx: &()) -> garde::Result {
    if is_valid_id(value.trim()) {
        Ok(())
    } else {
        Err(garde::Error::new(
            "must be 1-128 characters of letters, digits, '.', '_', ':' or '-'",
        ))
    }
}

pub fn check_opt_id(value: &Option<String>, ctx: &()) -> garde::Result {
    value.as_deref().map_or(Ok(()), |v| check_id(v, ctx))
}

/// A nullable id in a partial update: absent and null are both fine.
pub fn check_nullable_id(value: &Option<Option<String>>, ctx: &()) -> garde::Result {
    value
        .as_ref()
        .and_then(Option::as_deref)
        .map_or(Ok(()), |v| check_id(v, ctx))
}

pub fn check_id_list(values: &[String], max: usize) -> garde::Result {
    if values.len() > max {
        return Err(garde::Error::new(format!("at most {max} ids")));
    }
    match values.iter().find(|v| !is_valid_id(v.trim())) {
        Some(bad) => Err(garde::Error::new(format!("'{bad}' is not a valid id"))),
        None => Ok(()),
    }
}

/// Trimmed text of at most `max` characters; `min_one` also rejects blank text.
pub fn check_text(value: &str, min_one: bool, max: usize) -> garde::Result {
    no_nul(value)?;
    let trimmed = value.trim();
    if min_one && trimmed.is_empty() {
        return Err(garde::Error::new("must not be blank"));
    }
    if trimmed.chars().count() > max {
        return Err(garde::Error::new(format!("at most {max} characters")));
    }
    Ok(())
}

/// Rejects NUL characters: valid JSON, but PostgreSQL text cannot hold them.
pub fn no_nul(value: &str) -> garde::Result {
    if value.contains('\0') {
        return Err(garde::Error::new("must not contain NUL characters"));
    }
    Ok(())
}

/// A list of short labels (tags, kanban labels): each trimmed 1..=`each_max` characters.
pub fn check_labels(values: &[String], max: usize, each_max: usize) -> garde::Result {
    if values.len() > max {
        return Err(garde::Error::new(format!("at most {max} entries")));
    }
    for v in values {
        no_nul(v)?;
        let t = v.trim();
        if t.is_empty() || t.chars().count() > each_max {
            return Err(garde::Error::new(format!(
                "each entry must be 1-{each_max} characters"
            )));
        }
    }
    Ok(())
}

/// Trims, drops duplicates (first one wins) and keeps the order.
pub fn normalize_labels(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        let t = v.trim();
        if !t.is_empty() && !out.iter().any(|o| o == t) {
            out.push(t.to_owned());
        }
    }
    out
}

/// Trims ids and drops duplicates, keeping the order.
pub fn normalize_ids(values: &[String]) -> Vec<String> {
    normalize_labels(values)
}

/// A calendar day `YYYY-MM-DD`.
pub fn parse_day(value: &str) -> Option<NaiveDate> {
    let v = value.trim();
    if v.len() != 10 {
        return None;
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .filter(|d| *d >= NaiveDate::default())
}

pub fn check_day(value: &str, _ctx: &()) -> garde::Result {
    parse_day(value)
        .map(|_| ())
        .ok_or_else(|| garde::Error::new("must be a date YYYY-MM-DD"))
}

pub fn check_opt_day(value: &Option<String>, ctx: &()) -> garde::Result {
    value.as_deref().map_or(Ok(()), |v| check_day(v, ctx))
}

pub fn check_nullable_day(value: &Option<Option<String>>, ctx: &()) -> garde::Result {
    value
        .as_ref()
        .and_then(Option::as_deref)
        .map_or(Ok(()), |v| check_day(v, ctx))
}

/// An RFC 3339 timestamp, as epoch milliseconds.
pub fn parse_rfc3339_ms(value: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(value.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc).timestamp_millis())
        .filter(|ms| (0..=MAX_MS).contains(ms))
}

pub fn check_rfc3339(value: &str, _ctx: &()) -> garde::Result {
    parse_rfc3339_ms(value)
        .map(|_| ())
        .ok_or_else(|| garde::Error::new("must be an RFC 3339 timestamp"))
}

pub fn check_opt_rfc3339(value: &Option<String>, ctx: &()) -> garde::Result {
    value.as_deref().map_or(Ok(()), |v| check_rfc3339(v, ctx))
}

/// One end of a date range in a list query: an RFC 3339 timestamp or a whole day
/// `YYYY-MM-DD` (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeBound {
    Instant(i64),
    Day(NaiveDate),
}

impl RangeBound {
    pub fn parse(value: &str) -> Option<Self> {
        if let Some(day) = parse_day(value) {
            return Some(RangeBound::Day(day));
        }
        parse_rfc3339_ms(value).map(RangeBound::Instant)
    }

    /// As a lower bound (inclusive): a day starts at its midnight.
    pub fn start_ms(self) -> i64 {
        match self {
            RangeBound::Instant(ms) => ms,
            RangeBound::Day(d) => day_start_ms(d),
        }
    }

    /// As an upper bound (inclusive): a day includes its last millisecond.
    pub fn end_ms(self) -> i64 {
        match self {
            RangeBound::Instant(ms) => ms,
            RangeBound::Day(d) => day_start_ms(d) + DAY_MS - 1,
        }
    }
}

pub const DAY_MS: i64 = 86_400_000;

pub fn day_start_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}

/// The UTC day an instant falls on.
pub fn day_of_ms(ms: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .date_naive()
}

pub fn check_opt_range_bound(value: &Option<String>, _ctx: &()) -> garde::Result {
    match value.as_deref() {
        Some(v) if RangeBound::parse(v).is_none() => Err(garde::Error::new(
            "must be an RFC 3339 timestamp or a date YYYY-MM-DD",
        )),
        _ => Ok(()),
    }
}

/// A point in time as the original sent it (epoch milliseconds) or as we do (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum TimeInput {
    /// Epoch milliseconds (≥ 0).
    Millis(i64),
    /// RFC 3339 timestamp.
    Text(String),
}

/// 9999-12-31T23:59:59.999Z: the last instant RFC 3339 can write.
pub const MAX_MS: i64 = 253_402_300_799_999;

impl TimeInput {
    /// Epoch ms in `0..=MAX_MS`, or `None`.
    pub fn to_ms(&self) -> Option<i64> {
        let ms = match self {
            TimeInput::Millis(ms) => *ms,
            TimeInput::Text(t) => parse_rfc3339_ms(t)?,
        };
        (0..=MAX_MS).contains(&ms).then_some(ms)
    }
}

pub fn check_opt_time(value: &Option<TimeInput>, _ctx: &()) -> garde::Result {
    match value {
        Some(t) if t.to_ms().is_none() => Err(garde::Error::new(
            "must be an RFC 3339 timestamp or epoch milliseconds >= 0",
        )),
        _ => Ok(()),
    }
}

/// Deserializes a field present in the body (even as `null`) to `Some(..)`, so that
/// `#[serde(default)]` leaves only an absent field as `None`.
pub fn nullable<'de, D, T>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

// ---- rules of the delivery chain (VM registry, licenses, artifacts, secrets) ----
/// `vm_uuid`: 8..=128 characters after trimming, letters, digits, `:`, `_` and `-`.
pub fn vm_uuid(value: &str, _ctx: &()) -> garde::Result {
    let v = value.trim();
    if !(8..=128).contains(&v.chars().count()) {
        return Err(garde::Error::new("must be 8 to 128 characters"));
    }
    if !v
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '-'))
    {
        return Err(garde::Error::new(
            "may contain only letters, digits, ':', '_' and '-'",
        ));
    }
    Ok(())
}

fn trimmed_len(value: &str, min: usize, max: usize) -> garde::Result {
    let n = value.trim().chars().count();
    if n < min || n > max {
        return Err(garde::Error::new(format!(
            "must be {min} to {max} characters (after trimming)"
        )));
    }
    Ok(())
}

/// 1..=200 characters after trimming (ids, names, modules).
pub fn name200(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 200)
}

/// 1..=100 characters after trimming (platforms, channels, versions).
pub fn name100(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 100)
}

/// 1..=500 characters after trimming (reasons).
pub fn text500(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 500)
}

/// A module, platform or channel name: 1..=100 characters of letters, digits, `.`, `_`, `-`.
pub fn slug(value: &str, _ctx: &()) -> garde::Result {
    trimmed_len(value, 1, 100)?;
    if !value
        .trim()
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(garde::Error::new(
            "may contain only letters, digits, '.', '_' and '-'",
        ));
    }
    Ok(())
}

/// A JSON object serialised to at most 16 KiB.
pub fn small_object(
    value: &serde_json::Map<String, serde_json::Value>,
    _ctx: &(),
) -> garde::Result {
    let size = serde_json::to_string(value).map(|s| s.len()).unwrap_or(0);
    if size > 16 * 1024 {
        return Err(garde::Error::new("must serialise to at most 16384 bytes"));
    }
    Ok(())
}

/// Treats `""` in a query string as absent.
pub fn blank_as_none(value: &Option<String>) -> Option<String> {
    value
        .as_deref()
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

/// One of a fixed set of words, compared case-insensitively after trimming.
pub fn one_of(value: &str, choices: &[&str]) -> garde::Result {
    let v = value.trim().to_ascii_lowercase();
    if choices.contains(&v.as_str()) {
        Ok(())
    } else {
        Err(garde::Error::new(format!(
            "must be one of {}",
            choices.join("|")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_accept_uuids_and_legacy_ids_only() {
        assert!(is_valid_id("0190b8f2-7c1e-7a2b-9c3d-4e5f60718293"));
        assert!(is_valid_id("notes-m7x1k2-a1b2c3"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("-leading-dash"));
        assert!(!is_valid_id("has space"));
        assert!(!is_valid_id(&"a".repeat(129)));
    }

    #[test]
    fn day_bounds_cover_the_whole_day() {
        let b = RangeBound::parse("2024-05-01").expect("day");
        assert_eq!(b.start_ms(), 1_714_521_600_000);
        assert_eq!(b.end_ms(), 1_714_521_600_000 + DAY_MS - 1);
        let t = RangeBound::parse("2024-05-01T10:00:00Z").expect("instant");
        assert_eq!(t.start_ms(), t.end_ms());
        assert!(RangeBound::parse("yesterday").is_none());
    }

    #[test]
    fn labels_are_trimmed_and_deduplicated_in_order() {
        let v = vec![
            " b ".to_owned(),
            "a".to_owned(),
            "b".to_owned(),
            " ".to_owned(),
        ];
        assert_eq!(normalize_labels(&v), vec!["b", "a"]);
    }
}
