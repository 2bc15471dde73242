//! Finance rules: operations of the caller's tenant, their filters, aggregates and export.

use super::store::{Filter, FinanceStore, operation};
use super::summary::{Buckets, Sums};
use crate::auth::Principal;
use crate::db::Db;
use crate::db::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ApiResult};
use crate::pagination::{Cursor, PageRequest};
use botmox_contract::ListMeta;
use botmox_contract::decimal::{DecimalInput, format_units};
use botmox_contract::finance::{
    DEFAULT_CURRENCY, FINANCE_INVALID_LIST_QUERY, FINANCE_INVALID_PATCH_BODY,
    FINANCE_OPERATION_EXISTS, FINANCE_OPERATION_NOT_FOUND, FinanceSummary, MAX_WHOLE,
    OperationCreateRequest, OperationFilter, OperationListQuery, OperationPatchRequest,
    OperationRecord, OperationType, SUMMARY_MAX_DAYS, SortOrder, SummaryGroupBy, SummaryQuery,
};
use botmox_contract::pagination::DEFAULT_LIMIT;
use botmox_contract::rules::{DAY_MS, RangeBound, day_of_ms, day_start_ms};
use botmox_contract::workspace::Deleted;
use sea_orm::SqlErr;
use serde_json::json;
use uuid::Uuid;

pub struct FinanceService {
    store: FinanceStore,
}

pub fn record(r: operation::Model) -> OperationRecord {
    OperationRecord {
        op_type: OperationType::parse(&r.op_type).unwrap_or(OperationType::Expense),
        amount: format_units(i128::from(r.amount)),
        gold_amount: r.gold_amount.map(|v| format_units(i128::from(v))),
        gold_price_at_time: r.gold_price.map(|v| format_units(i128::from(v))),
        date: to_rfc3339(r.occurred_at),
        created_at: to_rfc3339(r.created_at),
        updated_at: to_rfc3339(r.updated_at),
        id: r.id,
        category: r.category,
        project_id: r.project_id,
        bot_id: r.bot_id,
        currency: r.currency,
        description: r.description,
    }
}

fn not_found() -> ApiError {
    ApiError::not_found(FINANCE_OPERATION_NOT_FOUND, "Finance operation not found")
}

fn query_error(field: &str, message: &str) -> ApiError {
    ApiError::bad_request(FINANCE_INVALID_LIST_QUERY, "Invalid query")
        .with_details(json!({ "fields": { field: [message] } }))
}

fn nonblank(v: Option<&str>) -> Option<String> {
    v.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// Units of a validated decimal (the request type already checked format and range).
fn units(v: &DecimalInput) -> i64 {
    v.checked(MAX_WHOLE).unwrap_or_default()
}

/// Turns validated query filters into store filters; `from` must not be after `to`.
fn resolve(f: &OperationFilter) -> ApiResult<Filter> {
    let from_ms = f
        .from
        .as_deref()
        .and_then(RangeBound::parse)
        .map(RangeBound::start_ms);
    let to_ms =
        f.to.as_deref()
            .and_then(RangeBound::parse)
            .map(RangeBound::end_ms);
    if let (Some(a), Some(b)) = (from_ms, to_ms)
        && b < a
    {
        return Err(query_error("to", "must not be before from"));
    }
    Ok(Filter {
        op_type: f.op_type.map(OperationType::as_str),
        category: nonblank(f.category.as_deref()),
        project_id: nonblank(f.project_id.as_deref()),
        bot_id: nonblank(f.bot_id.as_deref()),
        currency: nonblank(f.currency.as_deref()),
        from_ms,
        to_ms,
    })
}

impl FinanceService {
    pub fn new(db: Db) -> Self {
        Self {
            store: FinanceStore::new(db),
        }
    }

    pub async fn create(
        &self,
        p: &Principal,
        req: OperationCreateRequest,
    ) -> ApiResult<OperationRecord> {
        let now = now_ms();
        let row = operation::Model {
            tenant_id: p.tenant_id.clone(),
            id: nonblank(req.id.as_deref()).unwrap_or_else(|| Uuid::now_v7().to_string()),
            op_type: req
                .op_type
                .unwrap_or(OperationType::Expense)
                .as_str()
                .to_owned(),
            category: nonblank(req.category.as_deref()).unwrap_or_default(),
            project_id: nonblank(req.project_id.flatten().as_deref()),
            bot_id: nonblank(req.bot_id.flatten().as_deref()),
            amount: req.amount.as_ref().map(units).unwrap_or_default(),
            currency: nonblank(req.currency.as_deref()).unwrap_or_default(),
            gold_amount: req.gold_amount.flatten().as_ref().map(units),
            gold_price: req.gold_price_at_time.flatten().as_ref().map(units),
            occurred_at: req.date.and_then(|d| d.to_ms()).unwrap_or(now),
            description: nonblank(req.description.flatten().as_deref()),
            created_at: now,
            updated_at: now,
        };
        self.store
            .insert(row.clone())
            .await
            .map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::conflict(
                    FINANCE_OPERATION_EXISTS,
                    "A finance operation with this id already exists",
                ),
                _ => e.into(),
            })?;
        Ok(record(row))
    }

    pub async fn get(&self, p: &Principal, id: &str) -> ApiResult<OperationRecord> {
        self.store
            .find(&p.tenant_id, id)
            .await?
            .map(record)
            .ok_or_else(not_found)
    }

    pub async fn list(
        &self,
        p: &Principal,
        q: &OperationListQuery,
    ) -> ApiResult<(Vec<OperationRecord>, ListMeta)> {
        let filter = resolve(&q.filter())?;
        let bad_cursor = || query_error("cursor", "is not a cursor this list issued");
        let after = q
            .cursor
            .as_deref()
            .map(Cursor::decode)
            .transpose()
            .map_err(|_| bad_cursor())?;
        let key = match &after {
            Some(c) => Some((c.key.as_i64().ok_or_else(bad_cursor)?, c.id.clone())),
            None => None,
        };
        let page = PageRequest {
            limit: q.limit.unwrap_or(DEFAULT_LIMIT),
            after,
        };
        let descending = q.order.unwrap_or_default() == SortOrder::Desc;
        let total = self.store.count(&p.tenant_id, &filter).await?;
        let rows = self
            .store
            .page(&p.tenant_id, &filter, descending, key, page.fetch())
            .await?;
        let (rows, mut meta) = page.finish(rows, |r| Cursor {
            key: json!(r.occurred_at),
            id: r.id.clone(),
        });
        meta.total = Some(total);
        Ok((rows.into_iter().map(record).collect(), meta))
    }

    pub async fn patch(
        &self,
        p: &Principal,
        id: &str,
        req: OperationPatchRequest,
    ) -> ApiResult<OperationRecord> {
        if !req.has_changes() {
            return Err(ApiError::bad_request(
                FINANCE_INVALID_PATCH_BODY,
                "Payload must contain at least one field",
            ));
        }
        let updated = self
            .store
            .modify(&p.tenant_id, id, |row| {
                if let Some(t) = req.op_type {
                    row.op_type = t.as_str().to_owned();
                }
                if let Some(c) = nonblank(req.category.as_deref()) {
                    row.category = c;
                }
                if let Some(a) = &req.amount {
                    row.amount = units(a);
                }
                if let Some(c) = nonblank(req.currency.as_deref()) {
                    row.currency = c;
                }
                if let Some(ms) = req.date.as_ref().and_then(|d| d.to_ms()) {
                    row.occurred_at = ms;
                }
                if let Some(d) = req.description {
                    row.description = nonblank(d.as_deref());
                }
                if let Some(b) = req.bot_id {
                    row.bot_id = nonblank(b.as_deref());
                }
                if let Some(pr) = req.project_id {
                    row.project_id = nonblank(pr.as_deref());
                }
                if let Some(g) = req.gold_amount {
                    row.gold_amount = g.as_ref().map(units);
                }
                if let Some(g) = req.gold_price_at_time {
                    row.gold_price = g.as_ref().map(units);
                }
                row.updated_at = now_ms().max(row.updated_at + 1);
            })
            .await?
            .ok_or_else(not_found)?;
        Ok(record(updated))
    }

    pub async fn delete(&self, p: &Principal, id: &str) -> ApiResult<Deleted> {
        if !self.store.delete(&p.tenant_id, id).await? {
            return Err(not_found());
        }
        Ok(Deleted {
            id: id.to_owned(),
            deleted: true,
        })
    }

    /// Income, expense, net and gold sold per bucket plus totals, in one currency.
    pub async fn summary(&self, p: &Principal, q: &SummaryQuery) -> ApiResult<FinanceSummary> {
        let group_by = q.group_by.unwrap_or_default();
        let currency = nonblank(q.currency.as_deref()).unwrap_or_else(|| DEFAULT_CURRENCY.into());
        let mut filter = resolve(&OperationFilter {
            op_type: None,
            category: q.category.clone(),
            project_id: q.project_id.clone(),
            bot_id: q.bot_id.clone(),
            currency: Some(currency.clone()),
            from: q.from.clone(),
            to: q.to.clone(),
        })?;
        let mut buckets = match group_by {
            SummaryGroupBy::Day => {
                // Every day of the range gets a bucket, so the range must be bounded: it
                // defaults to the 30 days ending today (UTC).
                let last = day_of_ms(filter.to_ms.unwrap_or_else(now_ms));
                let first = filter
                    .from_ms
                    .map(day_of_ms)
                    .unwrap_or_else(|| last - chrono::Duration::days(29));
                let days = (last - first).num_days() + 1;
                if days < 1 {
                    return Err(query_error("to", "must not be before from"));
                }
                if days > SUMMARY_MAX_DAYS {
                    return Err(query_error(
                        "from",
                        "a daily summary covers at most 3660 days",
                    ));
                }
                filter.from_ms.get_or_insert(day_start_ms(first));
                filter.to_ms.get_or_insert(day_start_ms(last) + DAY_MS - 1);
                Buckets::days(first, usize::try_from(days).unwrap_or_default())
            }
            SummaryGroupBy::Category => Buckets::ByCategory(Default::default()),
            SummaryGroupBy::Project => Buckets::ByProject(Default::default()),
        };
        let mut totals = Sums::default();
        self.store
            .for_each_summary_row(&p.tenant_id, &filter, |row| buckets.add(&row, &mut totals))
            .await?;
        Ok(FinanceSummary {
            group_by,
            currency,
            from: filter.from_ms.map(to_rfc3339),
            to: filter.to_ms.map(to_rfc3339),
            buckets: buckets.finish(),
            totals: totals.bucket(None),
        })
    }

    /// The store, filters and order of an export (validated before the body starts).
    pub fn export(
        &self,
        filter: &OperationFilter,
        order: Option<SortOrder>,
    ) -> ApiResult<(FinanceStore, Filter, bool)> {
        let filter = resolve(filter)?;
        Ok((
            self.store.clone(),
            filter,
            order.unwrap_or_default() == SortOrder::Desc,
        ))
    }
}
