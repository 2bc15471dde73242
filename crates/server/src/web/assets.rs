//! Static assets compiled into the binary and served at `/static/<name>`.
//!
//! Pages reference them as `/static/<name>?v=<version>` ([`version`]): the version changes with
//! the content, so browsers may keep them for a day and still never run a stale script.

use crate::app::AppState;
use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

/// htmx is the upstream 2.0.11 `dist/htmx.min.js`, unmodified; its licence sits beside it.
const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: "text/css; charset=utf-8",
        body: include_bytes!("static/app.css"),
    },
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("static/app.js"),
    },
    Asset {
        name: "htmx.min.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_bytes!("static/htmx.min.js"),
    },
    Asset {
        name: "htmx.LICENSE",
        content_type: "text/plain; charset=utf-8",
        body: include_bytes!("static/htmx.LICENSE"),
    },
    Asset {
        name: "logo.svg",
        content_type: "image/svg+xml",
        body: include_bytes!("static/logo.svg"),
    },
];

fn etags() -> &'static [String] {
    static TAGS: OnceLock<Vec<String>> = OnceLock::new();
    TAGS.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| format!("\"{}\"", &hex::encode(Sha256::digest(a.body))[..16]))
            .collect()
    })
}

/// One version for all assets: a short digest of every asset's digest.
pub fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let mut h = Sha256::new();
        for tag in etags() {
            h.update(tag.as_bytes());
        }
        hex::encode(h.finalize())[..12].to_owned()
    })
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/{*name}", axum::routing::get(serve))
        // Browsers ask for it whatever the page says.
        .route(
            "/favicon.ico",
            axum::routing::get(|headers: HeaderMap| async move { reply("logo.svg", &headers) }),
        )
}

async fn serve(Path(name): Path<String>, headers: HeaderMap) -> Response {
    reply(&name, &headers)
}

fn reply(name: &str, headers: &HeaderMap) -> Response {
    let Some(i) = ASSETS.iter().position(|a| a.name == name) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let asset = &ASSETS[i];
    let etag = &etags()[i];
    let cache = (
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    let etag_header = (
        header::ETAG,
        HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\"")),
    );
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    if fresh {
        return (StatusCode::NOT_MODIFIED, [cache, etag_header]).into_response();
    }
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            cache,
            etag_header,
        ],
        asset.body,
    )
        .into_response()
}
