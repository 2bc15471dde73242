//! The `/api2/json` surface. Handlers parse and check parameters, do the synchronous checks
//! Proxmox does before forking a worker, and leave the effect to the task.

mod access;
mod clone;
mod cluster;
mod config;
mod nodes;
mod power;
mod qemu;
mod resize;
mod sendkey;
mod storage;
mod tasks;
mod upload;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};

use super::error::ApiError;
use super::faults::decode_path;
use super::state::Shared;
use super::{auth, faults};

const API: &str = "/api2/json";

fn api(path: &str) -> String {
    format!("{API}{path}")
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let upload_limit = DefaultBodyLimit::max(shared.max_upload_bytes);
    Router::new()
        .route(&api("/version"), get(cluster::version))
        .route(
            &api("/access/ticket"),
            post(access::login).get(access::login_form),
        )
        .route(&api("/access/domains"), get(access::domains))
        .route(&api("/cluster/resources"), get(cluster::resources))
        .route(&api("/cluster/nextid"), get(cluster::nextid))
        .route(&api("/nodes"), get(nodes::list))
        .route(&api("/nodes/{node}/status"), get(nodes::status))
        .route(&api("/nodes/{node}/tasks"), get(tasks::list))
        .route(
            &api("/nodes/{node}/tasks/{upid}"),
            get(tasks::index).delete(tasks::stop),
        )
        .route(
            &api("/nodes/{node}/tasks/{upid}/status"),
            get(tasks::status),
        )
        .route(&api("/nodes/{node}/tasks/{upid}/log"), get(tasks::log))
        .route(
            &api("/nodes/{node}/qemu"),
            get(qemu::list).post(qemu::create),
        )
        .route(
            &api("/nodes/{node}/qemu/{vmid}"),
            get(qemu::index).delete(qemu::destroy),
        )
        .route(&api("/nodes/{node}/qemu/{vmid}/status"), get(power::index))
        .route(
            &api("/nodes/{node}/qemu/{vmid}/status/current"),
            get(power::current),
        )
        .route(
            &api("/nodes/{node}/qemu/{vmid}/status/{action}"),
            post(power::action),
        )
        .route(
            &api("/nodes/{node}/qemu/{vmid}/config"),
            get(config::read)
                .post(config::update_async)
                .put(config::update_sync),
        )
        .route(&api("/nodes/{node}/qemu/{vmid}/clone"), post(clone::clone))
        .route(
            &api("/nodes/{node}/qemu/{vmid}/resize"),
            put(resize::resize),
        )
        .route(
            &api("/nodes/{node}/qemu/{vmid}/sendkey"),
            put(sendkey::sendkey),
        )
        .route(&api("/nodes/{node}/storage"), get(storage::list))
        .route(
            &api("/nodes/{node}/storage/{storage}/content"),
            get(storage::content),
        )
        .route(
            &api("/nodes/{node}/storage/{storage}/content/{*volume}"),
            delete(storage::delete_volume),
        )
        .route(
            &api("/nodes/{node}/storage/{storage}/upload"),
            post(upload::upload).layer(upload_limit),
        )
        .method_not_allowed_fallback(not_implemented)
        .fallback(not_implemented)
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            auth::middleware,
        ))
        .layer(middleware::from_fn_with_state(
            Arc::clone(&shared),
            faults::middleware,
        ))
        .with_state(shared)
}

/// Unknown paths and methods: Proxmox answers 501 naming the method and path.
async fn not_implemented(method: Method, uri: Uri) -> Response {
    let path = decode_path(uri.path());
    match path.strip_prefix(API) {
        Some(rel) => {
            let rel = if rel.is_empty() { "/" } else { rel };
            ApiError::status(
                StatusCode::NOT_IMPLEMENTED,
                format!("Method '{method} {rel}' not implemented"),
            )
            .into_response()
        }
        None => ApiError::bare(StatusCode::NOT_IMPLEMENTED, "no such uri").into_response(),
    }
}

/// Parameters that name path segments may be repeated in the body; the path wins.
fn path_param(name: &str) -> bool {
    matches!(name, "node" | "vmid")
}

/// Most operations refuse a VM holding a config lock (`lock: backup`, …) unless `skiplock`.
fn check_lock(vm: &super::vm::Vm, params: &super::params::Params) -> Result<(), ApiError> {
    match vm.config.get("lock") {
        Some(lock) if !params.flag("skiplock")?.unwrap_or(false) => {
            Err(ApiError::fail(format!("VM is locked ({lock})")))
        }
        _ => Ok(()),
    }
}
