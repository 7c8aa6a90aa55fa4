//! A real headless Chromium for page tests, driven over WebDriver (Debian's `chromium` and
//! `chromium-driver`; `.ci/run` installs them). Each [`Browser`] runs its own chromedriver on
//! a free loopback port with a fresh profile, and stops it when dropped.
//!
//! Without chromedriver the tests fail, saying what to install; `VOXGATE_SKIP_BROWSER=1`
//! skips them on a machine that cannot have a browser (and says so).

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    /// Stops chromedriver and every Chromium process of this browser's profile (Chromium runs
    /// in process groups of its own, so killing chromedriver alone would leave it running —
    /// after a failed test too).
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = Command::new("pkill")
            .args(["-KILL", "-f", &self._profile.path().display().to_string()])
            .status();
    }
}

/// Whether browser tests run here (panics with what to install when they cannot but should).
pub fn browser_available() -> bool {
    if std::env::var_os("VOXGATE_SKIP_BROWSER").is_some_and(|v| v == "1") {
        eprintln!("SKIPPED: VOXGATE_SKIP_BROWSER=1, the page tests did not run");
        return false;
    }
    assert!(
        std::path::Path::new(CHROMEDRIVER).exists() && std::path::Path::new(CHROMIUM).exists(),
        "the page tests need Debian's chromium and chromium-driver \
         (apt-get install chromium chromium-driver; .ci/run does), or VOXGATE_SKIP_BROWSER=1"
    );
    true
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// A headless Chromium with a `width`×`height` window.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().expect("profile dir");
        let args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-quic".into(),
            "--no-first-run".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--hide-scrollbars".into(),
            format!("--window-size={width},{height}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": CHROMIUM, "args": args }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        for _ in 0..100 {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(capabilities.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        _profile: profile,
                    };
                }
                Err(error) => last_error = Some(error.to_string()),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a browser: {last_error:?}");
    }

    /// End the WebDriver session (Chromium quits), then stop chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    /// The element at `css`, once it is there (within 10 s).
    pub async fn find(&self, css: &str) -> Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no element {css}: {e}"))
    }

    /// Click the element at `css`, finding it again if the page replaced it meanwhile.
    pub async fn click(&self, css: &str) {
        let mut last = String::new();
        for _ in 0..100 {
            match self.find(css).await.click().await {
                Ok(()) => return,
                Err(error) => last = error.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("could not click {css}: {last}");
    }

    /// Wait until the text of the element at `css` satisfies `ok` (within 10 s); the text.
    pub async fn text_until(&self, css: &str, ok: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            if let Ok(element) = self.client.find(Locator::Css(css)).await
                && let Ok(text) = element.text().await
            {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css} never matched; last text: {last:?}");
    }

    /// Save a screenshot as `name` in `VOXGATE_SCREENSHOTS` (the README's pictures come from
    /// `VOXGATE_SCREENSHOTS=docs/screenshots`), else in a temporary directory.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = match std::env::var_os("VOXGATE_SCREENSHOTS") {
            Some(dir) => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir),
            None => std::env::temp_dir().join("voxgate-screenshots"),
        };
        std::fs::create_dir_all(&dir).expect("screenshot dir");
        let path = dir.join(name);
        std::fs::write(&path, png).expect("write screenshot");
        path
    }
}
