//! `/`: the datacenter overview — agents online, VMs, commands in flight, bots by status,
//! expiring resources and the last 30 days of finance as a server-drawn chart.

use crate::pagination::PageRequest;
use crate::web::render::{self, WebError};
use crate::web::svg::{self, DayBar};
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::response::Response;
use botmox_contract::finance::SummaryQuery;
use botmox_contract::resources::{ResourceKind, ResourceListQuery};
use botmox_contract::vms::VmListQuery;

/// Lists are counted up to this many rows; beyond it the page says "500+".
const COUNT_CAP: u32 = 500;

pub struct Count {
    pub n: usize,
    pub capped: bool,
}

impl std::fmt::Display for Count {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.capped {
            write!(f, "{}+", self.n)
        } else {
            write!(f, "{}", self.n)
        }
    }
}

fn count<T>(rows: &[T], more: bool) -> Count {
    Count {
        n: rows.len(),
        capped: more,
    }
}

pub struct Expiring {
    pub kind: &'static str,
    pub label: String,
    pub expires_at: String,
    pub days_left: i64,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Overview {
    shell: Shell,
    agents_online: usize,
    agents_total: Count,
    vms: Count,
    in_flight: Count,
    bots_total: u64,
    bots_by_status: Vec<(String, u64)>,
    expiring: Vec<Expiring>,
    warning_days: u32,
    chart: String,
    currency: String,
    income: String,
    expense: String,
    net: String,
}

fn page_of(limit: u32) -> PageRequest {
    PageRequest { limit, after: None }
}

pub async fn page(ctx: PageCtx) -> Result<Response, WebError> {
    let app = &ctx.app;
    let p = &ctx.principal;
    let (agents, agents_meta) = app.agents.list(p, None, &page_of(COUNT_CAP)).await?;
    let (vms, vms_meta) = crate::vms::VmService::new(app.db.clone())
        .list(
            p,
            &VmListQuery {
                limit: Some(COUNT_CAP),
                ..Default::default()
            },
        )
        .await?;
    let mut in_flight = Count {
        n: 0,
        capped: false,
    };
    for status in ["queued", "dispatched", "running"] {
        let (rows, meta) = app
            .vm_ops
            .list(p, None, Some(status), None, &page_of(COUNT_CAP))
            .await?;
        in_flight.n += rows.len();
        in_flight.capped |= meta.next_cursor.is_some();
    }
    let bots = app.bots.summary(p).await?;
    let mut expiring = Vec::new();
    for kind in ResourceKind::ALL {
        let (rows, _) = app
            .resources
            .list(
                p,
                kind,
                &ResourceListQuery {
                    expiry_status: Some("expiring".to_owned()),
                    limit: Some(20),
                    ..Default::default()
                },
            )
            .await?;
        for r in rows {
            let v = serde_json::to_value(&r).unwrap_or_default();
            let label = match kind {
                ResourceKind::Licenses => {
                    format!("License ({})", v["type"].as_str().unwrap_or("no type"))
                }
                ResourceKind::Proxies => format!(
                    "Proxy ({}:{})",
                    v["ip"].as_str().or(v["host"].as_str()).unwrap_or("?"),
                    v["port"]
                ),
                ResourceKind::Subscriptions => {
                    format!("Subscription ({})", v["type"].as_str().unwrap_or("?"))
                }
            };
            expiring.push(Expiring {
                kind: kind.as_str(),
                label,
                expires_at: v["expires_at"]
                    .as_str()
                    .and_then(|t| t.get(..10))
                    .unwrap_or("")
                    .to_owned(),
                days_left: v["days_left"].as_i64().unwrap_or(0),
            });
        }
    }
    expiring.sort_by_key(|e| e.days_left);
    expiring.truncate(8);
    let finance = crate::finance::service::FinanceService::new(app.db.clone())
        .summary(p, &SummaryQuery::default())
        .await?;
    let days: Vec<DayBar> = finance
        .buckets
        .iter()
        .map(|b| DayBar {
            day: b.key.clone().unwrap_or_default(),
            income: b.income.parse().unwrap_or(0.0),
            expense: b.expense.parse().unwrap_or(0.0),
        })
        .collect();
    let shell = ctx
        .shell(
            "Overview",
            vec![Crumb::here("Datacenter"), Crumb::here("Overview")],
        )
        .await;
    render::page(&Overview {
        shell,
        agents_online: agents.iter().filter(|a| a.online).count(),
        agents_total: count(&agents, agents_meta.next_cursor.is_some()),
        vms: count(&vms, vms_meta.next_cursor.is_some()),
        in_flight,
        bots_total: bots.total,
        bots_by_status: bots.by_status.into_iter().collect(),
        expiring,
        warning_days: bots.warning_days,
        chart: svg::finance_bars(&days, &finance.currency),
        currency: finance.currency,
        income: finance.totals.income,
        expense: finance.totals.expense,
        net: finance.totals.net,
    })
}
