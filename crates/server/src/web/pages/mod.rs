//! The guarded pages. Each module holds one page's handlers; its routes are listed here.

mod agents;
mod commands;
mod notes;
mod overview;
mod vms;

use crate::app::AppState;
use axum::Router;
use axum::routing::{get, post};

/// Every page route; `web::router` puts them behind the session guard.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview::page))
        .route("/agents", get(agents::page))
        .route("/agents/list", get(agents::list))
        .route("/agents/pairings", post(agents::create_pairing))
        .route("/agents/{id}/revoke", post(agents::revoke))
        .route("/commands", get(commands::page))
        .route("/commands/rows", get(commands::rows))
        .route("/commands/{id}", get(commands::detail))
        .route("/commands/{id}/cancel", post(commands::cancel))
        .route("/vms", get(vms::page))
        .route("/vms/live.js", get(vms::script))
        .route("/vms/list", get(vms::vms))
        .route("/vms/jobs", get(vms::jobs).post(vms::create))
        .route("/vms/jobs/{id}", get(vms::job))
        .route("/vms/jobs/{id}/cancel", post(vms::cancel))
        .route("/vms/{uuid}/power/{action}", post(vms::power))
        .route("/vms/{uuid}/provisioning", get(vms::provisioning))
        .route("/notes", get(notes::page).post(notes::create))
        .route("/notes/{id}", get(notes::open).post(notes::save))
        // The API's own stream handler with the session's principal: the same tenant and
        // ownership scoping (own commands; admin and infra see the tenant's).
        .route("/ui/events", get(crate::vm_ops::events))
}
