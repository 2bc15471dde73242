//! Cross-site request forgery: the session cookies are SameSite=Strict, and on top of that an
//! unsafe request whose `Origin` (when the browser sends one) is not this server is refused.

use crate::app::AppState;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

pub async fn same_origin(State(app): State<AppState>, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if !safe && !allowed(&app, request.headers()) {
        tracing::warn!(
            origin = ?request.headers().get(header::ORIGIN),
            path = %request.uri().path(),
            "cross-site form post refused"
        );
        return (
            StatusCode::FORBIDDEN,
            "Cross-site request refused: the request did not come from this site.",
        )
            .into_response();
    }
    next.run(request).await
}

fn allowed(app: &AppState, headers: &HeaderMap) -> bool {
    if headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == "cross-site")
    {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Privacy-sensitive contexts send `Origin: null`; a form of ours never does.
    let Some((_, host)) = origin.split_once("://") else {
        return false;
    };
    let own_host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    if own_host.is_some_and(|h| h.eq_ignore_ascii_case(host)) {
        return true;
    }
    app.config
        .public_url
        .as_deref()
        .is_some_and(|u| u.trim_end_matches('/').eq_ignore_ascii_case(origin))
}
