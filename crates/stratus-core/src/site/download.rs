//! Downloading an image and verifying it against its signed metadata
//! (client.md §11, with the legacy gaps closed).
//!
//! The locations are tried in document order. Each is streamed in one
//! pass: the HTTP body is decompressed (gzip, bzip2, xz, recognised by
//! their magic bytes), and the decompressed bytes are hashed with every
//! digest the metadata lists and written to a temporary file beside the
//! target, on threads of their own ([`digest::stream_info_to`]); the image
//! is never held in memory. More decompressed bytes than `slreq:bytes`
//! stop the transfer at once, and so do more compressed bytes than such an
//! image can take. Only when the size and every checksum match is the file
//! renamed to the target: a failure leaves no file at the target and no
//! temporary file behind.
//!
//! A location that answers with an error, stops answering (the read
//! timeout) or serves other bytes is left for the next one, and the
//! reason kept ([`Attempt`]). A connection that drops is resumed with a
//! range request from the byte reached; a server that ignores ranges is
//! read again from the start, the bytes already hashed skipped. Nothing is
//! hashed twice.
//!
//! With a [`Cache`], a verified image is kept under its SHA-512 (or SHA-1)
//! and later requests are served from it after verifying it again, with no
//! network. `format` converts the verified image with `qemu-img convert`,
//! told the signed `dcterms:format` (never probing, which a crafted raw
//! image could abuse).

use super::cache::Cache;
use super::error::Attempt;
use super::http::{io_detail, Client};
use super::policy::document_checksums;
use super::SiteError;
use crate::document::manifest::Manifest;
use crate::image::compress::{self, Compression};
use crate::image::digest::{self, Algorithm, StreamError, StreamInfo};
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Resumes after a dropped connection, in all, for one location.
const MAX_RESUMES: u32 = 16;
/// Resumes in a row that deliver nothing before the location is given up.
const MAX_FRUITLESS: u32 = 2;
/// Stalls (read timeouts) tolerated for one location.
const MAX_STALLS: u32 = 2;

/// Where a verified image goes.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The file to write (atomically).
    pub output: Option<PathBuf>,
    /// The cache to read from and add to.
    pub cache: Option<Cache>,
    /// Convert the output to this format (`qcow2` or `raw`).
    pub format: Option<String>,
}

/// What happens during [`fetch`], for progress reports.
#[derive(Debug)]
pub enum Event<'a> {
    /// The cache holds the image and it verified.
    CacheHit(&'a Path),
    /// The cache held a file under the image's key that did not verify:
    /// it was removed.
    CacheStale(&'a Path, &'a str),
    /// Trying a location.
    Trying(&'a str),
    /// A dropped connection was resumed at `offset` (or, when the server
    /// ignored the range, read again from the start).
    Resumed {
        /// The location.
        url: &'a str,
        /// The byte (of the transfer) reached.
        offset: u64,
        /// The server ignored the range: the transfer started again.
        restarted: bool,
        /// Why the connection was reopened.
        why: &'a str,
    },
    /// A location failed.
    Failed(&'a Attempt),
    /// Bytes of the image (decompressed) verified so far, of `total`.
    Progress {
        /// Done.
        done: u64,
        /// The image's size.
        total: u64,
    },
}

/// Who served the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Served {
    /// The cache, after verification.
    Cache,
    /// This location.
    Location(String),
}

/// A verified image on the local disk.
#[derive(Debug, Clone)]
pub struct LocalImage {
    /// The output file, when one was asked for.
    pub output: Option<PathBuf>,
    /// The file in the cache, when there is a cache.
    pub cached: Option<PathBuf>,
    /// Who served it.
    pub served_by: Served,
    /// The image identifier.
    pub identifier: String,
    /// Its (decompressed) size.
    pub bytes: u64,
    /// The digests it was verified with.
    pub verified: Vec<Algorithm>,
    /// The disk format of the output (or of the cached file).
    pub format: String,
}

impl LocalImage {
    /// The file to use: the output, else the cached file.
    pub fn path(&self) -> &Path {
        self.output
            .as_deref()
            .or(self.cached.as_deref())
            .unwrap_or(Path::new(""))
    }
}

/// The size and digests an image must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// `slreq:bytes`, or the most an image URL may deliver (see `exact`).
    pub bytes: u64,
    /// Whether `bytes` is the image's size (signed metadata), rather than
    /// only a bound on it (an image URL, whose size nobody signed).
    pub exact: bool,
    /// Each checksum the metadata lists with an algorithm known here,
    /// lower-case, full width.
    pub digests: Vec<(Algorithm, String)>,
}

impl Expected {
    /// What `manifest` promises. A checksum that is not hexadecimal makes
    /// the metadata unusable; one of an unknown algorithm is left out.
    pub fn of(manifest: &Manifest) -> Result<Expected, SiteError> {
        let mut digests: Vec<(Algorithm, String)> = Vec::new();
        for (name, value) in document_checksums(manifest) {
            let Some(algorithm) = Algorithm::from_legacy_name(&name) else {
                continue;
            };
            if value.len() != algorithm.hex_len() || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(SiteError::BadInput {
                    what: "the metadata".into(),
                    value: format!("{name} {value}"),
                    reason: format!(
                        "not a {name} checksum ({} hexadecimal digits)",
                        algorithm.hex_len()
                    ),
                });
            }
            match digests.iter().find(|(a, _)| *a == algorithm) {
                Some((_, other)) if *other != value => {
                    return Err(SiteError::BadInput {
                        what: "the metadata".into(),
                        value: name,
                        reason: "two different checksums of the same algorithm".into(),
                    })
                }
                Some(_) => {}
                None => digests.push((algorithm, value)),
            }
        }
        if digests.is_empty() {
            return Err(SiteError::BadInput {
                what: "the metadata".into(),
                value: manifest.identifier.clone(),
                reason: "no MD5, SHA-1, SHA-256 or SHA-512 checksum to verify the image with"
                    .into(),
            });
        }
        Ok(Expected {
            bytes: manifest.bytes,
            exact: true,
            digests,
        })
    }

    /// The algorithms to compute.
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.digests.iter().map(|(a, _)| *a).collect()
    }

    /// Whether `info` is this image; else what differs.
    pub fn compare(&self, info: &StreamInfo) -> Result<(), String> {
        if self.exact && info.bytes != self.bytes {
            return Err(format!(
                "{} bytes, the metadata says {}",
                info.bytes, self.bytes
            ));
        }
        for (algorithm, value) in &self.digests {
            let actual = info.hex(*algorithm).unwrap_or("");
            if actual != value {
                return Err(format!(
                    "{algorithm} is {actual}, the metadata says {value}"
                ));
            }
        }
        Ok(())
    }
}

/// Download and verify the image of `manifest` (a verified, accepted
/// entry) into `options`' output and cache.
pub fn fetch(
    client: &Client,
    manifest: &Manifest,
    options: &Options,
    events: &mut dyn FnMut(Event),
) -> crate::error::Result<LocalImage> {
    let expected = Expected::of(manifest)?;
    let source_format = signed_format(manifest);
    if let Some(format) = &options.format {
        check_format(format)?;
    }
    let mut image = LocalImage {
        output: None,
        cached: None,
        served_by: Served::Cache,
        identifier: manifest.identifier.clone(),
        bytes: expected.bytes,
        verified: expected.algorithms(),
        format: source_format.clone(),
    };
    let (verified, temporary) = match &options.cache {
        Some(cache) => match cache.lookup(&expected, events)? {
            Some(path) => {
                events(Event::CacheHit(&path));
                (path, None)
            }
            None => {
                let (url, temp) =
                    from_locations(client, manifest, &expected, &cache.staging()?, events)?;
                image.served_by = Served::Location(url);
                (cache.insert(temp, &expected)?, None)
            }
        },
        None => {
            let output = options
                .output
                .as_deref()
                .ok_or_else(|| SiteError::BadInput {
                    what: "the download".into(),
                    value: manifest.identifier.clone(),
                    reason: "neither an output file nor a cache was given".into(),
                })?;
            let (url, temp) =
                from_locations(client, manifest, &expected, &parent_of(output), events)?;
            image.served_by = Served::Location(url);
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    if options.cache.is_some() {
        image.cached = Some(verified.clone());
    }
    if let Some(output) = &options.output {
        deliver(
            &verified,
            temporary,
            output,
            &source_format,
            options.format.as_deref(),
        )?;
        image.output = Some(output.clone());
        if let Some(format) = &options.format {
            image.format = format.clone();
        }
    }
    Ok(image)
}

/// The most bytes an image fetched from an image URL may have
/// (decompressed): no signed size bounds it, this does.
pub const IMAGE_URL_LIMIT: u64 = 64 << 30;

/// Download the image at `url`, which has no signed metadata, into
/// `output` (atomically), checked against `digests` when there are any
/// (the user's `--checksum`): the same streaming, decompression, limits
/// and resumption as [`fetch`], with [`IMAGE_URL_LIMIT`] for a size. With
/// no digests nothing is verified: the caller must have said so to its
/// user. Returns the digests computed.
pub fn fetch_url(
    client: &Client,
    url: &str,
    digests: &[(Algorithm, String)],
    output: &Path,
    events: &mut dyn FnMut(Event),
) -> crate::error::Result<Vec<(Algorithm, String)>> {
    let expected = Expected {
        bytes: IMAGE_URL_LIMIT,
        exact: false,
        digests: digests.to_vec(),
    };
    events(Event::Trying(url));
    match try_location(client, url, &expected, &parent_of(output), events) {
        Ok(temp) => {
            set_mode(temp.path(), 0o666)?;
            temp.persist(output)
                .map_err(|e| crate::Error::io(output, e.error))?;
            Ok(expected.digests)
        }
        Err(Failure::Skip(attempt)) => {
            events(Event::Failed(&attempt));
            Err(SiteError::NoImage {
                identifier: url.to_string(),
                attempts: vec![attempt],
            }
            .into())
        }
        Err(Failure::Fatal(error)) => Err(error),
    }
}

/// The signed disk format (`raw` when the metadata leaves it empty).
fn signed_format(manifest: &Manifest) -> String {
    manifest
        .terms
        .format
        .as_deref()
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .unwrap_or("raw")
        .to_ascii_lowercase()
}

fn check_format(format: &str) -> Result<(), SiteError> {
    if matches!(format, "qcow2" | "raw") {
        return Ok(());
    }
    Err(SiteError::BadInput {
        what: "--format".into(),
        value: format.into(),
        reason: "qcow2 or raw".into(),
    })
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Try every location; the first that serves the image, verified, in a
/// temporary file in `dir`.
fn from_locations(
    client: &Client,
    manifest: &Manifest,
    expected: &Expected,
    dir: &Path,
    events: &mut dyn FnMut(Event),
) -> crate::error::Result<(String, tempfile::NamedTempFile)> {
    let mut attempts = Vec::new();
    let mut seen = Vec::new();
    for url in manifest.terms.locations.iter().map(|l| l.trim()) {
        if url.is_empty() || seen.contains(&url) {
            continue;
        }
        seen.push(url);
        events(Event::Trying(url));
        match try_location(client, url, expected, dir, events) {
            Ok(temp) => return Ok((url.to_string(), temp)),
            Err(Failure::Skip(attempt)) => {
                events(Event::Failed(&attempt));
                attempts.push(attempt);
            }
            Err(Failure::Fatal(error)) => return Err(error),
        }
    }
    Err(SiteError::NoImage {
        identifier: manifest.identifier.clone(),
        attempts,
    }
    .into())
}

enum Failure {
    /// This location did not serve the image: try the next.
    Skip(Attempt),
    /// A local failure (the disk): stop.
    Fatal(crate::Error),
}

fn skip(url: &str, mismatch: bool, detail: String) -> Failure {
    Failure::Skip(Attempt {
        url: url.to_string(),
        mismatch,
        detail,
    })
}

/// The most compressed bytes an image of `bytes` bytes can take: the
/// formats' worst expansion of incompressible data is far below 1/8.
fn transfer_limit(bytes: u64) -> u64 {
    bytes.saturating_add(bytes / 8).saturating_add(1 << 20)
}

fn try_location(
    client: &Client,
    url: &str,
    expected: &Expected,
    dir: &Path,
    events: &mut dyn FnMut(Event),
) -> Result<tempfile::NamedTempFile, Failure> {
    let notes = Arc::new(Mutex::new(Notes::default()));
    let limit = transfer_limit(expected.bytes);
    let stream = Transfer::open(client, url, limit, Arc::clone(&notes))
        .map_err(|(mismatch, detail)| skip(url, mismatch, detail))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".stratus-download-")
        .tempfile_in(dir)
        .map_err(|e| Failure::Fatal(crate::Error::io(dir, e)))?;
    let over = Arc::new(AtomicBool::new(false));
    let buffered = BufReader::with_capacity(1 << 16, stream);
    let (compression, decoder) = match compress::open_reader(buffered) {
        Ok(opened) => opened,
        Err(e) => {
            return Err(stream_failure(
                url,
                &notes,
                format!("reading: {}", io_detail(&e)),
            ))
        }
    };
    let bounded = Bounded {
        inner: decoder,
        left: expected.bytes,
        over: Arc::clone(&over),
    };
    let total = expected.bytes;
    let mut report = |done: u64| {
        drain(&notes, url, events);
        events(Event::Progress { done, total });
    };
    let outcome = digest::stream_info_to(
        bounded,
        &expected.algorithms(),
        temp.as_file_mut(),
        &mut report,
    );
    drain(&notes, url, events);
    let info = match outcome {
        Ok(info) => info,
        Err(StreamError::Write(e)) => return Err(Failure::Fatal(crate::Error::io(temp.path(), e))),
        Err(StreamError::Read(_)) if over.load(Ordering::Relaxed) => {
            return Err(skip(
                url,
                true,
                match expected.exact {
                    true => format!("more than the {} bytes the metadata gives", expected.bytes),
                    false => format!(
                        "more than {} bytes, the limit of an image URL",
                        expected.bytes
                    ),
                },
            ))
        }
        Err(StreamError::Read(e)) => {
            let detail = match compression {
                Compression::None => format!("reading: {}", io_detail(&e)),
                other => format!("corrupt {other} data: {e}"),
            };
            return Err(stream_failure(url, &notes, detail));
        }
    };
    expected.compare(&info).map_err(|detail| {
        skip(
            url,
            true,
            match expected.exact {
                true => format!("not the image of the metadata: {detail}"),
                false => format!(
                    "not the image of --checksum: {}",
                    detail.replace("the metadata says", "--checksum says")
                ),
            },
        )
    })?;
    Ok(temp)
}

/// The failure of a transfer: what the stream recorded (the network, or
/// too many bytes), else `detail` (the decoder: the bytes are wrong).
fn stream_failure(url: &str, notes: &Mutex<Notes>, detail: String) -> Failure {
    match notes.lock().map(|mut n| n.failure.take()) {
        Ok(Some(StreamFailure::Network(why))) => skip(url, false, why),
        Ok(Some(StreamFailure::TooLong(limit))) => skip(
            url,
            true,
            format!("the server sent more than {limit} bytes, more than the image can take"),
        ),
        _ => skip(url, true, detail),
    }
}

fn drain(notes: &Mutex<Notes>, url: &str, events: &mut dyn FnMut(Event)) {
    let resumed = match notes.lock() {
        Ok(mut notes) => std::mem::take(&mut notes.resumed),
        Err(_) => return,
    };
    for (offset, restarted, why) in resumed {
        events(Event::Resumed {
            url,
            offset,
            restarted,
            why: &why,
        });
    }
}

/// What a transfer tells the downloader from inside the decoder.
#[derive(Default)]
struct Notes {
    resumed: Vec<(u64, bool, String)>,
    failure: Option<StreamFailure>,
}

enum StreamFailure {
    Network(String),
    TooLong(u64),
}

/// The decompressed stream, refused past `left` bytes.
struct Bounded<R> {
    inner: R,
    left: u64,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // One byte more than allowed is enough to know.
        let room = (self.left + 1).min(buf.len() as u64) as usize;
        let n = self.inner.read(&mut buf[..room])?;
        if n as u64 > self.left {
            self.over.store(true, Ordering::Relaxed);
            return Err(io::Error::other("more bytes than the metadata gives"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// One location's HTTP body, resumed with range requests when the
/// connection drops.
struct Transfer {
    client: Client,
    url: String,
    body: Box<dyn Read + Send>,
    offset: u64,
    end: Option<u64>,
    limit: u64,
    resumes: u32,
    fruitless: u32,
    stalls: u32,
    delivered: bool,
    notes: Arc<Mutex<Notes>>,
}

impl Transfer {
    /// `GET url`: a 200 answer, or `(mismatch, why)`.
    fn open(
        client: &Client,
        url: &str,
        limit: u64,
        notes: Arc<Mutex<Notes>>,
    ) -> Result<Transfer, (bool, String)> {
        let reply = client
            .get(url, &[])
            .map_err(|e| (false, unprefixed(&e, url)))?;
        if reply.status != 200 {
            return Err((false, status_text(reply)));
        }
        let end = reply.content_length();
        if end.is_some_and(|end| end > limit) {
            return Err((
                true,
                format!(
                    "the server announces {} bytes, more than the image can take ({limit})",
                    end.unwrap_or(0)
                ),
            ));
        }
        Ok(Transfer {
            client: client.clone(),
            url: url.to_string(),
            body: Box::new(reply.body.into_reader()),
            offset: 0,
            end,
            limit,
            resumes: 0,
            fruitless: 0,
            stalls: 0,
            delivered: false,
            notes,
        })
    }

    fn fail(&self, failure: StreamFailure) -> io::Error {
        let text = match &failure {
            StreamFailure::Network(why) => why.clone(),
            StreamFailure::TooLong(_) => "too many bytes".into(),
        };
        if let Ok(mut notes) = self.notes.lock() {
            notes.failure = Some(failure);
        }
        io::Error::other(text)
    }

    /// Reopen after `why`, from `offset`.
    fn resume(&mut self, mut why: String, stalled: bool) -> io::Result<()> {
        loop {
            if stalled {
                self.stalls += 1;
            }
            if self.delivered {
                self.fruitless = 0;
            } else {
                self.fruitless += 1;
            }
            self.resumes += 1;
            if self.stalls >= MAX_STALLS
                || self.fruitless > MAX_FRUITLESS
                || self.resumes > MAX_RESUMES
            {
                return Err(self.fail(StreamFailure::Network(format!(
                    "{why} at byte {} (given up after {} attempts to resume)",
                    self.offset,
                    self.resumes - 1
                ))));
            }
            self.delivered = false;
            match self.reopen() {
                Ok(restarted) => {
                    if let Ok(mut notes) = self.notes.lock() {
                        notes.resumed.push((self.offset, restarted, why));
                    }
                    return Ok(());
                }
                Err(ReopenError::Final(failure)) => return Err(self.fail(failure)),
                Err(ReopenError::Again(reason)) => why = reason,
            }
        }
    }

    /// A range request from `offset`; `Ok(true)` when the server ignored
    /// the range and the bytes already read were skipped.
    fn reopen(&mut self) -> Result<bool, ReopenError> {
        let range = format!("bytes={}-", self.offset);
        let reply = self
            .client
            .get(&self.url, &[("Range", &range)])
            .map_err(|e| ReopenError::Again(unprefixed(&e, &self.url)))?;
        match reply.status {
            206 => {
                let (start, total) = content_range(reply.header("content-range"))
                    .ok_or_else(|| final_network("a 206 answer without a usable Content-Range"))?;
                if start != self.offset {
                    return Err(final_network(&format!(
                        "asked to resume at byte {}, the server resumed at {start}",
                        self.offset
                    )));
                }
                self.end = total.or(self.end);
                self.body = Box::new(reply.body.into_reader());
                Ok(false)
            }
            200 => {
                self.end = reply.content_length();
                let mut body = reply.body.into_reader();
                let skipped = io::copy(&mut (&mut body).take(self.offset), &mut io::sink())
                    .map_err(|e| ReopenError::Again(io_detail(&e)))?;
                if skipped != self.offset {
                    return Err(ReopenError::Again("the transfer ended early again".into()));
                }
                self.body = Box::new(body);
                Ok(true)
            }
            _ => Err(ReopenError::Final(StreamFailure::Network(status_text(
                reply,
            )))),
        }
    }
}

enum ReopenError {
    Again(String),
    Final(StreamFailure),
}

fn final_network(why: &str) -> ReopenError {
    ReopenError::Final(StreamFailure::Network(why.to_string()))
}

impl Read for Transfer {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.body.read(buf) {
                Ok(0) => match self.end {
                    Some(end) if self.offset < end => {
                        let why = format!("the connection closed at byte {} of {end}", self.offset);
                        self.resume(why, false)?;
                    }
                    _ => return Ok(0),
                },
                Ok(n) => {
                    self.offset += n as u64;
                    if self.offset > self.limit {
                        return Err(self.fail(StreamFailure::TooLong(self.limit)));
                    }
                    self.delivered = true;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let stalled = is_timeout(&e);
                    let why = if stalled {
                        format!(
                            "no data for {} s",
                            self.client.options().read_timeout.as_secs_f32()
                        )
                    } else {
                        io_detail(&e)
                    };
                    self.resume(why, stalled)?;
                }
            }
        }
    }
}

fn is_timeout(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::TimedOut
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<ureq::Error>())
            .is_some_and(|e| matches!(e, ureq::Error::Timeout(_)))
}

/// `bytes START-END/TOTAL`: the start, and the total when known.
fn content_range(value: Option<&str>) -> Option<(u64, Option<u64>)> {
    let range = value?.trim().strip_prefix("bytes")?.trim();
    let (span, total) = range.split_once('/')?;
    let start = span.split_once('-')?.0.trim().parse().ok()?;
    Some((start, total.trim().parse().ok()))
}

/// A network error without the method and URL (the attempt names them).
fn unprefixed(error: &SiteError, url: &str) -> String {
    match error {
        SiteError::Network { detail, .. } => detail.clone(),
        other => other.to_string().replace(&format!("GET {url}: "), ""),
    }
}

/// `404 Not Found` (and the server's words).
fn status_text(reply: super::http::Reply) -> String {
    let status = reply.status;
    let url = reply.url.clone();
    match super::http::status_error("GET", reply) {
        SiteError::Status {
            message: Some(message),
            ..
        } => format!(
            "{status} {}: {message}",
            super::error::reason_phrase(status)
        ),
        _ => format!("{status} {}", super::error::reason_phrase(status)).replace(&url, ""),
    }
}

/// Put the verified image at `output`: rename the temporary file, or copy
/// (a cached file) or convert into a new temporary file beside `output`
/// and rename that.
fn deliver(
    verified: &Path,
    temporary: Option<tempfile::NamedTempFile>,
    output: &Path,
    source_format: &str,
    format: Option<&str>,
) -> crate::error::Result<()> {
    let dir = parent_of(output);
    let convert = format.filter(|f| *f != source_format);
    let ready = match (convert, temporary) {
        (None, Some(temp)) => temp,
        (None, None) => {
            let mut copy = new_temp(&dir)?;
            let mut from =
                std::fs::File::open(verified).map_err(|e| crate::Error::io(verified, e))?;
            io::copy(&mut from, copy.as_file_mut()).map_err(|e| crate::Error::io(output, e))?;
            copy
        }
        (Some(format), _) => {
            refuse_external_file(verified, output)?;
            let converted = new_temp(&dir)?;
            qemu_convert(verified, source_format, converted.path(), format)?;
            converted
        }
    };
    set_mode(ready.path(), 0o666)?;
    ready
        .persist(output)
        .map_err(|e| crate::Error::io(output, e.error))?;
    Ok(())
}

pub(crate) fn new_temp(dir: &Path) -> crate::error::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new()
        .prefix(".stratus-download-")
        .tempfile_in(dir)
        .map_err(|e| crate::Error::io(dir, e))
}

/// `mode` less the process umask.
pub(crate) fn set_mode(path: &Path, mode: u32) -> crate::error::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let umask = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|line| line.strip_prefix("Umask:"))
                .and_then(|value| u32::from_str_radix(value.trim(), 8).ok())
        })
        .unwrap_or(0o022);
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & !umask))
        .map_err(|e| crate::Error::io(path, e))
}

/// Refuse to convert an image whose header names another file (a backing
/// file, a qcow2 external data file, a VMDK extent): qemu-img would copy
/// that file of this host into the output. The signed checksums cover the
/// header's bytes, not the choice of a host file.
fn refuse_external_file(verified: &Path, output: &Path) -> crate::error::Result<()> {
    match crate::image::qemu::detect_format_and_external_file(verified)?.1 {
        Some(file) => Err(crate::Error::from(super::SiteError::BadInput {
            what: "the image".into(),
            value: output.display().to_string(),
            reason: format!(
                "its header names {file}: not converted, qemu-img would copy that file of this host"
            ),
        })),
        None => Ok(()),
    }
}

/// `qemu-img convert -f <signed format> -O <format>`.
fn qemu_convert(input: &Path, from: &str, output: &Path, to: &str) -> crate::error::Result<()> {
    let program = std::env::var(crate::image::qemu::QEMU_IMG_VARIABLE)
        .unwrap_or_else(|_| "qemu-img".to_string());
    let result = std::process::Command::new(&program)
        .args(["convert", "-q", "-f", from, "-O", to])
        .arg(input)
        .arg(output)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| crate::Error::Tool {
            tool: "qemu-img",
            message: format!("could not run '{program}' to convert the image: {e}"),
        })?;
    if !result.status.success() {
        return Err(crate::Error::Tool {
            tool: "qemu-img",
            message: format!(
                "could not convert the image from {from} to {to}: {}",
                String::from_utf8_lossy(&result.stderr).trim()
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::manifest::Checksum;

    #[test]
    fn expectations_from_the_metadata() {
        let manifest = Manifest {
            identifier: "X".into(),
            bytes: 3,
            checksums: vec![
                Checksum {
                    algorithm: "SHA-1".into(),
                    value: "BEEC7B5EA3F0FDBC95D0DD47F3C5BC275DA8A33".into(),
                },
                Checksum {
                    algorithm: "SHA-384".into(),
                    value: "00".into(),
                },
            ],
            ..Manifest::default()
        };
        let expected = Expected::of(&manifest).unwrap();
        assert_eq!(
            expected.digests,
            [(
                Algorithm::Sha1,
                "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33".to_string()
            )]
        );
        let info = digest::stream_info(&b"foo"[..], &expected.algorithms(), &mut |_| {}).unwrap();
        assert_eq!(expected.compare(&info), Ok(()));
        let info = digest::stream_info(&b"fop"[..], &expected.algorithms(), &mut |_| {}).unwrap();
        assert!(expected
            .compare(&info)
            .unwrap_err()
            .starts_with("SHA-1 is "));
    }

    #[test]
    fn bounded_refuses_one_byte_too_many() {
        let over = Arc::new(AtomicBool::new(false));
        let mut bounded = Bounded {
            inner: &b"abcd"[..],
            left: 3,
            over: Arc::clone(&over),
        };
        assert!(bounded.read_to_end(&mut Vec::new()).is_err());
        assert!(over.load(Ordering::Relaxed));
        let mut exact = Bounded {
            inner: &b"abc"[..],
            left: 3,
            over,
        };
        let mut out = Vec::new();
        exact.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abc");
    }

    #[test]
    fn content_ranges() {
        assert_eq!(
            content_range(Some("bytes 100-199/200")),
            Some((100, Some(200)))
        );
        assert_eq!(content_range(Some("bytes 5-9/*")), Some((5, None)));
        assert_eq!(content_range(Some("items 1-2/3")), None);
        assert_eq!(content_range(None), None);
    }
}
