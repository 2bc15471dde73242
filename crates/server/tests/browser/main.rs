//! Browser journeys through the web UI: headless chromium driven by chromedriver against the
//! server running in-process. These run on SQLite only: the domain logic behind every page is
//! already tested on both databases by the API tests, and the browser adds nothing
//! database-specific.

#[path = "../common/mod.rs"]
mod common;
mod harness;
mod journeys;

use common::{Db, TestApp};
use harness::Driver;

/// The app and a chromedriver; `None` only when the browser is missing outside CI.
pub async fn setup() -> Option<(TestApp, Driver)> {
    let driver = Driver::start().await?;
    let app = TestApp::spawn(Db::Sqlite)
        .await
        .expect("SQLite needs no outside service");
    Some((app, driver))
}
