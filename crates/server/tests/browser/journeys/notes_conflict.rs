//! Journey (c): one note edited in two browsers. Each autosaves against the version it
//! loaded; the second save finds the note changed and the editor shows the conflict instead
//! of overwriting the first operator's text.

use crate::setup;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_note_edit_shows_the_conflict() {
    let Some((app, driver)) = setup().await else {
        return;
    };
    let first = driver.browser().await;
    first
        .sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    first.click("nav.tree a[href='/notes']").await;
    first.click("#new-note").await;
    first.find("#note-content").await;
    let note_path = first.path().await;
    assert!(note_path.starts_with("/notes/"), "{note_path}");

    let second = driver.browser().await;
    second
        .sign_in(&app.base, &app.admin_email, &app.admin_password)
        .await;
    second.goto(&app.url(&note_path)).await;
    second.find("#note-content").await;

    // The first operator types; autosave stores it.
    first.fill("#note-title", "Raid plan").await;
    first
        .find("#note-content")
        .await
        .send_keys("# Tuesday\n\n- bring **flasks**")
        .await
        .expect("types");
    // Autosave may store the title and the text in one save or two; the preview is rendered
    // from what was stored, so it shows when everything has landed.
    first.wait_text("#note-preview strong", "flasks").await;
    first.wait_text("#note-preview h1", "Tuesday").await;
    first.wait_text("#note-status", "Saved").await;
    first.screenshot("notes_first_saved").await;

    // The second still has revision 1 open: its save is refused, its text kept.
    second
        .find("#note-content")
        .await
        .send_keys("my own version")
        .await
        .expect("types");
    let status = second
        .wait_text("#note-status", "The note has changed")
        .await;
    assert!(status.contains("reload and merge"), "{status}");
    let kept = second
        .find("#note-content")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(kept, "my own version");
    second.screenshot("notes_conflict").await;

    // The stored note is the first operator's.
    second.click(".note-conflict a").await;
    second.wait_text("#note-preview", "Tuesday").await;
    let title = second
        .find("#note-title")
        .await
        .prop("value")
        .await
        .expect("value")
        .unwrap_or_default();
    assert_eq!(title, "Raid plan");
    first.assert_no_js_errors("first editor").await;
    second.assert_no_js_errors("second editor").await;
    first.close().await;
    second.close().await;
}
