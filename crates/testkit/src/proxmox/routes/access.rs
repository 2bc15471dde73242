//! `POST /access/ticket`: password login (or ticket renewal, password = a valid ticket).

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;

use crate::proxmox::auth::{full_caps, issue_csrf, issue_ticket, verify_ticket};
use crate::proxmox::error::{ApiError, ApiResult, data};
use crate::proxmox::params::Params;
use crate::proxmox::state::Shared;

pub(crate) async fn login(State(shared): State<Arc<Shared>>, params: Params) -> ApiResult {
    params.check(&["username", "password"], |k| {
        matches!(
            k,
            "realm" | "otp" | "path" | "privs" | "new-format" | "tfa-challenge"
        )
    })?;
    let mut username = params.get("username").unwrap_or_default().trim().to_owned();
    if let Some(realm) = params.text("realm")
        && !username.contains('@')
    {
        username = format!("{username}@{realm}");
    }
    let password = params.get("password").unwrap_or_default();
    let now = shared.now();
    let by_password = shared
        .lock()
        .users
        .get(&username)
        // An empty stored password marks a token-only user, who cannot log in.
        .is_some_and(|p| !p.is_empty() && p == password);
    let by_ticket = || {
        verify_ticket(&shared.secret, password, now, shared.ticket_lifetime_secs).as_deref()
            == Some(username.as_str())
    };
    if !(by_password || by_ticket()) {
        if !shared.auth_failure_delay.is_zero() {
            tokio::time::sleep(shared.auth_failure_delay).await;
        }
        // Same answer for unknown users and wrong passwords, so users cannot be enumerated.
        return Err(ApiError::status(
            StatusCode::UNAUTHORIZED,
            "authentication failure",
        ));
    }
    Ok(data(json!({
        "username": username,
        "ticket": issue_ticket(&shared.secret, &username, now),
        "CSRFPreventionToken": issue_csrf(&shared.secret, &username, now),
        "cap": full_caps(),
    })))
}

/// `GET /access/ticket` exists only so the login form can probe it.
pub(crate) async fn login_form() -> ApiResult {
    Ok(data(serde_json::Value::Null))
}

pub(crate) async fn domains() -> ApiResult {
    Ok(data(json!([
        {"realm": "pam", "type": "pam", "comment": "Linux PAM standard authentication"},
        {"realm": "pve", "type": "pve", "comment": "Proxmox VE authentication server"},
    ])))
}
