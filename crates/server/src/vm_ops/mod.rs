//! The command bus over HTTP: queue, list, read, cancel, agent reports, long-poll, the SSE
//! event stream, and the agent WebSocket.

pub mod committer;
pub mod events;
pub mod service;
pub mod store;
pub mod ws;

pub use service::VmOpsService;

use crate::app::AppState;
use crate::auth::principal::{AuthKind, Principal};
use crate::config::AgentTransport;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::PageRequest;
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use botmox_contract::pagination::PageQuery;
use botmox_contract::vm_ops::{
    CommandBatchItem, CommandBatchRequest, CommandBatchResult, CommandCreateRequest, CommandEvent,
    CommandListQuery, CommandRecord, CommandUpdateRequest, DispatchRequest, EventsQuery,
    NextCommandQuery,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use futures::Stream;
use serde::Deserialize;
use service::{Enqueue, Report};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

const DEFAULT_EXPIRY_SECONDS: u32 = 300;
const SSE_HEARTBEAT: Duration = Duration::from_secs(25);

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(agent_socket))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(create_batch))
        .routes(routes!(dispatch_proxmox))
        .routes(routes!(next))
        .routes(routes!(get_one, update))
        .routes(routes!(cancel))
        .routes(routes!(events))
}

fn transport_disabled(what: &str) -> ApiError {
    ApiError::conflict(
        "AGENT_TRANSPORT_DISABLED",
        format!("This server does not offer {what} (AGENT_TRANSPORT)"),
    )
}

fn accepted(record: CommandRecord, replayed: bool) -> Response {
    let status = if replayed {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let mut resp = (status, Json(SuccessEnvelope::new(record))).into_response();
    if replayed {
        resp.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    resp
}

/// Queue a command for an agent. 202 when queued; 200 with `Idempotent-Replayed: true` when an
/// earlier identical request (idempotency key, or a read-only repeat within 10 s) answers.
#[utoipa::path(post, path = "/api/v1/vm-ops/commands", tag = "vm-ops",
    request_body = CommandCreateRequest,
    responses(
        (status = 202, body = SuccessEnvelope<CommandRecord>),
        (status = 200, description = "replayed", body = SuccessEnvelope<CommandRecord>),
        (status = 400, description = "VM_OPS_INVALID_CREATE_BODY", body = ErrorEnvelope),
        (status = 403, description = "AGENT_OWNER_MISMATCH / AGENT_OWNER_UNASSIGNED / FORBIDDEN", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "AGENT_OFFLINE / AGENT_REVOKED / AGENT_NOT_ACTIVE / IDEMPOTENCY_KEY_REUSED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create(
    State(state): State<AppState>,
    caller: Principal,
    ValidJson(body): ValidJson<CommandCreateRequest>,
) -> ApiResult<Response> {
    let (record, replayed) = state.vm_ops.enqueue(&caller, enqueue_of(body)).await?;
    Ok(accepted(record, replayed))
}

fn enqueue_of(body: CommandCreateRequest) -> Enqueue {
    Enqueue {
        agent_id: body.agent_id.trim().to_owned(),
        command_type: body.command_type,
        payload: body.payload.unwrap_or_default(),
        expires_in_seconds: body.expires_in_seconds.unwrap_or(DEFAULT_EXPIRY_SECONDS),
        idempotency_key: body.idempotency_key,
        queue_if_offline: body.queue_if_offline,
    }
}

/// Queue up to 1000 commands at once. Each item follows the rules of `POST /vm-ops/commands`
/// and gets its own outcome (`status` 202 queued, 200 replayed, or the error it would have
/// had alone); the accepted ones are written in one transaction and announced with one
/// wake-up. A malformed item refuses the whole batch with 400.
#[utoipa::path(post, path = "/api/v1/vm-ops/commands/batch", tag = "vm-ops",
    request_body = CommandBatchRequest,
    responses(
        (status = 200, description = "one outcome per item, in request order", body = SuccessEnvelope<CommandBatchResult>),
        (status = 400, description = "VM_OPS_INVALID_BATCH_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (agent tokens)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_batch(
    State(state): State<AppState>,
    caller: Principal,
    ValidJson(body): ValidJson<CommandBatchRequest>,
) -> ApiResult<Ok<CommandBatchResult>> {
    let reqs = body.commands.into_iter().map(enqueue_of).collect();
    let outcomes = state.vm_ops.enqueue_many(&caller, reqs).await?;
    let mut result = CommandBatchResult {
        queued: 0,
        replayed: 0,
        failed: 0,
        items: Vec::with_capacity(outcomes.len()),
    };
    for outcome in outcomes {
        result.items.push(match outcome {
            Result::Ok((command, replayed)) => {
                if replayed {
                    result.replayed += 1;
                } else {
                    result.queued += 1;
                }
                CommandBatchItem {
                    status: if replayed { 200 } else { 202 },
                    replayed,
                    command: Some(command),
                    error: None,
                }
            }
            Err(err) => {
                result.failed += 1;
                let body = match &err {
                    ApiError::Client {
                        code,
                        message,
                        details,
                        ..
                    } => botmox_contract::ApiErrorBody {
                        code: code.to_string(),
                        message: message.to_string(),
                        details: details.clone(),
                    },
                    other => {
                        tracing::error!(error = %other, "queueing a batch item failed");
                        botmox_contract::ApiErrorBody {
                            code: other.code().to_owned(),
                            message: "Internal server error".to_owned(),
                            details: None,
                        }
                    }
                };
                CommandBatchItem {
                    status: err.status().as_u16(),
                    replayed: false,
                    command: None,
                    error: Some(body),
                }
            }
        });
    }
    Result::Ok(response::ok(result))
}

/// Queue `proxmox.<action>` with `params` as payload.
#[utoipa::path(post, path = "/api/v1/vm-ops/proxmox/{action}", tag = "vm-ops",
    params(("action" = String, Path, description = "e.g. start, stop, clone, config.update")),
    request_body = DispatchRequest,
    responses(
        (status = 202, body = SuccessEnvelope<CommandRecord>),
        (status = 400, description = "VM_OPS_INVALID_DISPATCH_BODY / VM_OPS_INVALID_ACTION", body = ErrorEnvelope),
        (status = 403, description = "AGENT_OWNER_MISMATCH / AGENT_OWNER_UNASSIGNED", body = ErrorEnvelope),
        (status = 404, description = "AGENT_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "AGENT_OFFLINE / AGENT_REVOKED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn dispatch_proxmox(
    State(state): State<AppState>,
    caller: Principal,
    Path(action): Path<String>,
    ValidJson(body): ValidJson<DispatchRequest>,
) -> ApiResult<Response> {
    let action = action.trim().to_lowercase();
    if action.is_empty()
        || action.len() > 100
        || !action
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
    {
        return Err(ApiError::bad_request(
            "VM_OPS_INVALID_ACTION",
            "action must be a command action such as start or clone",
        ));
    }
    let (record, replayed) = state
        .vm_ops
        .enqueue(
            &caller,
            Enqueue {
                agent_id: body.agent_id.trim().to_owned(),
                command_type: format!("proxmox.{action}"),
                payload: body.params.unwrap_or_default(),
                expires_in_seconds: body.expires_in_seconds.unwrap_or(DEFAULT_EXPIRY_SECONDS),
                idempotency_key: body.idempotency_key,
                queue_if_offline: body.queue_if_offline,
            },
        )
        .await?;
    Ok(accepted(record, replayed))
}

/// Commands of the tenant, newest first (non-privileged users see their own; agents theirs).
#[utoipa::path(get, path = "/api/v1/vm-ops/commands", tag = "vm-ops",
    params(CommandListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<CommandRecord>>),
        (status = 400, description = "VM_OPS_INVALID_LIST_QUERY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list(
    State(state): State<AppState>,
    caller: Principal,
    ValidQuery(q): ValidQuery<CommandListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<CommandRecord>>>> {
    let page = PageRequest::from_query(&PageQuery {
        cursor: q.cursor.clone(),
        limit: q.limit,
    })
    .map_err(|_| {
        ApiError::bad_request(
            "VM_OPS_INVALID_LIST_QUERY",
            "cursor is not one this server issued",
        )
    })?;
    let (rows, meta) = state
        .vm_ops
        .list(
            &caller,
            q.agent_id.as_deref(),
            q.status.as_deref(),
            q.command_type.as_deref(),
            &page,
        )
        .await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Long-poll for the agent's next command: answers at once with a handed-out command, or
/// holds the request until one is queued or the timeout passes (`data: null`).
#[utoipa::path(get, path = "/api/v1/vm-ops/commands/next", tag = "vm-ops",
    params(NextCommandQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Option<CommandRecord>>),
        (status = 400, description = "VM_OPS_INVALID_NEXT_QUERY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (another agent's queue)", body = ErrorEnvelope),
        (status = 409, description = "AGENT_TRANSPORT_DISABLED", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn next(
    State(state): State<AppState>,
    caller: Principal,
    ValidQuery(q): ValidQuery<NextCommandQuery>,
) -> ApiResult<Ok<Option<CommandRecord>>> {
    if state.config.agent_transport == AgentTransport::Ws {
        return Err(transport_disabled("HTTP long-poll"));
    }
    let agent_id = q.agent_id.trim();
    let allowed = match caller.kind {
        AuthKind::Agent => caller.agent_id.as_deref() == Some(agent_id),
        _ => caller.is_privileged(),
    };
    if !allowed {
        return Err(ApiError::forbidden("Command belongs to another agent"));
    }
    let agent = state
        .agents
        .find(&caller.tenant_id, agent_id)
        .await?
        .ok_or_else(|| ApiError::not_found("AGENT_NOT_FOUND", "Agent not found"))?;
    state.agents.touch(&agent.id, None);
    // Registered before the first claim so a command queued in between still wakes us; if
    // the client goes away this future is dropped with the registration and claims nothing.
    let reg = state.bus.register(&agent.id);
    let deadline =
        tokio::time::Instant::now() + Duration::from_millis(q.timeout_ms.unwrap_or(25_000));
    loop {
        if let Some(command) = state.vm_ops.claim_for(&agent, 1).await?.into_iter().next() {
            return Ok(response::ok(Some(command)));
        }
        tokio::select! {
            _ = reg.mailbox.wake.notified() => {}
            _ = tokio::time::sleep_until(deadline) => return Ok(response::ok(None)),
        }
    }
}

/// One command.
#[utoipa::path(get, path = "/api/v1/vm-ops/commands/{id}", tag = "vm-ops",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<CommandRecord>),
        (status = 404, description = "VM_OPS_COMMAND_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_one(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<CommandRecord>> {
    Ok(response::ok(state.vm_ops.get(&caller, &id).await?))
}

/// An agent reports `running` (with optional progress), `succeeded`, `failed` or `cancelled`,
/// fenced by the lease epoch it was handed the command with.
#[utoipa::path(patch, path = "/api/v1/vm-ops/commands/{id}", tag = "vm-ops",
    params(("id" = String, Path)),
    request_body = CommandUpdateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<CommandRecord>),
        (status = 400, description = "VM_OPS_INVALID_UPDATE_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (another agent's command)", body = ErrorEnvelope),
        (status = 404, description = "VM_OPS_COMMAND_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "STALE_LEASE / INVALID_TRANSITION", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn update(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<CommandUpdateRequest>,
) -> ApiResult<Ok<CommandRecord>> {
    let report = Report {
        status: body.status,
        lease_epoch: body.lease_epoch,
        result: body
            .result
            .map(|v| if v.is_null() { None } else { Some(v) }),
        error_message: body.error_message,
        progress: body.progress,
        message: body.message,
    };
    Ok(response::ok(
        state.vm_ops.report(&caller, &id, report).await?,
    ))
}

/// Cancel: a queued or handed-out command is cancelled at once; a running one is asked to stop
/// (the agent reports the outcome).
#[utoipa::path(post, path = "/api/v1/vm-ops/commands/{id}/cancel", tag = "vm-ops",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<CommandRecord>),
        (status = 404, description = "VM_OPS_COMMAND_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "INVALID_TRANSITION (already finished)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn cancel(
    State(state): State<AppState>,
    caller: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<CommandRecord>> {
    Ok(response::ok(state.vm_ops.cancel(&caller, &id).await?))
}

fn last_event_id(q: &EventsQuery, headers: &HeaderMap) -> ApiResult<i64> {
    let raw = q.last_event_id.clone().or_else(|| {
        headers
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(0),
        Some(v) => v.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            ApiError::bad_request(
                "VM_OPS_INVALID_QUERY_PARAM",
                "last_event_id must be a positive integer",
            )
        }),
    }
}

/// Server-sent events of command changes (`event: vm-command`), resumable with
/// `last_event_id` or `Last-Event-ID` on any node and after restarts.
#[utoipa::path(get, path = "/api/v1/vm-ops/events", tag = "vm-ops",
    params(EventsQuery),
    responses(
        (status = 200, description = "text/event-stream of CommandEvent", body = CommandEvent, content_type = "text/event-stream"),
        (status = 400, description = "VM_OPS_INVALID_QUERY_PARAM", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Principal,
    headers: HeaderMap,
    ValidQuery(q): ValidQuery<EventsQuery>,
) -> ApiResult<Response> {
    let after = last_event_id(&q, &headers)?;
    // Subscribe and fix the starting point before answering, so nothing written after the
    // response starts can be missed; live-only streams start after the newest stored event.
    let live = state.events.subscribe();
    let start = if after > 0 {
        after
    } else {
        state
            .events
            .store()
            .max_event_id()
            .await
            .map_err(|e| ApiError::Internal(e.into()))?
    };
    let stream = event_stream(
        state.events.clone(),
        live,
        start,
        caller,
        q,
        after,
        state.shutdown.subscribe(),
    );
    let mut resp = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(SSE_HEARTBEAT).text("heartbeat"))
        .into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-transform"),
    );
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(resp)
}

fn visible(caller: &Principal, q: &EventsQuery, ev: &store::EventRow) -> bool {
    ev.tenant_id == caller.tenant_id
        && match caller.kind {
            AuthKind::Agent => caller.agent_id.as_deref() == Some(ev.agent_id.as_str()),
            _ => caller.is_privileged() || ev.created_by.as_deref() == Some(caller.uid.as_str()),
        }
        && q.agent_id.as_deref().is_none_or(|a| a == ev.agent_id)
        && q.command_id.as_deref().is_none_or(|c| c == ev.command_id)
}

fn sse_event(ev: &store::EventRow) -> Event {
    let command: serde_json::Value =
        serde_json::from_str(&ev.payload).unwrap_or(serde_json::Value::Null);
    // Other domains' progress in the same log (e.g. `vmgen.step`) names its own type; its
    // fields go out as they are, next to the envelope's.
    if let Some(kind) = command["event_type"].as_str() {
        let mut data = serde_json::json!({
            "event_id": ev.id,
            "tenant_id": ev.tenant_id,
            "server_time": crate::db::time::to_rfc3339(ev.created_at),
        });
        if let (Some(out), Some(fields)) = (data.as_object_mut(), command.as_object()) {
            for (k, v) in fields {
                out.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        return Event::default()
            .id(ev.id.to_string())
            .event(kind)
            .data(data.to_string());
    }
    let data = serde_json::json!({
        "event_id": ev.id,
        "event_type": "vm-command",
        "tenant_id": ev.tenant_id,
        "server_time": crate::db::time::to_rfc3339(ev.created_at),
        "command": command,
    });
    Event::default()
        .id(ev.id.to_string())
        .event("vm-command")
        .data(data.to_string())
}

/// Replays from the table, then follows the node's fan-out; a subscriber that falls behind
/// replays the gap from the table again. Ends when the server shuts down.
fn event_stream(
    log: Arc<events::EventLog>,
    mut live: tokio::sync::broadcast::Receiver<Arc<store::EventRow>>,
    start: i64,
    caller: Principal,
    q: EventsQuery,
    after: i64,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    use tokio::sync::broadcast::error::RecvError;
    let (tx, rx) = tokio::sync::mpsc::channel::<Event>(256);
    tokio::spawn(async move {
        if tx
            .send(Event::default().comment("connected"))
            .await
            .is_err()
        {
            return;
        }
        let mut cursor = start;
        if after > 0 && !replay(&log, &caller, &q, &mut cursor, &tx).await {
            return;
        }
        loop {
            let next = tokio::select! {
                n = live.recv() => n,
                _ = shutdown.changed() => return,
            };
            match next {
                Ok(ev) => {
                    if ev.id <= cursor {
                        continue;
                    }
                    cursor = ev.id;
                    if visible(&caller, &q, &ev) && tx.send(sse_event(&ev)).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(_)) => {
                    if !replay(&log, &caller, &q, &mut cursor, &tx).await {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx).map_ok()
}

/// Sends stored events after `cursor` up to what the tailer has fanned out; false when the
/// client is gone.
async fn replay(
    log: &events::EventLog,
    caller: &Principal,
    q: &EventsQuery,
    cursor: &mut i64,
    tx: &tokio::sync::mpsc::Sender<Event>,
) -> bool {
    let up_to = log.high_water();
    while *cursor < up_to {
        let rows = match log
            .store()
            .events(store::EventFilter {
                tenant_id: Some(&caller.tenant_id),
                after_id: *cursor,
                up_to: Some(up_to),
                limit: 500,
            })
            .await
        {
            Ok(rows) => rows,
            Err(err) => {
                tracing::warn!(error = %err, "replaying events failed");
                return false;
            }
        };
        if rows.is_empty() {
            *cursor = up_to;
            break;
        }
        for ev in rows {
            *cursor = ev.id;
            if visible(caller, q, &ev) && tx.send(sse_event(&ev)).await.is_err() {
                return false;
            }
        }
    }
    true
}

type Infallibly = fn(Event) -> Result<Event, Infallible>;

trait MapOk: Stream<Item = Event> + Sized {
    fn map_ok(self) -> futures::stream::Map<Self, Infallibly> {
        futures::StreamExt::map(self, Ok)
    }
}
impl<S: Stream<Item = Event>> MapOk for S {}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SocketQuery {
    /// Credential when no Authorization header can be sent.
    #[serde(default)]
    token: Option<String>,
    #[serde(default)]
    agent_id: Option<String>,
    /// `push` (default): commands are sent as soon as they are queued. `pull`: on `next_command`.
    #[serde(default)]
    mode: Option<String>,
    /// Commands the agent runs at once, 1..=64 (default 1).
    #[serde(default)]
    max_inflight: Option<u32>,
}

/// The agent WebSocket. An agent token is required (header or `token` query); there is no
/// shadow identity here.
#[utoipa::path(get, path = "/api/v1/agents/ws", tag = "agents",
    params(SocketQuery),
    responses(
        (status = 101, description = "switching to the agent protocol"),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
        (status = 409, description = "AGENT_TRANSPORT_DISABLED / AGENT_REVOKED", body = ErrorEnvelope),
    ))]
async fn agent_socket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<SocketQuery>,
    upgrade: WebSocketUpgrade,
) -> ApiResult<Response> {
    let raw = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| q.token.clone())
        .unwrap_or_default();
    let unauthorized = || {
        ApiError::unauthorized(
            botmox_contract::error_code::INVALID_OR_MISSING_BEARER_TOKEN,
            "An agent token is required",
        )
    };
    let principal =
        ws::agent_principal(state.auth.authenticate(&raw).await).ok_or_else(unauthorized)?;
    let agent_id = principal.agent_id.clone().unwrap_or_default();
    if q.agent_id
        .as_deref()
        .is_some_and(|a| !a.trim().is_empty() && a.trim() != agent_id)
    {
        return Err(ApiError::forbidden("The token belongs to another agent"));
    }
    if state.config.agent_transport == AgentTransport::LongPoll {
        return Err(transport_disabled("WebSocket"));
    }
    let agent = state
        .agents
        .find(&principal.tenant_id, &agent_id)
        .await?
        .ok_or_else(unauthorized)?;
    if agent.status != "active" {
        return Err(ApiError::conflict("AGENT_REVOKED", "Agent is not active"));
    }
    let mode = match q.mode.as_deref() {
        Some("pull") => ws::Mode::Pull,
        _ => ws::Mode::Push,
    };
    let params = ws::SessionParams {
        principal,
        agent,
        mode,
        max_inflight: ws::SessionParams::clamp_inflight(q.max_inflight),
    };
    let svc = state.vm_ops.clone();
    let shutdown = state.shutdown.subscribe();
    Ok(upgrade
        .read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_write_buffer_size(1024 * 1024)
        .max_message_size(256 * 1024)
        .max_frame_size(256 * 1024)
        .on_upgrade(move |socket| ws::run(socket, svc, params, shutdown))
        .into_response())
}
