//! Artifacts: releases and their binaries, assignments, lease-gated download resolution,
//! the server's own signed downloads, and the download audit.

pub mod service;
pub mod signed_url;
pub mod store;

pub use service::ArtifactService;

use crate::app::AppState;
use crate::auth::principal::Privileged;
use crate::auth::{Principal, Require};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ValidJson, ValidQuery};
use crate::ratelimit::client_ip;
use crate::response::{self, Ok};
use axum::Json;
use axum::body::Body;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use botmox_contract::artifacts::{
    AssignRequest, AssignmentListQuery, AssignmentRecord, AuditListQuery, Binary, DEFAULT_CHANNEL,
    DEFAULT_PLATFORM, DownloadAuditRecord, EffectiveAssignment, EffectiveAssignmentQuery,
    ReleaseCreateRequest, ReleaseListQuery, ReleaseRecord, ReleaseUpdateRequest,
    ResolveDownloadRequest, ResolveDownloadResponse,
};
use botmox_contract::rules;
use botmox_contract::secrets::Deleted;
use botmox_contract::validation::Input;
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use futures::{StreamExt, TryStreamExt};
use garde::Validate;
use service::{Caller, code};
use std::net::SocketAddr;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The download route: the signed URL is the credential.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(download))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_releases, create_release))
        .routes(routes!(get_release, update_release))
        .routes(routes!(upload_binary))
        .routes(routes!(assign))
        .routes(routes!(effective_assignment))
        .routes(routes!(list_assignments))
        .routes(routes!(delete_assignment))
        .routes(routes!(resolve_download))
        .routes(routes!(list_audit))
}

fn path_id(raw: &str) -> ApiResult<String> {
    let v = raw.trim();
    if v.is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            code::INVALID_ID,
            "id must be 1 to 200 characters",
        ));
    }
    Ok(v.to_owned())
}

/// Declare a release (operators: admin or infra). Its binary follows with
/// `PUT /artifacts/releases/{id}/binary`.
#[utoipa::path(post, path = "/api/v1/artifacts/releases", tag = "artifacts",
    request_body = ReleaseCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<ReleaseRecord>),
        (status = 400, description = "INVALID_REQUEST_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
        (status = 409, description = "ARTIFACT_RELEASE_EXISTS (same module, platform, channel and version)", body = ErrorEnvelope),
        (status = 413, description = "ARTIFACT_TOO_LARGE (size_bytes over BOTMOX_ARTIFACT_MAX_BYTES)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_release(
    State(state): State<AppState>,
    op: Require<Privileged>,
    ValidJson(body): ValidJson<ReleaseCreateRequest>,
) -> ApiResult<(StatusCode, Ok<ReleaseRecord>)> {
    Ok(response::created(
        state.artifacts.create_release(&op, &body).await?,
    ))
}

/// Releases of the tenant, newest first.
#[utoipa::path(get, path = "/api/v1/artifacts/releases", tag = "artifacts",
    params(ReleaseListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<ReleaseRecord>>),
        (status = 400, description = "INVALID_QUERY_PARAMS / VALIDATION_ERROR (bad cursor)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_releases(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<ReleaseListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<ReleaseRecord>>>> {
    let (rows, meta) = state.artifacts.list_releases(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// One release.
#[utoipa::path(get, path = "/api/v1/artifacts/releases/{id}", tag = "artifacts",
    params(("id" = String, Path, description = "release id")),
    responses(
        (status = 200, body = SuccessEnvelope<ReleaseRecord>),
        (status = 400, description = "ARTIFACT_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_RELEASE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_release(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<Ok<ReleaseRecord>> {
    let id = path_id(&id)?;
    Ok(response::ok(
        state.artifacts.get_release(&principal, &id).await?,
    ))
}

/// Change a release's status (admin or infra); only `active` releases are downloadable.
#[utoipa::path(patch, path = "/api/v1/artifacts/releases/{id}", tag = "artifacts",
    params(("id" = String, Path, description = "release id")),
    request_body = ReleaseUpdateRequest,
    responses(
        (status = 200, body = SuccessEnvelope<ReleaseRecord>),
        (status = 400, description = "ARTIFACT_INVALID_ID / INVALID_REQUEST_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_RELEASE_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn update_release(
    State(state): State<AppState>,
    op: Require<Privileged>,
    Path(id): Path<String>,
    ValidJson(body): ValidJson<ReleaseUpdateRequest>,
) -> ApiResult<Ok<ReleaseRecord>> {
    let id = path_id(&id)?;
    Ok(response::ok(
        state
            .artifacts
            .set_release_status(&op, &id, &body.status)
            .await?,
    ))
}

/// Upload a release's binary as the raw request body (admin or infra). It is streamed to
/// the object store while its SHA-256 and size are computed; both must equal the declared
/// values, else the upload is discarded. Once per release.
#[utoipa::path(put, path = "/api/v1/artifacts/releases/{id}/binary", tag = "artifacts",
    params(("id" = String, Path, description = "release id")),
    request_body(content = Binary, content_type = "application/octet-stream", description = "the binary, exactly size_bytes long"),
    responses(
        (status = 200, body = SuccessEnvelope<ReleaseRecord>),
        (status = 400, description = "ARTIFACT_INVALID_ID / ARTIFACT_UPLOAD_INTERRUPTED", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_RELEASE_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ARTIFACT_BINARY_EXISTS", body = ErrorEnvelope),
        (status = 422, description = "ARTIFACT_SIZE_MISMATCH / ARTIFACT_CHECKSUM_MISMATCH (the object is deleted)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn upload_binary(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Ok<ReleaseRecord>> {
    let mut stream = body.into_data_stream().map_err(|e| e.to_string());
    let result = async {
        if !principal.is_privileged() {
            return Err(ApiError::forbidden(
                "This action requires one of the roles: admin, infra",
            ));
        }
        let id = path_id(&id)?;
        let length = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        state
            .artifacts
            .upload_binary(&principal, &id, length, &mut stream)
            .await
    }
    .await;
    if result.is_err() {
        drain(&mut stream).await;
    }
    Ok(response::ok(result?))
}

/// Reads what is left of a refused upload (bounded), so the client can finish sending and
/// read the answer instead of failing on a closed connection.
async fn drain<S, E>(stream: &mut S)
where
    S: futures::Stream<Item = Result<bytes::Bytes, E>> + Unpin,
{
    const LIMIT: usize = 64 * 1024 * 1024;
    let mut seen = 0usize;
    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while let Some(Ok(chunk)) = stream.next().await {
            seen += chunk.len();
            if seen > LIMIT {
                break;
            }
        }
    })
    .await;
}

/// Assign a release to a user, or as the tenant default without `user_id` (admin or
/// infra). 201 when new, 200 when an existing assignment now points at this release.
#[utoipa::path(post, path = "/api/v1/artifacts/assign", tag = "artifacts",
    request_body = AssignRequest,
    responses(
        (status = 201, body = SuccessEnvelope<AssignmentRecord>),
        (status = 200, description = "existing assignment updated", body = SuccessEnvelope<AssignmentRecord>),
        (status = 400, description = "INVALID_REQUEST_BODY", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_RELEASE_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "ARTIFACT_SCOPE_MISMATCH (release of another module, platform or channel)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn assign(
    State(state): State<AppState>,
    op: Require<Privileged>,
    ValidJson(body): ValidJson<AssignRequest>,
) -> ApiResult<(StatusCode, Ok<AssignmentRecord>)> {
    let (record, created) = state.artifacts.assign(&op, &body).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, response::ok(record)))
}

/// Path of the effective-assignment lookup.
#[derive(serde::Deserialize, Validate)]
struct AssignPath {
    #[garde(custom(rules::name200))]
    user_id: String,
    #[garde(custom(rules::slug))]
    module: String,
}

/// The assignment a user gets for a module: their own, else the tenant default.
#[utoipa::path(get, path = "/api/v1/artifacts/assign/{user_id}/{module}", tag = "artifacts",
    params(
        ("user_id" = String, Path, description = "user id"),
        ("module" = String, Path, description = "module"),
        EffectiveAssignmentQuery,
    ),
    responses(
        (status = 200, body = SuccessEnvelope<EffectiveAssignment>),
        (status = 400, description = "INVALID_PATH_PARAMS / INVALID_QUERY_PARAMS", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn effective_assignment(
    State(state): State<AppState>,
    principal: Principal,
    Path((user_id, module)): Path<(String, String)>,
    ValidQuery(q): ValidQuery<EffectiveAssignmentQuery>,
) -> ApiResult<Ok<EffectiveAssignment>> {
    let path = AssignPath { user_id, module };
    path.validate()
        .map_err(|r| ApiError::validation("INVALID_PATH_PARAMS", &r))?;
    let pick = |v: &Option<String>, default: &str| -> ApiResult<String> {
        match rules::blank_as_none(v) {
            None => Ok(default.to_owned()),
            Some(s) => {
                rules::slug(&s, &()).map_err(|e| {
                    ApiError::bad_request(EffectiveAssignmentQuery::INVALID_CODE, e.to_string())
                })?;
                Ok(s)
            }
        }
    };
    let platform = pick(&q.platform, DEFAULT_PLATFORM)?;
    let channel = pick(&q.channel, DEFAULT_CHANNEL)?;
    Ok(response::ok(
        state
            .artifacts
            .effective(
                &principal,
                path.user_id.trim(),
                &path.module,
                &platform,
                &channel,
            )
            .await?,
    ))
}

/// Assignments of the tenant, newest first.
#[utoipa::path(get, path = "/api/v1/artifacts/assignments", tag = "artifacts",
    params(AssignmentListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<AssignmentRecord>>),
        (status = 400, description = "INVALID_QUERY_PARAMS", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_assignments(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<AssignmentListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<AssignmentRecord>>>> {
    let (rows, meta) = state.artifacts.list_assignments(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Remove an assignment (admin or infra).
#[utoipa::path(delete, path = "/api/v1/artifacts/assignments/{id}", tag = "artifacts",
    params(("id" = String, Path, description = "assignment id")),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "ARTIFACT_INVALID_ID", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_ASSIGNMENT_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_assignment(
    State(state): State<AppState>,
    op: Require<Privileged>,
    Path(id): Path<String>,
) -> ApiResult<Ok<Deleted>> {
    let id = path_id(&id)?;
    state.artifacts.delete_assignment(&op, &id).await?;
    Ok(response::ok(Deleted { id, deleted: true }))
}

fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(u) = &state.config.public_url {
        return u.clone();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// Exchange an execution lease for a short-lived download URL of the release assigned to
/// the lease's user (else the tenant default): a presigned S3 URL, or a URL of this server
/// when objects are stored locally. The lease must be genuine, unexpired, active, the
/// caller's (or the caller an operator), for this VM and module, and the lease gate must
/// still hold. Every attempt is audited.
#[utoipa::path(post, path = "/api/v1/artifacts/resolve-download", tag = "artifacts",
    request_body = ResolveDownloadRequest,
    responses(
        (status = 200, body = SuccessEnvelope<ResolveDownloadResponse>),
        (status = 400, description = "INVALID_REQUEST_BODY / BAD_REQUEST", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN / LEASE_TOKEN_INVALID", body = ErrorEnvelope),
        (status = 403, description = "LEASE_OWNER_MISMATCH / VM_UUID_MISMATCH / MODULE_MISMATCH / VM_INACTIVE / VM_OWNER_MISMATCH / LICENSE_INACTIVE / ENTITLEMENT_REQUIRED / MODULE_NOT_ALLOWED", body = ErrorEnvelope),
        (status = 404, description = "LEASE_NOT_FOUND / VM_NOT_REGISTERED / ARTIFACT_RESOLUTION_NOT_FOUND / ARTIFACT_RELEASE_NOT_FOUND", body = ErrorEnvelope),
        (status = 409, description = "LEASE_EXPIRED / LEASE_INACTIVE / ARTIFACT_RELEASE_INACTIVE / ARTIFACT_BINARY_MISSING", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn resolve_download(
    State(state): State<AppState>,
    principal: Principal,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Result<ValidJson<ResolveDownloadRequest>, ApiError>,
) -> ApiResult<Ok<ResolveDownloadResponse>> {
    let caller = Caller {
        principal: &principal,
        ip: client_ip(
            &headers,
            Some(peer),
            state.config.rate_limit.trust_forwarded_for,
        ),
        base_url: base_url(&state, &headers),
    };
    Ok(response::ok(
        state
            .artifacts
            .resolve(&caller, body.map(|ValidJson(b)| b))
            .await?,
    ))
}

/// Resolve and download attempts, newest first (admin or infra).
#[utoipa::path(get, path = "/api/v1/artifacts/audit", tag = "artifacts",
    params(AuditListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<DownloadAuditRecord>>),
        (status = 400, description = "INVALID_QUERY_PARAMS", body = ErrorEnvelope),
        (status = 403, description = "FORBIDDEN (admin or infra only)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_audit(
    State(state): State<AppState>,
    op: Require<Privileged>,
    ValidQuery(q): ValidQuery<AuditListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<DownloadAuditRecord>>>> {
    let (rows, meta) = state.artifacts.list_audit(&op, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Download a binary through a URL this server signed (embedded storage). The link is the
/// credential: a changed or expired one is refused with 403 and nothing is sent.
#[utoipa::path(get, path = "/api/v1/artifacts/download/{token}", tag = "artifacts",
    params(("token" = String, Path, description = "signed download token from resolve-download")),
    responses(
        (status = 200, description = "the binary", content_type = "application/octet-stream", body = Binary),
        (status = 403, description = "ARTIFACT_DOWNLOAD_SIGNATURE_INVALID / ARTIFACT_DOWNLOAD_EXPIRED", body = ErrorEnvelope),
        (status = 404, description = "ARTIFACT_BINARY_MISSING", body = ErrorEnvelope),
    ))]
async fn download(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let ip = client_ip(
        &headers,
        Some(peer),
        state.config.rate_limit.trust_forwarded_for,
    );
    let (grant, object) = state.artifacts.open_download(&token, &ip).await?;
    let mut response = Body::from_stream(object.bytes).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", grant.file_name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&grant.sha256) {
        h.insert("x-checksum-sha256", v);
    }
    Ok(response)
}
