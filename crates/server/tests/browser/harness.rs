//! A real browser against the real server: chromedriver (spawned on a free port) driving
//! headless Debian chromium through fantoccini. Every page load is checked for JavaScript
//! errors through the browser log; journeys save screenshots under the test output.

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a journey waits for something the page should show.
pub const WAIT: Duration = Duration::from_secs(20);

const CHROMEDRIVER: &str = "chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

/// A chromedriver process, killed when dropped.
pub struct Driver {
    child: Child,
    pub url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Driver {
    /// Starts chromedriver; `None` (the test skips) only outside CI when it is not installed.
    pub async fn start() -> Option<Self> {
        let installed = Command::new(CHROMEDRIVER)
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
            && std::path::Path::new(CHROMIUM).exists();
        if !installed {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "chromium and chromedriver are required under CI (apt-get install chromium chromium-driver)"
            );
            eprintln!("skipping: chromium/chromedriver not installed");
            return None;
        }
        let port = free_port();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let driver = Self {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let ready = http
                .get(format!("{}/status", driver.url))
                .send()
                .await
                .ok()
                .map(|r| r.status().is_success())
                .unwrap_or(false);
            if ready {
                return Some(driver);
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A new browser with its own profile (cookies are not shared between browsers).
    pub async fn browser(&self) -> Browser {
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--window-size=1280,900".to_owned(),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        caps.insert("goog:loggingPrefs".to_owned(), json!({ "browser": "ALL" }));
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("browser session");
        Browser {
            client,
            _profile: profile,
        }
    }
}

/// `POST /session/{id}/se/log`: chromedriver's browser log (console messages, uncaught
/// exceptions, failed loads, CSP violations). Reading it empties it.
#[derive(Debug)]
struct BrowserLog;

impl WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

pub struct Browser {
    pub client: Client,
    _profile: tempfile::TempDir,
}

/// Where journeys leave their screenshots.
pub fn screenshot_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

impl Browser {
    pub async fn goto(&self, url: &str) {
        self.client.goto(url).await.expect("navigates");
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The log entries since the last call.
    pub async fn log(&self) -> Vec<Value> {
        match self.client.issue_cmd(BrowserLog).await {
            Ok(Value::Array(entries)) => entries,
            Ok(other) => panic!("unexpected browser log answer: {other}"),
            Err(err) => panic!("reading the browser log failed: {err}"),
        }
    }

    /// Fails on any error the page logged (JavaScript errors, failed loads, CSP violations).
    pub async fn assert_no_js_errors(&self, context: &str) {
        let severe: Vec<Value> = self
            .log()
            .await
            .into_iter()
            .filter(|e| e["level"] == "SEVERE")
            .collect();
        assert!(
            severe.is_empty(),
            "{context}: the browser logged errors: {severe:#?}"
        );
    }

    pub async fn screenshot(&self, journey: &str) {
        let png = self.client.screenshot().await.expect("screenshot");
        let path = screenshot_dir().join(format!("{journey}.png"));
        std::fs::write(&path, png).expect("screenshot written");
    }

    /// Waits until an element matching `css` exists and returns it.
    pub async fn find(&self, css: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// Waits until the element's text contains `needle`; returns the text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Ok(el) = self.client.find(Locator::Css(css)).await
                && let Ok(t) = el.text().await
                && t.contains(needle)
            {
                return t;
            }
            if tokio::time::Instant::now() >= deadline {
                let body = self.text("body").await;
                panic!("{css} never showed {needle:?}; page says:\n{body}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn fill(&self, css: &str, value: &str) {
        let el = self.find(css).await;
        el.clear().await.expect("clear");
        el.send_keys(value).await.expect("type");
    }

    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.expect("click");
    }

    /// Signs in through the login form and waits for the overview.
    pub async fn sign_in(&self, base: &str, email: &str, password: &str) {
        self.goto(&format!("{base}/login")).await;
        self.fill("#email", email).await;
        self.fill("#password", password).await;
        self.click("form button[type=submit]").await;
        self.wait_text("h1.page-title", "Overview").await;
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
