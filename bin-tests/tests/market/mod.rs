//! What the black-box tests of `stratus-marketplace` share: a
//! server process on 127.0.0.1 (a free port picked by the server itself,
//! read from its start-up line; started and stopped by the test, every
//! wait bounded), a small HTTP/1.1 client on raw sockets, and the signed
//! documents the legacy catalogue needs.
//!
//! The client writes requests byte for byte, so that tests can send what a
//! library would refuse to (NUL bytes, non-UTF-8 paths, a body one byte a
//! second) and see the response exactly as sent. Independent peers (curl
//! for multipart forms and HTTPS) are used where they matter.
//!
//! With `STRATUS_TEST_STORE=postgres`, every server runs on PostgreSQL
//! instead of SQLite: each data directory gets its own database in a
//! cluster the test process starts ([`pgkit`]), so that the same tests
//! check both backends. Tests of what only SQLite has (the data
//! directory's lock, its database file) skip there, saying why.
//!
//! Test files using it declare `mod common;`, `mod sigkit;` and
//! `mod market;`.

#![allow(dead_code)]

use crate::common::*;
use crate::sigkit::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

#[path = "../pgkit/mod.rs"]
pub mod pgkit;

pub const MARKET: &str = "stratus-marketplace";

/// Whether the servers of this run use PostgreSQL
/// (`STRATUS_TEST_STORE=postgres`); it must then be installed.
pub fn on_postgres() -> bool {
    let wanted = std::env::var("STRATUS_TEST_STORE").is_ok_and(|v| v == "postgres");
    if wanted {
        assert!(
            pgkit::binaries().is_some(),
            "STRATUS_TEST_STORE=postgres: PostgreSQL is not installed \
             (apt-get install postgresql; .ci/run installs it)"
        );
    }
    wanted
}

/// On PostgreSQL, print why the calling test does not apply and return
/// `true` (the test returns).
pub fn skip_on_postgres(why: &str) -> bool {
    if on_postgres() {
        eprintln!("skipped on PostgreSQL: {why}");
        return true;
    }
    false
}

/// Point `command` at the store of the data directory `data`: nothing on
/// SQLite (the directory holds it), its own database on PostgreSQL.
pub fn store_env(command: &mut Command, data: &Path) {
    if on_postgres() {
        command
            .env("MARKETPLACE_STORE_TYPE", "postgres")
            .env("MARKETPLACE_STORE_URL", pgkit::shared().database_for(data));
    }
}
/// "Now" for the legacy catalogue (marketplace.md §7.1): the 2016 and 2020
/// fixtures are valid, `valid-expired-signature.xml` is expired.
pub const NOW_2015: &str = "2015-01-01T00:00:00Z";
pub const BEE8: &str = "BEE8-MMAw-Lk_IgsEExAy3d9R8h";
pub const CE3U: &str = "Ce3uQbAaxJMbTBaCXWO2FZPRFTT";
pub const JANE: &str = "jane.tester@example.org";
pub const INDATE_CREATED: &str = "2014-03-08T14:10:40Z";
pub const NEWER_CREATED: &str = "2014-03-08T14:23:18Z";
/// The identifier of the spec's first test vector (metadata.md §2.4), used
/// for the "new identifier with the same tag" document.
pub const NEWID: &str = "MMZu9WvwKIro-rtBQfDk4PsKO7_";
pub const NEWID_SHA1: &str = "c319bbd5afc0a22ba3eaed0507c39383ec28eeff";
pub const BEE8_SHA1: &str = "1104f3e30c030f8b93f220b04131032dddf51f21";
/// The legacy XML declaration every stored document starts with.
pub const DECLARATION: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#;

/// A running `stratus-marketplace serve`.
pub struct Server {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub data: PathBuf,
    pub base: String,
    log: PathBuf,
    /// Keeps the scratch directory (HOME, configuration, log) alive.
    _scratch: tempfile::TempDir,
    /// Keeps an owned data directory alive.
    _data: Option<tempfile::TempDir>,
}

/// How to start a server.
#[derive(Default)]
pub struct Options {
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub data: Option<PathBuf>,
    pub config: Option<String>,
    pub now: Option<String>,
}

impl Options {
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn data(mut self, dir: &Path) -> Self {
        self.data = Some(dir.to_path_buf());
        self
    }

    pub fn config(mut self, text: &str) -> Self {
        self.config = Some(text.to_string());
        self
    }

    pub fn now(mut self, now: &str) -> Self {
        self.now = Some(now.to_string());
        self
    }

    pub fn start(self) -> Server {
        Server::start_with(self)
    }
}

/// How long a server may take to say it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

impl Server {
    /// A server on a fresh data directory, "now" pinned to 2015-01-01.
    pub fn start() -> Server {
        Options::default().start()
    }

    pub fn options() -> Options {
        Options::default()
    }

    fn start_with(options: Options) -> Server {
        let scratch = tempfile::tempdir().expect("a scratch directory");
        let (data, owned) = match options.data {
            Some(dir) => (dir, None),
            None => {
                let dir = tempfile::tempdir().expect("a data directory");
                (dir.path().to_path_buf(), Some(dir))
            }
        };
        let config = scratch.path().join("marketplace.cfg");
        std::fs::write(
            &config,
            options
                .config
                .unwrap_or_else(|| "validate.email=false\n".into()),
        )
        .unwrap();
        let log = scratch.path().join("server.log");
        let mut command = server_command(scratch.path(), options.now.as_deref());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(&data)
            .arg("--config")
            .arg(&config)
            .args(&options.args);
        store_env(&mut command, &data);
        command
            .envs(options.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = command.spawn().expect("stratus-marketplace starts");
        let addr = wait_for_listening(&mut child, &log);
        if on_postgres()
            && !options
                .env
                .iter()
                .any(|(k, _)| k == "MARKETPLACE_STORE_TYPE")
        {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                text.contains("store: PostgreSQL"),
                "not on PostgreSQL:\n{text}"
            );
        }
        Server {
            child: Some(child),
            addr,
            base: format!("http://{addr}"),
            data,
            log,
            _scratch: scratch,
            _data: owned,
        }
    }

    /// The server's log so far (stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("the server runs").id()
    }

    /// SIGTERM, then wait (bounded) for the exit.
    pub fn stop(&mut self) -> ExitStatus {
        let pid = self.pid().to_string();
        let status = Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -TERM {pid} failed");
        self.wait(Duration::from_secs(40))
    }

    /// SIGKILL, then wait for the exit.
    pub fn kill9(&mut self) {
        let mut child = self.child.take().expect("the server runs");
        child.kill().expect("SIGKILL is sent");
        let _ = child.wait();
    }

    /// Wait for the server to exit by itself (bounded).
    pub fn wait(&mut self, limit: Duration) -> ExitStatus {
        let mut child = self.child.take().expect("the server runs");
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().expect("the server can be waited for") {
                return status;
            }
            if start.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the server did not exit within {limit:?}\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A request; the reply.
    pub fn request(
        &self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        http(self.addr, method, target, headers, body)
    }

    pub fn get(&self, target: &str) -> Reply {
        self.request("GET", target, &[], b"")
    }

    pub fn get_as(&self, target: &str, accept: &str) -> Reply {
        self.request("GET", target, &[("Accept", accept)], b"")
    }

    /// Upload a document as `application/rdf+xml` (the legacy test's POST).
    pub fn post(&self, document: &[u8]) -> Reply {
        self.post_to("/metadata", document)
    }

    pub fn post_to(&self, target: &str, document: &[u8]) -> Reply {
        self.request(
            "POST",
            target,
            &[("Content-Type", "application/rdf+xml")],
            document,
        )
    }

    /// Upload and require 201.
    pub fn upload(&self, document: &[u8]) -> Reply {
        let reply = self.post(document);
        assert_eq!(
            reply.status,
            201,
            "upload refused: {}\n{}",
            reply.text(),
            self.log()
        );
        reply
    }

    /// The JSON listing of `query` (a query string without `?`).
    pub fn json(&self, query: &str) -> serde_json::Value {
        let reply = self.get(&format!("/metadata?media=json&{query}"));
        assert_eq!(reply.status, 200, "{}", reply.text());
        serde_json::from_slice(&reply.body).expect("the listing is JSON")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `stratus-marketplace` command run in `dir` (HOME too), with "now"
/// pinned (default 2015-01-01) and no inherited configuration variables.
pub fn server_command(dir: &Path, now: Option<&str>) -> Command {
    let mut command = command(MARKET);
    command
        .current_dir(dir)
        .env("HOME", dir)
        .env("STRATUS_NOW", now.unwrap_or(NOW_2015))
        .env_remove("STRATUS_LOG");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("MARKETPLACE_") {
            command.env_remove(key);
        }
    }
    command
}

/// Read the start-up line `stratus-marketplace: listening on http://ADDR/`.
pub fn wait_for_listening(child: &mut Child, log: &Path) -> SocketAddr {
    let stdout = child.stdout.take().expect("stdout is piped");
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = sender.send(line);
        // Keep the pipe drained and open for the server's lifetime.
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
    });
    let line = receiver.recv_timeout(START_TIMEOUT).unwrap_or_default();
    let addr = line
        .trim()
        .strip_prefix("stratus-marketplace: listening on ")
        .and_then(|rest| rest.split("://").nth(1))
        .map(|rest| rest.trim_end_matches('/'))
        .and_then(|addr| addr.parse().ok());
    match addr {
        Some(addr) => addr,
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
    }
}

/// An HTTP response as received.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// A header's value (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The media type of `Content-Type`, without parameters.
    pub fn media_type(&self) -> String {
        self.header("content-type")
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_string()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `<error>` text of a legacy XML error body.
    pub fn error_text(&self) -> String {
        let text = self.text();
        let prefix = format!("{DECLARATION}<error>");
        assert!(
            text.starts_with(&prefix) && text.ends_with("</error>"),
            "not a legacy XML error body: {text}"
        );
        unescape(&text[prefix.len()..text.len() - "</error>".len()])
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// How long a request may take before the test fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Send one request (`Connection: close`) and read the whole reply.
pub fn http(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut request = format!("{method} {target} HTTP/1.1\r\nConnection: close\r\n");
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("host"))
    {
        request.push_str(&format!("Host: {addr}\r\n"));
    }
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    send_raw(addr, &bytes).unwrap_or_else(|e| panic!("{method} {target}: {e}"))
}

/// Send `bytes` as they are and read the reply until the server closes.
pub fn send_raw(addr: SocketAddr, bytes: &[u8]) -> std::io::Result<Reply> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(REQUEST_TIMEOUT))?;
    stream.set_write_timeout(Some(REQUEST_TIMEOUT))?;
    stream.write_all(bytes)?;
    read_reply(&mut stream)
}

/// Read a reply from `stream` until EOF.
pub fn read_reply(stream: &mut TcpStream) -> std::io::Result<Reply> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_reply(&raw).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not an HTTP reply: {:?}", String::from_utf8_lossy(&raw)),
        )
    })
}

fn parse_reply(raw: &[u8]) -> Option<Reply> {
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Some(Reply {
        status,
        headers,
        body,
    })
}

fn dechunk(mut data: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&data[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(data.get(..size)?);
        data = data.get(size + 2..)?;
    }
}

/// A legacy server fixture (`fixtures/legacy/server/<name>`).
pub fn server_fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("server").join(name))
        .unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Sign `document` with Jane's legacy P12 (`test.p12`), the endorsement
/// time being `created`.
pub fn sign_as_jane_at(document: &[u8], created: &str) -> Vec<u8> {
    let p12 = fixtures().join("test.p12");
    let mut c = command(SIGN);
    c.args(["-q", "--p12-cert"])
        .arg(&p12)
        .args(["--p12-password", PASSWORD])
        .env("STRATUS_NOW", created);
    let output = run_with_input(c, document);
    assert_ok(&output, "stratus-sign-metadata");
    output.stdout
}

/// A server fixture with text `edits` applied, signed again at `created`.
pub fn variant(fixture: &str, edits: &[(&str, &str)], created: &str) -> Vec<u8> {
    let mut text = String::from_utf8(server_fixture(fixture)).unwrap();
    for (from, to) in edits {
        assert!(text.contains(from), "{fixture} has no {from:?}");
        text = text.replacen(from, to, 1);
    }
    sign_as_jane_at(text.as_bytes(), created)
}

macro_rules! cached {
    ($name:ident, $body:expr) => {
        pub fn $name() -> &'static [u8] {
            static DOC: OnceLock<Vec<u8>> = OnceLock::new();
            DOC.get_or_init(|| $body)
        }
    };
}

pub fn indate() -> Vec<u8> {
    server_fixture("valid-indate-signature.xml")
}

pub fn newer() -> Vec<u8> {
    server_fixture("valid-indate-newer-signature.xml")
}

// The legacy catalogue's documents missing from the shipped fixtures,
// made the same way: the in-date document, edited and signed again.
cached!(
    deprecated,
    variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:valid>",
            "<slterms:deprecated>This is a test of deprecation</slterms:deprecated><dcterms:valid>"
        )],
        "2014-03-08T14:10:17Z"
    )
);
cached!(
    two_locations,
    variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:valid>",
            "<slterms:location>http://www.example.org/1234</slterms:location>\
             <slterms:location>http://www.example2.org/5678</slterms:location><dcterms:valid>"
        )],
        "2014-03-08T14:28:15Z"
    )
);
cached!(
    pdisk_location,
    variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:valid>",
            "<slterms:location>pdisk:pdisk.example.org:8445:1234</slterms:location><dcterms:valid>"
        )],
        "2014-03-08T14:20:00Z"
    )
);
/// The description of the special-characters document.
pub const SPECIAL_DESCRIPTION: &str = "A \"quoted\" description / with slashes \\ (parentheses), 'apostrophes',\n\ttabs, <angles> & ampersands, and accents: é ü ø";
cached!(
    special_characters,
    variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:description/>",
            &format!(
                "<dcterms:description>{}</dcterms:description>",
                SPECIAL_DESCRIPTION
                    .replace('&', "&amp;")
                    .replace('<', "&lt;")
                    .replace('>', "&gt;")
            )
        )],
        "2014-03-09T15:46:18Z"
    )
);
cached!(
    alternative_newid,
    variant(
        "valid-alternative.xml",
        &[
            (BEE8, NEWID),
            (BEE8, NEWID),
            (BEE8_SHA1, NEWID_SHA1),
            (
                "<dcterms:description>An image with an alternative tag</dcterms:description>",
                "<dcterms:description>A new image with the same tag</dcterms:description>"
            ),
            ("<dcterms:valid>", "<slterms:location/><dcterms:valid>"),
        ],
        "2014-05-04T16:49:03Z"
    )
);
cached!(
    alternative_deprecated,
    variant(
        "valid-alternative.xml",
        &[(
            "<dcterms:valid>",
            "<slterms:deprecated>superseded</slterms:deprecated><dcterms:valid>"
        )],
        "2014-08-17T15:16:48Z"
    )
);

/// `n` distinct signed documents (distinct identifiers), valid until
/// 2016, endorsed by Jane, written into `dir` and signed in one call of
/// `stratus-sign-metadata`; their paths, and the identifiers.
pub fn many_signed(dir: &Path, n: usize) -> (Vec<PathBuf>, Vec<String>) {
    let lab = Lab::new();
    let image = lab.write("disk.img", sample_image(4096, 11));
    let mut c = lab.command(BUILD);
    c.args([
        "-q",
        "--format",
        "raw",
        "--os",
        "ubuntu",
        "--os-version",
        "14.04",
    ])
    .args([
        "--os-arch",
        "x86_64",
        "--title",
        "bulk document",
        "--location",
    ])
    .args(["http://example.org/disk.img"])
    .arg(&image)
    .env("STRATUS_NOW", "2014-06-01T00:00:00Z");
    let output = run_with_input(c, b"");
    assert_ok(&output, "stratus-build-metadata");
    let template = String::from_utf8(output.stdout).unwrap();
    let sha1 = checksum(template.as_bytes(), "SHA-1").expect("a SHA-1");
    let identifier = identifier_from_sha1(&sha1);
    let mut paths = Vec::with_capacity(n);
    let mut identifiers = Vec::with_capacity(n);
    for i in 0..n {
        let hex = format!("{:08x}{}", i + 1, &sha1[8..]);
        let id = identifier_from_sha1(&hex);
        let text = template.replace(&identifier, &id).replace(&sha1, &hex);
        let path = dir.join(format!("doc-{i:04}.xml"));
        std::fs::write(&path, text).unwrap();
        paths.push(path);
        identifiers.push(id);
    }
    let p12 = fixtures().join("test.p12");
    let mut c = command(SIGN);
    c.args(["-q", "--p12-cert"])
        .arg(&p12)
        .args(["--p12-password", PASSWORD])
        .args(&paths)
        .env("STRATUS_NOW", "2014-06-02T00:00:00Z");
    let output = run_with_input(c, b"");
    assert_ok(&output, "stratus-sign-metadata (bulk)");
    for path in &paths {
        let _ = std::fs::remove_file(path.with_extension("xml.orig"));
    }
    (paths, identifiers)
}

/// `n` distinct signed documents, as [`many_signed`] makes them, in
/// memory: (identifier, document).
pub fn bulk_documents(n: usize) -> Vec<(String, Vec<u8>)> {
    let dir = tempfile::tempdir().unwrap();
    let (paths, identifiers) = many_signed(dir.path(), n);
    identifiers
        .into_iter()
        .zip(paths.iter().map(|p| std::fs::read(p).unwrap()))
        .collect()
}

/// The identifiers of an XML listing, in order.
pub fn listed_identifiers(reply: &Reply) -> Vec<String> {
    let text = reply.text();
    text.match_indices("<dcterms:identifier>")
        .map(|(at, tag)| {
            let rest = &text[at + tag.len()..];
            rest[..rest.find('<').unwrap()].to_string()
        })
        .collect()
}

/// The endorsement `created` values of an XML listing, in order.
pub fn listed_created(reply: &Reply) -> Vec<String> {
    let text = reply.text();
    text.match_indices("<created xmlns=\"http://purl.org/dc/terms/\">")
        .map(|(at, tag)| {
            let rest = &text[at + tag.len()..];
            rest[..rest.find('<').unwrap()].to_string()
        })
        .collect()
}

/// Run `stratus-marketplace` with `args` in a scratch directory (no
/// configuration file found), "now" pinned.
pub fn market(args: &[&str]) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let mut c = server_command(dir.path(), None);
    if let Some(at) = args.iter().position(|a| *a == "--data") {
        store_env(&mut c, Path::new(args[at + 1]));
    }
    c.args(args);
    run_with_input(c, b"")
}
