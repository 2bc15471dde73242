//! The web session and page plumbing at the HTTP level (no browser needed): login redirects,
//! refresh rotation, logout, the same-origin check, error rendering and the embedded assets.

use crate::common::{Db, TestApp};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use std::collections::BTreeMap;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// name → (value, attributes) of every Set-Cookie.
fn set_cookies(headers: &HeaderMap) -> BTreeMap<String, (String, String)> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| {
            let (pair, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (name, value) = pair.split_once('=')?;
            Some((name.to_owned(), (value.to_owned(), attrs.to_owned())))
        })
        .collect()
}

async fn app() -> TestApp {
    TestApp::spawn(Db::Sqlite).await.expect("SQLite app")
}

/// Signs in through the form; returns (access, refresh).
async fn sign_in(app: &TestApp) -> (String, String) {
    let resp = client()
        .post(app.url("/login"))
        .form(&[
            ("email", app.admin_email.as_str()),
            ("password", app.admin_password.as_str()),
            ("next", "/notes"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/notes");
    let cookies = set_cookies(resp.headers());
    for name in ["botmox_access", "botmox_refresh"] {
        let (_, attrs) = &cookies[name];
        assert!(attrs.contains("HttpOnly"), "{name}: {attrs}");
        assert!(attrs.contains("SameSite=Strict"), "{name}: {attrs}");
        assert!(attrs.contains("Path=/"), "{name}: {attrs}");
    }
    (
        cookies["botmox_access"].0.clone(),
        cookies["botmox_refresh"].0.clone(),
    )
}

async fn get(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("get")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_without_a_session_go_to_login_and_back_only_on_site() {
    let app = app().await;
    let resp = get(&app, "/commands?status=queued", "").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/login?next=%2Fcommands%3Fstatus%3Dqueued"
    );
    // htmx asks for a navigation instead of a swapped-in login form.
    let resp = client()
        .get(app.url("/agents/list"))
        .header("hx-request", "true")
        .send()
        .await
        .expect("get");
    assert_eq!(
        resp.headers()["hx-redirect"],
        "/login?next=%2Fagents%2Flist"
    );
    // The event stream answers 401 (EventSource cannot follow a login).
    let resp = client()
        .get(app.url("/ui/events"))
        .header("accept", "text/event-stream")
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);

    for (next, expected) in [
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("/agents", "/agents"),
    ] {
        let resp = client()
            .post(app.url("/login"))
            .form(&[
                ("email", app.admin_email.as_str()),
                ("password", app.admin_password.as_str()),
                ("next", next),
            ])
            .send()
            .await
            .expect("login");
        assert_eq!(resp.headers()[LOCATION], expected, "next={next}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_access_cookie_is_rotated_through_the_refresh_cookie() {
    let app = app().await;
    let (_, refresh) = sign_in(&app).await;
    // No usable access token: the guard rotates. Several requests at once (a page, a poll, the
    // event stream) must not look like refresh-token theft to each other.
    let cookie = format!("botmox_access=expired; botmox_refresh={refresh}");
    let replies = futures::future::join_all((0..3).map(|_| get(&app, "/", &cookie))).await;
    let mut new_refresh = BTreeMap::new();
    for resp in replies {
        assert_eq!(resp.status(), StatusCode::OK);
        let c = set_cookies(resp.headers());
        assert!(!c["botmox_access"].0.is_empty());
        new_refresh.insert(c["botmox_refresh"].0.clone(), ());
    }
    assert_eq!(new_refresh.len(), 1, "one rotation shared by all");
    let rotated = new_refresh.into_keys().next().expect("rotated");
    assert_ne!(rotated, refresh);
    // The session family is intact: the new refresh token works.
    let resp = get(&app, "/agents", &format!("botmox_refresh={rotated}")).await;
    assert_eq!(resp.status(), StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logout_revokes_the_session_and_clears_the_cookies() {
    let app = app().await;
    let (access, refresh) = sign_in(&app).await;
    let cookie = format!("botmox_access={access}; botmox_refresh={refresh}");
    assert_eq!(get(&app, "/", &cookie).await.status(), StatusCode::OK);
    let resp = client()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("logout");
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/login");
    let cleared = set_cookies(resp.headers());
    for name in ["botmox_access", "botmox_refresh"] {
        assert!(cleared[name].1.contains("Max-Age=0"), "{name} not cleared");
    }
    // Neither the old access token nor the old refresh token opens a page again.
    for c in [
        format!("botmox_access={access}"),
        format!("botmox_refresh={refresh}"),
    ] {
        let resp = get(&app, "/", &c).await;
        assert_eq!(resp.status(), StatusCode::SEE_OTHER, "{c}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_posts_are_refused_and_the_api_ignores_cookies() {
    let app = app().await;
    let (access, refresh) = sign_in(&app).await;
    let cookie = format!("botmox_access={access}; botmox_refresh={refresh}");
    let post = |origin: Option<String>| {
        let mut req = client().post(app.url("/notes")).header("cookie", &cookie);
        if let Some(o) = origin {
            req = req.header("origin", o);
        }
        req.send()
    };
    let refused = post(Some("http://evil.example".to_owned()))
        .await
        .expect("post");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let null = post(Some("null".to_owned())).await.expect("post");
    assert_eq!(null.status(), StatusCode::FORBIDDEN);
    let own = post(Some(app.base.clone())).await.expect("post");
    assert_eq!(own.status(), StatusCode::SEE_OTHER, "same-origin post");
    assert!(
        own.headers()[LOCATION]
            .to_str()
            .expect("location")
            .starts_with("/notes/")
    );

    // The JSON API takes bearer tokens only: the session cookies open nothing there.
    let api = client()
        .post(app.url("/api/v1/workspace/notes"))
        .header("cookie", &cookie)
        .json(&serde_json::json!({"title": "x"}))
        .send()
        .await
        .expect("post");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_errors_show_their_message_never_a_bare_500() {
    let app = app().await;
    let (access, _) = sign_in(&app).await;
    let cookie = format!("botmox_access={access}");
    // A full page: an HTML error page with the envelope's message and status.
    let resp = get(&app, "/notes/no-such-note", &cookie).await;
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let body = resp.text().await.expect("body");
    assert!(body.contains("Note not found"), "{body}");
    // htmx: the message lands in the page's alert region.
    let resp = client()
        .post(app.url("/notes/no-such-note"))
        .header("cookie", &cookie)
        .header("hx-request", "true")
        .form(&[
            ("title", "t"),
            ("content", "c"),
            ("expected_updated_at", "2020-01-01T00:00:00.000Z"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(resp.headers()["hx-retarget"], "#flash");
    let body = resp.text().await.expect("body");
    assert!(
        body.contains("role=\"alert\"") && body.contains("Note not found"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_with_types_and_cache_validators() {
    let app = app().await;
    for (name, ty) in [
        ("htmx.min.js", "text/javascript"),
        ("app.js", "text/javascript"),
        ("app.css", "text/css"),
        ("logo.svg", "image/svg+xml"),
        ("htmx.LICENSE", "text/plain"),
    ] {
        let resp = get(&app, &format!("/static/{name}"), "").await;
        assert_eq!(resp.status(), StatusCode::OK, "{name}");
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .expect("ct")
                .starts_with(ty),
            "{name}"
        );
        assert!(
            resp.headers()["cache-control"]
                .to_str()
                .expect("cc")
                .contains("max-age")
        );
        let etag = resp.headers()["etag"].clone();
        let again = client()
            .get(app.url(&format!("/static/{name}")))
            .header("if-none-match", etag)
            .send()
            .await
            .expect("get");
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{name}");
    }
    let htmx = get(&app, "/static/htmx.min.js", "")
        .await
        .text()
        .await
        .expect("body");
    assert!(htmx.contains("htmx"), "the real htmx");
    assert_eq!(
        get(&app, "/static/nope.js", "").await.status(),
        StatusCode::NOT_FOUND
    );
    // Pages carry a policy that allows nothing from outside.
    let login = get(&app, "/login", "").await;
    let csp = login.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(
        csp.contains("default-src 'self'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
}
