//! The legacy file layouts of marketplace.md §5.1: documents as
//! `<identifier>/<email>/<created>.xml`, under `<data.dir>/metadata/` (the
//! HEAD layout) or directly under `<data.dir>/` (release 14.06.0 and
//! earlier). `import` reads both, `export` writes the HEAD layout and
//! `/sync` reads single files.
//!
//! A path is only ever built from a checked [`Key`], and a file found by
//! `/sync` must resolve (symbolic links followed) inside the data
//! directory.

use std::path::{Path, PathBuf};

use crate::entry::Key;

/// The directory of the HEAD layout inside a data directory.
pub const METADATA_DIR: &str = "metadata";
/// The `/sync` key list in a data directory.
pub const SYNC_LIST: &str = ".sync";

/// A document file found in a legacy data directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The file.
    pub path: PathBuf,
    /// The key its place in the layout gives, when it is in one.
    pub key: Option<Key>,
}

/// The root of the documents in a legacy data directory: `metadata/` when
/// it exists (HEAD layout), else the directory itself.
pub fn documents_root(dir: &Path) -> PathBuf {
    let head = dir.join(METADATA_DIR);
    if head.is_dir() {
        head
    } else {
        dir.to_path_buf()
    }
}

/// Every `*.xml` file under the documents root of `dir`, sorted by path
/// (which orders the versions of an entry by time). Hidden files and
/// directories (`.git`, `.sync`) and the Sesame `datastore/` are skipped.
pub fn find_documents(dir: &Path) -> std::io::Result<Vec<Found>> {
    let root = documents_root(dir);
    let mut found = Vec::new();
    walk(&root, &root, 0, &mut found)?;
    found.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(found)
}

/// The deepest directory level looked at: the layout has three.
const MAX_DEPTH: usize = 8;

fn walk(root: &Path, dir: &Path, depth: usize, found: &mut Vec<Found>) -> std::io::Result<()> {
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || (depth == 0 && name == "datastore") {
            continue;
        }
        let kind = item.file_type()?;
        let path = item.path();
        if kind.is_dir() && depth < MAX_DEPTH {
            walk(root, &path, depth + 1, found)?;
        } else if kind.is_file() && name.ends_with(".xml") {
            let key = key_of(root, &path);
            found.push(Found { path, key });
        }
    }
    Ok(())
}

/// The key of `<root>/<identifier>/<email>/<created>.xml`.
fn key_of(root: &Path, path: &Path) -> Option<Key> {
    let relative = path.strip_prefix(root).ok()?;
    let parts: Vec<&str> = relative
        .components()
        .map(|c| c.as_os_str().to_str())
        .collect::<Option<Vec<_>>>()?;
    match parts.as_slice() {
        [identifier, email, file] => Key::new(identifier, email, file.strip_suffix(".xml")?).ok(),
        _ => None,
    }
}

/// Where the HEAD layout under `dir` keeps `key`.
pub fn path_of(dir: &Path, key: &Key) -> PathBuf {
    dir.join(METADATA_DIR)
        .join(&key.identifier)
        .join(&key.email)
        .join(format!("{}.xml", key.created))
}

/// Write `document` as `key`'s file under `dir` (HEAD layout): a
/// temporary file in the same directory, synced, then renamed.
pub fn write_document(dir: &Path, key: &Key, document: &[u8]) -> std::io::Result<PathBuf> {
    use std::io::Write;
    let path = path_of(dir, key);
    let parent = path.parent().expect("a document path has a parent");
    std::fs::create_dir_all(parent)?;
    let temporary = parent.join(format!(".{}.tmp", key.created));
    let mut file = std::fs::File::create(&temporary)?;
    file.write_all(document)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temporary, &path)?;
    Ok(path)
}

/// The file `/sync` reads for `key` in the data directory `data_dir`: the
/// HEAD layout's, else the older layout's; `None` when neither exists or
/// the file resolves outside the data directory.
pub fn sync_file(data_dir: &Path, key: &Key) -> Option<PathBuf> {
    let base = std::fs::canonicalize(data_dir).ok()?;
    let relative = Path::new(&key.identifier)
        .join(&key.email)
        .join(format!("{}.xml", key.created));
    [
        base.join(METADATA_DIR).join(&relative),
        base.join(&relative),
    ]
    .into_iter()
    .filter_map(|candidate| std::fs::canonicalize(candidate).ok())
    .find(|resolved| resolved.starts_with(&base) && resolved.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_layouts_are_found_with_their_keys() {
        let dir = tempfile::tempdir().unwrap();
        let key = Key::new("ID", "jane@example.org", "2014-03-08T14:10:40Z").unwrap();
        let written = write_document(dir.path(), &key, b"<x/>").unwrap();
        std::fs::write(dir.path().join(".sync"), "ignored").unwrap();
        let found = find_documents(dir.path()).unwrap();
        assert_eq!(
            found,
            [Found {
                path: written,
                key: Some(key.clone())
            }]
        );
        let old = tempfile::tempdir().unwrap();
        let path = old
            .path()
            .join("ID/jane@example.org/2014-03-08T14:10:40Z.xml");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "<x/>").unwrap();
        std::fs::write(old.path().join("stray.xml"), "<x/>").unwrap();
        let found = find_documents(old.path()).unwrap();
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].key, Some(key.clone()));
        assert_eq!(found[1].key, None);
        assert_eq!(
            sync_file(old.path(), &key),
            Some(path.canonicalize().unwrap())
        );
    }

    #[test]
    fn sync_does_not_follow_links_out_of_the_data_directory() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.xml"), "<x/>").unwrap();
        let dir = tempfile::tempdir().unwrap();
        let key = Key::new("ID", "e", "secret").unwrap();
        std::fs::create_dir_all(dir.path().join("ID")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("ID/e")).unwrap();
        assert_eq!(sync_file(dir.path(), &key), None);
    }
}
