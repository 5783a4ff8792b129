//! Following other Marketplaces (`serve --follow URL`, `follow.peers`):
//! one task per peer pulls its change feed (`GET /changes`, JSON) and
//! commits what verifies (docs/REPLICATION.md).
//!
//! - Every entry is checked as a local upload is, by this server's own
//!   [`Checker`] (signature, endorser binding, constraints, RDF/XML, the
//!   signer's chain under this server's trust options, the endorsement
//!   rule) and this server's upload size limit. Nothing the peer says
//!   about an entry is used: the key comes from the verified document.
//! - A refused entry is logged with the peer, the claimed key and the
//!   reason, and skipped: the cursor moves past it, so one bad entry cannot
//!   stall the feed.
//! - What verifies is committed with [`Order::NewKeysOnly`]: older
//!   versions are kept as history and "latest" is recomputed, as for
//!   `import`, but a different document under a key already stored here
//!   is refused and the local one kept (a peer cannot replace what this
//!   Marketplace holds; two versions of one key on two Marketplaces
//!   following each other stay put instead of swapping forever). A
//!   byte-identical entry is no change ([`crate::store::Put::Unchanged`]),
//!   so entries coming back from a peer (A and B following each other)
//!   take no revision and are not fed back: loops converge.
//! - An entry whose endorsement time is more than a day ahead of this
//!   server's clock is refused, as an upload is (it would be "latest" of
//!   its identifier and e-mail for years).
//! - E-mail confirmation and the endorser whitelist do not apply: they
//!   decide whether a direct upload's sender controls the endorser's
//!   address, which the Marketplace that took the upload decided; the
//!   signature is what is verified here (legacy replicas mailed every
//!   endorser for every replicated entry, marketplace.md §5.4). So `serve`
//!   refuses to follow with `validate.email=true` and no trust anchors
//!   (peers would be a way around confirmation), and warns without
//!   anchors otherwise.
//! - After each committed page the peer's cursor is stored, so a restart
//!   resumes there; a crash between the commit and the cursor means the
//!   page is read again, and its entries are then unchanged.
//! - A peer that is down or answers anything but a valid feed page (or a
//!   page saying more follow but giving none) is retried after the poll
//!   interval doubled at each failure, up to a cap; the server goes on
//!   serving meanwhile.
//!
//! The HTTP client is the site side's ([`stratus_core::site::http`]): TLS
//! verified (the platform's CAs, or `follow.ca`), connect and read
//! timeouts and a deadline on each page ([`PAGE_DEADLINE`]), redirects
//! never from HTTPS to HTTP, and every answer read up to
//! [`max_page_bytes`] only.

use std::sync::Arc;
use std::time::Duration;

use stratus_core::site::http::{status_error, Client, HttpOptions, Proxies};
use tokio::sync::watch;

use crate::document::{Accepted, Checker};
use crate::feed::{self, BadPage, FeedEntry, Page};
use crate::store::{Order, Put, Store, StoreError};

/// The entries asked for in one request.
pub const PAGE_ENTRIES: usize = 500;
/// The largest feed page read when this server's upload limit is
/// `max_document_bytes`: the serving side stops a page once its documents
/// pass [`crate::http::changes::MAX_PAGE_BYTES`], so a page holds at most
/// that plus one document; JSON escaping may at most double it (a
/// document is mostly text, each `"` or `\n` two bytes). A page of a peer
/// whose upload limit is far above this server's may be refused as too
/// large: its documents would be refused here anyway.
pub fn max_page_bytes(max_document_bytes: u64) -> u64 {
    let documents = crate::http::changes::MAX_PAGE_BYTES as u64;
    documents
        .saturating_add(max_document_bytes)
        .saturating_mul(2)
        .saturating_add(64 * 1024)
}
/// How long connecting to a peer may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a peer may stay silent while answering.
const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// How long fetching one page may take in all (a peer sending a byte now
/// and then, never silent for [`READ_TIMEOUT`], is cut off here).
pub const PAGE_DEADLINE: Duration = Duration::from_secs(120);

/// How to follow peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FollowSettings {
    /// The peers' base URLs, each ending in `/` (`--follow`,
    /// `follow.peers`).
    pub peers: Vec<String>,
    /// How long to wait before asking a peer again once its feed is read
    /// to the end (`follow.interval`).
    pub interval: Duration,
    /// The longest wait between two attempts at a failing peer
    /// (`follow.backoff.max`).
    pub max_backoff: Duration,
    /// Trust only this CA bundle for peers reached over HTTPS
    /// (`follow.ca`; default: the platform's CAs).
    pub ca: Option<std::path::PathBuf>,
}

/// A peer's base URL as the cursor is stored under: `http://` or
/// `https://`, a host, no query or fragment, ending in `/`.
pub fn peer_base(url: &str) -> Result<String, String> {
    let url = url.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
        .ok_or("expected an http:// or https:// URL")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("the URL has no host".into());
    }
    let authority = rest.split('/').next().unwrap_or("");
    if authority.contains('@') {
        // A password would end up in logs and in the peers table.
        return Err(
            "the URL may not carry a user name or password (user@ or user:password@)".into(),
        );
    }
    if url.contains(['?', '#']) || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the URL may not have a query, a fragment or white space".into());
    }
    Ok(if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    })
}

/// Why a page could not be taken (then the peer is retried later, from
/// the same cursor).
#[derive(Debug)]
pub enum FollowError {
    /// The peer could not be reached or answered an error status.
    Fetch(String),
    /// The answer is not a valid feed page.
    Page(BadPage),
    /// The local store failed.
    Store(StoreError),
}

impl std::fmt::Display for FollowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FollowError::Fetch(detail) => f.write_str(detail),
            FollowError::Page(error) => error.fmt(f),
            FollowError::Store(error) => write!(f, "store: {error}"),
        }
    }
}

impl std::error::Error for FollowError {}

impl From<StoreError> for FollowError {
    fn from(error: StoreError) -> Self {
        FollowError::Store(error)
    }
}

/// What one page did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    /// The cursor now.
    pub cursor: u64,
    /// Whether the peer has more already.
    pub more: bool,
    /// Entries on the page.
    pub entries: usize,
    /// Committed as new keys.
    pub created: usize,
    /// Committed over an earlier document of the same key.
    pub replaced: usize,
    /// Already here, byte for byte.
    pub unchanged: usize,
    /// Refused by the checks.
    pub refused: usize,
    /// The peer's store is behind the cursor (it was replaced): the cursor
    /// went back to 0.
    pub reset: bool,
}

/// One followed peer.
pub struct Follower {
    /// The peer's base URL (ends in `/`).
    pub peer: String,
    store: Arc<dyn Store>,
    checker: Arc<Checker>,
    client: Client,
    max_document_bytes: u64,
}

impl Follower {
    /// A follower of `peer` committing into `store` what `checker` accepts
    /// (documents up to `max_document_bytes`).
    pub fn new(
        peer: String,
        store: Arc<dyn Store>,
        checker: Arc<Checker>,
        client: Client,
        max_document_bytes: u64,
    ) -> Follower {
        Follower {
            peer,
            store,
            checker,
            client,
            max_document_bytes,
        }
    }

    /// The HTTP client for peers.
    pub fn client(ca: Option<std::path::PathBuf>) -> Result<Client, String> {
        client_with(ca, READ_TIMEOUT, PAGE_DEADLINE)
    }

    /// Fetch, check and commit the page after `cursor` (blocking).
    pub fn step(&self, cursor: u64) -> Result<Progress, FollowError> {
        let checked = self.prepare(cursor)?;
        self.commit(cursor, checked)
    }

    /// Fetch the page after `cursor`, check its shape and every entry
    /// (blocking; the store is not touched, so this can run while the
    /// previous page is committed). Refused entries are logged here.
    pub fn prepare(&self, cursor: u64) -> Result<Checked, FollowError> {
        let page = self.fetch(cursor)?;
        let mut checked = Checked {
            next: page.next,
            more: page.more,
            revision: page.revision,
            entries: page.entries.len(),
            batch: Vec::with_capacity(page.entries.len()),
            refused: 0,
        };
        if page.revision < cursor {
            return Ok(checked);
        }
        let verdicts = verify_all(&self.checker, &page.entries, self.max_document_bytes);
        for (entry, verdict) in page.entries.iter().zip(verdicts) {
            match verdict {
                Ok(accepted) => {
                    let key = accepted.entry.key.to_string();
                    if key != entry.claimed_key {
                        tracing::warn!(
                            "peer {}: entry {} claimed key {} but the document's key is {key}; stored under {key}",
                            self.peer,
                            entry.sequence,
                            entry.claimed_key
                        );
                    }
                    checked.batch.push((accepted.entry, accepted.document));
                }
                Err(reason) => {
                    checked.refused += 1;
                    tracing::warn!(
                        "peer {}: refused entry {} (claimed key {}): {reason}",
                        self.peer,
                        entry.sequence,
                        entry.claimed_key
                    );
                }
            }
        }
        Ok(checked)
    }

    /// Fetch the page after `cursor` and check its shape (blocking).
    fn fetch(&self, cursor: u64) -> Result<Page, FollowError> {
        let url = format!("{}changes?since={cursor}&limit={PAGE_ENTRIES}", self.peer);
        let reply = self
            .client
            .get(&url, &[("Accept", "application/json")])
            .map_err(|e| FollowError::Fetch(e.to_string()))?;
        if reply.status != 200 {
            return Err(FollowError::Fetch(status_error("GET", reply).to_string()));
        }
        let body = reply
            .read_limited(max_page_bytes(self.max_document_bytes))
            .map_err(|e| FollowError::Fetch(e.to_string()))?;
        feed::parse_json(&body, cursor, PAGE_ENTRIES).map_err(FollowError::Page)
    }

    /// Commit what verified of a page prepared after `cursor`, then store
    /// the cursor (blocking).
    pub fn commit(&self, cursor: u64, checked: Checked) -> Result<Progress, FollowError> {
        if checked.revision < cursor {
            tracing::warn!(
                "peer {}: its feed ends at {}, before this server's cursor {cursor} (was its store replaced?): reading it again from 0",
                self.peer,
                checked.revision
            );
            self.store.set_peer_cursor(&self.peer, 0)?;
            // Not "more": the feed is read again after the interval, so a
            // peer claiming this on every page cannot make a tight loop.
            return Ok(Progress {
                reset: true,
                ..Progress::default()
            });
        }
        let mut progress = Progress {
            cursor: checked.next,
            more: checked.more,
            entries: checked.entries,
            refused: checked.refused,
            ..Progress::default()
        };
        if !checked.batch.is_empty() {
            let keys: Vec<String> = checked
                .batch
                .iter()
                .map(|(e, _)| e.key.to_string())
                .collect();
            let results = self.store.put_many(checked.batch, Order::NewKeysOnly)?;
            for (key, result) in keys.iter().zip(results) {
                match result {
                    Ok(Put::Created) => progress.created += 1,
                    Ok(Put::Replaced) => progress.replaced += 1,
                    Ok(Put::Unchanged) => progress.unchanged += 1,
                    Err(error) => {
                        progress.refused += 1;
                        tracing::warn!("peer {}: refused entry {key}: {error}", self.peer);
                    }
                }
            }
        }
        if checked.next != cursor {
            self.store.set_peer_cursor(&self.peer, checked.next)?;
        }
        Ok(progress)
    }
}

/// A fetched page, its entries checked: what [`Follower::commit`] takes.
#[derive(Debug)]
pub struct Checked {
    /// The page's `next`.
    pub next: u64,
    /// The page's `more`.
    pub more: bool,
    /// The page's `revision`.
    pub revision: u64,
    /// The entries on the page.
    pub entries: usize,
    /// What verified, in page order.
    batch: Vec<(crate::entry::Entry, Vec<u8>)>,
    /// How many were refused.
    refused: usize,
}

/// Check one entry as an upload.
fn verify(checker: &Checker, entry: &FeedEntry, limit: u64) -> Result<Accepted, String> {
    if entry.document.len() as u64 > limit {
        return Err(format!(
            "the document is larger than this server's upload limit of {limit} bytes"
        ));
    }
    checker
        .check(&entry.document, &format!("entry {}", entry.sequence))
        .map_err(|refusal| refusal.to_string())
}

/// Check every entry of a page, on every core, verdicts in page order.
/// Each thread takes the next unchecked entry, so a thread that the
/// machine slows down does not hold the others back.
fn verify_all(
    checker: &Checker,
    entries: &[FeedEntry],
    limit: u64,
) -> Vec<Result<Accepted, String>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 8);
    if threads == 1 || entries.len() < 2 * threads {
        return entries.iter().map(|e| verify(checker, e, limit)).collect();
    }
    let next = AtomicUsize::new(0);
    let mut verdicts: Vec<Option<Result<Accepted, String>>> = Vec::with_capacity(entries.len());
    verdicts.resize_with(entries.len(), || None);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let index = next.fetch_add(1, Ordering::Relaxed);
                        let Some(entry) = entries.get(index) else {
                            return done;
                        };
                        done.push((index, verify(checker, entry, limit)));
                    }
                })
            })
            .collect();
        for worker in workers {
            // A worker that panicked leaves its entries unchecked (below).
            for (index, verdict) in worker.join().unwrap_or_default() {
                verdicts[index] = Some(verdict);
            }
        }
    });
    verdicts
        .into_iter()
        .map(|v| v.unwrap_or_else(|| Err("internal error: the check of this entry failed".into())))
        .collect()
}

/// The wait after the `failures`-th failure in a row: the interval,
/// doubled each time, at most `max`.
pub fn backoff(interval: Duration, max: Duration, failures: u32) -> Duration {
    let factor = 2u32.saturating_pow(failures.saturating_sub(1).min(20));
    interval.saturating_mul(factor).min(max.max(interval))
}

/// Follow one peer until `stop` turns true (or its sender goes).
///
/// While a page is committed, the next one (when the peer said more
/// follow) is already being fetched and checked: the peer's work, the
/// transfer and the checks overlap the commit.
pub async fn run(
    follower: Arc<Follower>,
    interval: Duration,
    max_backoff: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let peer = follower.peer.clone();
    let mut cursor: Option<u64> = None;
    let mut failures = 0u32;
    let mut prefetched: Option<(u64, tokio::task::JoinHandle<Result<Checked, FollowError>>)> = None;
    loop {
        if *stop.borrow() {
            break;
        }
        let from = match cursor {
            Some(cursor) => cursor,
            None => match read_cursor(&follower).await {
                Ok(stored) => {
                    tracing::info!("following {peer} from cursor {stored}");
                    cursor = Some(stored);
                    stored
                }
                Err(error) => {
                    failures = failures.saturating_add(1);
                    let delay = backoff(interval, max_backoff, failures);
                    tracing::warn!(
                        "peer {peer}: {error}; retrying in {} s",
                        delay.as_secs_f64()
                    );
                    if pause(delay, &mut stop).await {
                        break;
                    }
                    continue;
                }
            },
        };
        let fetched = match prefetched.take() {
            Some((at, handle)) if at == from => joined(handle.await),
            _ => {
                let worker = follower.clone();
                joined(tokio::task::spawn_blocking(move || worker.prepare(from)).await)
            }
        };
        let outcome = match fetched {
            Ok(page) => {
                if page.more && page.revision >= from && page.next > from {
                    let (next, worker) = (page.next, follower.clone());
                    let handle = tokio::task::spawn_blocking(move || worker.prepare(next));
                    prefetched = Some((next, handle));
                }
                let worker = follower.clone();
                joined(tokio::task::spawn_blocking(move || worker.commit(from, page)).await)
            }
            Err(error) => Err(error),
        };
        let outcome = outcome.and_then(|progress| made_progress(from, progress));
        let wait = match outcome {
            Ok(progress) => {
                if failures > 0 {
                    tracing::info!("peer {peer} answers again: resumed from cursor {from}");
                }
                failures = 0;
                report(&peer, &progress);
                cursor = Some(progress.cursor);
                if progress.more {
                    Duration::ZERO
                } else {
                    interval
                }
            }
            Err(error) => {
                // A page fetched ahead is of no use if this one failed.
                prefetched = None;
                failures = failures.saturating_add(1);
                let delay = backoff(interval, max_backoff, failures);
                tracing::warn!(
                    "peer {peer}: {error}; retrying in {} s (failure {failures} in a row)",
                    delay.as_secs_f64()
                );
                delay
            }
        };
        if !wait.is_zero() && pause(wait, &mut stop).await {
            break;
        }
    }
}

/// A page that says more follow but gives no entry is a failure (so the
/// backoff applies): otherwise a peer answering it again and again would
/// be asked again at once, in a tight loop.
fn made_progress(from: u64, progress: Progress) -> Result<Progress, FollowError> {
    if progress.more && progress.entries == 0 && !progress.reset {
        return Err(FollowError::Page(BadPage(format!(
            "'more' is true but the page has no entry (since {from}, next {})",
            progress.cursor
        ))));
    }
    Ok(progress)
}

/// A client for peers: TLS as the site side's, `read_timeout` on each
/// read, `deadline` on each request as a whole.
fn client_with(
    ca: Option<std::path::PathBuf>,
    read_timeout: Duration,
    deadline: Duration,
) -> Result<Client, String> {
    Client::new(HttpOptions {
        ca_bundle: ca,
        insecure: false,
        connect_timeout: CONNECT_TIMEOUT,
        read_timeout,
        overall_timeout: Some(deadline),
        proxies: Proxies::from_env(),
    })
    .map_err(|e| e.to_string())
}

/// The stored cursor of the follower's peer.
async fn read_cursor(follower: &Arc<Follower>) -> Result<u64, FollowError> {
    let worker = follower.clone();
    joined(tokio::task::spawn_blocking(move || Ok(worker.store.peer_cursor(&worker.peer)?)).await)
}

/// The result of a blocking task, its failure an error like any other.
fn joined<T>(
    result: Result<Result<T, FollowError>, tokio::task::JoinError>,
) -> Result<T, FollowError> {
    result.unwrap_or_else(|e| Err(FollowError::Fetch(format!("the follower failed: {e}"))))
}

/// Sleep for `wait`; whether `stop` came first.
async fn pause(wait: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(wait) => false,
        _ = stop.changed() => true,
    }
}

fn report(peer: &str, progress: &Progress) {
    if progress.entries == 0 {
        return;
    }
    tracing::info!(
        "peer {peer}: {} entries, cursor {}: {} new, {} replaced, {} unchanged, {} refused{}",
        progress.entries,
        progress.cursor,
        progress.created,
        progress.replaced,
        progress.unchanged,
        progress.refused,
        if progress.more { ", more follow" } else { "" }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_urls_are_normalised_or_refused() {
        assert_eq!(
            peer_base("http://a.example.org:9204").unwrap(),
            "http://a.example.org:9204/"
        );
        assert_eq!(
            peer_base("https://a.example.org/marketplace/").unwrap(),
            "https://a.example.org/marketplace/"
        );
        for bad in [
            "http://jane:secret@a.example.org/",
            "https://jane@a.example.org:9204/",
            "ftp://a/",
            "http://",
            "http:///x",
            "http://a/?x=1",
            "a.example.org",
        ] {
            assert!(peer_base(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn more_without_entries_is_a_failure() {
        let empty = Progress {
            cursor: 5,
            more: true,
            ..Progress::default()
        };
        assert!(made_progress(5, empty.clone()).is_err());
        let advanced = Progress {
            cursor: 9,
            ..empty.clone()
        };
        assert!(made_progress(5, advanced).is_err());
        let some = Progress {
            entries: 1,
            ..empty.clone()
        };
        assert!(made_progress(5, some).is_ok());
        let end = Progress {
            more: false,
            ..empty
        };
        assert!(made_progress(5, end).is_ok());
    }

    #[test]
    fn a_page_fetch_has_an_overall_deadline() {
        use std::io::{Read, Write};
        // A peer that answers one byte of body a second, forever (each
        // read gets data well within the read timeout).
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        let server = std::thread::spawn(move || {
            let (mut socket, _) = listener.accept().unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request);
            let _ = socket.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
            );
            for _ in 0..60 {
                if stopped.load(std::sync::atomic::Ordering::Relaxed)
                    || socket.write_all(b" ").is_err()
                {
                    return;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        });
        let client = client_with(None, Duration::from_secs(30), Duration::from_secs(2)).unwrap();
        let url = format!("http://{address}/changes");
        let result = client
            .get(&url, &[])
            .and_then(|reply| reply.read_limited(1 << 20));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let error = result.expect_err("the trickle must be cut off").to_string();
        assert!(error.contains("timed out"), "{error}");
        server.join().unwrap();
    }

    #[test]
    fn the_page_limit_follows_the_upload_limit() {
        let mib = 1024 * 1024;
        assert!(max_page_bytes(mib) >= 2 * (8 * mib + mib));
        assert!(max_page_bytes(mib) < 20 * mib);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let waits: Vec<_> = (1..=6).map(|n| backoff(s(2), s(20), n)).collect();
        assert_eq!(waits, [s(2), s(4), s(8), s(16), s(20), s(20)]);
        assert_eq!(backoff(s(2), s(20), u32::MAX), s(20));
    }
}
