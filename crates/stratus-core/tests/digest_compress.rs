//! Streaming digests over raw and compressed images: known vectors, files
//! made by the real `gzip`, `bzip2` and `xz` tools (multi-stream, misnamed,
//! truncated, corrupted), error reporting, and a property test of the
//! parallel digests against the digest crates used directly.
//!
//! The compressed files are made with the command-line tools on purpose, so
//! that we read what users really have. They must be installed (Debian
//! packages `gzip`, `bzip2`, `xz-utils`).

use std::fs;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use sha2::Digest;
use stratus_core::image::compress::{self, Compression};
use stratus_core::image::digest::{file_info, stream_info, Algorithm, StreamInfo, BUFFER_SIZE};
use stratus_core::Error;

const FOO_MD5: &str = "acbd18db4cc2f85cedef654fccc4a4d8";
const FOO_SHA1: &str = "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33";
const FOO_SHA256: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";
const FOO_SHA512: &str = "f7fbba6e0636f890e56fbbf3283e524c6fa3204ae298382d624741d0dc6638326e282c41be5e4254d8820772c5518a2c5a8c0c7f7eda19594a7eb539453e1ed7";

const EMPTY_MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
const EMPTY_SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const EMPTY_SHA512: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

/// The real compression tools, by format.
const TOOLS: [(Compression, &str); 3] = [
    (Compression::Gzip, "gzip"),
    (Compression::Bzip2, "bzip2"),
    (Compression::Xz, "xz"),
];

/// Compresses `data` with the command-line `tool` (`gzip -c` and so on).
fn compress_with(tool: &str, data: &[u8]) -> Vec<u8> {
    let mut child = Command::new(tool)
        .arg("-c")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `{tool}` ({e}): install the gzip, bzip2 and xz-utils packages")
        });
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let writer = std::thread::spawn(move || io::Write::write_all(&mut stdin, &input));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(output.status.success(), "{tool} failed");
    output.stdout
}

/// Deterministic test data: `len` bytes, half of them compressible.
fn sample(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|i| {
            if (i / 4096) % 2 == 0 {
                (i % 61) as u8
            } else {
                // xorshift64
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            }
        })
        .collect()
}

/// The digests computed directly with the digest crates, one after the other.
fn reference(data: &[u8]) -> Vec<(Algorithm, String)> {
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    vec![
        (Algorithm::Md5, hex(&md5::Md5::digest(data))),
        (Algorithm::Sha1, hex(&sha1::Sha1::digest(data))),
        (Algorithm::Sha256, hex(&sha2::Sha256::digest(data))),
        (Algorithm::Sha512, hex(&sha2::Sha512::digest(data))),
    ]
}

fn all(path: &Path) -> stratus_core::error::Result<(Compression, StreamInfo)> {
    file_info(path, &Algorithm::ALL, &mut |_| {})
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, bytes).unwrap();
    path
}

fn assert_foo(info: &StreamInfo) {
    assert_eq!(info.bytes, 3);
    assert_eq!(info.hex(Algorithm::Md5), Some(FOO_MD5));
    assert_eq!(info.hex(Algorithm::Sha1), Some(FOO_SHA1));
    assert_eq!(info.hex(Algorithm::Sha256), Some(FOO_SHA256));
    assert_eq!(info.hex(Algorithm::Sha512), Some(FOO_SHA512));
}

/// The legacy `CompressorTest`: `foo` raw, gzip and bzip2 (and xz here).
#[test]
fn foo_raw_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write(dir.path(), "foo", b"foo");
    let (compression, info) = all(&raw).unwrap();
    assert_eq!(compression, Compression::None);
    assert_foo(&info);
    for (format, tool) in TOOLS {
        let path = write(
            dir.path(),
            &format!("foo.{}", format.name()),
            &compress_with(tool, b"foo"),
        );
        let (compression, info) = all(&path).unwrap();
        assert_eq!(compression, format, "{tool}");
        assert_foo(&info);
    }
}

#[test]
fn empty_content() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = vec![(Compression::None, write(dir.path(), "empty", b""))];
    for (format, tool) in TOOLS {
        let name = format!("empty.{}", format.name());
        files.push((format, write(dir.path(), &name, &compress_with(tool, b""))));
    }
    for (format, path) in files {
        let mut calls = 0;
        let (compression, info) = file_info(&path, &Algorithm::ALL, &mut |_| calls += 1).unwrap();
        assert_eq!(compression, format);
        assert_eq!(info.bytes, 0);
        assert_eq!(calls, 0);
        assert_eq!(info.hex(Algorithm::Md5), Some(EMPTY_MD5));
        assert_eq!(info.hex(Algorithm::Sha1), Some(EMPTY_SHA1));
        assert_eq!(info.hex(Algorithm::Sha256), Some(EMPTY_SHA256));
        assert_eq!(info.hex(Algorithm::Sha512), Some(EMPTY_SHA512));
    }
}

/// The legacy tool crashed when no digest was wanted; we still count bytes.
#[test]
fn size_without_any_digest() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(BUFFER_SIZE + 17, 5);
    let path = write(dir.path(), "img.gz", &compress_with("gzip", &data));
    let (compression, info) = file_info(&path, &[], &mut |_| {}).unwrap();
    assert_eq!(compression, Compression::Gzip);
    assert_eq!(info.bytes, data.len() as u64);
    assert!(info.digests.is_empty());
    assert_eq!(info.hex(Algorithm::Sha1), None);
}

#[test]
fn requested_subset_in_order_without_duplicates() {
    let info = stream_info(
        &b"foo"[..],
        &[Algorithm::Sha512, Algorithm::Md5, Algorithm::Sha512],
        &mut |_| {},
    )
    .unwrap();
    let order: Vec<Algorithm> = info.digests.iter().map(|(a, _)| *a).collect();
    assert_eq!(order, [Algorithm::Sha512, Algorithm::Md5]);
    assert_eq!(info.hex(Algorithm::Sha1), None);
    assert_eq!(info.hex(Algorithm::Md5), Some(FOO_MD5));
}

#[test]
fn progress_is_cumulative_per_buffer() {
    let data = sample(3 * BUFFER_SIZE + 100, 9);
    let mut calls = Vec::new();
    let info = stream_info(&data[..], &[Algorithm::Sha1], &mut |n| calls.push(n)).unwrap();
    let size = BUFFER_SIZE as u64;
    assert_eq!(calls, [size, 2 * size, 3 * size, 3 * size + 100]);
    assert_eq!(info.bytes, 3 * size + 100);
}

/// `cat a.gz b.gz > ab.gz` (and the same for bzip2, xz) is the content of a
/// followed by b, not just a.
#[test]
fn multi_stream_files_are_read_completely() {
    let dir = tempfile::tempdir().unwrap();
    let a = sample(BUFFER_SIZE + 12_345, 1);
    let b = sample(70_000, 2);
    let mut ab = a.clone();
    ab.extend_from_slice(&b);
    for (format, tool) in TOOLS {
        let mut joined = compress_with(tool, &a);
        joined.extend(compress_with(tool, &b));
        // A third, empty stream at the end must not disturb anything.
        joined.extend(compress_with(tool, b""));
        let path = write(dir.path(), &format!("ab.{}", format.name()), &joined);
        let (compression, info) = all(&path).unwrap();
        assert_eq!(compression, format, "{tool}");
        assert_eq!(info.bytes, ab.len() as u64, "{tool}");
        assert_eq!(info.digests, reference(&ab), "{tool}");
    }
}

/// The magic bytes decide, not the file name.
#[test]
fn detection_by_content_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let raw = write(dir.path(), "really-raw.gz", b"foo");
    let (compression, info) = all(&raw).unwrap();
    assert_eq!(compression, Compression::None);
    assert_foo(&info);

    let raw_bz = write(dir.path(), "really-raw.bz2", b"BZh0 is not bzip2");
    assert_eq!(all(&raw_bz).unwrap().0, Compression::None);

    for (format, tool) in TOOLS {
        let path = write(
            dir.path(),
            &format!("{tool}-inside.img"),
            &compress_with(tool, b"foo"),
        );
        let (compression, info) = all(&path).unwrap();
        assert_eq!(compression, format, "{tool}");
        assert_foo(&info);
    }
}

fn expect_decompress_error(path: &Path, format: Compression) {
    match all(path) {
        Err(
            ref err @ Error::Decompress {
                path: ref p,
                format: f,
                ..
            },
        ) => {
            assert_eq!(p, path);
            assert_eq!(f, format.format());
            let text = err.to_string();
            assert!(text.contains(&path.display().to_string()), "{text}");
            assert_eq!(err.exit_code(), stratus_core::error::EXIT_RUNTIME);
        }
        other => panic!(
            "{}: expected a decompression error, got {other:?}",
            path.display()
        ),
    }
}

/// `head -c` half of a compressed file, as a cut download would be.
#[test]
fn truncated_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(2 * BUFFER_SIZE + 999, 3);
    for (format, tool) in TOOLS {
        let full = write(
            dir.path(),
            &format!("img.{}", format.name()),
            &compress_with(tool, &data),
        );
        let cut = dir.path().join(format!("cut.{}", format.name()));
        let half = fs::metadata(&full).unwrap().len() / 2;
        let output = Command::new("head")
            .arg("-c")
            .arg(half.to_string())
            .arg(&full)
            .output()
            .unwrap();
        fs::write(&cut, output.stdout).unwrap();
        expect_decompress_error(&cut, format);
        // Cut just before the end: the gzip trailer, the bzip2 end-of-stream
        // marker, the xz index and footer.
        let mut bytes = fs::read(&full).unwrap();
        bytes.pop();
        let cut = write(dir.path(), &format!("minus1.{}", format.name()), &bytes);
        expect_decompress_error(&cut, format);
    }
}

/// Every prefix of a compressed stream that is still recognised as that
/// format is an error: never a short image read as if it were complete.
/// Includes a second stream cut anywhere (but not exactly between streams,
/// which is a valid file).
#[test]
fn every_truncation_is_an_error() {
    let a = sample(9_000, 4);
    let b = sample(3_000, 6);
    for (format, tool) in TOOLS {
        let first = compress_with(tool, &a);
        let mut joined = first.clone();
        joined.extend(compress_with(tool, &b));
        for len in 0..joined.len() {
            let prefix = joined[..len].to_vec();
            if Compression::detect(&prefix) != format || len == first.len() {
                continue;
            }
            let (compression, reader) = compress::open_reader(Cursor::new(prefix)).unwrap();
            assert_eq!(compression, format);
            let result = stream_info(reader, &[Algorithm::Sha1], &mut |_| {});
            assert!(
                result.is_err(),
                "{tool}: a prefix of {len} of {} bytes was accepted ({} bytes out)",
                joined.len(),
                result.unwrap().bytes
            );
        }
    }
}

/// Flipped bytes in the middle are caught (by the block or stream CRC when
/// the decoder does not choke first).
#[test]
fn corrupted_files_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let data = sample(BUFFER_SIZE + 4_321, 7);
    for (format, tool) in TOOLS {
        let mut bytes = compress_with(tool, &data);
        let middle = bytes.len() / 2;
        for byte in &mut bytes[middle..middle + 4] {
            *byte ^= 0x55;
        }
        let path = write(dir.path(), &format!("bad.{}", format.name()), &bytes);
        expect_decompress_error(&path, format);
    }
}

/// Anything after the last stream is refused rather than ignored, zero
/// bytes included (GNU gzip and bzip2 only warn), except xz stream padding.
#[test]
fn trailing_bytes_are_errors_except_xz_padding() {
    let dir = tempfile::tempdir().unwrap();
    for (format, tool) in TOOLS {
        for (label, tail) in [
            ("garbage", &b"garbage after the stream"[..]),
            ("zeros", &[0; 3][..]),
        ] {
            let mut bytes = compress_with(tool, b"foo");
            bytes.extend_from_slice(tail);
            let path = write(dir.path(), &format!("{label}.{}", format.name()), &bytes);
            expect_decompress_error(&path, format);
        }
    }
    let mut padded = compress_with("xz", b"foo");
    padded.extend_from_slice(&[0; 8]);
    let path = write(dir.path(), "padded.xz", &padded);
    assert_foo(&all(&path).unwrap().1);
}

#[test]
fn missing_file_and_directory_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-image.img");
    for path in [missing.as_path(), dir.path()] {
        match all(path) {
            Err(ref err @ Error::Io { path: ref p, .. }) => {
                assert_eq!(p, path);
                assert!(err.to_string().contains(&path.display().to_string()));
            }
            other => panic!("{}: expected an I/O error, got {other:?}", path.display()),
        }
    }
    match compress::open(&missing) {
        Err(Error::Io { source, .. }) => assert_eq!(source.kind(), io::ErrorKind::NotFound),
        other => panic!("expected NotFound, got {:?}", other.map(|(c, _)| c)),
    }
}

/// A reader that fails after handing out `good` bytes of `data`.
struct FailingSource {
    data: Cursor<Vec<u8>>,
    good: u64,
}

impl Read for FailingSource {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.data.position() >= self.good {
            return Err(io::Error::new(io::ErrorKind::BrokenPipe, "network gone"));
        }
        let room = (self.good - self.data.position()) as usize;
        let len = buf.len().min(room);
        self.data.read(&mut buf[..len])
    }
}

/// An error of the source under a decoder is an I/O error, not a
/// decompression error; with no decoder, any error is an I/O error.
#[test]
fn source_errors_are_io_errors() {
    let data = sample(3 * BUFFER_SIZE, 8);
    let gz = compress_with("gzip", &data);
    for (format, bytes) in [(Compression::Gzip, gz), (Compression::None, data)] {
        let source = io::BufReader::new(FailingSource {
            good: bytes.len() as u64 / 2,
            data: Cursor::new(bytes),
        });
        let reader = compress::decompress_reader(format, source);
        let err = stream_info(reader, &Algorithm::ALL, &mut |_| {}).unwrap_err();
        match compress::read_error(Path::new("remote.img"), format, err) {
            Error::Io { path, source } => {
                assert_eq!(path, Path::new("remote.img"));
                assert_eq!(source.kind(), io::ErrorKind::BrokenPipe);
                assert_eq!(source.to_string(), "network gone");
            }
            other => panic!("{format}: expected an I/O error, got {other:?}"),
        }
    }
}

/// Hands out the data in pieces of the given sizes (cycled), sometimes
/// interrupted by a signal.
struct Pieces<'a> {
    data: &'a [u8],
    sizes: Vec<usize>,
    next: usize,
    interrupt: bool,
}

impl Read for Pieces<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let size = self.sizes[self.next % self.sizes.len()];
        self.next += 1;
        if self.interrupt && self.next % 7 == 0 {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let len = size.min(buf.len()).min(self.data.len());
        buf[..len].copy_from_slice(&self.data[..len]);
        self.data = &self.data[len..];
        Ok(len)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The parallel pass gives the same digests as the crates used directly,
    /// whatever the lengths and however the reads are split.
    #[test]
    fn parallel_equals_direct(
        len in prop_oneof![0usize..5_000, 0usize..(BUFFER_SIZE * 5 / 2)],
        seed in any::<u64>(),
        sizes in prop::collection::vec(prop_oneof![1usize..64, 1usize..300_000], 1..8),
        interrupt in any::<bool>(),
    ) {
        let data = sample(len, seed);
        let reader = Pieces { data: &data, sizes, next: 0, interrupt };
        let mut last = 0;
        let info = stream_info(reader, &Algorithm::ALL, &mut |n| {
            assert!(n > last);
            last = n;
        })
        .unwrap();
        prop_assert_eq!(info.bytes, len as u64);
        prop_assert_eq!(last, len as u64);
        prop_assert_eq!(info.digests, reference(&data));
    }
}
