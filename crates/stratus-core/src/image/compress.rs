//! Compressed images: gzip, bzip2 and xz recognised by their magic bytes.
//!
//! The legacy tool chose the decompressor from the file-name suffix; we look
//! at the first bytes of the content instead, so a raw file called `x.gz` is
//! read as raw and a gzip file called `x.img` is decompressed (the metadata
//! always describes the *decompressed* image, client.md §3).
//!
//! Every decoder reads all concatenated streams (`cat a.gz b.gz`, `pbzip2`,
//! `xz` multi-stream files), and a stream that ends early or is damaged is an
//! error, never a silently short image. The decoders were checked on files
//! cut at every possible length (see the tests): `flate2` 1.1, `bzip2` 0.6
//! and `liblzma` 0.4 all report a cut stream as an
//! [`io::ErrorKind::UnexpectedEof`] error rather than an early end, and a
//! damaged one as `InvalidInput`/`InvalidData` (CRC or format error).
//!
//! Bytes after the last stream are read as the start of another stream, so
//! they are refused, even zero bytes after a gzip or bzip2 stream (which GNU
//! `gzip` and `bzip2` only warn about). The one exception is xz stream
//! padding, zero bytes in multiples of four, which the xz format allows and
//! `xz -t` accepts too.
//!
//! Errors of the underlying file are tagged on their way through the decoder,
//! so [`read_error`] can tell "the disk failed" ([`Error::Io`]) from "the
//! compressed data is bad" ([`Error::Decompress`]).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::Path;

use crate::error::{Error, Result};

/// The number of leading bytes [`Compression::detect`] needs to recognise
/// every format (the xz magic is the longest).
pub const MAGIC_LEN: usize = 6;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
const BZIP2_MAGIC: [u8; 3] = *b"BZh";
const XZ_MAGIC: [u8; 6] = [0xfd, b'7', b'z', b'X', b'Z', 0x00];

/// How an image file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Compression {
    /// Not compressed (or in a format we do not recognise): read as is.
    #[default]
    None,
    /// gzip (RFC 1952), possibly several concatenated members.
    Gzip,
    /// bzip2, possibly several concatenated streams.
    Bzip2,
    /// xz, possibly several concatenated streams.
    Xz,
}

impl Compression {
    /// Recognises the format from the first bytes of the content (at least
    /// [`MAGIC_LEN`] bytes should be given when the content is that long).
    /// Anything not recognised is [`Compression::None`].
    ///
    /// gzip is `1f 8b`; bzip2 is `BZh` followed by a block-size digit `1` to
    /// `9`; xz is `fd 37 7a 58 5a 00`.
    pub fn detect(first_bytes: &[u8]) -> Compression {
        if first_bytes.starts_with(&GZIP_MAGIC) {
            Compression::Gzip
        } else if first_bytes.starts_with(&BZIP2_MAGIC)
            && matches!(first_bytes.get(3), Some(b'1'..=b'9'))
        {
            Compression::Bzip2
        } else if first_bytes.starts_with(&XZ_MAGIC) {
            Compression::Xz
        } else {
            Compression::None
        }
    }

    /// The `dcterms:compression` value: `gz`, `bz2`, `xz`, or the empty
    /// string for an uncompressed image.
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => "gz",
            Compression::Bzip2 => "bz2",
            Compression::Xz => "xz",
        }
    }

    /// The format's usual name, as used in error messages
    /// ([`Error::Decompress`]'s `format`): `gzip`, `bzip2`, `xz`, or `raw`.
    pub fn format(self) -> &'static str {
        match self {
            Compression::None => "raw",
            Compression::Gzip => "gzip",
            Compression::Bzip2 => "bzip2",
            Compression::Xz => "xz",
        }
    }

    /// Parses a compression name: `gz` or `gzip`, `bz2` or `bzip2`, `xz`, and
    /// `none` or the empty string for no compression. Case-insensitive.
    /// Anything else is `None` (the caller decides whether that is an error).
    pub fn from_name(name: &str) -> Option<Compression> {
        match name.to_ascii_lowercase().as_str() {
            "" | "none" => Some(Compression::None),
            "gz" | "gzip" => Some(Compression::Gzip),
            "bz2" | "bzip2" => Some(Compression::Bzip2),
            "xz" => Some(Compression::Xz),
            _ => None,
        }
    }
}

impl fmt::Display for Compression {
    /// Writes [`Compression::format`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.format())
    }
}

/// Opens the image at `path`, recognises its compression by its magic bytes
/// and returns a reader of the decompressed content.
///
/// A missing file, a directory or any other failure to open or start reading
/// it is an [`Error::Io`] naming `path`. Errors met later while reading the
/// returned reader are plain [`io::Error`]s: pass them to [`read_error`] with
/// the same `path` and the returned [`Compression`] to get the library error.
pub fn open(path: &Path) -> Result<(Compression, Box<dyn Read + Send>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    // A directory opens fine on Unix and only fails on the first read, which
    // `sniff` does here, so it is reported as Error::Io naming the path too.
    open_reader(BufReader::with_capacity(64 * 1024, file)).map_err(|e| Error::io(path, untag(e)))
}

/// Like [`open`] for a source that is not a file (standard input, a
/// download): reads the first bytes of `reader` to recognise the compression,
/// without losing them, and returns a reader of the decompressed content.
///
/// Read errors of `reader` itself are tagged as source errors, so
/// [`read_error`] reports them as [`Error::Io`].
pub fn open_reader<R>(reader: R) -> io::Result<(Compression, Box<dyn Read + Send>)>
where
    R: BufRead + Send + 'static,
{
    let mut reader = SourceReader(reader);
    let magic = sniff(&mut reader)?;
    let compression = Compression::detect(&magic);
    let whole = Cursor::new(magic).chain(reader);
    Ok((compression, decoder(compression, whole)))
}

/// Returns a reader of the content of `reader` decompressed as `compression`
/// (all concatenated streams; [`Compression::None`] passes the bytes
/// through). Use it when the compression is already known; [`open_reader`]
/// recognises it.
///
/// Read errors of `reader` itself are tagged as source errors, so
/// [`read_error`] reports them as [`Error::Io`].
pub fn decompress_reader<R>(compression: Compression, reader: R) -> Box<dyn Read + Send>
where
    R: BufRead + Send + 'static,
{
    decoder(compression, SourceReader(reader))
}

/// Turns an error from reading a reader returned by [`open`] (or
/// [`open_reader`], [`decompress_reader`]) into the library error.
///
/// A failure of the underlying file, and any error on an uncompressed
/// stream, is [`Error::Io`]; anything the decoder itself complains about
/// (truncated stream, bad header, CRC mismatch, ...) is
/// [`Error::Decompress`] naming `path` and the format.
pub fn read_error(path: &Path, compression: Compression, err: io::Error) -> Error {
    if compression == Compression::None || is_tagged(&err) {
        return Error::io(path, untag(err));
    }
    Error::Decompress {
        path: path.to_path_buf(),
        format: compression.format(),
        message: err.to_string(),
    }
}

/// Boxes the decoder for `compression` over `reader`.
fn decoder<R>(compression: Compression, reader: R) -> Box<dyn Read + Send>
where
    R: BufRead + Send + 'static,
{
    match compression {
        Compression::None => Box::new(reader),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(reader)),
        Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(reader)),
        Compression::Xz => Box::new(liblzma::bufread::XzDecoder::new_multi_decoder(reader)),
    }
}

/// Reads up to [`MAGIC_LEN`] bytes (fewer only at the end of the content).
/// `fill_buf` alone is not enough: a pipe may deliver the first bytes in
/// several pieces.
fn sniff<R: Read>(reader: &mut R) -> io::Result<Vec<u8>> {
    let mut magic = Vec::with_capacity(MAGIC_LEN);
    reader.take(MAGIC_LEN as u64).read_to_end(&mut magic)?;
    Ok(magic)
}

/// An I/O error of the source under a decoder, carried through the decoder
/// inside an [`io::Error`] of the same kind.
#[derive(Debug)]
struct SourceError(io::Error);

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SourceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Wraps the source so that its errors are tagged as [`SourceError`].
struct SourceReader<R>(R);

fn tag(err: io::Error) -> io::Error {
    // Keep the kind, so `Interrupted` is still retried by the readers above.
    io::Error::new(err.kind(), SourceError(err))
}

fn is_tagged(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<SourceError>())
}

/// The source's own error if `err` is a tagged one, else `err` unchanged.
fn untag(err: io::Error) -> io::Error {
    if !is_tagged(&err) {
        return err;
    }
    let kind = err.kind();
    match err
        .into_inner()
        .map(|inner| inner.downcast::<SourceError>())
    {
        Some(Ok(tagged)) => tagged.0,
        // Not reached after the check above; keep what there is anyway.
        Some(Err(other)) => io::Error::new(kind, other),
        None => kind.into(),
    }
}

impl<R: Read> Read for SourceReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.read(buf).map_err(tag)
    }
}

impl<R: BufRead> BufRead for SourceReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.0.fill_buf().map_err(tag)
    }

    fn consume(&mut self, amount: usize) {
        self.0.consume(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_magic() {
        assert_eq!(Compression::detect(b"\x1f\x8b\x08\0"), Compression::Gzip);
        assert_eq!(Compression::detect(b"BZh91AY&SY"), Compression::Bzip2);
        assert_eq!(Compression::detect(b"BZh0"), Compression::None);
        assert_eq!(Compression::detect(b"BZh"), Compression::None);
        assert_eq!(Compression::detect(b"\xfd7zXZ\0\0\x04"), Compression::Xz);
        assert_eq!(Compression::detect(b"\xfd7zXZ"), Compression::None);
        assert_eq!(Compression::detect(b""), Compression::None);
        assert_eq!(Compression::detect(b"\x1f"), Compression::None);
        assert_eq!(Compression::detect(b"foo"), Compression::None);
    }

    #[test]
    fn names_round_trip() {
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Bzip2,
            Compression::Xz,
        ] {
            assert_eq!(Compression::from_name(c.name()), Some(c));
        }
        assert_eq!(Compression::from_name("GZIP"), Some(Compression::Gzip));
        assert_eq!(Compression::from_name("bzip2"), Some(Compression::Bzip2));
        assert_eq!(Compression::from_name("none"), Some(Compression::None));
        assert_eq!(Compression::from_name("zip"), None);
    }

    /// A reader that hands out one byte per call, then fails.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 == self.0.len() {
                return Err(io::Error::other("disk on fire"));
            }
            if buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn sniffs_across_short_reads_and_tags_source_errors() {
        let gz = [0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3];
        let source = BufReader::with_capacity(1, Trickle(gz.to_vec(), 0));
        let (compression, mut reader) = open_reader(source).unwrap();
        assert_eq!(compression, Compression::Gzip);
        let err = reader.read_to_end(&mut Vec::new()).unwrap_err();
        match read_error(Path::new("img.gz"), compression, err) {
            Error::Io { path, source } => {
                assert_eq!(path, Path::new("img.gz"));
                assert_eq!(source.to_string(), "disk on fire");
            }
            other => panic!("expected an I/O error, got {other:?}"),
        }
    }
}
