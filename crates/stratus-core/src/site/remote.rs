//! The site code as the [`obtain::Remote`] of the commands that start
//! images: a Marketplace identifier, an entry key or a metadata URL is
//! resolved with the site policy ([`resolve::resolve`]), and the chosen
//! entry's image downloaded and verified ([`download::fetch`]) into the
//! cache or the work directory. A local metadata document whose image is
//! only at remote locations goes through the same path, so that its
//! policy is the site's too. Nothing else comes back: an image URL (no
//! signed checksums) is refused by [`resolve::resolve`].

use super::download::{self, Event};
use super::obtain::{self, Fetched, ImageInput};
use super::resolve::{self, Resolution, Site};
use super::{Cache, Source};
use crate::document::manifest::Manifest;
use crate::error::Result;
use std::path::{Path, PathBuf};

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
}

impl SiteRemote<'_> {
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
            ImageInput::ImageUrl(url) => Source::ImageUrl(url.clone()),
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
