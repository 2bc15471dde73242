//! The operator console: server-rendered pages (askama templates under `templates/`), htmx for
//! partial updates, assets embedded in the binary (`static/`). No Node build, nothing loaded
//! from outside.
//!
//! Pages call the domain services in-process through [`AppState`], with the [`Principal`] the
//! session cookie resolved to; rules stay in the services. A service error is shown as its
//! envelope message: in the page's alert region for htmx requests, as an error page otherwise.
//!
//! # Adding a page
//! 1. Handler in `pages/<name>.rs`: take [`PageCtx`] (the caller and the shell), call the
//!    service, return `Result<Response, WebError>`; `?` on an `ApiError` shows its message.
//! 2. Template `templates/<name>.html`: `{% extends "base.html" %}`, fill `{% block content %}`;
//!    the template struct carries `shell: Shell` built with [`PageCtx::shell`] (title and
//!    breadcrumbs). Fragments for htmx swaps are templates without `extends`.
//! 3. Route in [`pages`]'s router (`pages/mod.rs`). Every route there sits behind the session
//!    guard; unsafe methods are also checked for a same-site `Origin`.
//! 4. Nav entry in [`nav::TREE`] once the page exists (the navigation never links to a page
//!    that is not built; the browser crawl test follows every link).
//!
//! Live data: `/ui/events` streams command events (the vm-ops event log with the API's
//! tenant and ownership scoping) to pages; `static/app.js` re-dispatches each event on
//! `document.body` as `vm-command`, so a fragment refreshes with
//! `hx-trigger="vm-command from:body"`.

mod assets;
mod csrf;
pub mod nav;
mod pages;
mod render;
mod session;
mod shell;
pub mod svg;

pub use render::WebError;
pub use shell::{Crumb, PageCtx, Shell};

use crate::app::AppState;
use axum::Router;
use axum::middleware;

/// Every web route: public ones (login, assets) and the guarded pages.
pub fn router(state: &AppState) -> Router<AppState> {
    let guard = session::Guard::new(state.clone());
    let pages = pages::routes()
        .route("/logout", axum::routing::post(session::logout))
        .route_layer(middleware::from_fn_with_state(guard, session::require));
    Router::new()
        .merge(pages)
        .route(
            "/login",
            axum::routing::get(session::login_page).post(session::login),
        )
        .merge(assets::routes())
        .layer(middleware::from_fn(render::errors))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            csrf::same_origin,
        ))
}
