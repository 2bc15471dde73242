//! Request parameters: the query string merged with a form-urlencoded or JSON body, as
//! `pve-http-server` does, plus the small schema checks every endpoint needs.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{Method, StatusCode, header};

use super::error::ApiError;

/// pveproxy refuses non-upload bodies above 64 KiB.
const MAX_POST_BYTES: usize = 64 * 1024;

const MISSING: &str = "property is missing and it is not optional";
const UNKNOWN: &str =
    "property is not defined in schema and the schema does not allow additional properties";

#[derive(Debug, Default, Clone)]
pub(crate) struct Params(pub BTreeMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let mut map = BTreeMap::new();
        if let Some(query) = req.uri().query() {
            for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        let method = req.method().clone();
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase()
            });
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::bare(StatusCode::NOT_IMPLEMENTED, "for data too large"))?;
        if body.is_empty() {
            return Ok(Self(map));
        }
        if method != Method::POST && method != Method::PUT {
            return Err(ApiError::bare(
                StatusCode::NOT_IMPLEMENTED,
                format!("Unexpected content for method '{method}'"),
            ));
        }
        if body.len() > MAX_POST_BYTES {
            return Err(ApiError::bare(
                StatusCode::NOT_IMPLEMENTED,
                "for data too large",
            ));
        }
        match content_type.as_deref() {
            None | Some("application/x-www-form-urlencoded") => {
                for (k, v) in url::form_urlencoded::parse(&body) {
                    map.insert(k.into_owned(), v.into_owned());
                }
            }
            Some("application/json") => merge_json(&mut map, &body)?,
            Some(other) => {
                return Err(ApiError::bare(
                    StatusCode::from_u16(506).unwrap_or(StatusCode::NOT_IMPLEMENTED),
                    format!("upload 'Content-Type '{other}' not implemented"),
                ));
            }
        }
        Ok(Self(map))
    }
}

/// JSON scalars become the strings Perl would see: booleans as 1/0, `null` as absent.
fn merge_json(map: &mut BTreeMap<String, String>, body: &[u8]) -> Result<(), ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::bare(
            StatusCode::BAD_REQUEST,
            format!("unable to parse JSON body - {e}"),
        )
    })?;
    let serde_json::Value::Object(object) = value else {
        return Err(ApiError::bare(
            StatusCode::BAD_REQUEST,
            "JSON body must be an object",
        ));
    };
    for (k, v) in object {
        let text = match v {
            serde_json::Value::Null => continue,
            serde_json::Value::Bool(b) => if b { "1" } else { "0" }.to_owned(),
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        };
        map.insert(k, text);
    }
    Ok(())
}

impl Params {
    /// Reports every missing and every unknown parameter at once, as the schema checker does.
    pub(crate) fn check(
        &self,
        required: &[&str],
        allowed: impl Fn(&str) -> bool,
    ) -> Result<(), ApiError> {
        let errors = self.schema_errors(required, allowed);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Param(errors))
        }
    }

    /// Missing and unknown parameters, for handlers that add their own value checks.
    pub(crate) fn schema_errors(
        &self,
        required: &[&str],
        allowed: impl Fn(&str) -> bool,
    ) -> BTreeMap<String, String> {
        let mut errors = BTreeMap::new();
        for name in required {
            if !self.0.contains_key(*name) {
                errors.insert((*name).to_owned(), MISSING.to_owned());
            }
        }
        for name in self.0.keys() {
            if !required.contains(&name.as_str()) && !allowed(name) {
                errors.insert(name.clone(), UNKNOWN.to_owned());
            }
        }
        errors
    }

    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(String::as_str)
    }

    /// A non-empty string value.
    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        self.get(key)
            .map(|v| parse_bool(v).ok_or_else(|| type_error(key, "boolean", v)))
            .transpose()
    }

    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| type_error(key, "integer", v))
            })
            .transpose()
    }

    pub(crate) fn enumerated(&self, key: &str, values: &[&str]) -> Result<Option<&str>, ApiError> {
        match self.get(key) {
            Some(v) if !values.contains(&v) => Err(ApiError::param(
                key,
                format!(
                    "value '{v}' does not have a value in the enumeration '{}'",
                    values.join(", ")
                ),
            )),
            other => Ok(other),
        }
    }
}

/// Proxmox accepts the usual spellings of a boolean.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

pub(crate) fn type_error(key: &str, kind: &str, got: &str) -> ApiError {
    ApiError::param(key, format!("type check ('{kind}') failed - got '{got}'"))
}

/// Path or body VM ids follow the `pve-vmid` format.
pub(crate) fn parse_vmid(key: &str, raw: &str) -> Result<u32, ApiError> {
    let id: i64 = raw
        .trim()
        .parse()
        .map_err(|_| type_error(key, "integer", raw))?;
    if !(100..=999_999_999).contains(&id) {
        return Err(ApiError::param(
            key,
            "invalid format - value does not look like a valid VM ID",
        ));
    }
    u32::try_from(id).map_err(|_| type_error(key, "integer", raw))
}
