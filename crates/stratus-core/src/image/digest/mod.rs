//! One streaming pass over an image computing several digests at once.
//!
//! `stratus-build-metadata` needs the size and the MD5, SHA-1, SHA-256 and
//! SHA-512 digests of the *decompressed* image (client.md §3, metadata.md
//! §2.5). Images are large (gigabytes), so the content is read once, in
//! fixed-size buffers, and never held in memory as a whole.
//!
//! # Design
//!
//! The calling thread reads (and, through [`crate::image::compress`], decompresses)
//! the content into buffers of [`BUFFER_SIZE`] bytes. Each full buffer is
//! shared, behind an [`Arc`], with one worker thread per requested algorithm;
//! the worker that drops the last reference sends the buffer back to the
//! reader, which reuses it. At most [`POOL_BUFFERS`] buffers ever exist (the
//! reader allocates a new one only while fewer than that are out, and
//! otherwise waits for one to come back), so the memory used for data is
//! bounded by `POOL_BUFFERS * BUFFER_SIZE` (24 MiB) whatever the image size:
//! a slow worker simply holds the reader back. Buffers start on a page
//! boundary, which makes the kernel's copy from the page cache about five
//! times cheaper than into an ordinary `Vec` (see the comment on `ALIGN`).
//!
//! # Why one thread per algorithm
//!
//! Measured on the 2-core AMD EPYC (Zen 3, with SHA-NI and AVX2) of
//! docs/PERFORMANCE.md, release build, 1 MiB updates, one algorithm at a
//! time:
//!
//! | algorithm | the code used here                       | `openssl speed -evp` |
//! |-----------|------------------------------------------|----------------------|
//! | MD5       | 655 MB/s ([`md5`]; the md-5 crate: 548)  | 660 MB/s             |
//! | SHA-1     | 1650 MB/s (sha1, SHA-NI)                 | 1660 MB/s            |
//! | SHA-256   | 1560 MB/s (sha2, SHA-NI)                 | 1540 MB/s            |
//! | SHA-512   | 650 MB/s ([`sha512`]: libcrypto; ring: 460) | 670 MB/s          |
//!
//! For 1 GiB that is about 1.65 + 0.65 + 0.7 + 1.65 = 4.65 s of CPU, plus
//! about 0.3 s for reading. SHA-1 and SHA-256 are cheap only thanks to
//! SHA-NI (without it SHA-256 drops to 226 MB/s and becomes the most
//! expensive), so no fixed split of the work over two cores suits every
//! machine. One thread per algorithm lets the operating system balance the
//! work over the cores there are: 1 GiB from the page cache in about 2.5 s
//! (twice as fast as the four `openssl dgst` runs one after the other) and
//! no machine-specific tuning. The reader thread does no hashing: for a
//! compressed image, decompression is a full-time job.
//!
//! The pool holds 24 buffers so that the fast workers can run ahead of the
//! slow ones instead of waiting for them buffer by buffer (about 0.1 s per
//! GiB saved, at 28 MB peak RSS).

pub mod md5;
pub mod sha512;

use std::fmt;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::{mpsc, Arc};
use std::thread;

use sha2::Digest;

use crate::error::Result;
use crate::image::compress::{self, Compression};

/// The size of the buffers the content is read into and handed to the
/// digest threads. [`stream_info`]'s `progress` is called once per buffer.
pub const BUFFER_SIZE: usize = 1 << 20;

/// The most buffers that exist at once during [`stream_info`]: the memory
/// used for data is at most `POOL_BUFFERS * BUFFER_SIZE` bytes, and the
/// slowest digest thread is at most this many buffers behind the reader.
pub const POOL_BUFFERS: usize = 24;

/// A digest algorithm of the image metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// MD5 (128 bits), `slreq:checksum` algorithm `MD5`.
    Md5,
    /// SHA-1 (160 bits), `SHA-1`; the image identifier is derived from it.
    Sha1,
    /// SHA-256, `SHA-256`.
    Sha256,
    /// SHA-512, `SHA-512`.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the legacy order (MD5, SHA-1, SHA-256, SHA-512).
    pub const ALL: [Algorithm; 4] = [
        Algorithm::Md5,
        Algorithm::Sha1,
        Algorithm::Sha256,
        Algorithm::Sha512,
    ];

    /// The name used by the legacy tools and in the metadata
    /// (`slreq:algorithm`): `MD5`, `SHA-1`, `SHA-256`, `SHA-512`.
    pub fn legacy_name(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha1 => "SHA-1",
            Algorithm::Sha256 => "SHA-256",
            Algorithm::Sha512 => "SHA-512",
        }
    }

    /// Parses a legacy name ([`Algorithm::legacy_name`]). Case is ignored
    /// and the hyphen is optional (`sha1`, `Sha-256`), which is also the
    /// spelling of the command-line options (`--sha1`).
    pub fn from_legacy_name(name: &str) -> Option<Algorithm> {
        let name = name.to_ascii_uppercase();
        let name = name
            .strip_prefix("SHA-")
            .map_or(name.clone(), |bits| format!("SHA{bits}"));
        match name.as_str() {
            "MD5" => Some(Algorithm::Md5),
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// The length of the digest in hexadecimal digits (32, 40, 64 or 128).
    pub fn hex_len(self) -> usize {
        match self {
            Algorithm::Md5 => 32,
            Algorithm::Sha1 => 40,
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    /// Writes [`Algorithm::legacy_name`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.legacy_name())
    }
}

/// The error of parsing an [`Algorithm`] from an unknown name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown digest algorithm '{}': expected one of MD5, SHA-1, SHA-256, SHA-512",
            self.0
        )
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Same as [`Algorithm::from_legacy_name`].
    fn from_str(name: &str) -> std::result::Result<Self, Self::Err> {
        Algorithm::from_legacy_name(name).ok_or_else(|| UnknownAlgorithm(name.to_string()))
    }
}

/// The size and digests of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreamInfo {
    /// The number of bytes read (for an image, its decompressed size).
    pub bytes: u64,
    /// Each requested algorithm, once, in the order first requested, with the
    /// digest in lower-case hexadecimal at full width (leading zeros kept,
    /// unlike the legacy BigInteger rendering of metadata.md §2.5).
    pub digests: Vec<(Algorithm, String)>,
}

impl StreamInfo {
    /// The hexadecimal digest for `algorithm`, if it was computed.
    pub fn hex(&self, algorithm: Algorithm) -> Option<&str> {
        self.digests
            .iter()
            .find(|(a, _)| *a == algorithm)
            .map(|(_, hex)| hex.as_str())
    }
}

/// Reads `reader` to its end once, counting the bytes and computing the
/// digests of `algorithms` (duplicates are computed once; none at all is
/// fine: the size is still counted).
///
/// The digests are computed on worker threads while this thread reads (see
/// the module documentation); memory use is bounded by
/// `POOL_BUFFERS * BUFFER_SIZE` whatever the length of the stream.
///
/// `progress` is called on this thread after each buffer is read, with the
/// number of bytes read so far; the last call gives the total (no call at
/// all for an empty stream).
///
/// A read error stops the pass and is returned as is (reads interrupted by a
/// signal are retried). A reader from [`compress::open`] gives errors that
/// [`compress::read_error`] turns into the library error; [`file_info`] does
/// that.
pub fn stream_info(
    reader: impl Read,
    algorithms: &[Algorithm],
    progress: &mut dyn FnMut(u64),
) -> io::Result<StreamInfo> {
    stream(reader, algorithms, None, progress).map_err(StreamError::into_inner)
}

/// Why [`stream_info_to`] stopped: the source or the sink failed.
#[derive(Debug)]
pub enum StreamError {
    /// Reading (or decompressing) the stream failed.
    Read(io::Error),
    /// Writing the copy failed.
    Write(io::Error),
}

impl StreamError {
    /// The I/O error, whichever side it came from.
    pub fn into_inner(self) -> io::Error {
        match self {
            StreamError::Read(e) | StreamError::Write(e) => e,
        }
    }
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StreamError::Read(e) => write!(f, "reading: {e}"),
            StreamError::Write(e) => write!(f, "writing: {e}"),
        }
    }
}

impl std::error::Error for StreamError {}

/// [`stream_info`] that also writes every byte read to `sink`, on a thread
/// of its own fed with the same buffers as the digest threads: a download
/// is hashed and saved in the one pass, and a slow disk holds the reader
/// back as a slow digest does. The sink is flushed at the end. Whether the
/// source or the sink failed is kept apart ([`StreamError`]).
pub fn stream_info_to(
    reader: impl Read,
    algorithms: &[Algorithm],
    sink: &mut (dyn Write + Send),
    progress: &mut dyn FnMut(u64),
) -> Result<StreamInfo, StreamError> {
    stream(reader, algorithms, Some(sink), progress)
}

fn stream(
    mut reader: impl Read,
    algorithms: &[Algorithm],
    sink: Option<&mut (dyn Write + Send)>,
    progress: &mut dyn FnMut(u64),
) -> Result<StreamInfo, StreamError> {
    let mut wanted: Vec<Algorithm> = Vec::with_capacity(algorithms.len());
    for &algorithm in algorithms {
        if !wanted.contains(&algorithm) {
            wanted.push(algorithm);
        }
    }
    if wanted.is_empty() && sink.is_none() {
        let bytes = count(&mut reader, progress).map_err(StreamError::Read)?;
        return Ok(StreamInfo {
            bytes,
            digests: Vec::new(),
        });
    }

    thread::scope(|scope| {
        // Buffers come back to the reader on this channel.
        let (home, returned) = mpsc::channel::<Buffer>();
        let mut lanes = Vec::with_capacity(wanted.len());
        for &algorithm in &wanted {
            // Bounded, although the pool already bounds what can be queued.
            let (sender, chunks) = mpsc::sync_channel::<Arc<Chunk>>(POOL_BUFFERS);
            let worker = scope.spawn(move || {
                let mut hasher = Hasher::new(algorithm);
                for chunk in chunks {
                    hasher.update(chunk.bytes());
                }
                hasher.finish_hex()
            });
            lanes.push((algorithm, sender, worker));
        }
        let writer = sink.map(|sink| {
            let (sender, chunks) = mpsc::sync_channel::<Arc<Chunk>>(POOL_BUFFERS);
            let worker = scope.spawn(move || {
                for chunk in chunks {
                    sink.write_all(chunk.bytes())?;
                }
                sink.flush()
            });
            (sender, worker)
        });

        let mut senders: Vec<&mpsc::SyncSender<Arc<Chunk>>> =
            lanes.iter().map(|(_, sender, _)| sender).collect();
        senders.extend(writer.as_ref().map(|(sender, _)| sender));
        let outcome = pump(&mut reader, &senders, &home, &returned, progress);
        drop(senders);

        // Closing the channels ends the workers once they have caught up.
        let written = writer.map(|(sender, worker)| {
            drop(sender);
            match worker.join() {
                Ok(result) => result,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        });
        let mut digests = Vec::with_capacity(lanes.len());
        let mut failure = None;
        for (algorithm, sender, worker) in lanes {
            drop(sender);
            match worker.join() {
                Ok(Ok(hex)) => digests.push((algorithm, hex)),
                Ok(Err(error)) => failure = failure.or(Some(error)),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        // A sink that failed first makes the reader fail too ("thread
        // stopped"): its own error is the one that explains.
        if let Some(Err(error)) = written {
            return Err(StreamError::Write(error));
        }
        let bytes = outcome.map_err(StreamError::Read)?;
        match failure {
            Some(error) => Err(StreamError::Read(error)),
            None => Ok(StreamInfo { bytes, digests }),
        }
    })
}

/// [`compress::open`] followed by [`stream_info`]: the compression of the
/// image at `path` and the size and digests of its decompressed content.
///
/// A missing or unreadable file is [`crate::Error::Io`]; truncated or corrupt
/// compressed data is [`crate::Error::Decompress`] naming `path` and the
/// format.
pub fn file_info(
    path: &Path,
    algorithms: &[Algorithm],
    progress: &mut dyn FnMut(u64),
) -> Result<(Compression, StreamInfo)> {
    let (compression, reader) = compress::open(path)?;
    let info = stream_info(reader, algorithms, progress)
        .map_err(|e| compress::read_error(path, compression, e))?;
    Ok((compression, info))
}

/// The alignment of the start of each buffer (a page). The kernel copies
/// file data into a buffer that is not cache-line aligned several times more
/// slowly: reading 1 GiB from the page cache took 0.42 s of system time into
/// a plain 1 MiB `Vec` (which the allocator places 16 bytes past a page
/// boundary) against 0.08 s into a page-aligned slice of it, measured here.
const ALIGN: usize = 4096;

/// A data buffer of [`BUFFER_SIZE`] bytes starting on an [`ALIGN`] boundary,
/// carved out of a slightly larger `Vec` (a `Vec`'s heap block does not move
/// when the `Vec` itself is moved around).
struct Buffer {
    block: Vec<u8>,
    start: usize,
}

impl Buffer {
    fn new() -> Buffer {
        let block = vec![0; BUFFER_SIZE + ALIGN];
        let start = (ALIGN - block.as_ptr().addr() % ALIGN) % ALIGN;
        Buffer { block, start }
    }

    fn space(&mut self) -> &mut [u8] {
        &mut self.block[self.start..self.start + BUFFER_SIZE]
    }
}

/// A filled buffer on its way to the digest threads. Dropping the last
/// reference sends the buffer back home, whoever drops it (even a worker
/// that panicked), so the reader can never wait forever for a buffer.
struct Chunk {
    buffer: Buffer,
    len: usize,
    home: mpsc::Sender<Buffer>,
}

impl Chunk {
    fn bytes(&self) -> &[u8] {
        &self.buffer.block[self.buffer.start..self.buffer.start + self.len]
    }
}

impl Drop for Chunk {
    fn drop(&mut self) {
        let buffer = Buffer {
            block: std::mem::take(&mut self.buffer.block),
            start: self.buffer.start,
        };
        // The reader may be gone already (pass finished or failed): then the
        // buffer is simply freed.
        let _ = self.home.send(buffer);
    }
}

/// The reader's loop: fills buffers from the pool and hands each to every
/// worker (digests and sink). Returns the number of bytes read.
fn pump(
    reader: &mut impl Read,
    lanes: &[&mpsc::SyncSender<Arc<Chunk>>],
    home: &mpsc::Sender<Buffer>,
    returned: &mpsc::Receiver<Buffer>,
    progress: &mut dyn FnMut(u64),
) -> io::Result<u64> {
    let mut allocated = 0;
    let mut total: u64 = 0;
    loop {
        let mut buffer = if allocated < POOL_BUFFERS {
            allocated += 1;
            Buffer::new()
        } else {
            // Cannot fail: `home` is alive, and every buffer out there comes
            // back when its chunk is dropped.
            returned
                .recv()
                .map_err(|_| io::Error::other("digest buffer pool closed"))?
        };
        let len = fill(reader, buffer.space())?;
        if len == 0 {
            return Ok(total);
        }
        total += len as u64;
        progress(total);
        let chunk = Arc::new(Chunk {
            buffer,
            len,
            home: home.clone(),
        });
        for sender in lanes {
            if sender.send(Arc::clone(&chunk)).is_err() {
                // The worker is gone: a panic (joining it reports it) or
                // a sink that failed (its error is reported instead).
                return Err(io::Error::other("digest thread stopped"));
            }
        }
        if len < BUFFER_SIZE {
            // `fill` stops short only at the end of the stream.
            return Ok(total);
        }
    }
}

/// Counts the bytes of `reader` without computing any digest.
fn count(reader: &mut impl Read, progress: &mut dyn FnMut(u64)) -> io::Result<u64> {
    let mut buffer = Buffer::new();
    let mut total: u64 = 0;
    loop {
        let len = fill(reader, buffer.space())?;
        if len == 0 {
            return Ok(total);
        }
        total += len as u64;
        progress(total);
        if len < BUFFER_SIZE {
            return Ok(total);
        }
    }
}

/// Reads into `buffer` until it is full or the stream ends; returns the
/// number of bytes read (less than the buffer only at the end).
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// One running digest.
enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha512::Sha512),
}

impl Hasher {
    fn new(algorithm: Algorithm) -> Hasher {
        match algorithm {
            Algorithm::Md5 => Hasher::Md5(md5::Md5::new()),
            Algorithm::Sha1 => Hasher::Sha1(sha1::Sha1::new()),
            Algorithm::Sha256 => Hasher::Sha256(sha2::Sha256::new()),
            Algorithm::Sha512 => Hasher::Sha512(sha512::Sha512::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(bytes),
            Hasher::Sha1(h) => h.update(bytes),
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    fn finish_hex(self) -> io::Result<String> {
        Ok(match self {
            Hasher::Md5(h) => to_hex(&h.finalize()),
            Hasher::Sha1(h) => to_hex(&h.finalize()),
            Hasher::Sha256(h) => to_hex(&h.finalize()),
            Hasher::Sha512(h) => to_hex(&h.finalize().map_err(io::Error::other)?),
        })
    }
}

/// Lower-case hexadecimal, two digits per byte.
fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut hex = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        hex.push(char::from(DIGITS[usize::from(byte >> 4)]));
        hex.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    hex
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for algorithm in Algorithm::ALL {
            assert_eq!(
                Algorithm::from_legacy_name(algorithm.legacy_name()),
                Some(algorithm)
            );
            assert_eq!(algorithm.to_string().parse(), Ok(algorithm));
        }
        assert_eq!("sha1".parse(), Ok(Algorithm::Sha1));
        assert_eq!("Sha-512".parse(), Ok(Algorithm::Sha512));
        assert_eq!("md5".parse(), Ok(Algorithm::Md5));
        assert!("SHA-384".parse::<Algorithm>().is_err());
        assert!("SHA-".parse::<Algorithm>().is_err());
    }

    #[test]
    fn hex_is_full_width() {
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }

    #[test]
    fn counts_without_algorithms() {
        let data = vec![7u8; BUFFER_SIZE * 2 + 5];
        let mut calls = Vec::new();
        let info = stream_info(&data[..], &[], &mut |n| calls.push(n)).unwrap();
        assert_eq!(info.bytes, data.len() as u64);
        assert!(info.digests.is_empty());
        let size = BUFFER_SIZE as u64;
        assert_eq!(calls, [size, 2 * size, 2 * size + 5]);
    }

    #[test]
    fn sink_gets_every_byte_and_its_errors_are_told_apart() {
        let data: Vec<u8> = (0..BUFFER_SIZE * 3 + 17).map(|i| (i % 253) as u8).collect();
        let mut copy = Vec::new();
        let info = stream_info_to(&data[..], &[Algorithm::Sha1], &mut copy, &mut |_| {}).unwrap();
        assert_eq!(copy, data);
        assert_eq!(info.bytes, data.len() as u64);
        let info = stream_info_to(&data[..], &[], &mut Vec::new(), &mut |_| {}).unwrap();
        assert!(info.digests.is_empty());

        struct Full(usize);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() {
                    return Err(io::Error::other("disk full"));
                }
                self.0 -= buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let big: Vec<u8> = vec![1; BUFFER_SIZE * (POOL_BUFFERS + 8)];
        let error = stream_info_to(
            &big[..],
            &Algorithm::ALL,
            &mut Full(BUFFER_SIZE),
            &mut |_| {},
        )
        .unwrap_err();
        assert!(
            matches!(&error, StreamError::Write(e) if e.to_string() == "disk full"),
            "{error}"
        );
    }

    #[test]
    fn more_buffers_than_the_pool() {
        // Enough data to recycle every pooled buffer several times.
        let data: Vec<u8> = (0..BUFFER_SIZE * (POOL_BUFFERS * 2 + 1) + 3)
            .map(|i| (i % 251) as u8)
            .collect();
        let info = stream_info(&data[..], &Algorithm::ALL, &mut |_| {}).unwrap();
        assert_eq!(info.bytes, data.len() as u64);
        assert_eq!(
            info.hex(Algorithm::Sha256).unwrap(),
            to_hex(&sha2::Sha256::digest(&data))
        );
        assert_eq!(
            info.hex(Algorithm::Md5).unwrap(),
            to_hex(&md5::Md5::digest(&data))
        );
    }
}
