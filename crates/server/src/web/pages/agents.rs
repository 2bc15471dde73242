//! `/agents`: pair a new agent (bundle, `botmox://` URI and a QR code), the agents with their
//! online state (refreshed every few seconds), revoke with confirmation.

use crate::auth::principal::{Operator, Privileged};
use crate::pagination::PageRequest;
use crate::web::render::{self, WebError};
use crate::web::{Crumb, PageCtx, Shell, svg};
use askama::Template;
use axum::extract::{Form, Path};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use botmox_contract::agents::{AgentRecord, PairingCreateRequest, PairingCreated};
use serde::Deserialize;

const LIST_LIMIT: u32 = 500;

#[derive(Template)]
#[template(path = "agents.html")]
struct AgentsPage {
    shell: Shell,
    list: AgentList,
    pairing: Option<Pairing>,
}

#[derive(Template)]
#[template(path = "agents_list.html")]
struct AgentList {
    agents: Vec<AgentRecord>,
    more: bool,
    can_revoke: bool,
}

/// A new pairing as the operator sees it once.
#[derive(Template)]
#[template(path = "agents_pairing.html")]
struct Pairing {
    created: PairingCreated,
    qr: String,
}

async fn list_of(ctx: &PageCtx) -> Result<AgentList, WebError> {
    let (agents, meta) = ctx
        .app
        .agents
        .list(
            &ctx.principal,
            None,
            &PageRequest {
                limit: LIST_LIMIT,
                after: None,
            },
        )
        .await?;
    Ok(AgentList {
        agents,
        more: meta.next_cursor.is_some(),
        can_revoke: ctx
            .principal
            .has_any_role(<Privileged as crate::auth::principal::RoleSet>::ROLES),
    })
}

async fn full_page(ctx: &PageCtx, pairing: Option<Pairing>) -> Result<Response, WebError> {
    let list = list_of(ctx).await?;
    let shell = ctx
        .shell(
            "Agents",
            vec![Crumb::link("Datacenter", "/"), Crumb::here("Agents")],
        )
        .await;
    render::page(&AgentsPage {
        shell,
        list,
        pairing,
    })
}

pub async fn page(ctx: PageCtx) -> Result<Response, WebError> {
    full_page(&ctx, None).await
}

/// The list alone, for the periodic refresh.
pub async fn list(ctx: PageCtx) -> Result<Response, WebError> {
    render::page(&list_of(&ctx).await?)
}

#[derive(Deserialize)]
pub struct PairingForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    expires_in_minutes: String,
}

/// The server's URL as the browser reached it: what the agent will connect to.
fn request_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    Some(format!("http://{host}"))
}

pub async fn create_pairing(
    ctx: PageCtx,
    headers: HeaderMap,
    Form(form): Form<PairingForm>,
) -> Result<Response, WebError> {
    ctx.require::<Operator>()?;
    let expires = match form.expires_in_minutes.trim() {
        "" => None,
        raw => Some(raw.parse::<u32>().map_err(|_| {
            WebError::new(
                StatusCode::BAD_REQUEST,
                "Expiry must be a whole number of minutes (5 to 1440)",
            )
        })?),
    };
    let req = render::validated(PairingCreateRequest {
        name: Some(form.name.trim().to_owned()).filter(|n| !n.is_empty()),
        expires_in_minutes: expires,
        owner_user_id: None,
    })?;
    let url = ctx
        .app
        .config
        .public_url
        .clone()
        .or_else(|| request_url(&headers));
    let created = ctx
        .app
        .agents
        .create_pairing(&ctx.principal, &req, url)
        .await?;
    let qr = svg::qr(&created.pairing_uri).map_err(|e| {
        WebError::from(crate::error::ApiError::Internal(anyhow::anyhow!(
            "pairing QR code: {e}"
        )))
    })?;
    let pairing = Pairing { created, qr };
    if ctx.htmx {
        return render::page(&pairing);
    }
    full_page(&ctx, Some(pairing)).await
}

pub async fn revoke(ctx: PageCtx, Path(id): Path<String>) -> Result<Response, WebError> {
    ctx.require::<Privileged>()?;
    ctx.app
        .agents
        .revoke(&ctx.principal, &id, Some("revoked from the web console"))
        .await?;
    if ctx.htmx {
        return render::page(&list_of(&ctx).await?);
    }
    Ok(Redirect::to("/agents").into_response())
}
