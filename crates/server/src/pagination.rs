//! Keyset pagination: a cursor names the last row of the previous page (its sort key and id),
//! so pages stay stable while rows are added and cost the same at any depth.

use crate::error::ApiError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use botmox_contract::ListMeta;
use botmox_contract::pagination::PageQuery;
use sea_orm::{ColumnTrait, Condition};
use serde::{Deserialize, Serialize};

/// Where a newest-first list keyed by an epoch-ms timestamp resumes: `(sort key, last id)`.
pub type AfterMs = (i64, String);

/// Keyset condition for a newest-first list on (`sort`, `id`): the rows after the cursor.
pub fn newest_first_after<C: ColumnTrait>(sort: C, id: C, after: &AfterMs) -> Condition {
    let (at, last) = after;
    Condition::any()
        .add(sort.lt(*at))
        .add(Condition::all().add(sort.eq(*at)).add(id.lt(last.as_str())))
}

/// The position after which the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Sort key of the last row (e.g. `created_at` in ms, or a name).
    pub key: serde_json::Value,
    /// Id of the last row: breaks ties between equal keys.
    pub id: String,
}

impl Cursor {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(self).unwrap_or_default())
    }

    pub fn decode(raw: &str) -> Result<Self, ApiError> {
        URL_SAFE_NO_PAD
            .decode(raw.trim())
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .ok_or_else(|| {
                ApiError::bad_request(
                    botmox_contract::error_code::VALIDATION_ERROR,
                    "cursor is not one this server issued",
                )
            })
    }
}

/// A validated page request: how many rows and after which cursor.
#[derive(Debug, Clone)]
pub struct PageRequest {
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl PageRequest {
    pub fn from_query(q: &PageQuery) -> Result<Self, ApiError> {
        Ok(Self {
            limit: q.limit(),
            after: q.cursor.as_deref().map(Cursor::decode).transpose()?,
        })
    }

    /// The cursor as `(epoch-ms sort key, id)`, for lists ordered by a timestamp; a cursor
    /// with another key is refused with the list's own error code.
    pub fn after_ms(&self, invalid_code: &'static str) -> Result<Option<AfterMs>, ApiError> {
        self.after
            .as_ref()
            .map(|c| {
                c.key.as_i64().map(|ms| (ms, c.id.clone())).ok_or_else(|| {
                    ApiError::bad_request(invalid_code, "cursor is not one this server issued")
                })
            })
            .transpose()
    }

    /// Rows a store should fetch: one more than the page, to know whether another follows.
    pub fn fetch(&self) -> u64 {
        u64::from(self.limit) + 1
    }

    /// Cuts the extra row off and builds the meta with the next cursor.
    pub fn finish<T>(
        &self,
        mut rows: Vec<T>,
        cursor_of: impl Fn(&T) -> Cursor,
    ) -> (Vec<T>, ListMeta) {
        let more = rows.len() > self.limit as usize;
        rows.truncate(self.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| cursor_of(r).encode())
        } else {
            None
        };
        (
            rows,
            ListMeta {
                next_cursor,
                total: None,
                limit: Some(self.limit),
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor {
            key: serde_json::json!(1700000000000i64),
            id: "abc".into(),
        };
        assert_eq!(Cursor::decode(&c.encode()).expect("decodes"), c);
        assert!(Cursor::decode("%%%").is_err());
    }

    #[test]
    fn only_timestamp_cursors_pass_after_ms() {
        let page = |key| PageRequest {
            limit: 10,
            after: Some(Cursor {
                key,
                id: "x".into(),
            }),
        };
        assert_eq!(
            page(serde_json::json!(5)).after_ms("CODE").expect("ms key"),
            Some((5, "x".to_owned()))
        );
        let err = page(serde_json::json!("name"))
            .after_ms("CODE")
            .expect_err("a name key is refused");
        assert_eq!(err.code(), "CODE");
    }

    #[test]
    fn finish_cuts_the_extra_row_and_points_after_the_last() {
        let req = PageRequest {
            limit: 2,
            after: None,
        };
        let (rows, meta) = req.finish(vec![1, 2, 3], |n| Cursor {
            key: serde_json::json!(n),
            id: n.to_string(),
        });
        assert_eq!(rows, vec![1, 2]);
        let next = Cursor::decode(meta.next_cursor.as_deref().expect("more")).expect("cursor");
        assert_eq!(next.id, "2");
        let (_, last) = req.finish(vec![1], |n| Cursor {
            key: serde_json::json!(n),
            id: n.to_string(),
        });
        assert!(last.next_cursor.is_none());
    }
}
