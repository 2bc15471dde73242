//! Settings: the per-tenant settings tree (`/settings`, `/settings/<path>`), with typed,
//! documented shapes for the paths the UI relies on and encrypted, masked secrets.

pub mod path;
pub mod schema;
pub mod service;
pub mod store;
pub mod tree;

pub use service::{IpqsSettings, ProxmoxDefaults, SettingsService};

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::response::{self, Ok};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::routing::get;
use botmox_contract::ErrorEnvelope;
use botmox_contract::settings::{
    ApiKeysSettings, NotificationEventsSettings, ProxySettings, SettingsValueEnvelope,
    StoragePolicyUpdate,
};
use serde_json::Value;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_root, put_root, patch_root))
        .routes(routes!(get_api_keys, put_api_keys, patch_api_keys))
        .routes(routes!(get_proxy, put_proxy, patch_proxy))
        .routes(routes!(get_events, put_events, patch_events))
        .routes(routes!(
            get_storage_policy,
            put_storage_policy,
            patch_storage_policy
        ))
        .routes(routes!(get_path, put_path, patch_path))
        // Deeper paths (`projects/wow_tbc/referenceData`) reach the same handlers; the
        // document describes them through `/settings/{path}`.
        .route(
            "/api/v1/settings/{path}/{*rest}",
            get(get_path).put(put_path).patch(patch_path),
        )
}

type Body = Result<Json<Value>, JsonRejection>;

/// The settings path of a request: the `{path}` segment plus any `{*rest}`, percent-decoded.
pub struct SettingsPath(String);

impl<S: Send + Sync> FromRequestParts<S> for SettingsPath {
    type Rejection = crate::error::ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path(params) = Path::<Vec<(String, String)>>::from_request_parts(parts, state).await?;
        Ok(Self(
            params
                .into_iter()
                .map(|(_, v)| v)
                .collect::<Vec<_>>()
                .join("/"),
        ))
    }
}

async fn read(state: &AppState, principal: &Principal, path: &str) -> ApiResult<Ok<Value>> {
    Ok(response::ok(state.settings.read(principal, path).await?))
}

async fn write(
    state: &AppState,
    principal: &Principal,
    path: &str,
    body: Body,
) -> ApiResult<Ok<Value>> {
    let Json(value) = body?;
    Ok(response::ok(
        state.settings.write(principal, path, value).await?,
    ))
}

/// The whole settings tree of the caller's tenant (`{}` when empty), secrets masked.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_root(State(state): State<AppState>, principal: Principal) -> ApiResult<Ok<Value>> {
    read(&state, &principal, "").await
}

/// Set top-level keys of the tree: each key named in the object replaces that key.
#[utoipa::path(put, path = "/api/v1/settings", tag = "settings",
    request_body(content = Object, description = "non-empty object of top-level keys"),
    responses(
        (status = 200, description = "the whole tree", body = SettingsValueEnvelope),
        (status = 400, description = "BAD_REQUEST / SETTINGS_INVALID_BODY / SETTINGS_INVALID_PATH / SETTINGS_INVALID_<SECTION>_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (api_keys, storage_policy need admin or infra)", body = ErrorEnvelope),
        (status = 409, description = "SETTINGS_CONFLICT", body = ErrorEnvelope),
        (status = 413, description = "SETTINGS_NODE_TOO_LARGE / PAYLOAD_TOO_LARGE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_root(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "", body).await
}

/// Same as PUT (the original treated both alike).
#[utoipa::path(patch, path = "/api/v1/settings", tag = "settings",
    request_body(content = Object, description = "non-empty object of top-level keys"),
    responses(
        (status = 200, description = "the whole tree", body = SettingsValueEnvelope),
        (status = 400, description = "BAD_REQUEST / SETTINGS_INVALID_BODY / SETTINGS_INVALID_PATH / SETTINGS_INVALID_<SECTION>_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (api_keys, storage_policy need admin or infra)", body = ErrorEnvelope),
        (status = 409, description = "SETTINGS_CONFLICT", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_root(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "", body).await
}

/// The value at a path (`theme`, `projects/wow_tbc`, `vmgenerator/task_logs`, …; slashes
/// allowed), or null. A leading `settings/` is ignored.
#[utoipa::path(get, path = "/api/v1/settings/{path}", tag = "settings",
    params(("path" = String, Path, description = "settings path; may contain further `/` segments")),
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_PATH", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_path(
    State(state): State<AppState>,
    principal: Principal,
    SettingsPath(path): SettingsPath,
) -> ApiResult<Ok<Value>> {
    read(&state, &principal, &path).await
}

/// Write at a path: objects merge shallowly into an object already there, anything else
/// replaces. Known paths are checked against their shape (see the settings schemas).
#[utoipa::path(put, path = "/api/v1/settings/{path}", tag = "settings",
    params(("path" = String, Path, description = "settings path; may contain further `/` segments")),
    request_body(content = Object, description = "any JSON value; shape depends on the path"),
    responses(
        (status = 200, description = "the new value at the path", body = SettingsValueEnvelope),
        (status = 400, description = "BAD_REQUEST / SETTINGS_INVALID_PATH / SETTINGS_INVALID_BODY / SETTINGS_INVALID_ALERTS_BODY / SETTINGS_INVALID_THEME_BODY / SETTINGS_INVALID_PROJECTS_BODY / SETTINGS_INVALID_SCHEDULE_BODY / SETTINGS_INVALID_VMGENERATOR_BODY / SETTINGS_INVALID_RESOURCE_TREE_BODY / SETTINGS_INVALID_FINANCE_CHART_CONFIG_BODY / SETTINGS_INVALID_ACCOUNT_GENERATOR_BODY / …", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (api_keys, storage_policy need admin or infra)", body = ErrorEnvelope),
        (status = 409, description = "SETTINGS_CONFLICT", body = ErrorEnvelope),
        (status = 413, description = "SETTINGS_NODE_TOO_LARGE / PAYLOAD_TOO_LARGE", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_path(
    State(state): State<AppState>,
    principal: Principal,
    SettingsPath(path): SettingsPath,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, &path, body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/settings/{path}", tag = "settings",
    params(("path" = String, Path, description = "settings path; may contain further `/` segments")),
    request_body(content = Object, description = "any JSON value; shape depends on the path"),
    responses(
        (status = 200, description = "the new value at the path", body = SettingsValueEnvelope),
        (status = 400, description = "BAD_REQUEST / SETTINGS_INVALID_PATH / SETTINGS_INVALID_*_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (api_keys, storage_policy need admin or infra)", body = ErrorEnvelope),
        (status = 409, description = "SETTINGS_CONFLICT", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_path(
    State(state): State<AppState>,
    principal: Principal,
    SettingsPath(path): SettingsPath,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, &path, body).await
}

/// API keys (IPQS, Telegram); keys are returned masked (`****abcd`, `api_key_configured`).
#[utoipa::path(get, path = "/api/v1/settings/api_keys", tag = "settings",
    responses((status = 200, description = "ApiKeysSettings or null", body = SettingsValueEnvelope)),
    security(("bearer" = [])))]
async fn get_api_keys(State(state): State<AppState>, principal: Principal) -> ApiResult<Ok<Value>> {
    read(&state, &principal, "api_keys").await
}

/// Merge API keys (admin or infra). Keys are encrypted at rest; sending a mask back keeps the
/// stored key, `""` or null clears it.
#[utoipa::path(put, path = "/api/v1/settings/api_keys", tag = "settings",
    request_body = ApiKeysSettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_API_KEYS_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "api_keys", body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/settings/api_keys", tag = "settings",
    request_body = ApiKeysSettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_API_KEYS_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_api_keys(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "api_keys", body).await
}

/// Proxy check settings.
#[utoipa::path(get, path = "/api/v1/settings/proxy", tag = "settings",
    responses((status = 200, description = "ProxySettings or null", body = SettingsValueEnvelope)),
    security(("bearer" = [])))]
async fn get_proxy(State(state): State<AppState>, principal: Principal) -> ApiResult<Ok<Value>> {
    read(&state, &principal, "proxy").await
}

/// Merge proxy check settings.
#[utoipa::path(put, path = "/api/v1/settings/proxy", tag = "settings",
    request_body = ProxySettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_PROXY_BODY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_proxy(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "proxy", body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/settings/proxy", tag = "settings",
    request_body = ProxySettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_PROXY_BODY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_proxy(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "proxy", body).await
}

/// Notification event switches.
#[utoipa::path(get, path = "/api/v1/settings/notifications/events", tag = "settings",
    responses((status = 200, description = "NotificationEventsSettings or null", body = SettingsValueEnvelope)),
    security(("bearer" = [])))]
async fn get_events(State(state): State<AppState>, principal: Principal) -> ApiResult<Ok<Value>> {
    read(&state, &principal, "notifications/events").await
}

/// Merge notification event switches.
#[utoipa::path(put, path = "/api/v1/settings/notifications/events", tag = "settings",
    request_body = NotificationEventsSettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_NOTIFICATION_EVENTS_BODY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_events(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "notifications/events", body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/settings/notifications/events", tag = "settings",
    request_body = NotificationEventsSettings,
    responses(
        (status = 200, body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_NOTIFICATION_EVENTS_BODY", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_events(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "notifications/events", body).await
}

/// The storage policy `{secrets, operational, sync:{enabled}, updated_at, updated_by}` or null.
#[utoipa::path(get, path = "/api/v1/settings/storage_policy", tag = "settings",
    responses((status = 200, description = "StoragePolicy or null", body = SettingsValueEnvelope)),
    security(("bearer" = [])))]
async fn get_storage_policy(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Ok<Value>> {
    read(&state, &principal, "storage_policy").await
}

/// Change the storage policy (admin or infra); omitted fields keep their value or default.
#[utoipa::path(put, path = "/api/v1/settings/storage_policy", tag = "settings",
    request_body = StoragePolicyUpdate,
    responses(
        (status = 200, description = "StoragePolicy", body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_STORAGE_POLICY_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn put_storage_policy(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "storage_policy", body).await
}

/// Same as PUT.
#[utoipa::path(patch, path = "/api/v1/settings/storage_policy", tag = "settings",
    request_body = StoragePolicyUpdate,
    responses(
        (status = 200, description = "StoragePolicy", body = SettingsValueEnvelope),
        (status = 400, description = "SETTINGS_INVALID_STORAGE_POLICY_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_storage_policy(
    State(state): State<AppState>,
    principal: Principal,
    body: Body,
) -> ApiResult<Ok<Value>> {
    write(&state, &principal, "storage_policy", body).await
}
