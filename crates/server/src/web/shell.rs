//! What every page shares: the caller, the header (breadcrumbs, user menu, theme) and the
//! navigation tree.

use super::nav::{self, NavNode};
use crate::app::AppState;
use crate::auth::Principal;
use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;

/// `HX-Request: true`: the request came from htmx and wants a fragment.
pub fn is_htmx(headers: &HeaderMap) -> bool {
    headers.get("hx-request").is_some_and(|v| v == "true")
}

/// The theme the operator chose (cookie `botmox_theme`); `None` follows the system setting.
pub fn theme_of(headers: &HeaderMap) -> Option<&'static str> {
    match super::session::cookie(headers, "botmox_theme") {
        Some("dark") => Some("dark"),
        Some("light") => Some("light"),
        _ => None,
    }
}

/// One breadcrumb; the last one of a page has no link.
#[derive(Debug, Clone)]
pub struct Crumb {
    pub label: String,
    pub href: Option<String>,
}

impl Crumb {
    pub fn link(label: impl Into<String>, href: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            href: Some(href.into()),
        }
    }

    pub fn here(label: impl Into<String>) -> Self {
        Self {
            label: label.into(),
            href: None,
        }
    }
}

/// Everything `base.html` needs.
pub struct Shell {
    pub title: String,
    pub crumbs: Vec<Crumb>,
    pub email: String,
    /// First letter of the e-mail, for the avatar.
    pub initial: String,
    pub theme: Option<&'static str>,
    pub asset_v: &'static str,
    pub nav: Vec<NavNode>,
}

/// The caller of a page and the request facts the shell needs. Only on guarded routes.
pub struct PageCtx {
    pub app: AppState,
    pub principal: Principal,
    pub path: String,
    pub htmx: bool,
    theme: Option<&'static str>,
}

impl FromRequestParts<AppState> for PageCtx {
    type Rejection = super::WebError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let principal = parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| {
                super::WebError::new(axum::http::StatusCode::UNAUTHORIZED, "Please sign in")
            })?;
        Ok(Self {
            app: state.clone(),
            principal,
            path: parts.uri.path().to_owned(),
            htmx: is_htmx(&parts.headers),
            theme: theme_of(&parts.headers),
        })
    }
}

impl PageCtx {
    /// The same role gate as the API's `Require<R>`: a caller without one of `R::ROLES` sees
    /// the same 403 message.
    pub fn require<R: crate::auth::principal::RoleSet>(&self) -> Result<(), super::WebError> {
        if self.principal.has_any_role(R::ROLES) {
            return Ok(());
        }
        Err(crate::error::ApiError::forbidden(format!(
            "This action requires one of the roles: {}",
            R::ROLES.join(", ")
        ))
        .into())
    }

    /// The shell of a page titled `title`, with its breadcrumbs (the last is the page).
    /// Async so that data-driven nav branches (projects and their bots) can be read here.
    pub async fn shell(&self, title: &str, crumbs: Vec<Crumb>) -> Shell {
        Shell {
            title: title.to_owned(),
            crumbs,
            email: self.principal.email.clone(),
            initial: self
                .principal
                .email
                .chars()
                .next()
                .map(|c| c.to_uppercase().to_string())
                .unwrap_or_default(),
            theme: self.theme,
            asset_v: super::assets::version(),
            nav: nav::tree(
                &self.path,
                self.principal.has_role(crate::auth::principal::ROLE_ADMIN),
            ),
        }
    }
}
