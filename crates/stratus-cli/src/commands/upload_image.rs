//! `stratus-upload-image`: the Marketplace half of the legacy command
//! (client.md §13, deprecated in the legacy user guide).
//!
//! The legacy command uploaded the image to a persistent-disk service and
//! then published its metadata with the service's URL as a location. That
//! service does not exist here: the image is published wherever its author
//! serves it, and this command does the rest: add the location(s) to the
//! metadata (`--location`), set `dcterms:compression` (`-C`, legacy wrote
//! it in the wrong namespace), sign the metadata in place (the original
//! kept as `.orig`, as the legacy command did) and upload it, printing the
//! entry URL. The persistent-disk options are refused with that
//! explanation.

use crate::common::{escaped_name, write_output, CliError, Verbosity};
use crate::signing::{self, CredentialArgs};
use crate::site_args::{clean, site_error, ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use std::path::{Path, PathBuf};
use stratus_core::document::input;
use stratus_core::document::manifest::{read, write};
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::signature::trust::TrustOptions;

/// Publishes the metadata of an image served at the given location(s).
///
/// The image-file argument is the image; its metadata (made by stratus-build-metadata) is the
/// file of the same name with `.img` replaced by `.xml`, or --metadata. The persistent disk
/// service the legacy command uploaded images to does not exist here: publish the image
/// yourself (any HTTP or HTTPS server) and give its URL with --location.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-upload-image",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct UploadImage {
    /// The image file
    #[arg(value_name = "IMAGE-FILE")]
    pub image: Option<PathBuf>,
    /// Where the image is published (repeatable); added to the metadata's locations
    #[arg(long = "location", value_name = "URL")]
    pub locations: Vec<String>,
    /// The metadata file [default: the image file with .img replaced by .xml]
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
    /// Compression of the published file: gz, bz2 or none (dcterms:compression; default: as the
    /// metadata says)
    #[arg(short = 'C', long = "compress", value_name = "FORMAT")]
    pub compress: Option<String>,
    /// Email address if not in the certificate (also: email in the user configuration)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Sign with the legacy profile (RSA-SHA1) for a legacy Marketplace (also: signature_profile =
    /// legacy-sha1 in the user configuration)
    #[arg(long)]
    pub legacy_sha1: bool,
    /// Legacy: upload only the image to the persistent disk service (not available)
    #[arg(long)]
    pub image_only: bool,
    /// Legacy persistent disk options (not available: there is no persistent disk service)
    #[arg(long = "pdisk-endpoint", value_name = "URL", hide = true)]
    pub pdisk_endpoint: Option<String>,
    #[arg(long = "pdisk-username", value_name = "NAME", hide = true)]
    #[allow(missing_docs)]
    pub pdisk_username: Option<String>,
    #[arg(long = "pdisk-password", value_name = "PASSWORD", hide = true)]
    #[allow(missing_docs)]
    pub pdisk_password: Option<String>,
    #[arg(short = 't', long = "tag", value_name = "TAG", hide = true)]
    #[allow(missing_docs)]
    pub tag: Option<String>,
    #[arg(long, hide = true)]
    #[allow(missing_docs)]
    pub private: bool,
    #[arg(long, hide = true)]
    #[allow(missing_docs)]
    pub public: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub credentials: CredentialArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

const NO_PDISK: &str = "the persistent disk service of the legacy command does not exist here: \
    publish the image on an HTTP(S) server yourself and give its URL with --location";

/// Run `stratus-upload-image`.
pub fn run(args: UploadImage) -> Result<i32, CliError> {
    let pdisk = args.image_only
        || args.pdisk_endpoint.is_some()
        || args.pdisk_username.is_some()
        || args.pdisk_password.is_some()
        || args.tag.is_some()
        || args.private
        || args.public;
    if pdisk {
        return Err(CliError::Usage(NO_PDISK.into()));
    }
    let image = args
        .image
        .clone()
        .ok_or_else(|| CliError::Usage("Please specify an image as <filename>.img".into()))?;
    let compression = match args.compress.as_deref() {
        None => None,
        Some("gz") => Some("gz"),
        Some("bz2") => Some("bz2"),
        Some("none") => {
            args.verbosity
                .warn("'none' specified for compression; manifest compression element NOT updated");
            None
        }
        Some(_) => return Err(CliError::Usage("Unknown compression format".into())),
    };
    if !image.is_file() {
        return Err(CliError::Usage(format!(
            "Image file does not exist: {}",
            escaped_name(&image)
        )));
    }
    let metadata = args
        .metadata
        .clone()
        .unwrap_or_else(|| metadata_beside(&image));
    if !metadata.is_file() {
        return Err(CliError::Usage(format!(
            "Image manifest does not exist: {} (make it with stratus-build-metadata, or give --metadata)",
            escaped_name(&metadata)
        )));
    }
    for location in &args.locations {
        let lower = location.to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            return Err(CliError::Usage(format!(
                "--location: invalid value '{}': expected an http:// or https:// URL",
                clean(location)
            )));
        }
    }
    let config = args.config.load()?;
    let credentials = signing::load_credentials(&args.credentials, &config)?;
    let legacy = signing::legacy_profile(args.legacy_sha1, &config)?;
    signing::check_key(&credentials, legacy)?;
    signing::warn_if_expired(&credentials, &args.verbosity);
    let marketplace = args.net.marketplace(&config)?;

    let name = escaped_name(&metadata);
    let bytes = input::read_document(&metadata)?;
    let text = stratus_core::document::xml::decode_text(&bytes, &name)?;
    let mut manifest = read::from_str(&text, &name)?;
    update(&mut manifest, &args.locations, compression, &args.verbosity);
    if manifest.terms.locations.iter().all(|l| l.trim().is_empty()) {
        return Err(CliError::Usage(format!(
            "{name} lists no location: give the URL the image is published at with --location"
        )));
    }
    let email = signing::setting(args.email.clone(), None, config.get("email"))?;
    let signed = signing::sign(
        &write::to_string(&manifest),
        &name,
        &credentials,
        legacy,
        email.as_deref(),
    )?;
    check_document(
        signed.as_bytes(),
        &name,
        SignaturePolicy::Required,
        &TrustOptions::none(),
    )?;
    keep_original_and_write(&metadata, signed.as_bytes())?;
    marketplace.upload(signed.as_bytes()).map_err(site_error)?;
    let signed_manifest = read::from_str(&signed, &name)?;
    let endorsement = signed_manifest.endorsement.unwrap_or_default();
    println!(
        "{}",
        marketplace.endpoint.entry_url(
            &signed_manifest.identifier,
            endorsement
                .endorser
                .and_then(|e| e.email)
                .as_deref()
                .unwrap_or(""),
            endorsement.created.as_deref().unwrap_or("")
        )
    );
    Ok(0)
}

/// The legacy metadata file of an image: every `.img` replaced by `.xml`
/// (and `.xml` appended when there is none).
fn metadata_beside(image: &Path) -> PathBuf {
    let text = image.to_string_lossy();
    if text.contains(".img") {
        PathBuf::from(text.replace(".img", ".xml"))
    } else {
        PathBuf::from(format!("{text}.xml"))
    }
}

fn update(
    manifest: &mut stratus_core::document::manifest::Manifest,
    locations: &[String],
    compression: Option<&str>,
    verbosity: &Verbosity,
) {
    for location in locations {
        if manifest
            .terms
            .locations
            .iter()
            .any(|l| l.trim() == location)
        {
            verbosity.warn(format!(
                "Element 'location' with value '{}' already defined in the manifest. Skipping addition of the element.",
                clean(location)
            ));
        } else {
            manifest.terms.locations.retain(|l| !l.trim().is_empty());
            manifest.terms.locations.push(location.clone());
        }
    }
    if let Some(compression) = compression {
        manifest.terms.compression = Some(compression.to_string());
    }
}

/// Sign in place, as the legacy command did: the original kept as
/// `<file>.orig`, the signed document written atomically.
fn keep_original_and_write(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut backup = path.as_os_str().to_owned();
    backup.push(".orig");
    let backup = PathBuf::from(backup);
    std::fs::copy(path, &backup)
        .map_err(|e| CliError::Core(stratus_core::Error::io(&backup, e)))?;
    write_output(Some(path), bytes)
}
