//! Proxmox-style responses: `{"data": …}` on success; on failure the HTTP status line carries
//! the message as its reason phrase and the JSON body repeats it, like `pve-http-server` does.

use std::collections::BTreeMap;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::ext::ReasonPhrase;
use serde::Serialize;
use serde_json::json;

const JSON_CONTENT_TYPE: &str = "application/json;charset=UTF-8";

/// Every handler returns this; both arms render the way the real API does.
pub(crate) type ApiResult = Result<Response, ApiError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ApiError {
    /// 400 "Parameter verification failed." with a per-parameter `errors` map.
    Param(BTreeMap<String, String>),
    /// A handler failure (`die` in Perl): status + message, JSON body `{"data":null,"message"}`.
    Fail { status: StatusCode, message: String },
    /// A failure raised before any handler runs (authentication, framing): status line only,
    /// empty body, exactly like pveproxy answers an invalid ticket.
    Bare { status: StatusCode, message: String },
}

impl ApiError {
    pub(crate) fn param(key: &str, message: impl Into<String>) -> Self {
        let mut errors = BTreeMap::new();
        errors.insert(key.to_owned(), message.into());
        Self::Param(errors)
    }

    /// A plain `die "…\n"`: Proxmox maps it to 500.
    pub(crate) fn fail(message: impl Into<String>) -> Self {
        Self::Fail {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
        }
    }

    pub(crate) fn status(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Fail {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::Bare {
            status: StatusCode::UNAUTHORIZED,
            message: message.into(),
        }
    }

    pub(crate) fn bare(status: StatusCode, message: impl Into<String>) -> Self {
        Self::Bare {
            status,
            message: message.into(),
        }
    }

    /// The text a task log or test would show for this error.
    pub(crate) fn message(&self) -> String {
        match self {
            Self::Param(errors) => {
                let details: Vec<String> =
                    errors.iter().map(|(k, v)| format!("{k}: {v}")).collect();
                format!("Parameter verification failed. ({})", details.join(", "))
            }
            Self::Fail { message, .. } | Self::Bare { message, .. } => message.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            Self::Param(errors) => {
                let message = "Parameter verification failed.";
                let body =
                    json!({"data": null, "errors": errors, "message": format!("{message}\n")});
                json_response(StatusCode::BAD_REQUEST, Some(message), &body)
            }
            Self::Fail { status, message } => {
                let body = json!({"data": null, "message": with_newline(&message)});
                json_response(status, Some(&message), &body)
            }
            Self::Bare { status, message } => {
                let mut response = status.into_response();
                set_reason(&mut response, &message);
                response
            }
        }
    }
}

/// `{"data": value}` with Proxmox's content type.
pub(crate) fn data<T: Serialize>(value: T) -> Response {
    json_response(StatusCode::OK, None, &json!({ "data": value }))
}

/// `{"data": value, "total": n}`, used by paged task logs.
pub(crate) fn data_with_total<T: Serialize>(value: T, total: usize) -> Response {
    json_response(
        StatusCode::OK,
        None,
        &json!({ "data": value, "total": total }),
    )
}

fn json_response(status: StatusCode, reason: Option<&str>, body: &serde_json::Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Some(reason) = reason {
        set_reason(&mut response, reason);
    }
    response
}

/// Proxmox keeps only the first line of the message in the status line.
fn set_reason(response: &mut Response, message: &str) {
    let first_line = message.lines().next().unwrap_or_default();
    let cleaned: String = first_line
        .chars()
        .filter(|c| c.is_ascii() && !c.is_ascii_control())
        .collect();
    if cleaned.is_empty() {
        return;
    }
    if let Ok(reason) = ReasonPhrase::try_from(cleaned) {
        response.extensions_mut().insert(reason);
    }
}

fn with_newline(message: &str) -> String {
    if message.ends_with('\n') {
        message.to_owned()
    } else {
        format!("{message}\n")
    }
}
