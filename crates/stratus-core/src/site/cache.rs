//! The image cache: verified images kept by content, `<dir>/sha512/<hex>`
//! (or `<dir>/sha1/<hex>` for metadata without a SHA-512), decompressed
//! and in their signed format.
//!
//! A file enters the cache only after it verified, by a rename in the
//! cache directory (so a reader never sees half a file), and is verified
//! again, with every digest the metadata lists, each time it is used: a
//! file altered on disk is removed and downloaded again. Concurrent
//! downloads of one image each write their own temporary file; the last
//! rename wins, with the same content.

use super::download::{new_temp, set_mode, Event, Expected};
use crate::image::digest::{self, Algorithm};
use std::path::{Path, PathBuf};

/// A cache directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cache {
    dir: PathBuf,
}

impl Cache {
    /// The cache in `dir` (created when first written to).
    pub fn new(dir: impl Into<PathBuf>) -> Cache {
        Cache { dir: dir.into() }
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the image with these checksums is kept.
    pub fn path_of(&self, expected: &Expected) -> PathBuf {
        let (algorithm, hex) = key(expected);
        let name = algorithm
            .legacy_name()
            .to_ascii_lowercase()
            .replace('-', "");
        self.dir.join(name).join(hex)
    }

    /// The directory new files are written in before they enter the cache
    /// (the cache directory itself, so that the rename stays on one file
    /// system).
    pub fn staging(&self) -> crate::error::Result<PathBuf> {
        std::fs::create_dir_all(&self.dir).map_err(|e| crate::Error::io(&self.dir, e))?;
        Ok(self.dir.clone())
    }

    /// The cached image, verified again; `None` when it is not there (or
    /// was there and did not verify, and was removed).
    pub fn lookup(
        &self,
        expected: &Expected,
        events: &mut dyn FnMut(Event),
    ) -> crate::error::Result<Option<PathBuf>> {
        let path = self.path_of(expected);
        let metadata = match std::fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => metadata,
            Ok(_) => return Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(crate::Error::io(&path, e)),
        };
        let verdict = if metadata.len() != expected.bytes {
            Err(format!(
                "{} bytes, the metadata says {}",
                metadata.len(),
                expected.bytes
            ))
        } else {
            let file = std::fs::File::open(&path).map_err(|e| crate::Error::io(&path, e))?;
            let total = expected.bytes;
            let info = digest::stream_info(file, &expected.algorithms(), &mut |done| {
                events(Event::Progress { done, total })
            })
            .map_err(|e| crate::Error::io(&path, e))?;
            expected.compare(&info)
        };
        match verdict {
            Ok(()) => Ok(Some(path)),
            Err(why) => {
                events(Event::CacheStale(&path, &why));
                match std::fs::remove_file(&path) {
                    Ok(()) => Ok(None),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(crate::Error::io(&path, e)),
                }
            }
        }
    }

    /// Put a verified temporary file into the cache; its path there.
    pub fn insert(
        &self,
        temp: tempfile::NamedTempFile,
        expected: &Expected,
    ) -> crate::error::Result<PathBuf> {
        let path = self.path_of(expected);
        let dir = path.parent().unwrap_or(&self.dir);
        std::fs::create_dir_all(dir).map_err(|e| crate::Error::io(dir, e))?;
        set_mode(temp.path(), 0o644)?;
        temp.persist(&path)
            .map_err(|e| crate::Error::io(&path, e.error))?;
        Ok(path)
    }

    /// A fresh temporary file in the cache directory.
    pub fn temporary(&self) -> crate::error::Result<tempfile::NamedTempFile> {
        new_temp(&self.staging()?)
    }
}

/// The strongest digest the metadata gives: SHA-512, else SHA-1, else
/// whichever there is.
fn key(expected: &Expected) -> (Algorithm, &str) {
    for wanted in [Algorithm::Sha512, Algorithm::Sha1] {
        if let Some((algorithm, hex)) = expected.digests.iter().find(|(a, _)| *a == wanted) {
            return (*algorithm, hex);
        }
    }
    let (algorithm, hex) = &expected.digests[0];
    (*algorithm, hex)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_file_is_verified_and_a_bad_one_removed() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().join("cache"));
        let info = digest::stream_info(&b"foo"[..], &Algorithm::ALL, &mut |_| {}).unwrap();
        let expected = Expected {
            bytes: 3,
            exact: true,
            digests: info.digests.clone(),
        };
        assert!(cache
            .path_of(&expected)
            .starts_with(dir.path().join("cache/sha512")));
        assert_eq!(cache.lookup(&expected, &mut |_| {}).unwrap(), None);
        let mut temp = cache.temporary().unwrap();
        std::io::Write::write_all(temp.as_file_mut(), b"foo").unwrap();
        let path = cache.insert(temp, &expected).unwrap();
        assert_eq!(
            cache.lookup(&expected, &mut |_| {}).unwrap(),
            Some(path.clone())
        );
        std::fs::write(&path, b"fop").unwrap();
        let mut stale = false;
        let found = cache
            .lookup(&expected, &mut |e| {
                stale |= matches!(e, Event::CacheStale(..))
            })
            .unwrap();
        assert_eq!(found, None);
        assert!(stale && !path.exists());
    }
}
