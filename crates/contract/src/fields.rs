//! Field types shared by the fleet domains (bots and resources): timestamps that accept the
//! original API's epoch milliseconds as well as RFC 3339, three-state patch fields, ids, the
//! mask shown in place of a secret, and a deletion acknowledgement.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};

/// Client-chosen ids (the original generated `bot-…`/`licenses-…` ids and accepted any from
/// the body): a letter or digit, then letters, digits, `.`, `_`, `:`, `-`; at most 128.
pub fn is_valid_id(raw: &str) -> bool {
    let mut chars = raw.chars();
    raw.len() <= 128
        && chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-'))
}

const ID_RULE: &str =
    "must be an id: a letter or digit, then letters, digits, '.', '_', ':' or '-' (at most 128)";

/// Garde rule: an optional id.
pub fn opt_id(value: &Option<String>, _ctx: &()) -> garde::Result {
    match value {
        Some(v) if !is_valid_id(v) => Err(garde::Error::new(ID_RULE)),
        _ => Ok(()),
    }
}

/// Garde rule: a nullable patch id.
pub fn patch_id(value: &Option<Option<String>>, _ctx: &()) -> garde::Result {
    opt_id(&value.clone().flatten(), &())
}

/// Garde rule: a required id.
pub fn id(value: &str, _ctx: &()) -> garde::Result {
    if is_valid_id(value) {
        Ok(())
    } else {
        Err(garde::Error::new(ID_RULE))
    }
}

/// Garde rule: a nullable patch list of ids.
pub fn patch_ids(value: &Option<Option<Vec<String>>>, _ctx: &()) -> garde::Result {
    if let Some(Some(ids)) = value
        && let Some(bad) = ids.iter().find(|v| !is_valid_id(v))
    {
        return Err(garde::Error::new(format!("{bad:?} {ID_RULE}")));
    }
    Ok(())
}

/// Shown instead of a secret to callers who may not read it. Sending it back unchanged keeps
/// the stored secret, so a form can round-trip a record it was given masked.
pub const SECRET_MASK: &str = "********";

/// The latest representable instant (9999-12-31T23:59:59.999Z) in epoch milliseconds.
const MAX_MS: i64 = 253_402_300_799_999;

/// A point in time. Serialised as RFC 3339 UTC; deserialised from RFC 3339 or from epoch
/// milliseconds (the original stored most times as millisecond numbers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn ms(self) -> i64 {
        self.0
    }

    pub fn to_rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp_millis(self.0)
            .unwrap_or_default()
            .to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    pub fn parse(raw: &str) -> Option<Self> {
        let parsed = DateTime::parse_from_rfc3339(raw.trim()).ok()?;
        Self::from_ms(parsed.timestamp_millis())
    }

    pub fn from_ms(ms: i64) -> Option<Self> {
        (0..=MAX_MS).contains(&ms).then_some(Self(ms))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 date-time or epoch milliseconds")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Timestamp, E> {
                Timestamp::from_ms(v)
                    .ok_or_else(|| E::custom("epoch milliseconds out of range (0..year 9999)"))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Timestamp, E> {
                i64::try_from(v)
                    .map_err(|_| E::custom("epoch milliseconds out of range"))
                    .and_then(|v| self.visit_i64(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Timestamp, E> {
                if v.fract() != 0.0 || !v.is_finite() {
                    return Err(E::custom("epoch milliseconds must be a whole number"));
                }
                self.visit_i64(v as i64)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse(v).ok_or_else(|| {
                    E::custom(format!(
                        "{v:?} is not an RFC 3339 date-time (e.g. 2025-01-31T12:00:00Z)"
                    ))
                })
            }
        }
        d.deserialize_any(V)
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "RFC 3339 UTC date-time; requests may also send epoch milliseconds",
            ))
            .into()
    }
}

impl ToSchema for Timestamp {}

/// For `Option<Option<T>>` patch fields: absent → `None` (unchanged), `null` → `Some(None)`
/// (cleared), a value → `Some(Some(v))`. Use with `#[serde(default, deserialize_with = …)]`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A port given as a number or a numeric string (the original UI parsed proxy strings and
/// sent either).
pub fn lenient_port<'de, D>(d: D) -> Result<Option<u32>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(u64),
        Text(String),
    }
    match Option::<Raw>::deserialize(d)? {
        None => Ok(None),
        Some(Raw::Num(n)) => u32::try_from(n)
            .map(Some)
            .map_err(|_| de::Error::custom("port out of range")),
        Some(Raw::Text(s)) => s
            .trim()
            .parse::<u32>()
            .map(Some)
            .map_err(|_| de::Error::custom(format!("port {s:?} is not a number"))),
    }
}

/// Acknowledges a hard delete.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
pub struct Deleted {
    pub id: String,
    pub deleted: bool,
}

/// Garde rule: a string that is not blank after trimming, for `Option<Option<String>>` fields.
pub fn opt_not_blank(value: &Option<Option<String>>, _ctx: &()) -> garde::Result {
    match value {
        Some(Some(v)) => crate::validation::not_blank(v, &()),
        _ => Ok(()),
    }
}

/// Garde rule for a value that must be one of `choices` (the message lists them).
pub fn one_of(value: &str, choices: &[&str]) -> garde::Result {
    if choices.contains(&value) {
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
    fn timestamps_accept_millis_and_rfc3339_and_print_rfc3339() {
        let a: Timestamp = serde_json::from_str("1700000000000").expect("ms");
        let b: Timestamp = serde_json::from_str("\"2023-11-14T22:13:20Z\"").expect("rfc3339");
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).expect("ser"),
            "\"2023-11-14T22:13:20.000Z\""
        );
        assert!(serde_json::from_str::<Timestamp>("-5").is_err());
        assert!(serde_json::from_str::<Timestamp>("\"yesterday\"").is_err());
    }

    #[test]
    fn nullable_tells_absent_from_null() {
        #[derive(Deserialize)]
        struct P {
            #[serde(default, deserialize_with = "nullable")]
            v: Option<Option<u8>>,
        }
        let absent: P = serde_json::from_str("{}").expect("absent");
        let null: P = serde_json::from_str(r#"{"v":null}"#).expect("null");
        let set: P = serde_json::from_str(r#"{"v":3}"#).expect("set");
        assert_eq!(absent.v, None);
        assert_eq!(null.v, Some(None));
        assert_eq!(set.v, Some(Some(3)));
    }
}
