//! The base image of an instance or of a new image: one function,
//! [`obtain_image`], from what the user named to a local image file that
//! has been checked and is never written to.
//!
//! The argument is classified as the legacy `stratus-run-instance` did
//! (client.md §15), with the local cases of our own:
//!
//! | argument | [`ImageInput`] |
//! |---|---|
//! | 27 characters of the identifier alphabet | `Identifier` |
//! | `<identifier>/<email>[/<created>]` that is not a file | `EntryKey` |
//! | `http(s)://` or `ftp://` ending in an image file name (`.img`, `.qcow2`, `.raw`, `.iso`, `.vmdk`, optionally `.gz`/`.bz2`/`.xz`) | `ImageUrl` |
//! | any other `http(s)://` URL | `MetadataUrl` |
//! | an existing file starting with `<` | `MetadataFile` |
//! | any other existing file (or `file://` URL) | `ImageFile` |
//!
//! A metadata file is validated (its signature when it carries one; with
//! trust anchors, its signer too) and the image it describes must be a local
//! file among its locations (`file://` URL or path, relative to the
//! document's directory); that file is checked against the signed size and
//! checksums in one streaming pass ([`crate::image::verify`]) before it is
//! used. The network cases (and a metadata file whose image is only at
//! remote locations) go through a [`Remote`]: the site code of the
//! Marketplace client (resolution, site policy, download with
//! verification, cache) implements it ([`super::remote::SiteRemote`]);
//! without one they are refused with a message saying so.

use crate::document::identifier;
use crate::document::input::read_document;
use crate::document::manifest::{read, Manifest};
use crate::document::validate::{check_document, SignaturePolicy};
use crate::error::{Error, Result, Stage};
use crate::image::compress::{self, Compression};
use crate::image::{qemu, verify};
use crate::signature::trust::TrustOptions;
use std::path::{Path, PathBuf};

/// What the user named as the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageInput {
    /// A Marketplace image identifier.
    Identifier(String),
    /// A Marketplace entry: `identifier/email` or `identifier/email/created`.
    EntryKey(String),
    /// The URL of a metadata document (or of a Marketplace entry).
    MetadataUrl(String),
    /// The URL of an image file.
    ImageUrl(String),
    /// A local metadata document.
    MetadataFile(PathBuf),
    /// A local image file.
    ImageFile(PathBuf),
}

/// Classify `argument` (see the module documentation).
pub fn classify(argument: &str) -> Result<ImageInput> {
    if identifier::is_well_formed(argument) && !Path::new(argument).exists() {
        return Ok(ImageInput::Identifier(argument.to_string()));
    }
    let lower = argument.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("ftp://")
    {
        return Ok(if is_image_url(&lower) {
            ImageInput::ImageUrl(argument.to_string())
        } else {
            ImageInput::MetadataUrl(argument.to_string())
        });
    }
    let path = match argument.strip_prefix("file://") {
        Some(rest) => PathBuf::from(rest),
        None => PathBuf::from(argument),
    };
    if !path.exists() {
        if let Some((id, _)) = argument.split_once('/') {
            if identifier::is_well_formed(id) {
                return Ok(ImageInput::EntryKey(argument.to_string()));
            }
        }
        return Err(Error::BadValue {
            option: "IMAGE".into(),
            value: argument.into(),
            expected:
                "an image file, a metadata file, a Marketplace identifier or a URL (no such file)"
                    .into(),
        });
    }
    if starts_with_markup(&path)? {
        Ok(ImageInput::MetadataFile(path))
    } else {
        Ok(ImageInput::ImageFile(path))
    }
}

/// Whether a URL names an image file rather than a document.
fn is_image_url(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let path = [".gz", ".bz2", ".xz"]
        .iter()
        .find_map(|suffix| path.strip_suffix(suffix))
        .unwrap_or(path);
    [".img", ".qcow", ".qcow2", ".raw", ".iso", ".vmdk"]
        .iter()
        .any(|suffix| path.ends_with(suffix))
}

/// Whether a file's first non-blank byte is `<` (an XML document).
fn starts_with_markup(path: &Path) -> Result<bool> {
    use std::io::Read;
    if path.is_dir() {
        return Err(Error::BadValue {
            option: "IMAGE".into(),
            value: path.display().to_string(),
            expected: "a file, not a directory".into(),
        });
    }
    let mut head = Vec::with_capacity(512);
    std::fs::File::open(path)
        .and_then(|f| f.take(512).read_to_end(&mut head))
        .map_err(|e| Error::io(path, e))?;
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&head);
    Ok(text
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'<'))
}

/// The seam to the site code: what needs the network. Both methods must
/// return only an image that has been checked against signed metadata
/// (size and checksums), after the site policy, in a file the caller only
/// reads (the cache); a refusal is the site code's typed error (policy,
/// mismatch, network).
pub trait Remote {
    /// Resolve a Marketplace identifier, an entry key, a metadata URL or an
    /// image URL (never a local case) to a checked local image.
    fn fetch(&self, input: &ImageInput) -> Result<Fetched>;

    /// Download the image that the already validated `manifest` (read from
    /// the local file `document`) describes, from its remote locations,
    /// after the site policy; the checked local copy.
    fn download(&self, manifest: &Manifest, document: &Path) -> Result<PathBuf>;
}

/// What [`Remote::fetch`] returns.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The checked image file (possibly compressed: it is decompressed
    /// into the work directory when it is).
    pub path: PathBuf,
    /// The metadata it was checked against, when it came with one.
    pub manifest: Option<Manifest>,
    /// What was checked, in a few words, for the user.
    pub provenance: String,
}

/// What else obtaining an image may take.
pub struct Options<'a> {
    /// Anchors to check a signed document's signer against (none: the
    /// embedded certificate only, as the legacy tools did).
    pub trust: &'a TrustOptions,
    /// Where a decompressed working copy goes when the image is compressed
    /// (a backing file cannot be).
    pub work_dir: &'a Path,
    /// Take the image as qcow2 whatever its metadata says (the legacy
    /// `--qcow-disk-format`).
    pub force_qcow2: bool,
    /// The site code, for what needs the network (none: refused).
    pub remote: Option<&'a dyn Remote>,
}

impl std::fmt::Debug for Options<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("work_dir", &self.work_dir)
            .field("force_qcow2", &self.force_qcow2)
            .field("remote", &self.remote.is_some())
            .finish_non_exhaustive()
    }
}

/// The refusal of a network case when there is no [`Remote`].
fn no_remote(what: &str) -> Error {
    Error::BadValue {
        option: "IMAGE".into(),
        value: what.into(),
        expected: "a local image or metadata file: Marketplace identifiers and URLs need the site code (download, site policy, cache), which was not given here".into(),
    }
}

/// A checked local image.
#[derive(Debug, Clone)]
pub struct LocalImage {
    /// The image file to use as a read-only base.
    pub path: PathBuf,
    /// Its disk format (`raw`, `qcow2`, ...).
    pub format: String,
    /// The metadata it was checked against, if it came with one.
    pub manifest: Option<Manifest>,
    /// What was checked, in a few words, for the user.
    pub provenance: String,
    /// Notes for the user (an unsigned draft, ...).
    pub warnings: Vec<String>,
}

/// Obtain the image `input` names, checked, as a local file.
pub fn obtain_image(input: &ImageInput, options: &Options<'_>) -> Result<LocalImage> {
    match input {
        ImageInput::ImageFile(path) => local_file(path, options),
        ImageInput::MetadataFile(path) => from_metadata_file(path, options),
        ImageInput::Identifier(text)
        | ImageInput::EntryKey(text)
        | ImageInput::MetadataUrl(text)
        | ImageInput::ImageUrl(text) => match options.remote {
            Some(remote) => fetched(remote.fetch(input)?, options),
            None => Err(no_remote(text)),
        },
    }
}

/// A [`Fetched`] image as a [`LocalImage`]: decompressed when it is, its
/// format from its metadata, else from qemu-img.
fn fetched(image: Fetched, options: &Options<'_>) -> Result<LocalImage> {
    let (path, _) = decompressed(&image.path, options.work_dir)?;
    let from_metadata = image
        .manifest
        .as_ref()
        .and_then(|m| m.terms.format.clone())
        .filter(|f| !f.is_empty());
    // The header is checked even when the format is forced or signed: a
    // backing file must be refused whatever the format is said to be.
    let detected = match &image.manifest {
        None => unsigned_format(&path, &image.provenance)?,
        Some(_) => without_backing_file(&path, &image.provenance)?,
    };
    let format = match (from_metadata, options.force_qcow2) {
        (_, true) => "qcow2".to_string(),
        (Some(format), false) => format,
        (None, false) => detected,
    };
    Ok(LocalImage {
        path,
        format,
        manifest: image.manifest,
        provenance: image.provenance,
        warnings: Vec::new(),
    })
}

/// The format of an image that came without metadata (an image URL): raw
/// or qcow2, and no backing file, which would make QEMU open a host file
/// for the guest.
fn unsigned_format(path: &Path, origin: &str) -> Result<String> {
    let format = without_backing_file(path, origin)?;
    if format != "raw" && format != "qcow2" {
        return Err(bad_image(
            origin,
            format!("a {format} image: raw or qcow2 expected"),
        ));
    }
    Ok(format)
}

/// The format of an image from elsewhere (downloaded, or described by a
/// metadata document), refused when its header names another file (a
/// backing file, a qcow2 external data file, a VMDK extent): QEMU would
/// open that file of this host for the guest, and signed checksums do not
/// make the choice of a host file the signer's to make.
fn without_backing_file(path: &Path, origin: &str) -> Result<String> {
    let (format, external) = qemu::detect_format_and_external_file(path)?;
    match external {
        Some(file) => Err(bad_image(
            origin,
            format!("its header names {file}: refused, QEMU would open that file of this host"),
        )),
        None => Ok(format),
    }
}

/// A refused image, named by where it came from.
fn bad_image(origin: &str, reason: String) -> Error {
    Error::from(super::SiteError::BadInput {
        what: "the image".into(),
        value: origin.into(),
        reason,
    })
}

/// A plain image file: its format from qemu-img, decompressed first when
/// it is compressed.
fn local_file(path: &Path, options: &Options<'_>) -> Result<LocalImage> {
    let (path, compression) = decompressed(path, options.work_dir)?;
    let format = if options.force_qcow2 {
        "qcow2".to_string()
    } else {
        qemu::detect_format(&path)?
    };
    Ok(LocalImage {
        provenance: match compression {
            Compression::None => "local image file (no metadata)".into(),
            other => format!("local {}-compressed image file (no metadata)", other.name()),
        },
        path,
        format,
        manifest: None,
        warnings: Vec::new(),
    })
}

/// A metadata document and the local image it describes.
fn from_metadata_file(path: &Path, options: &Options<'_>) -> Result<LocalImage> {
    let name = path.display().to_string();
    let bytes = read_document(path)?;
    let mut warnings = Vec::new();
    let signed = match check_document(&bytes, &name, SignaturePolicy::Required, options.trust) {
        Ok(report) => report.signer,
        Err(Error::Invalid { reason, .. }) if reason.stage == Stage::Unsigned => {
            check_document(&bytes, &name, SignaturePolicy::Skip, options.trust)?;
            warnings.push(format!(
                "{name} is not signed: the image is checked against its checksums only"
            ));
            None
        }
        Err(error) => return Err(error),
    };
    let text = String::from_utf8_lossy(&bytes);
    let manifest = read::from_str(&text, &name)?;
    let image = match local_location(path, &manifest) {
        Ok(image) => {
            verify::verify_file(&image, &manifest)?;
            image
        }
        Err(NoLocal::Remote(error)) => match options.remote {
            Some(remote) => remote.download(&manifest, path)?,
            None => return Err(error),
        },
        Err(NoLocal::Missing(error)) => return Err(error),
    };
    let (image, _) = decompressed(&image, options.work_dir)?;
    let detected = without_backing_file(&image, &name)?;
    let format = match (&manifest.terms.format, options.force_qcow2) {
        (_, true) => "qcow2".to_string(),
        (Some(format), false) if !format.is_empty() => format.clone(),
        _ => detected,
    };
    Ok(LocalImage {
        path: image,
        format,
        provenance: match signed {
            Some(signer) => format!("verified against {name}, signed by {signer}"),
            None => format!("verified against the unsigned {name}"),
        },
        manifest: Some(manifest),
        warnings,
    })
}

/// Why a document has no local image: only remote locations (which a
/// [`Remote`] can download), or none that exists.
enum NoLocal {
    Remote(Error),
    Missing(Error),
}

/// The first location of `manifest` that is a local file.
fn local_location(document: &Path, manifest: &Manifest) -> std::result::Result<PathBuf, NoLocal> {
    let base = document.parent().unwrap_or(Path::new("."));
    let mut remote = Vec::new();
    for location in &manifest.terms.locations {
        let location = location.trim();
        let lower = location.to_ascii_lowercase();
        let path = if let Some(rest) = location.strip_prefix("file://") {
            PathBuf::from(rest)
        } else if lower.contains("://") {
            remote.push(location.to_string());
            continue;
        } else {
            base.join(location)
        };
        if path.is_file() {
            return Ok(path);
        }
    }
    let error = |expected: String| Error::BadValue {
        option: "IMAGE".into(),
        value: document.display().to_string(),
        expected,
    };
    Err(if remote.is_empty() {
        NoLocal::Missing(error(
            "a metadata document with a location that is a local file (file:// URL or path)".into(),
        ))
    } else {
        NoLocal::Remote(error(format!(
            "a location that is a local file: {} need the site code's download, which was not given here",
            remote.join(", ")
        )))
    })
}

/// `path` itself, or a decompressed copy of it in `work_dir`.
fn decompressed(path: &Path, work_dir: &Path) -> Result<(PathBuf, Compression)> {
    let (compression, mut reader) = compress::open(path)?;
    if compression == Compression::None {
        return Ok((path.to_path_buf(), compression));
    }
    std::fs::create_dir_all(work_dir).map_err(|e| Error::io(work_dir, e))?;
    let target = work_dir.join("base.img");
    let mut file = std::fs::File::create(&target).map_err(|e| Error::io(&target, e))?;
    std::io::copy(&mut reader, &mut file)
        .map_err(|e| compress::read_error(path, compression, e))?;
    Ok((target, compression))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_legacy_order() {
        let id = "MMZu9WvwKIro-rtBQfDk4PsKO7_";
        assert_eq!(classify(id).unwrap(), ImageInput::Identifier(id.into()));
        let key = format!("{id}/jane@example.org/2026-01-15T10:20:30Z");
        assert_eq!(classify(&key).unwrap(), ImageInput::EntryKey(key.clone()));
        let url = "https://mp.example.org/metadata/MMZu9WvwKIro-rtBQfDk4PsKO7_";
        assert_eq!(classify(url).unwrap(), ImageInput::MetadataUrl(url.into()));
        for image in [
            "http://x.org/a.img",
            "https://x.org/b.qcow2.gz?x=1",
            "ftp://x/c.raw.xz",
        ] {
            assert_eq!(classify(image).unwrap(), ImageInput::ImageUrl(image.into()));
        }
        assert!(classify("no/such/file").is_err());
        let dir = tempfile::tempdir().unwrap();
        let xml = dir.path().join("a.xml");
        std::fs::write(&xml, "\n  <?xml version='1.0'?><rdf:RDF/>").unwrap();
        let img = dir.path().join("a.img");
        std::fs::write(&img, [0u8; 512]).unwrap();
        let text = |p: &Path| p.to_str().unwrap().to_string();
        assert_eq!(
            classify(&text(&xml)).unwrap(),
            ImageInput::MetadataFile(xml.clone())
        );
        assert_eq!(
            classify(&text(&img)).unwrap(),
            ImageInput::ImageFile(img.clone())
        );
        assert_eq!(
            classify(&format!("file://{}", text(&img))).unwrap(),
            ImageInput::ImageFile(img)
        );
    }

    #[test]
    fn network_inputs_say_what_they_need() {
        let trust = TrustOptions::none();
        let dir = tempfile::tempdir().unwrap();
        let options = Options {
            trust: &trust,
            work_dir: dir.path(),
            force_qcow2: false,
            remote: None,
        };
        let input = ImageInput::Identifier("MMZu9WvwKIro-rtBQfDk4PsKO7_".into());
        let error = obtain_image(&input, &options).unwrap_err();
        assert!(error.to_string().contains("site code"), "{error}");
    }
}
