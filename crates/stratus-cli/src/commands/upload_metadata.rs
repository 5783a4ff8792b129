//! `stratus-upload-metadata`: publish signed metadata documents on a
//! Marketplace (client.md §6).
//!
//! Each document is validated here first, as `stratus-validate-metadata`
//! would (signature and rules; the signer's chain too with `--ca` or
//! `--trust-dir`): an unsigned or invalid document is refused with the
//! validator's reason before anything is sent. Then it is POSTed to
//! `<endpoint>/metadata`, and its entry URL printed on stdout (the legacy
//! output line); stderr says whether it was published (201) or awaits the
//! endorser's confirmation by e-mail (202).

use crate::common::{escaped_name, CliError, TrustArgs, Verbosity};
use crate::site_args::{clean, ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use std::path::{Path, PathBuf};
use stratus_core::document::input;
use stratus_core::document::manifest::read;
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::signature::trust::TrustOptions;
use stratus_core::site::marketplace::{Marketplace, Upload};

/// Uploads metadata about a machine or disk image to the Marketplace.
///
/// The metadata-file argument is the signed metadata file to upload (`-` or none: standard
/// input; several files are uploaded one after the other). Each is validated before it is
/// sent; its entry URL is printed on stdout.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-upload-metadata",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct UploadMetadata {
    /// Signed metadata documents to upload (`-` or none: standard input)
    #[arg(value_name = "METADATA-FILE")]
    pub files: Vec<PathBuf>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: TrustArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: ConfigArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-upload-metadata`.
pub fn run(args: UploadMetadata) -> Result<i32, CliError> {
    let config = args.config.load()?;
    let files = if args.files.is_empty() {
        vec![PathBuf::from(input::STDIN_NAME)]
    } else {
        args.files.clone()
    };
    for path in &files {
        if path.as_os_str() != input::STDIN_NAME && !path.is_file() {
            return Err(CliError::Usage(format!(
                "Image manifest does not exist: {}",
                escaped_name(path)
            )));
        }
    }
    let trust = args.trust.load()?;
    let marketplace = args.net.marketplace(&config)?;
    if let [path] = files.as_slice() {
        upload_file(path, &marketplace, &trust, &args.verbosity)?;
        return Ok(0);
    }
    let mut exit = 0;
    for path in &files {
        if let Err(error) = upload_file(path, &marketplace, &trust, &args.verbosity) {
            eprintln!(
                "stratus-upload-metadata: error: {}: {error}",
                escaped_name(path)
            );
            exit = exit.max(error.exit_code());
        }
    }
    Ok(exit)
}

/// Validate one document, upload it, print its entry URL.
fn upload_file(
    path: &Path,
    marketplace: &Marketplace,
    trust: &TrustOptions,
    verbosity: &Verbosity,
) -> Result<(), CliError> {
    let name = escaped_name(path);
    let bytes = input::read_document(path)?;
    check_document(&bytes, &name, SignaturePolicy::Required, trust).map_err(|error| {
        CliError::Core(match error {
            stratus_core::Error::Invalid {
                source_name,
                reason,
            } => stratus_core::Error::Invalid {
                source_name: format!("{source_name}: refused before upload"),
                reason,
            },
            other => other,
        })
    })?;
    let text = stratus_core::document::xml::decode_text(&bytes, &name)?;
    let manifest = read::from_str(&text, &name)?;
    let outcome = marketplace
        .upload(&bytes)
        .map_err(|e| CliError::from(stratus_core::Error::Site(e)))?;
    let email = manifest.endorser_email().unwrap_or("");
    let created = manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.created.as_deref())
        .unwrap_or("");
    let url = marketplace
        .endpoint
        .entry_url(&manifest.identifier, email, created);
    println!("{url}");
    let note = match outcome {
        Upload::Created => "201 Created: the entry is published".to_string(),
        Upload::AwaitingConfirmation => format!(
            "202 Accepted: a confirmation e-mail was sent to {}; the entry is published once it is confirmed",
            clean(email)
        ),
        Upload::Other(status) => format!("{status}: the Marketplace accepted the entry"),
    };
    if verbosity.warnings() {
        eprintln!("{name}: {note}");
    }
    Ok(())
}
