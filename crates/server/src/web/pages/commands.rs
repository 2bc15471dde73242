//! `/commands`: the vm-ops command list, live through `/ui/events`, filtered by status, agent
//! and type; a command's page shows its payload, result or error and can cancel it.

use crate::pagination::PageRequest;
use crate::web::render::{self, FlashFragment, WebError};
use crate::web::{Crumb, PageCtx, Shell};
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Redirect, Response};
use botmox_contract::vm_ops::CommandRecord;
use serde::Deserialize;

const PAGE: u32 = 100;
const STATUSES: [&str; 8] = [
    "queued",
    "dispatched",
    "running",
    "succeeded",
    "failed",
    "expired",
    "cancelled",
    "dead_letter",
];

/// Finished commands cannot be cancelled.
fn cancellable(status: &str) -> bool {
    matches!(status, "queued" | "dispatched" | "running")
}

#[derive(Deserialize, Default)]
pub struct Filters {
    #[serde(default)]
    status: String,
    #[serde(default)]
    agent_id: String,
    #[serde(default)]
    command_type: String,
}

fn opt(s: &str) -> Option<&str> {
    Some(s.trim()).filter(|s| !s.is_empty())
}

pub struct Row {
    pub c: CommandRecord,
    pub cancellable: bool,
}

#[derive(Template)]
#[template(path = "commands_rows.html")]
struct Rows {
    rows: Vec<Row>,
    more: bool,
}

#[derive(Template)]
#[template(path = "commands.html")]
struct CommandsPage {
    shell: Shell,
    /// (status, selected)
    statuses: Vec<(&'static str, bool)>,
    /// (id, name, selected)
    agents: Vec<(String, String, bool)>,
    command_type: String,
    rows: Rows,
}

async fn rows_for(ctx: &PageCtx, f: &Filters) -> Result<Rows, WebError> {
    let (list, meta) = ctx
        .app
        .vm_ops
        .list(
            &ctx.principal,
            opt(&f.agent_id),
            opt(&f.status),
            opt(&f.command_type),
            &PageRequest {
                limit: PAGE,
                after: None,
            },
        )
        .await?;
    Ok(Rows {
        rows: list
            .into_iter()
            .map(|c| Row {
                cancellable: cancellable(&c.status),
                c,
            })
            .collect(),
        more: meta.next_cursor.is_some(),
    })
}

pub async fn page(ctx: PageCtx, Query(f): Query<Filters>) -> Result<Response, WebError> {
    let rows = rows_for(&ctx, &f).await?;
    let (agents, _) = ctx
        .app
        .agents
        .list(
            &ctx.principal,
            None,
            &PageRequest {
                limit: 500,
                after: None,
            },
        )
        .await?;
    let shell = ctx
        .shell(
            "Commands",
            vec![Crumb::link("Datacenter", "/"), Crumb::here("Commands")],
        )
        .await;
    render::page(&CommandsPage {
        shell,
        statuses: STATUSES
            .iter()
            .map(|s| (*s, f.status.trim() == *s))
            .collect(),
        agents: agents
            .into_iter()
            .map(|a| {
                let selected = f.agent_id.trim() == a.id;
                (a.id, a.name, selected)
            })
            .collect(),
        command_type: f.command_type,
        rows,
    })
}

/// The table body alone: filter changes and live events swap it in.
pub async fn rows(ctx: PageCtx, Query(f): Query<Filters>) -> Result<Response, WebError> {
    render::page(&rows_for(&ctx, &f).await?)
}

#[derive(Template)]
#[template(path = "command.html")]
struct CommandPage {
    shell: Shell,
    body: CommandBody,
}

#[derive(Template)]
#[template(path = "command_body.html")]
struct CommandBody {
    c: CommandRecord,
    cancellable: bool,
    payload: String,
    result: Option<String>,
}

pub async fn detail(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    let c = ctx.app.vm_ops.get(&ctx.principal, &id).await?;
    let body = CommandBody {
        cancellable: cancellable(&c.status),
        payload: serde_json::to_string_pretty(&c.payload).unwrap_or_default(),
        result: c
            .result
            .as_ref()
            .map(|r| serde_json::to_string_pretty(r).unwrap_or_default()),
        c,
    };
    if ctx.htmx {
        return render::page(&body);
    }
    let shell = ctx
        .shell(
            &format!("Command {}", body.c.command_type),
            vec![
                Crumb::link("Datacenter", "/"),
                Crumb::link("Commands", "/commands"),
                Crumb::here(body.c.id.clone()),
            ],
        )
        .await;
    render::page(&CommandPage { shell, body })
}

pub async fn cancel(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    let c = ctx.app.vm_ops.cancel(&ctx.principal, &id).await?;
    if !ctx.htmx {
        return Ok(Redirect::to(&format!("/commands/{}", c.id)).into_response());
    }
    let message = if c.status == "cancelled" {
        "Command cancelled".to_owned()
    } else {
        format!("Cancellation requested; the command is {}", c.status)
    };
    let mut resp = render::page(&FlashFragment {
        kind: "ok",
        message: &message,
    })?;
    // Lists and detail views listening for command events refresh at once.
    resp.headers_mut()
        .insert("hx-trigger", HeaderValue::from_static("vm-command"));
    Ok(resp)
}
