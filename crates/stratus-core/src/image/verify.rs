//! Checking a local image file against the size and checksums its metadata
//! signs, in one streaming pass ([`crate::image::digest`]) through the
//! decompressor ([`crate::image::compress`]), as `stratus-build-metadata`
//! computes them: the decompressed size and every checksum the document
//! carries, compared case-insensitively.

use crate::document::manifest::Manifest;
use crate::error::{Error, Result};
use crate::image::digest::{self, Algorithm, StreamInfo};
use std::path::Path;

/// Verify the image at `path` against `manifest`: its decompressed size must
/// equal `slreq:bytes` and each checksum of the document must match (an
/// unknown algorithm is refused, not skipped). At least one checksum must
/// be there. A difference is [`Error::ImageMismatch`]; the digests found are
/// returned.
pub fn verify_file(path: &Path, manifest: &Manifest) -> Result<StreamInfo> {
    let mut expected = Vec::new();
    for checksum in &manifest.checksums {
        let algorithm = Algorithm::from_legacy_name(&checksum.algorithm).ok_or_else(|| {
            Error::ImageMismatch {
                path: path.to_path_buf(),
                what: "the checksum algorithm".into(),
                expected: "one of MD5, SHA-1, SHA-256, SHA-512".into(),
                found: checksum.algorithm.clone(),
            }
        })?;
        expected.push((algorithm, checksum.value.to_ascii_lowercase()));
    }
    if expected.is_empty() {
        return Err(Error::ImageMismatch {
            path: path.to_path_buf(),
            what: "the number of checksums".into(),
            expected: "at least one".into(),
            found: "0".into(),
        });
    }
    let algorithms: Vec<Algorithm> = expected.iter().map(|(a, _)| *a).collect();
    let (_, info) = digest::file_info(path, &algorithms, &mut |_| {})?;
    if info.bytes != manifest.bytes {
        return Err(Error::ImageMismatch {
            path: path.to_path_buf(),
            what: "bytes".into(),
            expected: manifest.bytes.to_string(),
            found: info.bytes.to_string(),
        });
    }
    for (algorithm, value) in &expected {
        let found = info.hex(*algorithm).unwrap_or_default();
        if found != value {
            return Err(Error::ImageMismatch {
                path: path.to_path_buf(),
                what: algorithm.legacy_name().into(),
                expected: value.clone(),
                found: found.to_string(),
            });
        }
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::manifest::Checksum;

    fn manifest(bytes: u64, sha1: &str) -> Manifest {
        Manifest {
            bytes,
            checksums: vec![Checksum {
                algorithm: "SHA-1".into(),
                value: sha1.into(),
            }],
            ..Manifest::default()
        }
    }

    #[test]
    fn matches_and_mismatches() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foo.img");
        std::fs::write(&path, b"foo").unwrap();
        let good = "0BEEC7B5EA3F0FDBC95D0DD47F3C5BC275DA8A33";
        assert!(verify_file(&path, &manifest(3, good)).is_ok());
        let error = verify_file(&path, &manifest(4, good)).unwrap_err();
        assert_eq!(error.exit_code(), crate::error::EXIT_MISMATCH);
        assert!(error.to_string().contains("bytes is 3"), "{error}");
        let error = verify_file(&path, &manifest(3, &"0".repeat(40))).unwrap_err();
        assert!(error.to_string().contains("SHA-1 is 0beec7b5"), "{error}");
        let none = Manifest {
            bytes: 3,
            ..Manifest::default()
        };
        assert!(verify_file(&path, &none).is_err());
    }
}
