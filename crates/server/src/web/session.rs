//! Browser sessions: the auth service's token pair kept in two HttpOnly, SameSite=Strict
//! cookies. The guard accepts a valid access cookie, rotates through the refresh cookie when
//! the access token has expired, and otherwise sends the browser to `/login?next=…`.

use super::render::{self, WebError};
use super::shell::{is_htmx, theme_of};
use crate::app::AppState;
use crate::auth::Principal;
use crate::auth::principal::AuthKind;
use crate::ratelimit::client_ip;
use askama::Template;
use axum::extract::{ConnectInfo, Form, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use botmox_contract::auth::TokenPair;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const ACCESS_COOKIE: &str = "botmox_access";
pub const REFRESH_COOKIE: &str = "botmox_refresh";

/// A page load, an htmx poll and the event stream may all find the same expired access token
/// at once; they must not each rotate the refresh token (the second rotation would look like
/// theft and revoke the session). A rotation's result is reused for this long.
const ROTATION_REUSE: Duration = Duration::from_secs(30);

/// The guard's state: the app and recent rotations (old refresh token digest → new pair).
#[derive(Clone)]
pub struct Guard {
    app: AppState,
    rotations: Arc<tokio::sync::Mutex<HashMap<[u8; 32], (Instant, TokenPair)>>>,
}

impl Guard {
    pub fn new(app: AppState) -> Self {
        Self {
            app,
            rotations: Arc::default(),
        }
    }

    async fn rotate(&self, refresh: &str) -> Option<TokenPair> {
        let key: [u8; 32] = Sha256::digest(refresh.as_bytes()).into();
        let mut done = self.rotations.lock().await;
        done.retain(|_, (at, _)| at.elapsed() < ROTATION_REUSE);
        if let Some((_, pair)) = done.get(&key) {
            return Some(pair.clone());
        }
        let pair = self.app.auth.refresh(refresh).await.ok()?;
        done.insert(key, (Instant::now(), pair.clone()));
        Some(pair)
    }
}

/// The value of one cookie.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached us over https (directly or through a trusted proxy).
fn secure(app: &AppState, headers: &HeaderMap) -> bool {
    let proxied = app.config.rate_limit.trust_forwarded_for
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"));
    proxied
        || app
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
}

fn set_cookie(name: &str, value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn session_cookies(pair: &TokenPair, secure: bool) -> [HeaderValue; 2] {
    let refresh_secs = chrono::DateTime::parse_from_rfc3339(&pair.refresh_expires_at)
        .map(|t| (t.timestamp() - chrono::Utc::now().timestamp()).max(0) as u64)
        .unwrap_or(pair.expires_in);
    [
        set_cookie(ACCESS_COOKIE, &pair.access_token, pair.expires_in, secure),
        set_cookie(REFRESH_COOKIE, &pair.refresh_token, refresh_secs, secure),
    ]
}

fn clear_cookies(secure: bool) -> [HeaderValue; 2] {
    [
        set_cookie(ACCESS_COOKIE, "", 0, secure),
        set_cookie(REFRESH_COOKIE, "", 0, secure),
    ]
}

/// A session principal from the access cookie, if it is still valid.
async fn from_access(app: &AppState, headers: &HeaderMap) -> Option<Principal> {
    let token = cookie(headers, ACCESS_COOKIE)?;
    app.auth
        .authenticate(token)
        .await
        .filter(|p| p.kind == AuthKind::Session)
}

/// Only a same-site path may be a login's destination: `/x`, never `//host` or `/\host`.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(char::is_control) =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

fn login_redirect(request: &Request) -> Response {
    let wanted = request
        .uri()
        .path_and_query()
        .map(|pq| pq.as_str())
        .unwrap_or("/");
    let target = format!(
        "/login?next={}",
        percent_encoding::utf8_percent_encode(wanted, percent_encoding::NON_ALPHANUMERIC)
    );
    if is_htmx(request.headers()) {
        // htmx would swap the login page into a fragment; make it navigate instead.
        let mut resp = StatusCode::NO_CONTENT.into_response();
        if let Ok(v) = HeaderValue::from_str(&target) {
            resp.headers_mut().insert("hx-redirect", v);
        }
        return resp;
    }
    if request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        == Some("text/event-stream")
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    Redirect::to(&target).into_response()
}

/// The guard in front of every page.
pub async fn require(State(guard): State<Guard>, mut request: Request, next: Next) -> Response {
    if let Some(p) = from_access(&guard.app, request.headers()).await {
        request.extensions_mut().insert(p);
        return next.run(request).await;
    }
    let rotated = match cookie(request.headers(), REFRESH_COOKIE) {
        Some(refresh) => guard.rotate(refresh).await,
        None => None,
    };
    let Some(pair) = rotated else {
        return login_redirect(&request);
    };
    let Some(p) = guard
        .app
        .auth
        .authenticate(&pair.access_token)
        .await
        .filter(|p| p.kind == AuthKind::Session)
    else {
        return login_redirect(&request);
    };
    let secure = secure(&guard.app, request.headers());
    request.extensions_mut().insert(p);
    let mut resp = next.run(request).await;
    for c in session_cookies(&pair, secure) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    theme: Option<&'static str>,
    asset_v: &'static str,
    next: String,
    email: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(app): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, WebError> {
    let next = safe_next(q.next.as_deref());
    if from_access(&app, &headers).await.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    render::page(&LoginPage {
        theme: theme_of(&headers),
        asset_v: super::assets::version(),
        next,
        email: String::new(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

pub async fn login(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Result<Response, WebError> {
    let next = safe_next(form.next.as_deref());
    let ip = client_ip(
        &headers,
        Some(peer),
        app.config.rate_limit.trust_forwarded_for,
    );
    // The form again with the message, answered 200: it is a page working as meant, and a
    // browser logs an error status on a document as a failed load.
    let failed = |message: String| {
        render::page(&LoginPage {
            theme: theme_of(&headers),
            asset_v: super::assets::version(),
            next: next.clone(),
            email: form.email.clone(),
            error: Some(message),
        })
    };
    if form.email.trim().is_empty() || form.password.is_empty() {
        return failed("Email and password are required".to_owned());
    }
    match app.auth.login(&form.email, &form.password, &ip).await {
        Ok(pair) => {
            let mut resp = Redirect::to(&next).into_response();
            for c in session_cookies(&pair, secure(&app, &headers)) {
                resp.headers_mut().append(header::SET_COOKIE, c);
            }
            Ok(resp)
        }
        Err(err) => failed(render::describe(err).1),
    }
}

/// Ends the session (the access token and the refresh family are revoked) and clears the
/// cookies.
pub async fn logout(
    State(app): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Response {
    if let Err(err) = app
        .auth
        .logout(&principal, cookie(&headers, REFRESH_COOKIE))
        .await
    {
        // The cookies go anyway; a refresh token that is not this user's is simply dropped.
        tracing::warn!(error = %err, "logout could not revoke the refresh token");
    }
    let mut resp = Redirect::to("/login").into_response();
    for c in clear_cookies(secure(&app, &headers)) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}
