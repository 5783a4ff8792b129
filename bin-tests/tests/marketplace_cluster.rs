//! Several `stratus-marketplace` servers on one PostgreSQL database behave
//! as one Marketplace: what one acknowledges the others list at once,
//! concurrent uploads are neither lost nor doubled, "latest" stays the
//! newest version when two servers receive versions of one image at the
//! same moment, and neither `kill -9` of a server nor a restart of the
//! database loses an acknowledged upload. While the database is down the
//! servers answer 503 saying so, and they recover by themselves.
//!
//! Every test runs on a real PostgreSQL cluster started by the test
//! (`market::pgkit`); without PostgreSQL installed they are skipped, saying
//! why (failed under `STRATUS_CI=1`).

mod common;
mod market;
mod sigkit;

use common::*;
use market::pgkit::{self, Cluster};
use market::*;
use sigkit::{PASSWORD, SIGN};
use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// A server on the database `url` (its own data directory).
fn server_on(url: &str) -> Server {
    Server::options()
        .env("MARKETPLACE_STORE_TYPE", "postgres")
        .env("MARKETPLACE_STORE_URL", url)
        .start()
}

/// Two servers on a fresh database of `cluster`.
fn pair(cluster: &Cluster, name: &str) -> (Server, Server, String) {
    let url = cluster.create_database(name);
    (server_on(&url), server_on(&url), url)
}

fn thousand() -> &'static [(String, Vec<u8>)] {
    static DOCS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    DOCS.get_or_init(|| bulk_documents(1000))
}

/// Every identifier listed (all statuses, every version).
fn listed(server: &Server) -> Vec<String> {
    let value = server.json("iDisplayStart=0&iDisplayLength=5000&status=all");
    value["aaData"]
        .as_array()
        .unwrap_or_else(|| panic!("a listing: {value}"))
        .iter()
        .map(|row| row[7].as_str().unwrap().to_string())
        .collect()
}

fn upload_request(addr: std::net::SocketAddr, doc: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /metadata HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
        doc.len()
    )
    .into_bytes();
    request.extend_from_slice(doc);
    request
}

#[test]
fn an_upload_on_one_server_is_read_on_the_other_at_once() {
    if !pgkit::available() {
        return;
    }
    let (a, b, _) = pair(pgkit::shared(), "read_at_once");
    for (n, (id, doc)) in thousand()[..40].iter().enumerate() {
        let (to, from) = if n % 2 == 0 { (&a, &b) } else { (&b, &a) };
        assert_eq!(to.post(doc).status, 201, "{}", to.log());
        // No wait: the very next request, on the other server.
        let target = format!("/metadata/{id}");
        let reply = from.get(&target);
        assert_eq!(reply.status, 200, "{id} on the other server");
        assert!(
            reply.body == to.get(&target).body,
            "{id}: the same document on both"
        );
        assert_eq!(from.json("")["iTotalRecords"], n + 1);
    }
}

#[test]
fn a_thousand_uploads_from_32_clients_over_two_servers_are_listed_once_on_both() {
    if !pgkit::available() {
        return;
    }
    let docs = thousand();
    let (a, b, _) = pair(pgkit::shared(), "thousand");
    let servers = [&a, &b];
    let next = Mutex::new(0usize);
    let statuses = Mutex::new(vec![0u16; docs.len()]);
    std::thread::scope(|scope| {
        for client in 0..32 {
            let (next, statuses) = (&next, &statuses);
            let server = servers[client % 2];
            scope.spawn(move || loop {
                let i = {
                    let mut next = next.lock().unwrap();
                    *next += 1;
                    *next - 1
                };
                let Some((_, doc)) = docs.get(i) else { return };
                let status = server.post(doc).status;
                statuses.lock().unwrap()[i] = status;
            });
        }
    });
    let statuses = statuses.into_inner().unwrap();
    let refused: Vec<_> = statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| **s != 201)
        .collect();
    assert!(
        refused.is_empty(),
        "refused: {refused:?}\n{}\n{}",
        a.log(),
        b.log()
    );
    let expected: BTreeSet<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    for server in servers {
        let ids = listed(server);
        assert_eq!(ids.len(), 1000, "each listed once");
        assert_eq!(ids.into_iter().collect::<BTreeSet<_>>(), expected);
        assert_eq!(server.json("")["iTotalRecords"], 1000);
    }
}

/// `rounds` images, each in `versions` versions: `result[r][v]` is image
/// r's version v, endorsed at [`version_created`]`(v)`.
fn versions(rounds: usize, versions: usize) -> Vec<Vec<Vec<u8>>> {
    let base = &thousand()[..rounds];
    let dir = tempfile::tempdir().unwrap();
    let mut out = vec![Vec::new(); rounds];
    for v in 0..versions {
        let paths: Vec<_> = base
            .iter()
            .enumerate()
            .map(|(r, (_, doc))| {
                let path = dir.path().join(format!("r{r}-v{v}.xml"));
                std::fs::write(&path, doc).unwrap();
                path
            })
            .collect();
        let mut c = command(SIGN);
        c.args(["-q", "--p12-cert"])
            .arg(fixtures().join("test.p12"))
            .args(["--p12-password", PASSWORD])
            .args(&paths)
            .env("STRATUS_NOW", version_created(v));
        assert_ok(&run_with_input(c, b""), "stratus-sign-metadata (versions)");
        for (r, path) in paths.iter().enumerate() {
            out[r].push(std::fs::read(path).unwrap());
        }
    }
    out
}

fn version_created(v: usize) -> String {
    format!("2014-07-01T00:00:{v:02}Z")
}

#[test]
fn concurrent_versions_on_both_servers_leave_the_newest_as_latest_every_time() {
    if !pgkit::available() {
        return;
    }
    const ROUNDS: usize = 24;
    const VERSIONS: usize = 6;
    let images = versions(ROUNDS, VERSIONS);
    let (a, b, _) = pair(pgkit::shared(), "latest");
    let servers = [&a, &b];
    for (round, image) in images.iter().enumerate() {
        let id = &thousand()[round].0;
        let barrier = Barrier::new(VERSIONS);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let handles: Vec<_> = image
                .iter()
                .enumerate()
                .map(|(v, doc)| {
                    // Each round changes which server gets which version.
                    let server = servers[(v + round) % 2];
                    let barrier = &barrier;
                    scope.spawn(move || {
                        barrier.wait();
                        server.post(doc).status
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            statuses[VERSIONS - 1],
            201,
            "round {round}: the newest is never refused"
        );
        for (v, status) in statuses.iter().enumerate() {
            assert!(
                *status == 201 || *status == 400,
                "round {round}, version {v}: {status}"
            );
        }
        let newest = version_created(VERSIONS - 1);
        for server in servers {
            let latest = server.get(&format!("/metadata/{id}"));
            assert_eq!(latest.status, 200);
            assert!(
                latest.text().contains(&newest),
                "round {round}: latest is not the newest"
            );
            let listing = server.get(&format!("/metadata?identifier={id}"));
            assert_eq!(
                listed_created(&listing),
                vec![newest.clone()],
                "round {round}"
            );
        }
    }
}

/// Upload `docs` from 8 clients spread over `addrs` until told to stop;
/// the identifiers acknowledged (201) and the refusals seen, by status.
struct Burst {
    acknowledged: Arc<Mutex<Vec<String>>>,
    refusals: Arc<Mutex<HashMap<u16, usize>>>,
    stop: Arc<AtomicBool>,
    workers: Vec<std::thread::JoinHandle<()>>,
}

impl Burst {
    fn start(docs: &'static [(String, Vec<u8>)], addrs: Vec<std::net::SocketAddr>) -> Burst {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let refusals = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let next = Arc::new(Mutex::new(0usize));
        let workers = (0..8)
            .map(|client| {
                let (acknowledged, refusals, stop, next) = (
                    acknowledged.clone(),
                    refusals.clone(),
                    stop.clone(),
                    next.clone(),
                );
                let addr = addrs[client % addrs.len()];
                std::thread::spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let i = {
                            let mut next = next.lock().unwrap();
                            *next += 1;
                            *next - 1
                        };
                        let Some((id, doc)) = docs.get(i % docs.len()) else {
                            return;
                        };
                        match send_raw(addr, &upload_request(addr, doc)) {
                            Ok(reply) if reply.status == 201 => {
                                acknowledged.lock().unwrap().push(id.clone())
                            }
                            Ok(reply) => {
                                *refusals.lock().unwrap().entry(reply.status).or_default() += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Err(_) => std::thread::sleep(Duration::from_millis(20)),
                        }
                    }
                })
            })
            .collect();
        Burst {
            acknowledged,
            refusals,
            stop,
            workers,
        }
    }

    fn count(&self) -> usize {
        self.acknowledged.lock().unwrap().len()
    }

    /// Wait (bounded) until `more` further uploads are acknowledged.
    fn wait_for(&self, more: usize, what: &str) {
        let target = self.count() + more;
        let deadline = Instant::now() + Duration::from_secs(120);
        while self.count() < target {
            assert!(Instant::now() < deadline, "uploads stalled: {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn finish(self) -> (Vec<String>, HashMap<u16, usize>) {
        self.stop.store(true, Ordering::SeqCst);
        for worker in self.workers {
            worker.join().unwrap();
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        let refusals = self.refusals.lock().unwrap().clone();
        (acknowledged, refusals)
    }
}

/// Wait (bounded) until `server` answers `target` with 200.
fn wait_until_served(server: &Server, target: &str) -> Duration {
    let started = Instant::now();
    loop {
        if server.get(target).status == 200 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{target} not served again\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn kill_9_of_a_server_and_a_database_restart_mid_burst_lose_nothing_acknowledged() {
    if !pgkit::available() {
        return;
    }
    // Its own cluster: this test stops it.
    let cluster = Cluster::start();
    let (mut a, b, url) = pair(&cluster, "burst");
    let docs = &thousand()[..600];
    let burst = Burst::start(docs, vec![a.addr, b.addr]);
    burst.wait_for(60, "before kill -9");
    a.kill9();
    burst.wait_for(60, "on the surviving server after kill -9");
    // An immediate shutdown, as a crash: the database recovers from its log.
    cluster.stop(false);
    // While it is down: 503, saying why.
    let reply = b.get_as("/metadata", "application/xml");
    assert_eq!(reply.status, 503, "{}", reply.text());
    assert!(
        reply.error_text().contains("the database is unavailable"),
        "{}",
        reply.error_text()
    );
    cluster.restart();
    let recovered = wait_until_served(&b, "/metadata?media=json");
    eprintln!("served again {recovered:?} after the database restarted");
    burst.wait_for(60, "after the database restart");
    // A fast (clean) shutdown too, mid-burst.
    cluster.stop(true);
    std::thread::sleep(Duration::from_millis(300));
    cluster.restart();
    burst.wait_for(30, "after the second database restart");
    let (acknowledged, refusals) = burst.finish();
    eprintln!(
        "{} acknowledged, refusals by status: {refusals:?}",
        acknowledged.len()
    );
    for status in refusals.keys() {
        assert!(
            *status == 503 || *status == 200 || *status == 400,
            "unexpected status {status}: {refusals:?}\n{}",
            b.log()
        );
    }
    let a = server_on(&url);
    let expected: BTreeSet<&String> = acknowledged.iter().collect();
    for server in [&a, &b] {
        let listed: BTreeSet<String> = listed(server).into_iter().collect();
        for id in &expected {
            assert!(listed.contains(*id), "{id} was acknowledged but is lost");
        }
        assert!(listed.len() <= docs.len(), "no entry doubled");
    }
    // The store is whole: every stored signature verifies again.
    let scratch = tempfile::tempdir().unwrap();
    let mut c = server_command(scratch.path(), None);
    c.env("MARKETPLACE_STORE_TYPE", "postgres")
        .env("MARKETPLACE_STORE_URL", &url)
        .args(["check", "--data"])
        .arg(scratch.path().join("data"));
    let output = run_with_input(c, b"");
    assert_ok(&output, "check");
    drop(a);
}

/// The listings and documents to compare between two servers.
fn views(server: &Server, ids: &[&str]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = [
        "/metadata?media=json&status=all&iDisplayLength=5000",
        "/metadata?media=json",
        "/endorsers",
    ]
    .iter()
    .map(|path| server.get(path).body)
    .collect();
    for id in ids {
        let reply = server.get(&format!("/metadata/{id}?status=all"));
        assert_eq!(reply.status, 200, "{id}");
        out.push(reply.body);
    }
    out
}

#[test]
fn migrate_moves_a_sqlite_store_to_postgres_verifying_every_entry() {
    if !pgkit::available() {
        return;
    }
    let docs = &thousand()[..120];
    let data = tempfile::tempdir().unwrap();
    // On SQLite, whatever store this run's servers use by default.
    let mut sqlite = Server::options()
        .data(data.path())
        .env("MARKETPLACE_STORE_TYPE", "native")
        .start();
    for (_, doc) in docs {
        assert_eq!(sqlite.post(doc).status, 201);
    }
    for doc in [indate(), newer()] {
        assert_eq!(sqlite.post(&doc).status, 201);
    }
    let mut ids: Vec<&str> = docs.iter().map(|(id, _)| id.as_str()).collect();
    ids.push(BEE8);
    let expected = views(&sqlite, &ids);
    assert!(sqlite.stop().success());
    let url = pgkit::shared().create_database("migrated");
    let migrate = || {
        let scratch = tempfile::tempdir().unwrap();
        let mut c = server_command(scratch.path(), None);
        c.args(["migrate", "--from"])
            .arg(format!("sqlite:{}", data.path().display()))
            .arg("--to")
            .arg(format!("postgres:{url}"));
        run_with_input(c, b"")
    };
    let output = migrate();
    assert_ok(&output, "migrate");
    assert!(
        stdout(&output)
            .contains("migrated 122 entries (122 written, 0 already there, verified), skipped 0"),
        "{}",
        stdout(&output)
    );
    let postgres = server_on(&url);
    assert_eq!(views(&postgres, &ids), expected, "the same Marketplace");
    drop(postgres);
    // Again, the target named `postgres:` alone: the configured store,
    // its URL in the environment and not on the command line. Nothing to
    // write, every entry verified again.
    let scratch = tempfile::tempdir().unwrap();
    let mut c = server_command(scratch.path(), None);
    c.env("MARKETPLACE_STORE_TYPE", "postgres")
        .env("MARKETPLACE_STORE_URL", &url)
        .args(["migrate", "--from"])
        .arg(format!("sqlite:{}", data.path().display()))
        .args(["--to", "postgres:"]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "migrate again");
    assert!(
        stdout(&output).contains("(0 written, 122 already there, verified)"),
        "{}",
        stdout(&output)
    );
    // A document that no longer verifies is named and not moved (exit 1).
    let tampered_url = pgkit::shared().create_database("migrated_tampered");
    let scratch = tempfile::tempdir().unwrap();
    let sql = format!(
        "UPDATE entries SET document = convert_to(replace(convert_from(document, 'UTF8'), \
         'bulk document', 'bulk d0cument'), 'UTF8') \
         WHERE identifier = '{}'",
        docs[0].0
    );
    assert_eq!(pgkit::shared().psql("migrated", &sql), "UPDATE 1");
    let mut c = server_command(scratch.path(), None);
    c.args(["migrate", "--from"])
        .arg(format!("postgres:{url}"))
        .arg("--to")
        .arg(format!("postgres:{tampered_url}"));
    let output = run_with_input(c, b"");
    assert_code(&output, 1, "migrate of a tampered store");
    assert!(
        stderr(&output).contains(&format!("skipped {}/", docs[0].0)),
        "{}",
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("migrated 121 entries"),
        "{}",
        stdout(&output)
    );
    // Usage errors name the option.
    let output = market(&["migrate", "--from", "mysql:x", "--to", "postgres:y"]);
    assert_code(&output, 2, "bad --from");
    assert!(stderr(&output).contains("--from: expected sqlite:DIR, postgres:URL or postgres:"));
    // A misspelt scheme is named, its password hidden.
    for (given, shown) in [
        (
            "postgresql:postgres://stratus:s3cret@db.example.org/market",
            "postgresql:postgres://stratus:***@db.example.org/market",
        ),
        (
            "postgresql:host=db.example.org password='s3cret' dbname=market",
            "postgresql:host=db.example.org password=*** dbname=market",
        ),
    ] {
        let output = market(&["migrate", "--from", "sqlite:x", "--to", given]);
        assert_code(&output, 2, "bad --to");
        let text = stderr(&output);
        assert!(text.contains(shown) && !text.contains("s3cret"), "{text}");
    }
    // `postgres:` alone needs a configured PostgreSQL store.
    let output = market(&["migrate", "--from", "sqlite:x", "--to", "postgres:"]);
    assert_code(&output, 2, "postgres: without a configured store");
    assert!(
        stderr(&output).contains("no store.type=postgres"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_running_server_reads_its_database_again_after_a_restore_from_a_backup() {
    if !pgkit::available() {
        return;
    }
    let cluster = pgkit::shared();
    let url = cluster.create_database("restored");
    let server = server_on(&url);
    assert_eq!(server.post(&indate()).status, 201);
    let backup = cluster.dump("restored");
    assert_eq!(server.post(&newer()).status, 201);
    let latest = || listed_created(&server.get_as(&format!("/metadata/{BEE8}"), "application/xml"));
    assert_eq!(latest(), [NEWER_CREATED]);
    // The database goes back in time under the running server.
    cluster.restore("restored", &backup);
    assert_eq!(
        latest(),
        [INDATE_CREATED],
        "the version written after the backup is gone"
    );
    let (id, doc) = &thousand()[0];
    assert_eq!(server.post(doc).status, 201);
    let mut now = listed(&server);
    now.sort();
    let mut expected = vec![BEE8.to_string(), id.clone()];
    expected.sort();
    assert_eq!(now, expected, "a write after the restore is listed");
    assert!(
        server.log().contains("the database went back in time"),
        "logged: {}",
        server.log()
    );
}

#[test]
fn while_the_database_is_down_the_server_answers_503_then_recovers_by_itself() {
    if !pgkit::available() {
        return;
    }
    let cluster = Cluster::start();
    let url = cluster.create_database("down");
    let server = server_on(&url);
    let docs = &thousand()[..2];
    assert_eq!(server.post(&docs[0].1).status, 201);
    cluster.stop(true);
    for reply in [
        server.get_as("/metadata", "application/xml"),
        server.get_as(&format!("/metadata/{}", docs[0].0), "application/xml"),
        server.post(&docs[1].1),
    ] {
        assert_eq!(reply.status, 503, "{}", reply.text());
        // The reason stays in the server's log: the driver's text names
        // users and hosts.
        let message = reply.text();
        assert!(
            message.contains("the database is unavailable, try again later")
                && !message.contains("Connection refused")
                && !message.contains("127.0.0.1"),
            "{message}"
        );
    }
    let log = server.log();
    assert!(
        log.lines().any(|line| line.contains("GET /metadata")
            && line.contains("503")
            && line.contains("the database is unavailable")
            && line.contains("Connection refused")),
        "logged with the request: {log}"
    );
    cluster.restart();
    // The same process, no restart: served again, nothing lost.
    wait_until_served(&server, &format!("/metadata/{}", docs[0].0));
    assert_eq!(server.post(&docs[1].1).status, 201);
    assert_eq!(listed(&server).len(), 2);
}
