//! CSV export (RFC 4180): a header row, CRLF line ends, and fields quoted when they contain a
//! comma, a quote, CR or LF (quotes doubled). Rows are produced page by page as the response
//! body streams, so an export of any size holds one page in memory.

use super::service::record;
use super::store::{Filter, FinanceStore};
use botmox_contract::finance::OperationRecord;
use bytes::Bytes;
use futures::Stream;
use std::borrow::Cow;

/// Rows fetched per chunk of the body.
const CHUNK_ROWS: u64 = 500;

pub const HEADER: [&str; 13] = [
    "id",
    "date",
    "type",
    "category",
    "project_id",
    "bot_id",
    "description",
    "currency",
    "amount",
    "gold_amount",
    "gold_price_at_time",
    "created_at",
    "updated_at",
];

/// One field, quoted when it must be.
pub fn field(value: &str) -> Cow<'_, str> {
    if value.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", value.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(value)
    }
}

/// One line, CRLF-terminated.
pub fn line<'a>(values: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = values.into_iter().map(field).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

pub fn record_line(r: &OperationRecord) -> String {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    line([
        r.id.as_str(),
        r.date.as_str(),
        r.op_type.as_str(),
        r.category.as_str(),
        opt(&r.project_id).as_str(),
        opt(&r.bot_id).as_str(),
        opt(&r.description).as_str(),
        r.currency.as_str(),
        r.amount.as_str(),
        opt(&r.gold_amount).as_str(),
        opt(&r.gold_price_at_time).as_str(),
        r.created_at.as_str(),
        r.updated_at.as_str(),
    ])
}

enum Step {
    Header,
    After(Option<(i64, String)>),
    Done,
}

/// The body of an export: the header, then the matching operations a page at a time. A
/// database failure mid-way ends the body with an error (the client sees a cut transfer, never
/// a silently short file).
pub fn body(
    store: FinanceStore,
    tenant: String,
    filter: Filter,
    descending: bool,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    futures::stream::unfold(Step::Header, move |step| {
        let store = store.clone();
        let tenant = tenant.clone();
        let filter = filter.clone();
        async move {
            match step {
                Step::Header => Some((Ok(Bytes::from(line(HEADER))), Step::After(None))),
                Step::After(after) => {
                    match store
                        .page(&tenant, &filter, descending, after, CHUNK_ROWS)
                        .await
                    {
                        Ok(rows) if rows.is_empty() => None,
                        Ok(rows) => {
                            let next = if (rows.len() as u64) < CHUNK_ROWS {
                                Step::Done
                            } else {
                                rows.last()
                                    .map(|r| Step::After(Some((r.occurred_at, r.id.clone()))))
                                    .unwrap_or(Step::Done)
                            };
                            let chunk: String =
                                rows.into_iter().map(|r| record_line(&record(r))).collect();
                            Some((Ok(Bytes::from(chunk)), next))
                        }
                        Err(err) => {
                            tracing::error!(error = %err, "finance export failed mid-stream");
                            Some((Err(std::io::Error::other("export failed")), Step::Done))
                        }
                    }
                }
                Step::Done => None,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field("cr\rhere"), "\"cr\rhere\"");
        assert_eq!(line(["a", "", "c,d"]), "a,,\"c,d\"\r\n");
    }
}
