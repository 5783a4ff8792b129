//! Reading documents with a size limit, from a file or from standard input.
//!
//! Metadata documents are small (a few KiB); the limit keeps a stray image or
//! `/dev/urandom` piped into a command from filling memory.

use crate::error::{Error, Result};
use std::io::Read;
use std::path::Path;

/// The largest metadata document the tools accept: 16 MiB, far above any
/// real document (signed documents are under 10 KiB).
pub const MAX_DOCUMENT_BYTES: u64 = 16 * 1024 * 1024;

/// The name used for standard input in messages and on the command line.
pub const STDIN_NAME: &str = "-";

/// Read at most `limit` bytes from `reader`; more is an error naming `what`.
pub fn read_limited(reader: impl Read, what: &str, limit: u64) -> Result<Vec<u8>> {
    let mut buffer = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut buffer)
        .map_err(|e| Error::io(what, e))?;
    if buffer.len() as u64 > limit {
        return Err(Error::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    Ok(buffer)
}

/// Read a document: standard input when `path` is `-`, else the named file,
/// which must be a regular file no larger than [`MAX_DOCUMENT_BYTES`].
pub fn read_document(path: &Path) -> Result<Vec<u8>> {
    if path.as_os_str() == STDIN_NAME {
        return read_limited(
            std::io::stdin().lock(),
            "standard input",
            MAX_DOCUMENT_BYTES,
        );
    }
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "is a directory"),
        ));
    }
    read_limited(file, &path.display().to_string(), MAX_DOCUMENT_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_is_enforced() {
        let data = [b'x'; 11];
        assert!(read_limited(&data[..], "t", 10).is_err());
        assert_eq!(read_limited(&data[..], "t", 11).unwrap().len(), 11);
    }

    #[test]
    fn directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_document(dir.path()).unwrap_err();
        assert!(err.to_string().contains("is a directory"));
    }
}
