//! Turning templates and service errors into responses.
//!
//! A handler returns `Result<Response, WebError>`; a `WebError` carries the envelope's status
//! and message and [`errors`] renders it knowing the request: an htmx request gets the message
//! in the page's alert region (`#flash`), a full page load an error page. Never a raw 500.

use super::shell::is_htmx;
use crate::error::ApiError;
use askama::Template;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use botmox_contract::error_code;

/// An error a page shows to the operator.
#[derive(Debug)]
pub struct WebError {
    pub status: StatusCode,
    pub message: String,
}

impl From<ApiError> for WebError {
    fn from(err: ApiError) -> Self {
        let (status, message) = describe(err);
        Self { status, message }
    }
}

impl From<askama::Error> for WebError {
    fn from(err: askama::Error) -> Self {
        ApiError::Internal(anyhow::anyhow!("rendering a template: {err}")).into()
    }
}

impl WebError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// The status and the message an operator sees for a service error: the envelope's message,
/// with field errors spelled out.
pub fn describe(err: ApiError) -> (StatusCode, String) {
    match err {
        ApiError::Client {
            status,
            message,
            details,
            ..
        } => {
            let mut text = message.into_owned();
            if let Some(fields) = details
                .as_ref()
                .and_then(|d| d.get("fields"))
                .and_then(|f| f.as_object())
            {
                let parts: Vec<String> = fields
                    .iter()
                    .map(|(k, v)| {
                        let msgs: Vec<&str> = v
                            .as_array()
                            .map(|a| a.iter().filter_map(|m| m.as_str()).collect())
                            .unwrap_or_default();
                        format!("{k}: {}", msgs.join(", "))
                    })
                    .collect();
                if !parts.is_empty() {
                    text = format!("{text} ({})", parts.join("; "));
                }
            }
            (status, text)
        }
        ApiError::RateLimited(_) => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests. Please try again later.".to_owned(),
        ),
        ApiError::Internal(err) => {
            tracing::error!(error = %format!("{err:#}"), code = error_code::INTERNAL_ERROR, "page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error".to_owned(),
            )
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        // Rendered by `errors`, which knows whether the request came from htmx.
        let mut resp = self.status.into_response();
        resp.extensions_mut().insert(Flash(self.message));
        resp
    }
}

#[derive(Clone)]
struct Flash(String);

/// Checks a form's request type with the same rules (and error code) as the API's extractor.
pub fn validated<T: botmox_contract::validation::Input>(value: T) -> Result<T, WebError> {
    value
        .validate()
        .map_err(|report| ApiError::validation(T::INVALID_CODE, &report))?;
    Ok(value)
}

/// Renders a template as an HTML response.
pub fn page<T: Template>(t: &T) -> Result<Response, WebError> {
    Ok(Html(t.render()?).into_response())
}

#[derive(Template)]
#[template(path = "flash.html")]
pub struct FlashFragment<'a> {
    pub kind: &'a str,
    pub message: &'a str,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    theme: Option<&'static str>,
    asset_v: &'static str,
    status: u16,
    reason: &'a str,
    message: &'a str,
}

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; \
    frame-ancestors 'none'";

/// Renders `WebError`s for the kind of request, and sets the pages' security policy.
pub async fn errors(request: Request, next: Next) -> Response {
    let htmx = is_htmx(request.headers());
    let theme = super::shell::theme_of(request.headers());
    let mut resp = next.run(request).await;
    if let Some(Flash(message)) = resp.extensions_mut().remove::<Flash>() {
        let status = resp.status();
        resp = if htmx {
            // htmx swaps only 2xx answers: say 200 and retarget to the alert region.
            let body = FlashFragment {
                kind: "error",
                message: &message,
            }
            .render()
            .unwrap_or_else(|_| message.clone());
            let mut r = Html(body).into_response();
            let h = r.headers_mut();
            h.insert("hx-retarget", HeaderValue::from_static("#flash"));
            h.insert("hx-reswap", HeaderValue::from_static("innerHTML"));
            r
        } else {
            let body = ErrorPage {
                theme,
                asset_v: super::assets::version(),
                status: status.as_u16(),
                reason: status.canonical_reason().unwrap_or("Error"),
                message: &message,
            }
            .render()
            .unwrap_or_else(|_| message.clone());
            (status, Html(body)).into_response()
        };
    }
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    // With `no-referrer` (the API's policy) browsers send `Origin: null` on our own form posts,
    // which the same-origin check must refuse; `same-origin` keeps the real origin for them.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}
