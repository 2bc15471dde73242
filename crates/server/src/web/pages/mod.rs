//! The guarded pages. Each module holds one page's handlers; its routes are listed here.

mod agents;
mod commands;
mod notes;
mod overview;
mod vms;
// Business pages: bots, resources, finance, workspace boards, administration.
mod admin;
mod boards;
mod bot;
mod finance;
mod kit;
mod projects;
mod resources;

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
        // Projects, bots and their resources.
        .route("/projects", get(projects::page).post(projects::create))
        .route(
            "/projects/{id}",
            get(projects::project).post(projects::create_in_project),
        )
        .route(
            "/projects/{id}/bots/{bot}/delete",
            post(projects::delete_bot),
        )
        .route("/bots/{id}", get(bot::page))
        .route("/bots/{id}/configure", post(bot::configure))
        .route("/bots/{id}/schedule", post(bot::schedule))
        .route("/bots/{id}/ban", post(bot::ban))
        .route("/bots/{id}/unban", post(bot::unban))
        .route("/bots/{id}/archive", post(bot::archive))
        .route("/bots/{id}/unarchive", post(bot::unarchive))
        .route("/bots/{id}/transition", post(bot::transition))
        .route("/bots/{id}/attach", post(bot::attach))
        .route("/bots/{id}/detach", post(bot::detach))
        .route("/licenses", get(resources::licenses))
        .route("/proxies", get(resources::proxies))
        .route("/subscriptions", get(resources::subscriptions))
        .route("/proxies/{id}/ipqs", post(resources::ipqs))
        .route("/resources/{kind}", post(resources::create))
        .route("/resources/{kind}/{id}", post(resources::update))
        .route("/resources/{kind}/{id}/delete", post(resources::delete))
        .route("/resources/{kind}/{id}/assign", post(resources::assign))
        .route("/resources/{kind}/{id}/unassign", post(resources::unassign))
        // Finance; the export is the API's own handler with the session's principal.
        .route("/finance", get(finance::page))
        .route("/finance/operations", post(finance::create))
        .route("/finance/operations/{id}", post(finance::update))
        .route("/finance/operations/{id}/delete", post(finance::delete))
        .route("/finance/export.csv", get(crate::finance::export_csv))
        // Workspace boards.
        .route(
            "/workspace/calendar",
            get(boards::calendar).post(boards::create_event),
        )
        .route(
            "/workspace/calendar/{id}/delete",
            post(boards::delete_event),
        )
        .route(
            "/workspace/kanban",
            get(boards::kanban).post(boards::create_task),
        )
        .route("/workspace/kanban/{id}", post(boards::update_task))
        .route("/workspace/kanban/{id}/move", post(boards::move_task))
        .route("/workspace/kanban/{id}/delete", post(boards::delete_task))
        // Administration.
        .route("/secrets", get(admin::secrets))
        .route("/secrets/bindings", post(admin::bind))
        .route("/secrets/bindings/{id}/delete", post(admin::unbind))
        .route(
            "/provisioning/profiles",
            get(admin::profiles).post(admin::create_profile),
        )
        .route("/provisioning/profiles/{id}", post(admin::update_profile))
        .route(
            "/provisioning/profiles/{id}/delete",
            post(admin::delete_profile),
        )
        .route("/artifacts", get(admin::artifacts))
        .route("/artifacts/assignments", post(admin::assign))
        .route("/artifacts/assignments/{id}/delete", post(admin::unassign))
        .route("/settings", get(admin::settings))
        .route("/settings/{section}", post(admin::save_settings))
        .route("/audit", get(admin::audit))
        // The API's own stream handler with the session's principal: the same tenant and
        // ownership scoping (own commands; admin and infra see the tenant's).
        .route("/ui/events", get(crate::vm_ops::events))
}
