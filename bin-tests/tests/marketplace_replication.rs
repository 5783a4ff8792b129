//! Replication between Marketplaces (docs/REPLICATION.md): the change feed
//! (`GET /changes`), `serve --follow URL` and replicas
//! (`marketplace.type=replica`), with real servers on 127.0.0.1.
//!
//! - the feed's format, cursor and parameters;
//! - B follows A and catches up with a large store (10,000 entries by
//!   default, `STRATUS_REPLICATION_ENTRIES`), then receives new uploads;
//! - a hostile feed server written here serves garbage, a forged entry, an
//!   entry under a false key and a non-XML entry: B refuses what does not
//!   verify, says why, and moves on;
//! - A goes down and comes back: B retries with backoff and resumes from
//!   its stored cursor, also across its own restart;
//! - a peer whose feed ends before B's cursor (its store replaced) is read
//!   again from 0, and what B has already is unchanged;
//! - a chain, a pair following each other and a server following two
//!   peers converge: every key written once on every server, whatever the
//!   loops;
//! - followed entries meet the follower's own trust anchors;
//! - a replica refuses uploads and confirmations but follows, serves reads
//!   and the feed, and still takes `/sync`.
//!
//! Waits are bounded polls; nothing asserts a duration.

mod common;
mod market;
mod sigkit;

use common::*;
use market::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The configuration of every node: no e-mail, the followers poll every
/// second and retry at most every 2 seconds.
const CONFIG: &str = "validate.email=false\nfollow.interval=1\nfollow.backoff.max=2\n";

/// A `stratus-marketplace serve` whose address and data directory the
/// test chooses, so that it can be stopped and started again in place.
struct Node {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
    _scratch: tempfile::TempDir,
}

impl Node {
    fn start(data: &Path, listen: &str, config: &str, args: &[&str]) -> Node {
        Node::start_at(data, listen, config, args, None)
    }

    /// [`Node::start`] with "now" pinned to `now` (default 2015-01-01).
    fn start_at(data: &Path, listen: &str, config: &str, args: &[&str], now: Option<&str>) -> Node {
        let scratch = tempfile::tempdir().unwrap();
        let cfg = scratch.path().join("marketplace.cfg");
        std::fs::write(&cfg, config).unwrap();
        let log = scratch.path().join("server.log");
        let mut command = server_command(scratch.path(), now);
        command
            .args(["serve", "--listen", listen, "--data"])
            .arg(data)
            .arg("--config")
            .arg(&cfg)
            .args(args);
        store_env(&mut command, data);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap());
        let mut child = command.spawn().expect("stratus-marketplace starts");
        let addr = wait_for_listening(&mut child, &log);
        if on_postgres() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(
                text.contains("store: PostgreSQL"),
                "not on PostgreSQL:\n{text}"
            );
        }
        Node {
            child: Some(child),
            addr,
            log,
            _scratch: scratch,
        }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, target: &str) -> Reply {
        http(self.addr, "GET", target, &[], b"")
    }

    fn get_as(&self, target: &str, accept: &str) -> Reply {
        http(self.addr, "GET", target, &[("Accept", accept)], b"")
    }

    fn post(&self, document: &[u8]) -> Reply {
        http(
            self.addr,
            "POST",
            "/metadata",
            &[("Content-Type", "application/rdf+xml")],
            document,
        )
    }

    fn upload(&self, document: &[u8]) {
        let reply = self.post(document);
        assert_eq!(reply.status, 201, "{}\n{}", reply.text(), self.log());
    }

    /// One JSON page of the feed.
    fn feed(&self, since: u64, limit: usize) -> serde_json::Value {
        let reply = self.get_as(
            &format!("/changes?since={since}&limit={limit}"),
            "application/json",
        );
        assert_eq!(reply.status, 200, "{}", reply.text());
        reply.json()
    }

    /// The store's revision, as the feed tells it.
    fn revision(&self) -> u64 {
        self.feed(0, 1)["revision"].as_u64().unwrap()
    }

    /// Every (key, document) of the feed, paging through it.
    fn entries(&self) -> Vec<(String, String)> {
        let mut all = Vec::new();
        let mut since = 0;
        loop {
            let page = self.feed(since, 1000);
            for change in page["changes"].as_array().unwrap() {
                all.push((
                    change["key"].as_str().unwrap().to_string(),
                    change["document"].as_str().unwrap().to_string(),
                ));
            }
            since = page["next"].as_u64().unwrap();
            if !page["more"].as_bool().unwrap() {
                return all;
            }
        }
    }

    fn has(&self, identifier: &str, email: &str, created: &str) -> bool {
        self.get(&format!("/metadata/{identifier}/{email}/{created}"))
            .status
            == 200
    }

    fn stop(&mut self) {
        let mut child = self.child.take().expect("the node runs");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_secs(40) {
                let _ = child.kill();
                panic!("the server did not stop\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port free now on 127.0.0.1.
fn free_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().to_string()
}

/// Poll `done` every 100 ms until it holds; past `limit`, fail with
/// `what` and the logs of `nodes`.
fn wait_until(what: &str, limit: Duration, nodes: &[&Node], mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > limit {
            let logs: Vec<String> = nodes.iter().map(|n| n.log()).collect();
            panic!("{what}: not within {limit:?}\n{}", logs.join("\n----\n"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The stored form of a document (what the feed serves): the standard
/// declaration, the document element, one newline.
fn stored_form(document: &[u8]) -> String {
    let text = String::from_utf8(document.to_vec()).unwrap();
    let body = text.strip_prefix(DECLARATION).unwrap_or(&text);
    format!("{DECLARATION}{}\n", body.trim())
}

/// The endorsement time `many_signed` gives its documents.
const BULK_CREATED: &str = "2014-06-02T00:00:00Z";

/// `n` signed documents filed in the legacy layout under `dir` (for
/// `stratus-marketplace import`); their identifiers.
fn legacy_directory(dir: &Path, n: usize) -> Vec<String> {
    let flat = dir.join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    let (paths, identifiers) = many_signed(&flat, n);
    for (path, id) in paths.iter().zip(&identifiers) {
        let target = dir.join("legacy/metadata").join(id).join(JANE);
        std::fs::create_dir_all(&target).unwrap();
        std::fs::rename(path, target.join(format!("{BULK_CREATED}.xml"))).unwrap();
    }
    identifiers
}

fn import(source: &Path, data: &Path) {
    let scratch = tempfile::tempdir().unwrap();
    let mut command = server_command(scratch.path(), None);
    command.arg("import").arg(source).arg("--data").arg(data);
    store_env(&mut command, data);
    let output = run_with_input(command, b"");
    assert_ok(&output, "stratus-marketplace import");
}

#[test]
fn the_feed_lists_each_key_once_in_commit_order_with_a_resumable_cursor() {
    let data = tempfile::tempdir().unwrap();
    let a = Node::start(data.path(), "127.0.0.1:0", CONFIG, &[]);
    let documents = [
        indate(),
        newer(),
        two_locations().to_vec(),
        special_characters().to_vec(),
    ];
    for document in &documents {
        a.upload(document);
    }
    // The latest key again, with another document: a replacement.
    let special_created = "2014-03-09T15:46:18Z";
    let replaced = variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:compression/>",
            "<dcterms:compression>none</dcterms:compression>",
        )],
        special_created,
    );
    a.upload(&replaced);
    // A byte-identical upload takes no revision.
    a.upload(&replaced);
    assert_eq!(a.revision(), 5);

    // Paging by two: the cursor is the last sequence number, `more` says
    // whether to go on, each key appears once, at its last write.
    let mut since = 0;
    let mut seen = Vec::new();
    loop {
        let page = a.feed(since, 2);
        assert_eq!(page["since"].as_u64(), Some(since));
        let changes = page["changes"].as_array().unwrap();
        assert!(changes.len() <= 2);
        for change in changes {
            let sequence = change["sequence"].as_u64().unwrap();
            assert!(sequence > since);
            seen.push((sequence, change["key"].as_str().unwrap().to_string()));
            since = sequence;
        }
        assert_eq!(page["next"].as_u64(), Some(since));
        assert_eq!(page["revision"].as_u64(), Some(5));
        if !page["more"].as_bool().unwrap() {
            break;
        }
    }
    let replaced_key = format!("{BEE8}/{JANE}/{special_created}");
    let sequences: Vec<u64> = seen.iter().map(|(s, _)| *s).collect();
    assert_eq!(sequences, [1, 2, 3, 5], "{seen:?}");
    assert_eq!(seen.last().unwrap().1, replaced_key);
    // The document is the stored one, byte for byte.
    let last = a.feed(4, 10);
    let document = last["changes"][0]["document"].as_str().unwrap();
    let entry = a.get(&format!("/metadata/{BEE8}/{JANE}/{special_created}"));
    assert_eq!(document.as_bytes(), entry.body.as_slice());
    assert_eq!(document, stored_form(&replaced));
    // Past the end: nothing, the cursor stays.
    let end = a.feed(5, 10);
    assert_eq!(end["changes"].as_array().unwrap().len(), 0);
    assert_eq!(
        (end["next"].as_u64(), end["more"].as_bool()),
        (Some(5), Some(false))
    );

    // XML is the default; each <change> holds the document verbatim.
    let xml = a.get("/changes?since=4");
    assert_eq!(xml.status, 200);
    assert_eq!(xml.media_type(), "application/xml");
    assert!(well_formed(&xml.body));
    let text = xml.text();
    let body = document.strip_prefix(DECLARATION).unwrap();
    assert!(
        text.contains(&format!(
            "<change sequence=\"5\" key=\"{replaced_key}\">{body}</change>"
        )),
        "{text}"
    );
    assert!(text.contains("<changes since=\"4\" next=\"5\" more=\"false\" revision=\"5\">"));
    assert_eq!(
        a.get("/changes?media=json").media_type(),
        "application/json"
    );
    assert_eq!(
        a.get("/marketplace/changes?limit=1").media_type(),
        "application/xml"
    );

    // Bad parameters: 400 naming the parameter.
    for (query, name) in [
        ("since=-1", "since"),
        ("since=abc", "since"),
        ("since=99999999999999999999999", "since"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=", "limit"),
        ("since=1&limit=ten", "limit"),
    ] {
        let reply = a.get_as(&format!("/changes?{query}"), "application/xml");
        assert_eq!(reply.status, 400, "{query}");
        assert!(
            reply
                .error_text()
                .starts_with(&format!("invalid parameter '{name}': expected")),
            "{query}: {}",
            reply.error_text()
        );
    }
}

#[test]
fn a_follower_catches_up_with_a_large_store_then_takes_new_uploads() {
    let n: usize = std::env::var("STRATUS_REPLICATION_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let work = tempfile::tempdir().unwrap();
    let started = Instant::now();
    legacy_directory(work.path(), n);
    let a_data = work.path().join("a");
    import(&work.path().join("legacy"), &a_data);
    eprintln!(
        "{n} signed documents made and imported in {:?}",
        started.elapsed()
    );
    let a = Node::start(&a_data, "127.0.0.1:0", CONFIG, &[]);
    assert_eq!(a.revision(), n as u64);

    let b_data = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let b = Node::start(
        b_data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &a.url()],
    );
    wait_until("B catches up", Duration::from_secs(900), &[&a, &b], || {
        b.revision() >= n as u64
    });
    let took = started.elapsed();
    eprintln!(
        "B verified and committed {n} entries in {took:?} ({:.0} entries/s, debug build)",
        n as f64 / took.as_secs_f64()
    );
    assert_eq!(b.revision(), n as u64, "{}", b.log());
    // The same keys and the same bytes, in the same order.
    let on_a = a.entries();
    let on_b = b.entries();
    assert_eq!(on_a.len(), n);
    assert!(on_a == on_b, "B's entries differ from A's");
    assert!(!b.log().contains("refused entry"), "{}", b.log());
    // More than one page (500 entries) was asked for.
    if n > 500 {
        assert!(b.log().contains("more follow"), "{}", b.log());
    }

    // New uploads on A arrive on B within the poll interval or so.
    let started = Instant::now();
    a.upload(&indate());
    a.upload(&newer());
    wait_until(
        "B receives the new uploads",
        Duration::from_secs(30),
        &[&a, &b],
        || b.has(BEE8, JANE, INDATE_CREATED) && b.has(BEE8, JANE, NEWER_CREATED),
    );
    eprintln!("new uploads on A listed on B after {:?}", started.elapsed());
    // Both versions are kept; the newer is the latest.
    let latest = b.get_as(&format!("/metadata/{BEE8}"), "application/xml");
    assert_eq!(listed_created(&latest), [NEWER_CREATED]);
    assert_eq!(b.revision(), n as u64 + 2);
}

/// A feed server that answers each `GET /changes?since=N` with what
/// `answer(N, count)` gives (count: requests so far), and records every N.
struct Hostile {
    addr: SocketAddr,
    asked: Arc<Mutex<Vec<u64>>>,
}

impl Hostile {
    fn start(answer: impl Fn(u64, usize) -> (u16, String) + Send + 'static) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let record = asked.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let _ = serve_one(stream, &answer, &record);
            }
        });
        Hostile { addr, asked }
    }

    fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    fn asked(&self) -> Vec<u64> {
        self.asked.lock().unwrap().clone()
    }
}

fn serve_one(
    mut stream: TcpStream,
    answer: &impl Fn(u64, usize) -> (u16, String),
    asked: &Mutex<Vec<u64>>,
) -> Option<()> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 || line == "\r\n" {
            break;
        }
    }
    let target = request_line.split(' ').nth(1)?;
    let since = target
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("since="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let count = {
        let mut asked = asked.lock().unwrap();
        asked.push(since);
        asked.len()
    };
    let (status, body) = answer(since, count);
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    Some(())
}

fn page(since: u64, next: u64, changes: &[(u64, String, Vec<u8>)]) -> String {
    let changes: Vec<serde_json::Value> = changes
        .iter()
        .map(|(sequence, key, document)| {
            serde_json::json!({
                "sequence": sequence,
                "key": key,
                "document": String::from_utf8_lossy(document),
            })
        })
        .collect();
    serde_json::json!({
        "since": since, "next": next, "more": false, "revision": next, "changes": changes,
    })
    .to_string()
}

#[test]
fn forged_altered_and_mislabelled_entries_from_a_hostile_feed_are_refused_and_said_why() {
    let indate_key = format!("{BEE8}/{JANE}/{INDATE_CREATED}");
    // The in-date document with its OS changed after signing.
    let forged = String::from_utf8(indate())
        .unwrap()
        .replace(
            "<slterms:os>ttylinux</slterms:os>",
            "<slterms:os>evillinux</slterms:os>",
        )
        .into_bytes();
    assert_ne!(forged, indate());
    let lying_key = format!("{BEE8}/mallory@example.org/2099-01-01T00:00:00Z");
    let entries = vec![
        (1, indate_key.clone(), forged),
        (2, format!("{BEE8}/{JANE}/{NEWER_CREATED}"), newer()),
        (3, lying_key.clone(), two_locations().to_vec()),
        (4, "x/y/z".to_string(), b"this is not XML".to_vec()),
    ];
    let hostile = Hostile::start(move |since, count| match (count, since) {
        // The first answer is not a feed page at all.
        (1, _) => (200, "<html>down for maintenance</html>".into()),
        (_, 0) => (200, page(0, 4, &entries)),
        (_, since) => (200, page(since, since, &[])),
    });
    let data = tempfile::tempdir().unwrap();
    let mut b = Node::start(
        data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &hostile.url()],
    );
    wait_until(
        "B takes the hostile page",
        Duration::from_secs(60),
        &[&b],
        || b.log().contains("refused entry 4"),
    );
    wait_until(
        "B asks past the page",
        Duration::from_secs(30),
        &[&b],
        || hostile.asked().contains(&4),
    );
    let log = b.log();
    let peer = hostile.url();
    // The garbage answer: a clear message, retried.
    assert!(
        log.contains(&format!(
            "peer {peer}: not a valid change feed page: not JSON"
        )),
        "{log}"
    );
    // The forged entry: refused, with the reason.
    let forged_line = log
        .lines()
        .find(|l| l.contains("refused entry 1"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        forged_line.contains(&format!(
            "peer {peer}: refused entry 1 (claimed key {indate_key}): invalid metadata:"
        )),
        "{forged_line}"
    );
    assert!(
        forged_line.to_lowercase().contains("signature") || forged_line.contains("digest"),
        "{forged_line}"
    );
    assert!(
        log.contains("refused entry 4 (claimed key x/y/z): unable to parse metadata"),
        "{log}"
    );
    // The mislabelled entry is stored under its own key, not the claim.
    assert!(
        log.contains(&format!(
            "entry 3 claimed key {lying_key} but the document's key is {BEE8}/{JANE}/2014-03-08T14:28:15Z"
        )),
        "{log}"
    );
    assert!(
        !b.has(BEE8, JANE, INDATE_CREATED),
        "the forged entry is listed"
    );
    assert!(b.has(BEE8, JANE, NEWER_CREATED));
    assert!(b.has(BEE8, JANE, "2014-03-08T14:28:15Z"));
    assert_eq!(
        b.get(&format!("/metadata/{BEE8}/mallory@example.org"))
            .status,
        404
    );
    let stored = b.get(&format!("/metadata/{BEE8}/{JANE}/{NEWER_CREATED}"));
    assert_eq!(stored.text(), stored_form(&newer()));
    assert_eq!(b.revision(), 2);
    // The cursor moved past the refused entries: never 0 again after the
    // page was taken, and kept across a restart.
    let asked = hostile.asked();
    let first_past = asked.iter().position(|s| *s == 4).unwrap();
    assert!(asked[first_past..].iter().all(|s| *s == 4), "{asked:?}");
    b.stop();
    let b = Node::start(
        data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &hostile.url()],
    );
    wait_until(
        "B restarts from its cursor",
        Duration::from_secs(30),
        &[&b],
        || b.log().contains(&format!("following {peer} from cursor 4")),
    );
}

/// (cursor, new entries) of each page line of a follower's log.
fn progress_lines(log: &str) -> Vec<(u64, u64)> {
    log.lines()
        .filter_map(|line| {
            let rest = line.split("entries, cursor ").nth(1)?;
            let (cursor, rest) = rest.split_once(": ")?;
            let new = rest.split(' ').next()?;
            Some((cursor.parse().ok()?, new.parse().ok()?))
        })
        .collect()
}

#[test]
fn a_peer_down_for_a_while_is_retried_and_followed_again_from_the_cursor() {
    let (a_data, b_data) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a_listen = free_port();
    let mut a = Node::start(a_data.path(), &a_listen, CONFIG, &[]);
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = many_signed(dir.path(), 12);
    for path in &paths[..10] {
        a.upload(&std::fs::read(path).unwrap());
    }
    let peer = a.url();
    let mut b = Node::start(b_data.path(), "127.0.0.1:0", CONFIG, &["--follow", &peer]);
    wait_until("B catches up", Duration::from_secs(60), &[&a, &b], || {
        b.revision() == 10
    });

    a.stop();
    wait_until(
        "B retries with backoff",
        Duration::from_secs(30),
        &[&b],
        || {
            let log = b.log();
            log.contains("retrying in 1 s (failure 1 in a row)")
                && log.contains("retrying in 2 s (failure 2 in a row)")
        },
    );
    // B serves on while its peer is down.
    assert_eq!(b.get("/metadata?media=json").status, 200);
    // B restarts while A is still down: it starts from its stored cursor.
    b.stop();
    let b = Node::start(b_data.path(), "127.0.0.1:0", CONFIG, &["--follow", &peer]);
    wait_until("B reads its cursor", Duration::from_secs(30), &[&b], || {
        b.log()
            .contains(&format!("following {peer} from cursor 10"))
    });
    wait_until("B finds A down", Duration::from_secs(30), &[&b], || {
        b.log().contains("failure 1 in a row")
    });

    let a = Node::start(a_data.path(), &a_listen, CONFIG, &[]);
    for path in &paths[10..] {
        a.upload(&std::fs::read(path).unwrap());
    }
    wait_until(
        "B follows A again",
        Duration::from_secs(30),
        &[&a, &b],
        || b.revision() == 12,
    );
    let log = b.log();
    assert!(
        log.contains(&format!(
            "peer {peer} answers again: resumed from cursor 10"
        )),
        "{log}"
    );
    // Only the two new entries were read, not the feed from 0 again.
    let pages = progress_lines(&log);
    assert_eq!(pages.iter().map(|p| p.1).sum::<u64>(), 2, "{log}");
    assert!(pages.iter().all(|p| p.0 > 10 && p.0 <= 12), "{log}");
    assert_eq!(a.entries(), b.entries());
}

#[test]
fn a_chain_and_a_pair_following_each_other_converge_without_loops() {
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = many_signed(dir.path(), 5);
    let documents: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(p).unwrap()).collect();
    let (a_listen, b_listen) = (free_port(), free_port());
    let (a_url, b_url) = (format!("http://{a_listen}/"), format!("http://{b_listen}/"));
    let datas: Vec<_> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    // A and B follow each other; C follows B (a chain A, B, C); D follows
    // both A and C (the same entries from two peers).
    let a = Node::start(datas[0].path(), &a_listen, CONFIG, &["--follow", &b_url]);
    let b = Node::start(datas[1].path(), &b_listen, CONFIG, &["--follow", &a_url]);
    let c = Node::start(
        datas[2].path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &b.url()],
    );
    let d = Node::start(
        datas[3].path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &a.url(), "--follow", &c.url()],
    );
    for document in &documents[..3] {
        a.upload(document);
    }
    for document in &documents[3..] {
        b.upload(document);
    }
    // Two versions of one image, one taken by each of the pair.
    a.upload(&indate());
    b.upload(&newer());
    let nodes = [&a, &b, &c, &d];
    wait_until(
        "all three hold the 7 entries",
        Duration::from_secs(60),
        &nodes,
        || nodes.iter().all(|n| n.entries().len() == 7),
    );
    // Let every follower poll a few more times: nothing more is written.
    std::thread::sleep(Duration::from_secs(4));
    let keys = |n: &Node| {
        let mut keys: Vec<String> = n.entries().into_iter().map(|(k, _)| k).collect();
        keys.sort();
        keys
    };
    for (name, node) in ["A", "B", "C", "D"].iter().zip(nodes) {
        // Every key written once on every server: no duplicates, no loop.
        assert_eq!(node.revision(), 7, "{name}\n{}", node.log());
        assert_eq!(keys(node), keys(&a), "{name}");
        let latest = node.get_as(&format!("/metadata/{BEE8}"), "application/xml");
        assert_eq!(listed_created(&latest), [NEWER_CREATED], "{name}");
        assert!(
            !node.log().contains("refused entry"),
            "{name}\n{}",
            node.log()
        );
    }
    // What came back from the other side of the pair was no change.
    assert!(
        a.log()
            .lines()
            .any(|l| l.contains("entries, cursor") && !l.contains(" 0 unchanged")),
        "{}",
        a.log()
    );
}

#[test]
fn a_replica_follows_and_serves_but_refuses_uploads() {
    let a_data = tempfile::tempdir().unwrap();
    let a = Node::start(a_data.path(), "127.0.0.1:0", CONFIG, &[]);
    a.upload(&indate());
    let r_data = tempfile::tempdir().unwrap();
    let replica_config = format!("{CONFIG}marketplace.type=replica\n");
    let r = Node::start(
        r_data.path(),
        "127.0.0.1:0",
        &replica_config,
        &["--follow", &a.url()],
    );
    wait_until(
        "the replica follows",
        Duration::from_secs(30),
        &[&a, &r],
        || r.has(BEE8, JANE, INDATE_CREATED),
    );
    let reply = r.post(&newer());
    assert_eq!(reply.status, 403);
    assert_eq!(
        http(
            r.addr,
            "POST",
            "/metadata",
            &[
                ("Content-Type", "application/xml"),
                ("Accept", "application/xml")
            ],
            &newer()
        )
        .error_text(),
        "read-only repository"
    );
    let confirm = r.get_as("/action/0000/confirm", "application/xml");
    assert_eq!(confirm.status, 403);
    assert!(
        confirm.error_text().contains("replica"),
        "{}",
        confirm.error_text()
    );
    assert_eq!(
        r.get_as("/action/0000/abort", "application/xml").status,
        403
    );
    // Reads, the DataTables form and the feed work.
    assert_eq!(r.get(&format!("/metadata/{BEE8}")).status, 200);
    let form = http(
        r.addr,
        "POST",
        "/metadata",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"sEcho=3",
    );
    assert_eq!(form.status, 200);
    assert_eq!(form.json()["sEcho"], 3);
    assert_eq!(r.entries().len(), 1);
    // /sync is not a client's write: it keeps working on a replica.
    let sync = http(
        r.addr,
        "POST",
        "/sync",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        b"",
    );
    assert_eq!(sync.status, 202, "{}", sync.text());
    // Uploads on A still arrive.
    a.upload(&newer());
    wait_until(
        "the replica takes the new entry",
        Duration::from_secs(30),
        &[&a, &r],
        || r.has(BEE8, JANE, NEWER_CREATED),
    );
}

#[test]
fn followed_entries_meet_the_followers_own_trust_options() {
    // The legacy whitelist test's material, at a time its CA and
    // certificate are valid.
    let at = Some("2012-06-01T00:00:00Z");
    let ca = fixtures().join("test-ca.pem");
    let ca_signed = std::fs::read(fixtures().join("valid-ca-signed.xml")).unwrap();
    // A takes any signer (at its default time: the in-date document's
    // endorsement is after `at`); B only those of the test CA.
    let a_data = tempfile::tempdir().unwrap();
    let a = Node::start(a_data.path(), "127.0.0.1:0", CONFIG, &[]);
    a.upload(&indate());
    a.upload(&ca_signed);
    let b_data = tempfile::tempdir().unwrap();
    let ca_arg = ca.to_str().unwrap();
    let b = Node::start_at(
        b_data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &a.url(), "--ca", ca_arg],
        at,
    );
    wait_until(
        "B takes A's page",
        Duration::from_secs(30),
        &[&a, &b],
        || b.log().contains("refused entry 1"),
    );
    let log = b.log();
    assert!(
        log.contains(&format!(
            "peer {}: refused entry 1 (claimed key {BEE8}/{JANE}/{INDATE_CREATED}): invalid metadata: signer not trusted",
            a.url()
        )),
        "{log}"
    );
    assert_eq!(b.revision(), 1, "{log}");
    assert!(!b.has(BEE8, JANE, INDATE_CREATED));
    assert_eq!(a.revision(), 2);
}

#[test]
fn a_peer_whose_feed_ends_before_the_cursor_is_read_again_from_0() {
    // A peer that served 5 entries, then (its store replaced) says its feed
    // ends at revision 1.
    let newer_key = format!("{BEE8}/{JANE}/{NEWER_CREATED}");
    let entries = vec![(5, newer_key, newer())];
    let hostile = Hostile::start(move |since, _| match since {
        0 => (200, page(0, 5, &entries)),
        since => (
            200,
            serde_json::json!({
                "since": since, "next": since, "more": false, "revision": 1, "changes": [],
            })
            .to_string(),
        ),
    });
    let data = tempfile::tempdir().unwrap();
    let b = Node::start(
        data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &hostile.url()],
    );
    let peer = hostile.url();
    wait_until(
        "B reads the feed again",
        Duration::from_secs(30),
        &[&b],
        || {
            let asked = hostile.asked();
            asked
                .iter()
                .position(|s| *s == 5)
                .is_some_and(|at| asked[at..].contains(&0))
        },
    );
    wait_until(
        "B takes the page again",
        Duration::from_secs(30),
        &[&b],
        || b.log().contains("0 new, 0 replaced, 1 unchanged"),
    );
    assert!(
        b.log().contains(&format!(
            "peer {peer}: its feed ends at 1, before this server's cursor 5 (was its store replaced?): reading it again from 0"
        )),
        "{}",
        b.log()
    );
    // The entry taken twice is stored once.
    assert_eq!(b.revision(), 1);
    assert!(b.has(BEE8, JANE, NEWER_CREATED));
}

#[test]
fn a_peer_can_neither_replace_a_stored_document_nor_plant_one_from_the_future() {
    let key = format!("{BEE8}/{JANE}/{INDATE_CREATED}");
    // The in-date document's key, with other (validly signed) contents.
    let other = variant(
        "valid-indate-signature.xml",
        &[(
            "<slterms:os>ttylinux</slterms:os>",
            "<slterms:os>evillinux</slterms:os>",
        )],
        INDATE_CREATED,
    );
    // Endorsed four days after the follower's "now" (2015-01-01).
    let future = "2015-01-05T00:00:00Z";
    let ahead = variant("valid-indate-signature.xml", &[], future);
    let entries = vec![
        (1, key.clone(), other),
        (2, format!("{BEE8}/{JANE}/{future}"), ahead),
    ];
    let hostile = Hostile::start(move |since, _| match since {
        0 => (200, page(0, 2, &entries)),
        since => (200, page(since, since, &[])),
    });
    let data = tempfile::tempdir().unwrap();
    let mut b = Node::start(data.path(), "127.0.0.1:0", CONFIG, &[]);
    b.upload(&indate());
    b.stop();
    let b = Node::start(
        data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &hostile.url()],
    );
    let peer = hostile.url();
    wait_until("B takes the page", Duration::from_secs(60), &[&b], || {
        hostile.asked().contains(&2)
    });
    let log = b.log();
    assert!(
        log.contains(&format!(
            "peer {peer}: refused entry {key}: a different document is stored under this key; the local one is kept"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "peer {peer}: refused entry 2 (claimed key {BEE8}/{JANE}/{future}): invalid metadata: slreq:endorsement/dcterms:created '{future}' is later than"
        )),
        "{log}"
    );
    let stored = b.get(&format!("/metadata/{key}"));
    assert_eq!(stored.text(), stored_form(&indate()));
    assert!(!b.has(BEE8, JANE, future));
    assert_eq!(b.revision(), 1);
    // No anchors and no e-mail confirmation: said at start.
    assert!(
        log.contains("followed entries are authenticated only by the certificate they embed"),
        "{log}"
    );
}

#[test]
fn a_peer_saying_more_follow_without_giving_any_is_backed_off() {
    let hostile = Hostile::start(|since, _| {
        (
            200,
            serde_json::json!({
                "since": since, "next": since, "more": true, "revision": since, "changes": [],
            })
            .to_string(),
        )
    });
    let data = tempfile::tempdir().unwrap();
    let b = Node::start(
        data.path(),
        "127.0.0.1:0",
        CONFIG,
        &["--follow", &hostile.url()],
    );
    // Retried after 1 s, then every 2 s: three failures take about 3 s.
    wait_until(
        "B fails three times",
        Duration::from_secs(30),
        &[&b],
        || b.log().contains("(failure 3 in a row)"),
    );
    let asked = hostile.asked().len();
    assert!(asked <= 6, "{asked} requests for 3 failures\n{}", b.log());
    assert!(
        b.log().contains("'more' is true but the page has no entry"),
        "{}",
        b.log()
    );
}

/// Run a `serve` command that must stop at start: its output, or a
/// failure (the server killed) if it is still running after 30 s.
fn refused_at_start(mut command: Command) -> std::process::Output {
    let scratch = tempfile::tempdir().unwrap();
    let err = scratch.path().join("stderr");
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap());
    let mut child = command.spawn().expect("stratus-marketplace starts");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server started instead of refusing:\n{}",
                std::fs::read_to_string(&err).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: std::fs::read(&err).unwrap_or_default(),
    }
}

#[test]
fn peer_urls_with_a_password_and_following_unconfirmed_without_anchors_are_refused() {
    let scratch = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let run = |config: &str, args: &[&str]| {
        let cfg = scratch.path().join("marketplace.cfg");
        std::fs::write(&cfg, config).unwrap();
        let mut c = server_command(scratch.path(), None);
        c.args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data.path())
            .arg("--config")
            .arg(&cfg)
            .args(args);
        store_env(&mut c, data.path());
        refused_at_start(c)
    };
    let output = run(CONFIG, &["--follow", "http://jane:s3cret@127.0.0.1:9/"]);
    assert_code(&output, 2, "serve --follow with user info");
    let text = stderr(&output);
    assert!(text.contains("--follow"), "{text}");
    assert!(text.contains("user name or password"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    let output = run(
        &format!("{CONFIG}follow.peers=https://jane:s3cret@a.example.org/\n"),
        &[],
    );
    assert_code(&output, 2, "follow.peers with user info");
    assert!(!stderr(&output).contains("s3cret"), "{}", stderr(&output));
    let mail =
        "validate.email=true\nmail.host=127.0.0.1\nmail.port=9\nadmin.email=admin@example.org\n";
    let output = run(mail, &["--follow", "http://127.0.0.1:9/"]);
    assert_code(&output, 2, "following with validate.email=true, no anchors");
    let text = stderr(&output);
    for named in ["validate.email=true", "--ca", "--trust-dir", "--follow"] {
        assert!(text.contains(named), "{named}: {text}");
    }
}
