//! Tickets, CSRF prevention tokens and API tokens, checked the way pveproxy checks them.
//!
//! Tickets look like `PVE:root@pam:6650A1B2::<signature>` (timestamp in upper-case hex) and
//! CSRF tokens like `6650A1B2:<signature>`; both are HMAC-signed with a per-simulator secret.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::error::ApiError;
use super::faults::decode_path;
use super::state::Shared;

/// Tickets from up to five minutes in the future are accepted, for clock skew.
const MAX_CLOCK_SKEW_SECS: i64 = 300;

/// The authenticated caller, available to handlers as an extension.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthUser {
    /// `root@pam`, or `root@pam!tokenid` for API tokens (as task UPIDs show it).
    pub userid: String,
}

fn sign(secret: &[u8], purpose: &str, payload: &str) -> Vec<u8> {
    // HMAC accepts keys of any length; an empty signature would simply never verify.
    let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(secret) else {
        return Vec::new();
    };
    mac.update(purpose.as_bytes());
    mac.update(b"\0");
    mac.update(payload.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

pub(crate) fn issue_ticket(secret: &[u8], user: &str, now: i64) -> String {
    let plain = format!("PVE:{user}:{now:08X}");
    let signature = STANDARD.encode(sign(secret, "ticket", &plain));
    format!("{plain}::{signature}")
}

pub(crate) fn issue_csrf(secret: &[u8], user: &str, now: i64) -> String {
    let timestamp = format!("{now:08X}");
    let signature = STANDARD_NO_PAD.encode(sign(secret, "csrf", &format!("{timestamp}:{user}")));
    format!("{timestamp}:{signature}")
}

fn age_ok(timestamp_hex: &str, now: i64, lifetime_secs: i64) -> bool {
    let valid_hex = timestamp_hex.len() == 8
        && timestamp_hex
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
    let Ok(issued) = i64::from_str_radix(timestamp_hex, 16) else {
        return false;
    };
    let age = now - issued;
    valid_hex && age > -MAX_CLOCK_SKEW_SECS && age < lifetime_secs
}

/// Returns the ticket's user if the signature is ours and the ticket has not expired.
pub(crate) fn verify_ticket(
    secret: &[u8],
    ticket: &str,
    now: i64,
    lifetime_secs: i64,
) -> Option<String> {
    let (plain, signature) = ticket.split_once("::")?;
    let rest = plain.strip_prefix("PVE:")?;
    let (user, timestamp) = rest.rsplit_once(':')?;
    let expected = STANDARD.encode(sign(secret, "ticket", plain));
    (signature == expected && !user.is_empty() && age_ok(timestamp, now, lifetime_secs))
        .then(|| user.to_owned())
}

pub(crate) fn verify_csrf(
    secret: &[u8],
    user: &str,
    token: &str,
    now: i64,
    lifetime_secs: i64,
) -> bool {
    let Some((timestamp, signature)) = token.split_once(':') else {
        return false;
    };
    let expected = STANDARD_NO_PAD.encode(sign(secret, "csrf", &format!("{timestamp}:{user}")));
    signature == expected && age_ok(timestamp, now, lifetime_secs)
}

/// `name=value` from a `Cookie` or `Authorization` header value, percent-decoded.
fn auth_value(header_value: &str, name: &str) -> Option<String> {
    header_value
        .split([';', ','])
        .filter_map(|part| part.trim().split_once('='))
        .find(|(k, _)| k.trim() == name)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v.trim())
                .decode_utf8_lossy()
                .into_owned()
        })
        .filter(|v| !v.is_empty())
}

fn header_str(headers: &HeaderMap, name: impl header::AsHeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Logins and the realm list need no authentication.
fn is_public(method: &Method, api_path: &str) -> bool {
    (api_path == "/access/ticket" && (method == Method::GET || method == Method::POST))
        || (api_path == "/access/domains" && method == Method::GET)
}

/// pveproxy skips the CSRF check for multipart uploads (HTML forms cannot set the header).
fn is_upload(method: &Method, api_path: &str) -> bool {
    let parts: Vec<&str> = api_path.split('/').collect();
    method == Method::POST && matches!(parts.as_slice(), ["", "nodes", _, "storage", _, "upload"])
}

fn authenticate(
    shared: &Shared,
    method: &Method,
    api_path: &str,
    headers: &HeaderMap,
) -> Result<AuthUser, ApiError> {
    let cookie = header_str(headers, header::COOKIE).and_then(|c| auth_value(c, "PVEAuthCookie"));
    let authorization = header_str(headers, header::AUTHORIZATION);
    let ticket = cookie.or_else(|| authorization.and_then(|a| auth_value(a, "PVEAuthCookie")));
    let now = shared.now();
    let lifetime = shared.ticket_lifetime_secs;

    let Some(ticket) = ticket else {
        let token = authorization
            .and_then(|a| a.trim().strip_prefix("PVEAPIToken="))
            .map(str::trim);
        return match token {
            Some(token) => verify_api_token(shared, token),
            None => Err(ApiError::unauthorized("No ticket")),
        };
    };
    let user = verify_ticket(&shared.secret, &ticket, now, lifetime)
        .ok_or_else(|| ApiError::unauthorized("permission denied - invalid PVE ticket"))?;
    if !shared.lock().users.contains_key(&user) {
        return Err(ApiError::unauthorized(
            "permission denied - invalid PVE ticket",
        ));
    }
    if *method != Method::GET && !is_upload(method, api_path) {
        let csrf = header_str(headers, "CSRFPreventionToken").unwrap_or_default();
        if !verify_csrf(&shared.secret, &user, csrf, now, lifetime) {
            return Err(ApiError::unauthorized(
                "Permission denied - invalid csrf token",
            ));
        }
    }
    Ok(AuthUser { userid: user })
}

/// `USER@REALM!TOKENID=SECRET`; the secret is compared with the one the test registered.
fn verify_api_token(shared: &Shared, token: &str) -> Result<AuthUser, ApiError> {
    let (tokenid, secret) = token
        .split_once('=')
        .ok_or_else(|| ApiError::unauthorized("no tokenid specified"))?;
    let (user, name) = tokenid
        .split_once('!')
        .filter(|(u, n)| u.contains('@') && !n.is_empty())
        .ok_or_else(|| ApiError::unauthorized(format!("invalid tokenid '{tokenid}'")))?;
    let world = shared.lock();
    if !world.users.contains_key(user) {
        return Err(ApiError::unauthorized(format!(
            "user '{user}' does not exist"
        )));
    }
    match world.tokens.get(tokenid) {
        None => Err(ApiError::unauthorized(format!(
            "no such token '{name}' for user '{user}'"
        ))),
        Some(expected) if expected != secret => Err(ApiError::unauthorized("invalid token value!")),
        Some(_) => Ok(AuthUser {
            userid: tokenid.to_owned(),
        }),
    }
}

pub(crate) async fn middleware(
    State(shared): State<Arc<Shared>>,
    mut req: Request,
    next: Next,
) -> Response {
    let path = decode_path(req.uri().path());
    let Some(api_path) = path.strip_prefix("/api2/json") else {
        return next.run(req).await;
    };
    if is_public(req.method(), api_path) {
        return next.run(req).await;
    }
    match authenticate(&shared, req.method(), api_path, req.headers()) {
        Ok(user) => {
            req.extensions_mut().insert(user);
            next.run(req).await
        }
        Err(error) => {
            let delay = shared.auth_failure_delay;
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            error.into_response()
        }
    }
}

/// The capabilities a login returns; the simulator grants its users everything.
pub(crate) fn full_caps() -> serde_json::Value {
    let all = |perms: &[&str]| -> serde_json::Value {
        perms
            .iter()
            .map(|p| ((*p).to_owned(), serde_json::Value::from(1)))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    serde_json::json!({
        "vms": all(&["VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU",
            "VM.Config.Cloudinit", "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory",
            "VM.Config.Network", "VM.Config.Options", "VM.Console", "VM.Migrate", "VM.Monitor",
            "VM.PowerMgmt", "VM.Snapshot", "VM.Snapshot.Rollback", "Permissions.Modify"]),
        "storage": all(&["Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate",
            "Datastore.Audit", "Permissions.Modify"]),
        "nodes": all(&["Sys.Audit", "Sys.Console", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
            "Permissions.Modify"]),
        "access": all(&["Group.Allocate", "User.Modify", "Permissions.Modify"]),
        "dc": all(&["Sys.Audit", "Sys.Modify", "SDN.Allocate", "SDN.Audit"]),
        "sdn": all(&["SDN.Allocate", "SDN.Audit", "SDN.Use", "Permissions.Modify"]),
        "mapping": all(&["Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn ticket_round_trips_until_it_expires() {
        let ticket = issue_ticket(SECRET, "root@pam", 1_700_000_000);
        assert!(ticket.starts_with("PVE:root@pam:6553F100::"));
        assert_eq!(
            verify_ticket(SECRET, &ticket, 1_700_000_100, 7200).as_deref(),
            Some("root@pam")
        );
        assert_eq!(verify_ticket(SECRET, &ticket, 1_700_007_200, 7200), None);
        assert_eq!(
            verify_ticket(b"another-secret", &ticket, 1_700_000_100, 7200),
            None
        );
        let forged = ticket.replace("root@pam", "admin@pve");
        assert_eq!(verify_ticket(SECRET, &forged, 1_700_000_100, 7200), None);
    }

    #[test]
    fn csrf_token_is_bound_to_user() {
        let token = issue_csrf(SECRET, "root@pam", 1_700_000_000);
        assert!(verify_csrf(SECRET, "root@pam", &token, 1_700_000_010, 7200));
        assert!(!verify_csrf(
            SECRET,
            "other@pve",
            &token,
            1_700_000_010,
            7200
        ));
        assert!(!verify_csrf(
            SECRET,
            "root@pam",
            "6553F100:bogus",
            1_700_000_010,
            7200
        ));
    }

    #[test]
    fn cookie_values_are_found_and_decoded() {
        let header = "foo=bar; PVEAuthCookie=PVE%3Aroot%40pam%3A6553F100%3A%3Aab%2Bc; x=y";
        assert_eq!(
            auth_value(header, "PVEAuthCookie").as_deref(),
            Some("PVE:root@pam:6553F100::ab+c")
        );
        assert_eq!(auth_value("foo=bar", "PVEAuthCookie"), None);
    }
}
