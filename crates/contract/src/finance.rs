//! Finance: income and expense operations, chart aggregates and CSV export.
//!
//! Money is exact: `amount`, `gold_amount` and `gold_price_at_time` are decimal strings with at
//! most 8 fractional digits (requests may also send JSON numbers; their literal is read
//! exactly, never through a float). `gold_price_at_time` is USD per 1000 gold, as in the
//! original UI.

use crate::decimal::{DecimalError, DecimalInput};
use crate::rules::{self, TimeInput};
use crate::validation::Input;
use garde::Validate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub const FINANCE_INVALID_ID: &str = "FINANCE_INVALID_ID";
pub const FINANCE_INVALID_LIST_QUERY: &str = "FINANCE_INVALID_LIST_QUERY";
pub const FINANCE_INVALID_CREATE_BODY: &str = "FINANCE_INVALID_CREATE_BODY";
pub const FINANCE_INVALID_PATCH_BODY: &str = "FINANCE_INVALID_PATCH_BODY";
pub const FINANCE_OPERATION_NOT_FOUND: &str = "FINANCE_OPERATION_NOT_FOUND";
/// 409: a create named an id that is already in use.
pub const FINANCE_OPERATION_EXISTS: &str = "FINANCE_OPERATION_EXISTS";

/// Largest accepted amount, gold amount or gold price (whole units).
pub const MAX_WHOLE: i64 = 10_000_000_000;
pub const CATEGORY_MAX: usize = 64;
pub const CURRENCY_MAX: usize = 16;
pub const DESCRIPTION_MAX: usize = 1000;
/// Longest range `group_by=day` fills with buckets.
pub const SUMMARY_MAX_DAYS: i64 = 3660;
pub const DEFAULT_CURRENCY: &str = "USD";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OperationType {
    Income,
    Expense,
}

impl OperationType {
    pub fn as_str(self) -> &'static str {
        match self {
            OperationType::Income => "income",
            OperationType::Expense => "expense",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "income" => Some(OperationType::Income),
            "expense" => Some(OperationType::Expense),
            _ => None,
        }
    }
}

/// A finance operation.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct OperationRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub op_type: OperationType,
    pub category: String,
    pub project_id: Option<String>,
    pub bot_id: Option<String>,
    /// Decimal string, e.g. `"12.34"`.
    pub amount: String,
    pub currency: String,
    pub gold_amount: Option<String>,
    /// USD per 1000 gold.
    pub gold_price_at_time: Option<String>,
    /// When the operation happened (RFC 3339).
    pub date: String,
    pub description: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

fn decimal_rule(v: &DecimalInput) -> garde::Result {
    v.checked(MAX_WHOLE).map(|_| ()).map_err(|e| match e {
        DecimalError::OutOfRange => garde::Error::new(format!("must be between 0 and {MAX_WHOLE}")),
        other => garde::Error::new(other.message()),
    })
}

fn check_amount(v: &Option<DecimalInput>, _: &()) -> garde::Result {
    match v {
        Some(d) => decimal_rule(d),
        None => Err(garde::Error::new("is required")),
    }
}

fn check_opt_amount(v: &Option<DecimalInput>, _: &()) -> garde::Result {
    v.as_ref().map_or(Ok(()), decimal_rule)
}

fn check_nullable_amount(v: &Option<Option<DecimalInput>>, _: &()) -> garde::Result {
    v.as_ref()
        .and_then(Option::as_ref)
        .map_or(Ok(()), decimal_rule)
}

fn category_rule(v: &str) -> garde::Result {
    rules::check_text(v, true, CATEGORY_MAX)
}

fn check_category(v: &Option<String>, _: &()) -> garde::Result {
    match v.as_deref() {
        Some(c) => category_rule(c),
        None => Err(garde::Error::new("is required")),
    }
}

fn check_opt_category(v: &Option<String>, _: &()) -> garde::Result {
    v.as_deref().map_or(Ok(()), category_rule)
}

fn currency_rule(v: &str) -> garde::Result {
    let t = v.trim();
    if t.is_empty()
        || t.len() > CURRENCY_MAX
        || !t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(garde::Error::new(
            "must be 1-16 letters, digits or '_' (e.g. USD, gold)",
        ));
    }
    Ok(())
}

fn check_currency(v: &Option<String>, _: &()) -> garde::Result {
    match v.as_deref() {
        Some(c) => currency_rule(c),
        None => Err(garde::Error::new("is required")),
    }
}

fn check_opt_currency(v: &Option<String>, _: &()) -> garde::Result {
    v.as_deref().map_or(Ok(()), currency_rule)
}

fn check_date(v: &Option<TimeInput>, ctx: &()) -> garde::Result {
    match v {
        Some(_) => rules::check_opt_time(v, ctx),
        None => Err(garde::Error::new("is required")),
    }
}

fn check_type(v: &Option<OperationType>, _: &()) -> garde::Result {
    v.map(|_| ())
        .ok_or_else(|| garde::Error::new("is required"))
}

fn check_description(v: &Option<Option<String>>, _: &()) -> garde::Result {
    v.as_ref()
        .and_then(Option::as_deref)
        .map_or(Ok(()), |d| rules::check_text(d, false, DESCRIPTION_MAX))
}

fn check_limit(v: &Option<u32>, _: &()) -> garde::Result {
    match v {
        Some(l) if !(1..=crate::pagination::MAX_LIMIT).contains(l) => {
            Err(garde::Error::new("must be between 1 and 500"))
        }
        _ => Ok(()),
    }
}

fn check_cursor(v: &Option<String>, _: &()) -> garde::Result {
    match v {
        Some(c) if c.is_empty() || c.len() > 512 => {
            Err(garde::Error::new("must be 1-512 characters"))
        }
        _ => Ok(()),
    }
}

/// A new operation. Required: `type`, `category`, `amount`, `currency`, `date`.
// Validated by hand (below) so that failures are reported under the wire names (`type`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct OperationCreateRequest {
    /// Client-chosen id (imports); generated (UUID v7) when absent. An id in use is a 409.
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default, rename = "type")]
    #[schema(value_type = OperationType, required = true)]
    pub op_type: Option<OperationType>,
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub category: Option<String>,
    /// Decimal string or number, 0..=10^10, at most 8 fractional digits.
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "12.34")]
    pub amount: Option<DecimalInput>,
    #[serde(default)]
    #[schema(value_type = String, required = true, example = "USD")]
    pub currency: Option<String>,
    /// RFC 3339, or epoch milliseconds as the original sent.
    #[serde(default)]
    #[schema(value_type = String, required = true)]
    pub date: Option<TimeInput>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub bot_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub project_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub gold_amount: Option<Option<DecimalInput>>,
    /// USD per 1000 gold.
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub gold_price_at_time: Option<Option<DecimalInput>>,
}

impl Validate for OperationCreateRequest {
    type Context = ();

    fn validate_into(
        &self,
        ctx: &(),
        parent: &mut dyn FnMut() -> garde::Path,
        report: &mut garde::Report,
    ) {
        let checks = [
            ("id", rules::check_opt_id(&self.id, ctx)),
            ("type", check_type(&self.op_type, ctx)),
            ("category", check_category(&self.category, ctx)),
            ("amount", check_amount(&self.amount, ctx)),
            ("currency", check_currency(&self.currency, ctx)),
            ("date", check_date(&self.date, ctx)),
            ("description", check_description(&self.description, ctx)),
            ("bot_id", rules::check_nullable_id(&self.bot_id, ctx)),
            (
                "project_id",
                rules::check_nullable_id(&self.project_id, ctx),
            ),
            ("gold_amount", check_nullable_amount(&self.gold_amount, ctx)),
            (
                "gold_price_at_time",
                check_nullable_amount(&self.gold_price_at_time, ctx),
            ),
        ];
        for (field, result) in checks {
            if let Err(e) = result {
                report.append(parent().join(field), e);
            }
        }
    }
}

impl Input for OperationCreateRequest {
    const INVALID_CODE: &'static str = FINANCE_INVALID_CREATE_BODY;
}

/// A partial update: at least one field; `null` clears a nullable field.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema)]
pub struct OperationPatchRequest {
    #[garde(skip)]
    #[serde(default, rename = "type")]
    pub op_type: Option<OperationType>,
    #[garde(custom(check_opt_category))]
    #[serde(default)]
    pub category: Option<String>,
    #[garde(custom(check_opt_amount))]
    #[serde(default)]
    pub amount: Option<DecimalInput>,
    #[garde(custom(check_opt_currency))]
    #[serde(default)]
    pub currency: Option<String>,
    #[garde(custom(rules::check_opt_time))]
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub date: Option<TimeInput>,
    #[garde(custom(check_description))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub description: Option<Option<String>>,
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub bot_id: Option<Option<String>>,
    #[garde(custom(rules::check_nullable_id))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub project_id: Option<Option<String>>,
    #[garde(custom(check_nullable_amount))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub gold_amount: Option<Option<DecimalInput>>,
    #[garde(custom(check_nullable_amount))]
    #[serde(default, deserialize_with = "rules::nullable")]
    #[schema(value_type = Option<String>, nullable)]
    pub gold_price_at_time: Option<Option<DecimalInput>>,
}

impl OperationPatchRequest {
    pub fn has_changes(&self) -> bool {
        self.op_type.is_some()
            || self.category.is_some()
            || self.amount.is_some()
            || self.currency.is_some()
            || self.date.is_some()
            || self.description.is_some()
            || self.bot_id.is_some()
            || self.project_id.is_some()
            || self.gold_amount.is_some()
            || self.gold_price_at_time.is_some()
    }
}

impl Input for OperationPatchRequest {
    const INVALID_CODE: &'static str = FINANCE_INVALID_PATCH_BODY;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    Asc,
    #[default]
    Desc,
}

/// Filters shared by the list, the summary and the export (already validated).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OperationFilter {
    pub op_type: Option<OperationType>,
    pub category: Option<String>,
    pub project_id: Option<String>,
    pub bot_id: Option<String>,
    pub currency: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `GET /finance/operations`: by `date` (newest first unless `order=asc`), then id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationListQuery {
    #[garde(skip)]
    #[serde(default, rename = "type")]
    #[param(rename = "type")]
    pub op_type: Option<OperationType>,
    #[garde(custom(check_opt_category))]
    #[serde(default)]
    pub category: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub project_id: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
    #[garde(custom(check_opt_currency))]
    #[serde(default)]
    pub currency: Option<String>,
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub from: Option<String>,
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub to: Option<String>,
    /// `desc` (default) or `asc` by date.
    #[garde(skip)]
    #[serde(default)]
    pub order: Option<SortOrder>,
    #[garde(custom(check_cursor))]
    #[serde(default)]
    pub cursor: Option<String>,
    #[garde(custom(check_limit))]
    #[serde(default)]
    pub limit: Option<u32>,
}

impl OperationListQuery {
    pub fn filter(&self) -> OperationFilter {
        OperationFilter {
            op_type: self.op_type,
            category: self.category.clone(),
            project_id: self.project_id.clone(),
            bot_id: self.bot_id.clone(),
            currency: self.currency.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

impl Input for OperationListQuery {
    const INVALID_CODE: &'static str = FINANCE_INVALID_LIST_QUERY;
}

/// `GET /finance/export.csv`: the list's filters and order, every matching row.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OperationExportQuery {
    #[garde(skip)]
    #[serde(default, rename = "type")]
    #[param(rename = "type")]
    pub op_type: Option<OperationType>,
    #[garde(custom(check_opt_category))]
    #[serde(default)]
    pub category: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub project_id: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
    #[garde(custom(check_opt_currency))]
    #[serde(default)]
    pub currency: Option<String>,
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub from: Option<String>,
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub to: Option<String>,
    /// `desc` (default) or `asc` by date.
    #[garde(skip)]
    #[serde(default)]
    pub order: Option<SortOrder>,
}

impl OperationExportQuery {
    pub fn filter(&self) -> OperationFilter {
        OperationFilter {
            op_type: self.op_type,
            category: self.category.clone(),
            project_id: self.project_id.clone(),
            bot_id: self.bot_id.clone(),
            currency: self.currency.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

impl Input for OperationExportQuery {
    const INVALID_CODE: &'static str = FINANCE_INVALID_LIST_QUERY;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SummaryGroupBy {
    #[default]
    Day,
    Category,
    Project,
}

/// `GET /finance/summary`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, Validate, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryQuery {
    /// Range start; with `group_by=day` it defaults to 29 days before `to`.
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub from: Option<String>,
    /// Range end (inclusive); with `group_by=day` it defaults to today (UTC).
    #[garde(custom(rules::check_opt_range_bound))]
    #[serde(default)]
    pub to: Option<String>,
    /// `day` (default; every day of the range, zero-filled), `category` or `project`.
    #[garde(skip)]
    #[serde(default)]
    pub group_by: Option<SummaryGroupBy>,
    /// Only operations in this currency (default `USD`): sums never mix currencies.
    #[garde(custom(check_opt_currency))]
    #[serde(default)]
    pub currency: Option<String>,
    #[garde(custom(check_opt_category))]
    #[serde(default)]
    pub category: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub project_id: Option<String>,
    #[garde(custom(rules::check_opt_id))]
    #[serde(default)]
    pub bot_id: Option<String>,
}

impl Input for SummaryQuery {
    const INVALID_CODE: &'static str = FINANCE_INVALID_LIST_QUERY;
}

/// Sums of one bucket (or of all of them). Amounts are decimal strings.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct SummaryBucket {
    /// `YYYY-MM-DD` for `day`, the category, or the project id (`null`: no project).
    pub key: Option<String>,
    pub income: String,
    pub expense: String,
    /// `income - expense`.
    pub net: String,
    /// Gold sold: the sum of `gold_amount` over income operations.
    pub gold_sold: String,
    /// Operations in the bucket.
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct FinanceSummary {
    pub group_by: SummaryGroupBy,
    pub currency: String,
    /// Range start actually used (RFC 3339), when there is one.
    pub from: Option<String>,
    /// Range end actually used (inclusive, RFC 3339), when there is one.
    pub to: Option<String>,
    pub buckets: Vec<SummaryBucket>,
    /// Over every bucket (`key` is `null`).
    pub totals: SummaryBucket,
}
