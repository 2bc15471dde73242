//! Journey (d): the crawl. Signed in, it follows every link of the navigation and every
//! same-site link any page shows, and checks each page: no error status (no 404, no 5xx), no
//! JavaScript or console errors, a title and breadcrumbs.

use crate::setup;
use serde_json::json;
use std::collections::{BTreeSet, VecDeque};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_linked_page_loads_cleanly() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    // Something behind the detail links: a note, and a command queued for an agent.
    let token = app.admin_token().await;
    let note = app
        .post(
            "/api/v1/workspace/notes",
            Some(&token),
            json!({"title": "Crawl me", "content": "see [the agents](/agents)"}),
        )
        .await;
    assert_eq!(note.status, 201, "{}", note.body);
    let pairing = app
        .post(
            "/api/v1/agents/pairings",
            Some(&token),
            json!({"name": "crawl"}),
        )
        .await;
    let agent = app
        .post(
            "/api/v1/agents/register",
            None,
            json!({"pairing_code": pairing.body["data"]["pairing_code"], "machine_name": "crawl"}),
        )
        .await;
    assert_eq!(agent.status, 201, "{}", agent.body);
    let command = app
        .post(
            "/api/v1/vm-ops/commands",
            Some(&token),
            json!({"agent_id": agent.body["data"]["id"], "command_type": "proxmox.start", "payload": {"vmid": 101}}),
        )
        .await;
    assert_eq!(command.status, 202, "{}", command.body);

    let b = driver.browser().await;
    b.sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;

    // The theme choice survives a reload (the server renders it from the cookie).
    let before: String = b
        .client
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .expect("style")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    b.click("#theme-toggle").await;
    b.client.refresh().await.expect("reload");
    let theme = b
        .find("html")
        .await
        .attr("data-theme")
        .await
        .expect("attr")
        .unwrap_or_default();
    assert!(theme == "dark" || theme == "light", "theme: {theme}");
    let after: String = b
        .client
        .execute(
            "return getComputedStyle(document.body).backgroundColor;",
            vec![],
        )
        .await
        .expect("style")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_ne!(before, after, "the theme toggle changed nothing");

    let nav: Vec<String> = links(&b, "nav.tree a[href]").await;
    assert!(nav.len() >= 4, "navigation: {nav:?}");
    let mut queue: VecDeque<String> = nav.into_iter().collect();
    let mut seen = BTreeSet::new();
    // One visit per page and set of query parameters: `?month=` links page on forever.
    let mut visited = BTreeSet::new();
    while let Some(url) = queue.pop_front() {
        if !seen.insert(url.clone()) || !visited.insert(page_key(&url)) {
            continue;
        }
        // The status as the browser gets it (WebDriver does not expose it).
        let status = b
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 fetch(arguments[0], {redirect: 'manual'}).then(r => done(r.status), e => done(String(e)));",
                vec![json!(url)],
            )
            .await
            .expect("fetch runs");
        assert_eq!(status, json!(200), "{url} answered {status}");
        b.goto(&url).await;
        let title = b.client.title().await.expect("title");
        assert!(
            title.ends_with("· Bot-Mox") && title.len() > "· Bot-Mox".len() + 1,
            "{url}: title {title:?}"
        );
        let crumbs = b.text("nav.crumbs").await;
        assert!(!crumbs.trim().is_empty(), "{url}: no breadcrumbs");
        b.assert_no_js_errors(&url).await;
        for link in links(&b, "a[href]").await {
            if !seen.contains(&link) {
                queue.push_back(link);
            }
        }
    }
    let paths: Vec<String> = seen
        .iter()
        .map(|u| u.trim_start_matches(&app.base).to_owned())
        .collect();
    for expected in ["/", "/agents", "/commands", "/notes"] {
        assert!(
            paths.iter().any(|p| p == expected),
            "not crawled: {expected} in {paths:?}"
        );
    }
    assert!(
        paths.iter().any(|p| p.starts_with("/notes/")),
        "no note page crawled: {paths:?}"
    );
    assert!(
        paths.iter().any(|p| p.starts_with("/commands/")),
        "no command page crawled: {paths:?}"
    );
    b.screenshot("crawl_last_page").await;
    b.close().await;
}

/// Same-site links on the current page, without fragments, as absolute URLs.
/// A URL's path with the names (not values) of its query parameters.
fn page_key(url: &str) -> String {
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut names: Vec<&str> = query
        .split('&')
        .filter_map(|kv| kv.split('=').next())
        .filter(|k| !k.is_empty())
        .collect();
    names.sort_unstable();
    format!("{path}?{}", names.join("&"))
}

async fn links(b: &crate::harness::Browser, css: &str) -> Vec<String> {
    let found = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll(arguments[0]))
                .map(a => a.href.split('#')[0])
                .filter(h => h.startsWith(location.origin + '/'));",
            vec![json!(css)],
        )
        .await
        .expect("links");
    found
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
