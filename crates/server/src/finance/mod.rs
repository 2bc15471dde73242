//! Finance: income/expense operations of the caller's tenant (`/api/v1/finance/operations`),
//! chart aggregates (`/finance/summary`) and a CSV export (`/finance/export.csv`).

mod csv;
pub mod service;
pub mod store;
mod summary;

pub use service::FinanceService;

use crate::app::AppState;
use crate::auth::Principal;
use crate::db::time::now_ms;
use crate::error::ApiResult;
use crate::extract::{ValidJson, ValidQuery};
use crate::path_id::{IdCode, PathId};
use crate::response::{self, Ok};
use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use botmox_contract::finance::{
    FINANCE_INVALID_ID, FinanceSummary, OperationCreateRequest, OperationExportQuery,
    OperationListQuery, OperationPatchRequest, OperationRecord, SummaryQuery,
};
use botmox_contract::rules::day_of_ms;
use botmox_contract::workspace::Deleted;
use botmox_contract::{ErrorEnvelope, SuccessEnvelope};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub struct FinanceIds;
impl IdCode for FinanceIds {
    const CODE: &'static str = FINANCE_INVALID_ID;
}
type Id = PathId<FinanceIds>;

/// Schemas referenced only from query parameters, which utoipa does not collect itself.
#[derive(utoipa::OpenApi)]
#[openapi(components(schemas(botmox_contract::finance::SortOrder)))]
struct ParamSchemas;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(<ParamSchemas as utoipa::OpenApi>::openapi())
        .routes(routes!(list_operations, create_operation))
        .routes(routes!(get_operation, patch_operation, delete_operation))
        .routes(routes!(summary_report))
        .routes(routes!(export_csv))
}

fn service(state: &AppState) -> FinanceService {
    FinanceService::new(state.db.clone())
}

/// Operations by date (newest first unless `order=asc`), filtered.
#[utoipa::path(get, path = "/api/v1/finance/operations", tag = "finance", operation_id = "finance_list_operations",
    params(OperationListQuery),
    responses(
        (status = 200, body = SuccessEnvelope<Vec<OperationRecord>>, description = "meta: next_cursor, total, limit"),
        (status = 400, description = "FINANCE_INVALID_LIST_QUERY (details.fields)", body = ErrorEnvelope),
        (status = 401, description = "INVALID_OR_MISSING_BEARER_TOKEN", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn list_operations(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<OperationListQuery>,
) -> ApiResult<Json<SuccessEnvelope<Vec<OperationRecord>>>> {
    let (rows, meta) = service(&state).list(&principal, &q).await?;
    Ok(Json(SuccessEnvelope::with_meta(rows, meta)))
}

/// Record an operation.
#[utoipa::path(post, path = "/api/v1/finance/operations", tag = "finance", operation_id = "finance_create_operation",
    request_body = OperationCreateRequest,
    responses(
        (status = 201, body = SuccessEnvelope<OperationRecord>),
        (status = 400, description = "FINANCE_INVALID_CREATE_BODY (details.fields) / BAD_REQUEST", body = ErrorEnvelope),
        (status = 409, description = "FINANCE_OPERATION_EXISTS (the id is taken)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn create_operation(
    State(state): State<AppState>,
    principal: Principal,
    ValidJson(body): ValidJson<OperationCreateRequest>,
) -> ApiResult<(StatusCode, Ok<OperationRecord>)> {
    Ok(response::created(
        service(&state).create(&principal, body).await?,
    ))
}

/// One operation.
#[utoipa::path(get, path = "/api/v1/finance/operations/{id}", tag = "finance", operation_id = "finance_get_operation",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<OperationRecord>),
        (status = 400, description = "FINANCE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "FINANCE_OPERATION_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn get_operation(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<OperationRecord>> {
    Ok(response::ok(service(&state).get(&principal, &id).await?))
}

/// Change some fields of an operation; `null` clears a nullable one.
#[utoipa::path(patch, path = "/api/v1/finance/operations/{id}", tag = "finance", operation_id = "finance_patch_operation",
    params(("id" = String, Path)),
    request_body = OperationPatchRequest,
    responses(
        (status = 200, body = SuccessEnvelope<OperationRecord>),
        (status = 400, description = "FINANCE_INVALID_ID / FINANCE_INVALID_PATCH_BODY", body = ErrorEnvelope),
        (status = 404, description = "FINANCE_OPERATION_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn patch_operation(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
    ValidJson(body): ValidJson<OperationPatchRequest>,
) -> ApiResult<Ok<OperationRecord>> {
    Ok(response::ok(
        service(&state).patch(&principal, &id, body).await?,
    ))
}

/// Delete an operation.
#[utoipa::path(delete, path = "/api/v1/finance/operations/{id}", tag = "finance", operation_id = "finance_delete_operation",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = SuccessEnvelope<Deleted>),
        (status = 400, description = "FINANCE_INVALID_ID", body = ErrorEnvelope),
        (status = 404, description = "FINANCE_OPERATION_NOT_FOUND", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn delete_operation(
    State(state): State<AppState>,
    principal: Principal,
    id: Id,
) -> ApiResult<Ok<Deleted>> {
    Ok(response::ok(service(&state).delete(&principal, &id).await?))
}

/// Income, expense, net and gold sold per day (every day of the range, zero-filled),
/// category or project, plus totals; one currency (default USD).
#[utoipa::path(get, path = "/api/v1/finance/summary", tag = "finance", operation_id = "finance_summary",
    params(SummaryQuery),
    responses(
        (status = 200, body = SuccessEnvelope<FinanceSummary>),
        (status = 400, description = "FINANCE_INVALID_LIST_QUERY (details.fields)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
async fn summary_report(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<SummaryQuery>,
) -> ApiResult<Ok<FinanceSummary>> {
    Ok(response::ok(service(&state).summary(&principal, &q).await?))
}

/// Every matching operation as CSV (RFC 4180, header row, CRLF), streamed.
#[utoipa::path(get, path = "/api/v1/finance/export.csv", tag = "finance", operation_id = "finance_export_csv",
    params(OperationExportQuery),
    responses(
        (status = 200, content_type = "text/csv", body = String,
            description = "columns: id,date,type,category,project_id,bot_id,description,currency,amount,gold_amount,gold_price_at_time,created_at,updated_at"),
        (status = 400, description = "FINANCE_INVALID_LIST_QUERY (details.fields)", body = ErrorEnvelope),
    ),
    security(("bearer" = [])))]
pub(crate) async fn export_csv(
    State(state): State<AppState>,
    principal: Principal,
    ValidQuery(q): ValidQuery<OperationExportQuery>,
) -> ApiResult<impl IntoResponse> {
    let (store, filter, descending) = service(&state).export(&q.filter(), q.order)?;
    let name = format!(
        "attachment; filename=\"finance_transactions_{}.csv\"",
        day_of_ms(now_ms()).format("%Y-%m-%d")
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, name),
        ],
        Body::from_stream(csv::body(store, principal.tenant_id, filter, descending)),
    ))
}
