//! Journey (a): signing in. A wrong password shows the envelope's message; the right one lands
//! on the overview, where the shell (breadcrumbs, navigation, user menu) is in place.

use crate::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_shows_the_error_then_the_overview() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let b = driver.browser().await;

    // A page without a session sends the browser to the login form, remembering where it was.
    b.goto(&app.url("/")).await;
    b.find("#email").await;
    assert_eq!(b.path().await, "/login?next=%2F");

    b.fill("#email", &app.admin_email).await;
    b.fill("#password", "not-the-password").await;
    b.click("form button[type=submit]").await;
    let alert = b
        .wait_text("#login-error", "Invalid email or password")
        .await;
    assert_eq!(alert.trim(), "Invalid email or password");
    b.screenshot("login_wrong_password").await;
    b.assert_no_js_errors("login with a wrong password").await;

    b.fill("#password", &app.admin_password).await;
    b.click("form button[type=submit]").await;
    b.wait_text("h1.page-title", "Overview").await;
    assert_eq!(b.path().await, "/");
    let crumbs = b.text("nav.crumbs").await;
    assert!(crumbs.contains("Overview"), "breadcrumbs: {crumbs}");
    let nav = b.text("nav.tree").await;
    assert!(nav.contains("Overview"), "navigation: {nav}");
    let user = b.text(".usermenu summary").await;
    assert!(user.contains(&app.admin_email), "user menu: {user}");
    assert_eq!(b.text("#stat-agents").await.trim(), "0 / 0");
    b.screenshot("login_overview").await;
    b.assert_no_js_errors("overview after login").await;

    // The session cookies are HttpOnly: scripts cannot read them.
    let visible: serde_json::Value = b
        .client
        .execute("return document.cookie;", vec![])
        .await
        .expect("script runs");
    assert!(
        !visible
            .as_str()
            .unwrap_or_default()
            .contains("botmox_access"),
        "access cookie visible to scripts: {visible}"
    );

    // Signing out revokes the session and returns to the login form.
    b.click(".usermenu summary").await;
    b.click(".usermenu form button").await;
    b.find("#email").await;
    b.goto(&app.url("/")).await;
    b.find("#email").await;
    assert!(b.path().await.starts_with("/login"));
    b.assert_no_js_errors("after sign-out").await;
    b.close().await;
}
