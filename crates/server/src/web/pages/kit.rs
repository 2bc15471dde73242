//! Small helpers the business pages share: form values to request fields, per-field
//! validation messages from a service error, and answering a page or its content block.

use crate::error::ApiError;
use crate::web::render::WebError;
use botmox_contract::fields::Timestamp;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use std::collections::BTreeMap;

/// Field path → messages, as the envelope's `details.fields` carries them.
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// Renders a page: the content block alone for htmx requests (swapped into `#content`), the
/// whole page otherwise. The template must be declared with `blocks = ["content"]`.
macro_rules! respond {
    ($ctx:expr, $page:expr) => {{
        let page = $page;
        if $ctx.htmx {
            $crate::web::pages::kit::content(&page.as_content())
        } else {
            $crate::web::render::page(&page)
        }
    }};
}
pub(crate) use respond;

/// A content block for htmx, clearing the alert region out of band (an error shown before
/// is stale once the page changed).
pub fn content<T: askama::Template>(t: &T) -> Result<axum::response::Response, WebError> {
    use axum::response::IntoResponse;
    let body = t.render()?;
    Ok(axum::response::Html(format!(
        "{body}<div id=\"flash\" hx-swap-oob=\"innerHTML\"></div>"
    ))
    .into_response())
}

/// After a change: htmx requests see the page again at once (`$view`), others are sent back
/// to `$to` with a redirect, so a reload never repeats the form post.
macro_rules! after_change {
    ($ctx:expr, $to:expr, $view:expr) => {{
        if $ctx.htmx {
            $view
        } else {
            Ok(axum::response::IntoResponse::into_response(
                axum::response::Redirect::to(&$to),
            ))
        }
    }};
}
pub(crate) use after_change;

/// Validates a form's request, then runs the service call on it (`$call` may use `$req`):
/// `Err(Ok(fields))` for field errors, the form's or the service's, to show beside the
/// fields; `Err(Err(web))` for any other failure.
macro_rules! submit {
    ($input:expr, |$req:ident| $call:expr) => {
        match $crate::web::pages::kit::check_input($input) {
            Ok($req) => $call.await.map_err($crate::web::pages::kit::field_errors),
            Err(fields) => Err(Ok(fields)),
        }
    };
}
pub(crate) use submit;

/// A validation failure's field messages, to show beside the fields; any other error is
/// returned for the alert region.
pub fn field_errors(err: ApiError) -> Result<FieldErrors, WebError> {
    if let ApiError::Client {
        details: Some(details),
        ..
    } = &err
        && let Some(fields) = details.get("fields").and_then(|f| f.as_object())
    {
        let map: FieldErrors = fields
            .iter()
            .map(|(k, v)| {
                let msgs = v
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|m| m.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                (k.clone(), msgs)
            })
            .collect();
        if !map.is_empty() {
            return Ok(map);
        }
    }
    Err(err.into())
}

/// The messages for `key` (an exact path, or a path ending in `.key`), joined.
pub fn err_of(errors: &FieldErrors, key: &str) -> String {
    let suffix = format!(".{key}");
    errors
        .iter()
        .filter(|(k, _)| k.as_str() == key || k.ends_with(&suffix))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("; ")
}

/// A trimmed form value; blank is `None`.
pub fn opt(v: &str) -> Option<String> {
    let t = v.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

/// `YYYY-MM-DD` (a date input) as the end of that day, UTC: a resource bought "until the
/// 12th" is usable on the 12th.
pub fn end_of_day(raw: &str) -> Result<Option<Timestamp>, WebError> {
    let Some(raw) = opt(raw) else {
        return Ok(None);
    };
    let day = NaiveDate::parse_from_str(&raw, "%Y-%m-%d").map_err(|_| {
        WebError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "Dates must be written YYYY-MM-DD",
        )
    })?;
    let at = day.and_time(NaiveTime::from_hms_milli_opt(23, 59, 59, 999).unwrap_or_default());
    Ok(Timestamp::from_ms(at.and_utc().timestamp_millis()))
}

/// A `datetime-local` value (`YYYY-MM-DDTHH:MM`, taken as UTC) as RFC 3339; blank is now.
pub fn datetime_utc(raw: &str) -> Result<String, WebError> {
    let Some(raw) = opt(raw) else {
        return Ok(chrono::Utc::now().to_rfc3339());
    };
    let at = NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(&raw, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| {
            WebError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "Date and time must be written YYYY-MM-DD HH:MM",
            )
        })?;
    Ok(at.and_utc().to_rfc3339())
}

/// The date part of an RFC 3339 time, for tables and date inputs.
pub fn day(rfc3339: &Option<String>) -> String {
    rfc3339
        .as_deref()
        .and_then(|t| t.get(..10))
        .unwrap_or("")
        .to_owned()
}

/// `YYYY-MM-DD HH:MM` of an RFC 3339 time.
pub fn minute(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => rfc3339.to_owned(),
    }
}

/// The first 8 characters of an id, as tables show it.
pub fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// A checkbox: present (any value) is on.
pub fn checked(v: &Option<String>) -> bool {
    v.as_deref().is_some_and(|s| !s.is_empty() && s != "false")
}

/// The API's request checks for a form-built request, failures as field messages.
pub fn check_input<T: botmox_contract::validation::Input>(value: T) -> Result<T, FieldErrors> {
    match garde::Validate::validate(&value) {
        Ok(()) => Ok(value),
        Err(report) => Err(botmox_contract::validation::field_errors(&report)),
    }
}
