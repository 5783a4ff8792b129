//! The site code as the [`obtain::Remote`] of the commands that start
//! images: a Marketplace identifier, an entry key or a metadata URL is
//! resolved with the site policy ([`resolve::resolve`]), and the chosen
//! entry's image downloaded and verified ([`download::fetch`]) into the
//! cache or the work directory. A local metadata document whose image is
//! only at remote locations goes through the same path, so that its
//! policy is the site's too. An image URL has no signed metadata: it is
//! refused unless the user opted in ([`ImageUrls`]): pinned by checksums
//! the user gives (`--checksum ALGO:HEX`), or taken unverified
//! (`--unverified-image-url`, which the command must warn about).

use super::download::{self, Event};
use super::obtain::{self, Fetched, ImageInput};
use super::resolve::{self, Resolution, Site};
use super::{Cache, Source};
use crate::document::manifest::Manifest;
use crate::error::Result;
use crate::image::digest::Algorithm;
use std::path::{Path, PathBuf};

/// What may be done with an image URL, which has no signed metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ImageUrls {
    /// Refused, with a message saying how to opt in.
    #[default]
    Refused,
    /// Downloaded and checked against these digests (the user's).
    Pinned(Vec<(Algorithm, String)>),
    /// Downloaded and used unchecked.
    Unverified,
}

/// The options that opt in to image URLs, for the refusal's message.
pub const IMAGE_URL_OPT_IN: &str = "--checksum sha256:HEX (or sha512:HEX), the image's own \
     checksum, to have it verified, or --unverified-image-url to take it as served";

/// Parse `ALGO:HEX` (`sha256`, `sha512`, or their legacy names `SHA-256`,
/// `SHA-512`): the algorithm and the lower-case digest. MD5 and SHA-1 are
/// refused: they no longer resist a forged image.
pub fn parse_checksum(text: &str) -> std::result::Result<(Algorithm, String), super::SiteError> {
    let bad = |reason: &str| super::SiteError::BadInput {
        what: "--checksum".into(),
        value: text.into(),
        reason: reason.into(),
    };
    let (name, hex) = text
        .split_once(':')
        .ok_or_else(|| bad("ALGO:HEX, e.g. sha256:9f86d0...; ALGO is sha256 or sha512"))?;
    let algorithm = match name.to_ascii_lowercase().replace('-', "").as_str() {
        "sha256" => Algorithm::Sha256,
        "sha512" => Algorithm::Sha512,
        "md5" | "sha1" => return Err(bad("MD5 and SHA-1 can be forged: give sha256 or sha512")),
        _ => return Err(bad("the algorithm is sha256 or sha512")),
    };
    let hex = hex.trim().to_ascii_lowercase();
    if hex.len() != algorithm.hex_len() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(&format!(
            "a {} checksum has {} hexadecimal digits",
            algorithm.legacy_name(),
            algorithm.hex_len()
        )));
    }
    Ok((algorithm, hex))
}

/// A [`Site`] with where its downloads go.
pub struct SiteRemote<'a> {
    /// The Marketplace, the policy, the trust and the allowances.
    pub site: &'a Site,
    /// The verified-image cache (none: a private copy in `work_dir`).
    pub cache: Option<Cache>,
    /// Where the downloaded image goes when there is no cache.
    pub work_dir: PathBuf,
    /// Told of every resolution before its entry is used or refused (the
    /// commands print the refusals).
    pub on_resolution: &'a dyn Fn(&Resolution),
    /// Told of every download event (progress, locations tried).
    pub on_event: &'a dyn Fn(&Event),
    /// What may be done with an image URL.
    pub image_urls: ImageUrls,
}

impl SiteRemote<'_> {
    /// The image at `url` (no metadata), as [`ImageUrls`] allows.
    fn fetch_image_url(&self, url: &str) -> Result<Fetched> {
        let digests = match &self.image_urls {
            ImageUrls::Refused => {
                return Err(super::SiteError::BadInput {
                    what: "the image".into(),
                    value: url.into(),
                    reason: format!(
                        "an image URL carries no signed checksums to verify it against: give \
                         the image's metadata (its identifier, entry URL or file), or {IMAGE_URL_OPT_IN}"
                    ),
                }
                .into())
            }
            ImageUrls::Pinned(digests) => digests.clone(),
            ImageUrls::Unverified => Vec::new(),
        };
        std::fs::create_dir_all(&self.work_dir).map_err(|e| crate::Error::io(&self.work_dir, e))?;
        let output = self.work_dir.join("downloaded.img");
        let verified = download::fetch_url(
            &self.site.marketplace.client,
            url,
            &digests,
            &output,
            &mut |e| (self.on_event)(&e),
        )?;
        Ok(Fetched {
            path: output,
            manifest: None,
            provenance: match verified.is_empty() {
                true => format!("{url}, NOT verified (--unverified-image-url)"),
                false => format!(
                    "{url}, verified ({}) against --checksum",
                    verified
                        .iter()
                        .map(|(a, _)| a.legacy_name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        })
    }

    /// Resolve `source` and fetch its chosen entry's image, verified.
    fn resolve_and_fetch(&self, source: &Source) -> Result<Fetched> {
        let resolution = resolve::resolve(self.site, source)?;
        (self.on_resolution)(&resolution);
        let chosen = resolution.accepted()?;
        let manifest = chosen
            .manifest
            .as_ref()
            .expect("an accepted candidate has a manifest");
        let image = self.fetch_verified(manifest)?;
        let signer = chosen
            .report
            .as_ref()
            .and_then(|r| r.signer.clone())
            .map(|s| format!(", signed by {s}"))
            .unwrap_or_default();
        Ok(Fetched {
            provenance: format!(
                "{} from {}, verified ({}) against {}{signer}, accepted by the site policy",
                image.identifier,
                match &image.served_by {
                    download::Served::Cache => "the cache".to_string(),
                    download::Served::Location(url) => url.clone(),
                },
                image
                    .verified
                    .iter()
                    .map(|a| a.legacy_name())
                    .collect::<Vec<_>>()
                    .join(", "),
                chosen.origin,
            ),
            path: image.path().to_path_buf(),
            manifest: Some(manifest.clone()),
        })
    }

    /// The verified image of an accepted `manifest`: in the cache, else
    /// in the work directory.
    fn fetch_verified(&self, manifest: &Manifest) -> Result<download::LocalImage> {
        let options = download::Options {
            output: match &self.cache {
                Some(_) => None,
                None => {
                    std::fs::create_dir_all(&self.work_dir)
                        .map_err(|e| crate::Error::io(&self.work_dir, e))?;
                    Some(self.work_dir.join("downloaded.img"))
                }
            },
            cache: self.cache.clone(),
            format: None,
        };
        download::fetch(
            &self.site.marketplace.client,
            manifest,
            &options,
            &mut |e| (self.on_event)(&e),
        )
    }
}

impl obtain::Remote for SiteRemote<'_> {
    fn fetch(&self, input: &ImageInput) -> Result<Fetched> {
        let source = match input {
            ImageInput::Identifier(text) | ImageInput::EntryKey(text) => Source::parse(text)?,
            ImageInput::MetadataUrl(url) => Source::MetadataUrl(url.clone()),
            ImageInput::ImageUrl(url) => return self.fetch_image_url(url),
            ImageInput::MetadataFile(path) | ImageInput::ImageFile(path) => {
                Source::File(path.clone())
            }
        };
        self.resolve_and_fetch(&source)
    }

    fn download(&self, manifest: &Manifest, document: &Path) -> Result<PathBuf> {
        // The document again, through the site's policy this time: the
        // entry chosen is this document's, since a file holds one.
        let fetched = self.resolve_and_fetch(&Source::File(document.to_path_buf()))?;
        match &fetched.manifest {
            Some(m) if m.identifier == manifest.identifier => Ok(fetched.path),
            _ => Err(super::SiteError::BadInput {
                what: "the image".into(),
                value: document.display().to_string(),
                reason: "the document changed while it was read".into(),
            }
            .into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_name_a_strong_algorithm_and_its_full_digest() {
        let hex = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let (algorithm, value) = parse_checksum(&format!("sha256:{hex}")).unwrap();
        assert_eq!(algorithm, Algorithm::Sha256);
        assert_eq!(value, hex.to_ascii_lowercase());
        assert!(parse_checksum(&format!("SHA-256:{hex}")).is_ok());
        for bad in [
            hex.to_string(),
            format!("md5:{}", &hex[..32]),
            format!("sha1:{}", &hex[..40]),
            format!("sha512:{hex}"),
            format!("sha256:{}", &hex[..63]),
            format!("sha256:{}g", &hex[..63]),
            format!("crc:{hex}"),
        ] {
            assert!(parse_checksum(&bad).is_err(), "{bad}");
        }
    }
}
