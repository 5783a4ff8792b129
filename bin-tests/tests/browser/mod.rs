//! A real headless browser for the page tests: Debian's chromium driven
//! through chromedriver (WebDriver) with the fantoccini client, and the
//! axe-core accessibility engine (from npm) injected into pages.
//!
//! chromedriver runs on a free port of 127.0.0.1 and chromium gets a fresh
//! profile and no network activity of its own. Screenshots go to
//! `target/<profile>/test-output/<test>/`. axe-core comes from npm at the
//! version of `bin-tests/package-lock.json` (`npm ci --prefix bin-tests`,
//! which `.ci/run` runs). A test calls [`available`] first: a missing
//! chromium, chromedriver or axe-core fails it under `STRATUS_CI=1` and
//! skips it, saying why, otherwise.
//!
//! Test files using it declare `mod browser;` (and `mod common;`).

#![allow(dead_code)]

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// The browser and driver Debian installs.
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver and a browser session.
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    pub output: PathBuf,
}

impl Browser {
    /// Start chromedriver and a headless chromium `width` × `height`;
    /// screenshots of test `name` go under the output directory.
    pub async fn start(name: &str, width: u32, height: u32) -> Browser {
        let port = crate::smtp::free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "chromedriver did not listen within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().unwrap();
        let mut capabilities = serde_json::Map::new();
        capabilities.insert(
            "goog:chromeOptions".into(),
            serde_json::json!({
                "binary": CHROMIUM,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--no-first-run",
                    "--disable-dev-shm-usage",
                    format!("--user-data-dir={}", profile.path().display()),
                    format!("--window-size={width},{height}"),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://{addr}"))
            .await
            .expect("a chromium session");
        let output = stratus_bin_tests::bin_dir().join("test-output").join(name);
        std::fs::create_dir_all(&output).unwrap();
        Browser {
            client,
            driver,
            _profile: profile,
            output,
        }
    }

    /// Save a screenshot of the page as `<output>/<name>.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        let path = self.output.join(format!("{name}.png"));
        std::fs::write(&path, png).unwrap();
        path
    }

    /// The text of the first element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// The texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.client.find_all(Locator::Css(css)).await.unwrap() {
            out.push(element.text().await.unwrap());
        }
        out
    }

    /// The serious and critical axe-core violations of the current page.
    pub async fn accessibility_violations(&self) -> Vec<String> {
        let source = std::fs::read_to_string(axe_script()).unwrap();
        self.client
            .execute(&source, vec![])
            .await
            .expect("axe-core loads into the page");
        let result = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] }).then(r => done(
                   r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' (' +
                          v.nodes.map(n => n.target.join(' ')).join(', ') + ')')
                 ), e => done(['axe failed: ' + e]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        result
            .as_array()
            .expect("a list of violations")
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// End the session; dropping the browser stops chromedriver.
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

/// `axe.min.js`, installed from `bin-tests/package-lock.json` by
/// `npm ci --prefix bin-tests` (`.ci/run` does it).
fn axe_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js")
}

/// Whether chromium, chromedriver and axe-core are installed. When one is
/// missing: with `STRATUS_CI=1` the test fails saying what to install;
/// otherwise it prints why it is skipped and the caller returns.
pub fn available() -> bool {
    let missing: Vec<String> = [
        (PathBuf::from(CHROMIUM), "apt-get install chromium"),
        (
            PathBuf::from(CHROMEDRIVER),
            "apt-get install chromium-driver",
        ),
        (
            axe_script(),
            "npm ci --prefix bin-tests (axe-core, from package-lock.json)",
        ),
    ]
    .into_iter()
    .filter(|(path, _)| !path.is_file())
    .map(|(path, fix)| format!("{} ({fix})", path.display()))
    .collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("the browser tests need {}", missing.join(", "));
    assert!(!crate::common::in_ci(), "{message}");
    eprintln!("skipped: {message}");
    false
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
