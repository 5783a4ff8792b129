//! The site side: finding entries on a Marketplace, deciding with the site
//! policy, downloading verified images, and what a site then does with
//! them.
//!
//! - [`endpoint`]: the Marketplace endpoint (option, environment, user
//!   configuration, default) and the URLs built from it;
//! - [`http`]: the one HTTP client (ureq and rustls: TLS verified by
//!   default, proxies from the environment, timeouts);
//! - [`marketplace`]: the Marketplace API (entries, listings, uploads) and
//!   the splitting of a listing into the exact text of each document;
//! - [`source`]: what an argument names (identifier, entry key, URL, file);
//! - [`policy`]: the site policy file, both dialects, and its rules;
//! - [`resolve`]: every candidate verified and judged, the one chosen;
//! - [`download`] and [`cache`]: the one download and verification path,
//!   streaming, resumable, content-addressed cache, atomic rename;
//! - [`error`]: the failures, with exit codes 5, 6 and 7;
//! - [`obtain`]: the base image of an instance or a new image, from a local
//!   file, a metadata document or the Marketplace, verified before anything
//!   uses it; [`remote`]: the site code as its network side;
//! - [`context`]: the OpenNebula-style context CD a guest reads at boot;
//! - [`instance`]: local QEMU instances: overlay, command line, state
//!   directory, and the descriptions for libvirt and OpenNebula;
//! - [`kit`]: the preparation kit installed into images.
//!
//! # Resolving an input to a verified local image
//!
//! What `stratus-download-image` does, and what a command that starts an
//! image calls:
//!
//! ```no_run
//! use stratus_core::site::{self, download, http, Site};
//! # fn main() -> stratus_core::error::Result<()> {
//! let client = http::Client::new(http::HttpOptions::default())?;
//! let endpoint = site::endpoint::Endpoint::choose(None, None)?;
//! let site = Site {
//!     marketplace: site::marketplace::Marketplace::new(endpoint, client),
//!     policy: site::policy::Policy::load(std::path::Path::new("/etc/stratuslab/policy.cfg"))?,
//!     trust: stratus_core::signature::trust::TrustOptions::none(),
//!     allow: site::policy::Allowances::default(),
//! };
//! let source = site::Source::parse("MMZu9WvwKIro-rtBQfDk4PsKO7_")?;
//! let options = download::Options {
//!     cache: Some(site::Cache::new("/var/cache/stratus/images")),
//!     ..download::Options::default()
//! };
//! let (entry, image) = site::resolve_and_fetch(&site, &source, &options, &mut |_event| {})?;
//! println!("{} from {:?} at {}", entry.origin, image.served_by, image.path().display());
//! # Ok(()) }
//! ```
//!
//! [`resolve_and_fetch`] is [`resolve::resolve`] (fetch or read the candidates,
//! verify each on the bytes received, apply the policy), then
//! [`Resolution::accepted`] (the newest accepted entry, or
//! [`SiteError::Refused`]), then [`download::fetch`] (the cache, else the
//! locations in order, verified; into the cache and/or the output file,
//! converted with qemu-img when asked). The inputs are those of
//! [`Source::parse`]: a Marketplace identifier, `id/email[/created]`, a
//! metadata URL, a metadata file (`-`: standard input). An image URL
//! ([`Source::ImageUrl`]) has no signed checksums: [`resolve::resolve`]
//! refuses it, and a command that accepts such images anyway must say so
//! to its user. Errors are [`crate::Error`]s whose exit codes are those of
//! DESIGN.md: 3/4 signature or signer, 5 policy, 6 image mismatch, 7
//! network, 255 local I/O.

pub mod cache;
pub mod context;
pub mod download;
pub mod endpoint;
pub mod error;
pub mod http;
pub mod instance;
pub mod kit;
pub mod marketplace;
pub mod obtain;
pub mod policy;
pub mod remote;
pub mod resolve;
pub mod source;

pub use cache::Cache;
pub use error::SiteError;
pub use resolve::{Candidate, Resolution, Site};
pub use source::Source;

/// Resolve `source` with the site's policy and fetch the chosen entry's
/// image (see the module documentation): the entry and the local image.
pub fn resolve_and_fetch(
    site: &Site,
    source: &Source,
    options: &download::Options,
    events: &mut dyn FnMut(download::Event),
) -> crate::error::Result<(Candidate, download::LocalImage)> {
    let resolution = resolve::resolve(site, source)?;
    let chosen = resolution.accepted()?.clone();
    let manifest = chosen
        .manifest
        .as_ref()
        .expect("an accepted candidate has a manifest");
    let image = download::fetch(&site.marketplace.client, manifest, options, events)?;
    Ok((chosen, image))
}
