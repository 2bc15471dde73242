//! `/finance`: income and expenses over a chosen range (default the last 30 days) as a
//! server-drawn bar chart, expenses by category as a donut, the operations table with a
//! create form, and the CSV export of the same range.

use super::kit::{self, FieldErrors, after_change, respond};
use crate::finance::service::FinanceService;
use crate::web::render::{self, WebError};
use crate::web::svg::{self, DayBar};
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Form, Path, Query};
use axum::response::Response;
use botmox_contract::decimal::DecimalInput;
use botmox_contract::finance::{
    OperationCreateRequest, OperationListQuery, OperationPatchRequest, OperationRecord,
    OperationType, SummaryGroupBy, SummaryQuery,
};
use botmox_contract::rules::TimeInput;
use serde::Deserialize;
use std::fmt::Write;

/// Categories the form offers (the field is free text; these are the original's).
const CATEGORIES: [(&str, &str); 5] = [
    ("sale", "Gold sale"),
    ("subscription_game", "Game subscription"),
    ("proxy", "Proxy"),
    ("bot_license", "Bot license"),
    ("other", "Other"),
];

#[derive(Deserialize, Default, Clone)]
pub struct RangeQuery {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    project_id: String,
    #[serde(default)]
    cursor: String,
}

impl RangeQuery {
    /// The query string of this range (without the cursor), for links.
    fn qs(&self) -> String {
        let mut out = String::new();
        for (k, v) in [
            ("from", &self.from),
            ("to", &self.to),
            ("project_id", &self.project_id),
        ] {
            if !v.is_empty() {
                if !out.is_empty() {
                    out.push('&');
                }
                let _ = write!(out, "{k}={}", urlencode(v));
            }
        }
        out
    }
}

fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub struct Slice {
    pub category: String,
    pub amount: String,
    pub percent: u32,
    pub class: String,
}

#[derive(Template)]
#[template(path = "finance.html", blocks = ["content"])]
struct FinancePage {
    shell: Shell,
    range: RangeQuery,
    qs: String,
    from_day: String,
    to_day: String,
    currency: String,
    income: String,
    expense: String,
    net: String,
    gold_sold: String,
    chart: String,
    donut: String,
    slices: Vec<Slice>,
    rows: Vec<OperationRecord>,
    total: u64,
    next: Option<String>,
    categories: Vec<(&'static str, &'static str)>,
    form: OperationForm,
    errors: FieldErrors,
    notice: Option<String>,
}

impl FinancePage {
    fn e(&self, key: &str) -> String {
        kit::err_of(&self.errors, key)
    }

    /// `YYYY-MM-DD HH:MM` of an operation's time.
    fn when(&self, at: &str) -> String {
        kit::minute(at)
    }

    /// An operation's time as a `datetime-local` value (UTC).
    fn local(&self, at: &str) -> String {
        at.get(..16).unwrap_or(at).to_owned()
    }
}

fn service(ctx: &PageCtx) -> FinanceService {
    FinanceService::new(ctx.app.db.clone())
}

/// Expenses by category as a ring: one circle arc per category (stroke-dasharray), each with
/// a `<title>` carrying the amount and share.
fn donut(slices: &[(String, f64)], currency: &str) -> String {
    let total: f64 = slices.iter().map(|(_, v)| v).sum();
    let r = 80.0_f64;
    let circumference = 2.0 * std::f64::consts::PI * r;
    let mut out = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" role="img" aria-label="Expenses by category, total {total:.2} {}">"#,
        esc(currency)
    );
    if total <= 0.0 {
        let _ = write!(
            out,
            r#"<circle cx="100" cy="100" r="{r}" fill="none" stroke="currentColor" stroke-opacity=".15" stroke-width="24"/>"#
        );
    }
    let mut offset = 0.0;
    for (i, (cat, v)) in slices.iter().enumerate() {
        if *v <= 0.0 || total <= 0.0 {
            continue;
        }
        let len = circumference * v / total;
        let _ = write!(
            out,
            r#"<circle class="slice-{}" cx="100" cy="100" r="{r}" fill="none" stroke-width="24" stroke-dasharray="{len:.2} {:.2}" stroke-dashoffset="{:.2}" transform="rotate(-90 100 100)"><title>{}: {v:.2} {} ({:.0}%)</title></circle>"#,
            i % 8,
            circumference - len,
            -offset,
            esc(cat),
            esc(currency),
            100.0 * v / total
        );
        offset += len;
    }
    out.push_str("</svg>");
    out
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn view(
    ctx: &PageCtx,
    range: RangeQuery,
    form: OperationForm,
    errors: FieldErrors,
    notice: Option<String>,
) -> Result<Response, WebError> {
    let svc = service(ctx);
    let project = kit::opt(&range.project_id);
    let daily = svc
        .summary(
            &ctx.principal,
            &render::validated(SummaryQuery {
                from: kit::opt(&range.from),
                to: kit::opt(&range.to),
                group_by: Some(SummaryGroupBy::Day),
                project_id: project.clone(),
                ..Default::default()
            })?,
        )
        .await?;
    let by_category = svc
        .summary(
            &ctx.principal,
            &SummaryQuery {
                from: daily.from.clone(),
                to: daily.to.clone(),
                group_by: Some(SummaryGroupBy::Category),
                project_id: project.clone(),
                ..Default::default()
            },
        )
        .await?;
    let days: Vec<DayBar> = daily
        .buckets
        .iter()
        .map(|b| DayBar {
            day: b.key.clone().unwrap_or_default(),
            income: b.income.parse().unwrap_or(0.0),
            expense: b.expense.parse().unwrap_or(0.0),
        })
        .collect();
    let mut cats: Vec<(String, f64, String)> = by_category
        .buckets
        .iter()
        .map(|b| {
            (
                b.key.clone().unwrap_or_else(|| "uncategorised".to_owned()),
                b.expense.parse().unwrap_or(0.0),
                b.expense.clone(),
            )
        })
        .filter(|(_, v, _)| *v > 0.0)
        .collect();
    cats.sort_by(|a, b| b.1.total_cmp(&a.1));
    let total_expense: f64 = cats.iter().map(|c| c.1).sum();
    let pairs: Vec<(String, f64)> = cats.iter().map(|(c, v, _)| (c.clone(), *v)).collect();
    let slices = cats
        .iter()
        .enumerate()
        .map(|(i, (c, v, s))| Slice {
            category: c.clone(),
            amount: s.clone(),
            percent: if total_expense > 0.0 {
                (100.0 * v / total_expense).round() as u32
            } else {
                0
            },
            class: format!("slice-{}", i % 8),
        })
        .collect();
    let (rows, meta) = svc
        .list(
            &ctx.principal,
            &render::validated(OperationListQuery {
                from: daily.from.clone(),
                to: daily.to.clone(),
                project_id: project,
                cursor: kit::opt(&range.cursor),
                limit: Some(50),
                ..Default::default()
            })?,
        )
        .await?;
    let shell = ctx
        .shell(
            "Finance",
            vec![Crumb::here("Finance"), Crumb::here("Summary")],
        )
        .await;
    respond!(
        ctx,
        FinancePage {
            shell,
            qs: range.qs(),
            from_day: kit::day(&daily.from),
            to_day: kit::day(&daily.to),
            chart: svg::finance_bars(&days, &daily.currency),
            donut: donut(&pairs, &daily.currency),
            slices,
            currency: daily.currency,
            income: daily.totals.income,
            expense: daily.totals.expense,
            net: daily.totals.net,
            gold_sold: daily.totals.gold_sold,
            rows,
            total: meta.total.unwrap_or_default(),
            next: meta.next_cursor,
            categories: CATEGORIES.to_vec(),
            range,
            form,
            errors,
            notice,
        }
    )
}

pub async fn page(ctx: PageCtx, Query(range): Query<RangeQuery>) -> Result<Response, WebError> {
    view(
        &ctx,
        range,
        OperationForm::default(),
        FieldErrors::new(),
        None,
    )
    .await
}

#[derive(Deserialize, Default, Clone)]
pub struct OperationForm {
    #[serde(default, rename = "type")]
    pub op_type: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub date: String,
    #[serde(default)]
    pub project_id: String,
    #[serde(default)]
    pub gold_amount: String,
    #[serde(default)]
    pub gold_price_at_time: String,
    #[serde(default)]
    pub description: String,
}

pub async fn create(ctx: PageCtx, Form(f): Form<OperationForm>) -> Result<Response, WebError> {
    let req = OperationCreateRequest {
        op_type: OperationType::parse(f.op_type.trim()),
        category: kit::opt(&f.category),
        amount: kit::opt(&f.amount).map(DecimalInput),
        currency: Some(botmox_contract::finance::DEFAULT_CURRENCY.to_owned()),
        date: Some(TimeInput::Text(kit::datetime_utc(&f.date)?)),
        description: kit::opt(&f.description).map(Some),
        project_id: kit::opt(&f.project_id).map(Some),
        gold_amount: kit::opt(&f.gold_amount).map(|g| Some(DecimalInput(g))),
        gold_price_at_time: kit::opt(&f.gold_price_at_time).map(|g| Some(DecimalInput(g))),
        ..Default::default()
    };
    let result = kit::submit!(req, |req| service(&ctx).create(&ctx.principal, req));
    match result {
        Ok(op) => after_change!(
            ctx,
            "/finance",
            view(
                &ctx,
                RangeQuery::default(),
                OperationForm::default(),
                FieldErrors::new(),
                Some(format!(
                    "Recorded {} of {} {}",
                    op.op_type.as_str(),
                    op.amount,
                    op.currency
                ))
            )
            .await
        ),
        Err(Ok(errors)) => view(&ctx, RangeQuery::default(), f, errors, None).await,
        Err(Err(web)) => Err(web),
    }
}

/// Edits an operation; its type stays (as in the original), blank optional fields clear.
pub async fn update(
    ctx: PageCtx,
    Path(id): Path<String>,
    Form(f): Form<OperationForm>,
) -> Result<Response, WebError> {
    let req = OperationPatchRequest {
        category: kit::opt(&f.category),
        amount: kit::opt(&f.amount).map(DecimalInput),
        date: match kit::opt(&f.date) {
            Some(d) => Some(TimeInput::Text(kit::datetime_utc(&d)?)),
            None => None,
        },
        description: Some(kit::opt(&f.description)),
        project_id: Some(kit::opt(&f.project_id)),
        gold_amount: Some(kit::opt(&f.gold_amount).map(DecimalInput)),
        gold_price_at_time: Some(kit::opt(&f.gold_price_at_time).map(DecimalInput)),
        ..Default::default()
    };
    let result = kit::submit!(req, |req| service(&ctx).patch(&ctx.principal, &id, req));
    match result {
        Ok(op) => after_change!(
            ctx,
            "/finance",
            view(
                &ctx,
                RangeQuery::default(),
                OperationForm::default(),
                FieldErrors::new(),
                Some(format!("Operation of {} {} saved", op.amount, op.currency))
            )
            .await
        ),
        Err(Ok(errors)) => {
            view(
                &ctx,
                RangeQuery::default(),
                OperationForm::default(),
                errors,
                None,
            )
            .await
        }
        Err(Err(web)) => Err(web),
    }
}

pub async fn delete(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    service(&ctx).delete(&ctx.principal, &id).await?;
    after_change!(
        ctx,
        "/finance",
        view(
            &ctx,
            RangeQuery::default(),
            OperationForm::default(),
            FieldErrors::new(),
            Some("Operation deleted".to_owned())
        )
        .await
    )
}
