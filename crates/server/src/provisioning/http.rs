//! Provisioning routes: unattend profiles, ISO generation and download, progress and token
//! revocation (bearer), and the two VM-facing endpoints whose only credential is the
//! provisioning token in the body (public).

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::{ValidJson, ValidQuery};
use crate::pagination::PageRequest;
use crate::ratelimit::client_ip;
use crate::response::{self, Ok};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botmox_contract::pagination::PageQuery;
use botmox_contract::provisioning_api::{
    GenerateIsoRequest, GeneratedIso, ProgressEvent, ProvisioningProgress, ProvisioningTokenRecord,
    ReportProgressRequest, TokenValidation, UnattendProfile, UnattendProfileCreateRequest,
    UnattendProfileDeleted, UnattendProfileUpdateRequest, ValidateTokenRequest,
};
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(validate_token))
        .routes(routes!(report_progress))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_profiles, create_profile))
        .routes(routes!(get_profile, update_profile, delete_profile))
        .routes(routes!(generate_iso_payload))
        .routes(routes!(download_iso))
        .routes(routes!(get_progress))
        .routes(routes!(revoke_token))
}

/// The server's URL as this request reached it (used when `BOTMOX_PUBLIC_URL` is unset).
fn request_url(headers: &HeaderMap) -> Option<String> {
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let host = first("x-forwarded-host").or_else(|| first(header::HOST.as_str()))?;
    let proto = first("x-forwarded-proto").unwrap_or_else(|| "http".to_owned());
    Some(format!("{proto}://{host}"))
}

/// Unattend profiles of the caller's tenant, most recently updated first.
#[utoipa::path(get, path = "/api/v1/unattend-profiles", tag = "provisioning",
    params(PageQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<UnattendProfile>>),
        (status = 400, description = "VALIDATION_ERROR (cursor, limit)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_profiles(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(query): ValidQuery<PageQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<UnattendProfile>>>> {
    let page = PageRequest::from_query(&query)?;
    let (rows, meta) = state.provisioning.list_profiles(&principal, &page).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Create an unattend profile. `is_default: true` takes the flag from the others.
#[utoipa::path(post, path = "/api/v1/unattend-profiles", tag = "provisioning",
    request_body = UnattendProfileCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<UnattendProfile>),
        (status = 400, description = "PROVISIONING_INVALID_PROFILE_CREATE_BODY (details.fields) / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_profile(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<UnattendProfileCreateRequest>,
) -> ApiResult<(StatusCode, Ok<UnattendProfile>)> {
    Ok(response::created(
        state.provisioning.create_profile(&principal, body).await?,
    ))
}

/// One unattend profile.
#[utoipa::path(get, path = "/api/v1/unattend-profiles/{id}", tag = "provisioning",
    params(("id" = String, Path, description = "profile id, profile-<uuid>")),
    responses(
        (status = 200, body = SuccessEnvelope<UnattendProfile>),
        (status = 400, description = "PROVISIONING_INVALID_PROFILE_ID", body = ErrorEnvelope),
        (status = 404, description = "UNATTEND_PROFILE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_profile(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<UnattendProfile>> {
    Ok(response::ok(
        state.provisioning.get_profile(&principal, &id).await?,
    ))
}

/// Change a profile's name, default flag or whole config.
#[utoipa::path(put, path = "/api/v1/unattend-profiles/{id}", tag = "provisioning",
    params(("id" = String, Path, description = "profile id, profile-<uuid>")),
    request_body = UnattendProfileUpdateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<UnattendProfile>),
        (status = 400, description = "PROVISIONING_INVALID_PROFILE_ID / PROVISIONING_INVALID_PROFILE_UPDATE_BODY", body = ErrorEnvelope),
        (status = 404, description = "UNATTEND_PROFILE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn update_profile(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<UnattendProfileUpdateRequest>,
) -> ApiResult<Ok<UnattendProfile>> {
    Ok(response::ok(
        state
            .provisioning
            .update_profile(&principal, &id, body)
            .await?,
    ))
}

/// Delete a profile (deleting the default promotes none).
#[utoipa::path(delete, path = "/api/v1/unattend-profiles/{id}", tag = "provisioning",
    params(("id" = String, Path, description = "profile id, profile-<uuid>")),
    responses(
        (status = 200, body = SuccessEnvelope<UnattendProfileDeleted>),
        (status = 400, description = "PROVISIONING_INVALID_PROFILE_ID", body = ErrorEnvelope),
        (status = 404, description = "UNATTEND_PROFILE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_profile(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<UnattendProfileDeleted>> {
    state.provisioning.delete_profile(&principal, &id).await?;
    Ok(response::ok(UnattendProfileDeleted { id, deleted: true }))
}

/// Issue a provisioning token for a VM and build its config ISO (autounattend.xml,
/// provision.json with the token and the server's public URL, START.ps1, scripts). The ISO is
/// stored; the agent downloads it from `iso_url`. The token is shown once; a previous token of
/// the same VM is revoked.
#[utoipa::path(post, path = "/api/v1/provisioning/generate-iso-payload", tag = "provisioning",
    request_body = GenerateIsoRequest,
    responses(
        (status = 201, body = SuccessEnvelope<GeneratedIso>),
        (status = 400, description = "PROVISIONING_INVALID_GENERATE_BODY (details.fields) / PROVISIONING_PROFILE_SOURCE_REQUIRED / PROVISIONING_INVALID_PROFILE_ID", body = ErrorEnvelope),
        (status = 404, description = "UNATTEND_PROFILE_NOT_FOUND", body = ErrorEnvelope),
        (status = 422, description = "PROVISIONING_PUBLIC_URL_UNUSABLE (BOTMOX_PUBLIC_URL unset and the request's host is a loopback address)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn generate_iso_payload(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    ValidJson(body): ValidJson<GenerateIsoRequest>,
) -> ApiResult<(StatusCode, Ok<GeneratedIso>)> {
    Ok(response::created(
        state
            .provisioning
            .generate(&principal, body, request_url(&headers))
            .await?,
    ))
}

/// Download the VM's current config ISO (the agent uploads it to Proxmox).
#[utoipa::path(get, path = "/api/v1/provisioning/isos/{vm_uuid}", tag = "provisioning",
    params(("vm_uuid" = String, Path, description = "the VM's SMBIOS UUID")),
    responses(
        (status = 200, description = "the ISO; `x-checksum-sha256` carries its hash", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 400, description = "PROVISIONING_INVALID_VM_UUID", body = ErrorEnvelope),
        (status = 404, description = "PROVISIONING_ISO_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn download_iso(
    State(state): State<AppState>,
    principal: Principal,
    Path(vm_uuid): Path<String>,
) -> ApiResult<Response> {
    let (name, sha256, object) = state.provisioning.iso(&principal, &vm_uuid).await?;
    let mut response = Body::from_stream(object.bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    // The ISO embeds a live token.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&sha256) {
        h.insert("x-checksum-sha256", v);
    }
    Ok(response)
}

/// A VM's provisioning progress: its reports, oldest first, the current state and its token.
#[utoipa::path(get, path = "/api/v1/provisioning/progress/{vm_uuid}", tag = "provisioning",
    params(("vm_uuid" = String, Path, description = "the VM's SMBIOS UUID")),
    responses(
        (status = 200, body = SuccessEnvelope<ProvisioningProgress>),
        (status = 400, description = "PROVISIONING_INVALID_VM_UUID", body = ErrorEnvelope),
        (status = 404, description = "PROVISIONING_VM_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_progress(
    State(state): State<AppState>,
    principal: Principal,
    Path(vm_uuid): Path<String>,
) -> ApiResult<Ok<ProvisioningProgress>> {
    Ok(response::ok(
        state.provisioning.progress(&principal, &vm_uuid).await?,
    ))
}

/// Revoke a provisioning token: the VM can no longer validate or report with it.
#[utoipa::path(post, path = "/api/v1/provisioning/tokens/{id}/revoke", tag = "provisioning",
    params(("id" = String, Path, description = "token id (token_id of generate-iso-payload)")),
    responses(
        (status = 200, body = SuccessEnvelope<ProvisioningTokenRecord>),
        (status = 400, description = "PROVISIONING_INVALID_TOKEN_ID", body = ErrorEnvelope),
        (status = 404, description = "PROVISIONING_TOKEN_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "PROVISIONING_TOKEN_NOT_ACTIVE (used or expired)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn revoke_token(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<ProvisioningTokenRecord>> {
    Ok(response::ok(
        state.provisioning.revoke(&principal, &id).await?,
    ))
}

/// Called by a VM's bootstrap: checks its provisioning token (the body is the credential, no
/// bearer). Answers what START.ps1 reads: `valid` and `bootstrap_url`.
#[utoipa::path(post, path = "/api/v1/provisioning/validate-token", tag = "provisioning",
    request_body = ValidateTokenRequest,
    responses(
        (status = 200, body = SuccessEnvelope<TokenValidation>),
        (status = 400, description = "PROVISIONING_INVALID_VALIDATE_BODY", body = ErrorEnvelope),
        (status = 401, description = "TOKEN_INVALID (unknown, or bound to another VM) / TOKEN_EXPIRED / TOKEN_USED / TOKEN_REVOKED", body = ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED", body = ErrorEnvelope),
    ))]
async fn validate_token(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<ValidateTokenRequest>,
) -> ApiResult<Ok<TokenValidation>> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    Ok(response::ok(
        state.provisioning.validate_token(&body, &ip).await?,
    ))
}

/// Called by a VM's bootstrap and downloader: appends a step to the VM's progress log. The
/// token is the credential; `step: completed` with `status: completed` uses it up.
#[utoipa::path(post, path = "/api/v1/provisioning/report-progress", tag = "provisioning",
    request_body = ReportProgressRequest,
    responses(
        (status = 200, body = SuccessEnvelope<ProgressEvent>),
        (status = 400, description = "PROVISIONING_INVALID_REPORT_BODY", body = ErrorEnvelope),
        (status = 401, description = "TOKEN_INVALID / TOKEN_EXPIRED / TOKEN_USED / TOKEN_REVOKED", body = ErrorEnvelope),
        (status = 429, description = "RATE_LIMITED", body = ErrorEnvelope),
    ))]
async fn report_progress(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ValidJson(body): ValidJson<ReportProgressRequest>,
) -> ApiResult<Ok<ProgressEvent>> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    Ok(response::ok(
        state.provisioning.report_progress(body, &ip).await?,
    ))
}
