//! `stratus-deprecate-metadata`: publish a new, signed version of an entry
//! that deprecates the image (client.md §7).
//!
//! The latest entry of the image by `--email` (or the one of `--created`)
//! is fetched and verified, so that nothing a Marketplace altered is
//! signed again. The new version is the same description with
//! `slterms:deprecated` (the reason) and a fresh endorsement, written with
//! the legacy bugs fixed (`rdf:parseType` in the RDF namespace, the prefixes
//! of the document kept), signed with the same credentials and options as
//! `stratus-sign-metadata`, validated, and uploaded. Its entry URL is
//! printed. An entry is deprecated only by its endorser: a certificate that
//! carries e-mails none of which is `--email` is refused before anything
//! is sent, and so is a certificate without any e-mail whose subject is
//! not the one that signed the entry.

use crate::common::{CliError, Verbosity};
use crate::signing::{self, CredentialArgs};
use crate::site_args::{clean, site_error, ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::document::manifest::{read, write, Manifest};
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::signature::trust::TrustOptions;
use stratus_core::site::marketplace::{EntryKey, Upload};
use stratus_core::site::source::is_identifier;
use stratus_core::site::SiteError;

/// The legacy default reason.
const DEFAULT_REASON: &str = "This image has been deprecated";

/// Create a new metadata entry for the given image that deprecates the image.
///
/// The reason for the deprecation may be given with --reason. The image-id argument is the
/// identifier of the image to deprecate.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-deprecate-metadata",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct DeprecateMetadata {
    /// The identifier of the image to deprecate
    #[arg(value_name = "IMAGE-ID")]
    pub image: Option<String>,
    /// Email address of the endorser of the metadata entry (also: email in the user configuration)
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Date of the metadata entry to deprecate (default: the latest entry)
    #[arg(long, value_name = "DATE")]
    pub created: Option<String>,
    /// Comment to append to the deprecation
    #[arg(long, value_name = "TEXT", default_value = DEFAULT_REASON)]
    pub reason: String,
    /// Sign with the legacy profile (RSA-SHA1) for a legacy Marketplace (also: signature_profile =
    /// legacy-sha1 in the user configuration)
    #[arg(long)]
    pub legacy_sha1: bool,

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

/// Run `stratus-deprecate-metadata`.
pub fn run(args: DeprecateMetadata) -> Result<i32, CliError> {
    let image = args
        .image
        .clone()
        .ok_or_else(|| CliError::Usage("Please specify an image ID".into()))?;
    if !is_identifier(&image) {
        return Err(CliError::Usage(format!(
            "'{}' is not an image identifier (27 characters of A-Z a-z 0-9 - _)",
            clean(&image)
        )));
    }
    let config = args.config.load()?;
    let email =
        signing::setting(args.email.clone(), None, config.get("email"))?.ok_or_else(|| {
            CliError::Usage("Missing email address. Please provide email of endorser".into())
        })?;
    if let Some(created) = &args.created {
        if stratus_core::clock::parse_utc(created).is_none() {
            return Err(CliError::Usage(format!(
                "--created: invalid value '{}': expected a time such as 2014-03-08T14:10:40Z",
                clean(created)
            )));
        }
    }
    if args
        .reason
        .chars()
        .any(|c| !stratus_core::document::xml::is_xml_char(c))
    {
        return Err(CliError::Usage(
            "--reason: the text holds control characters XML cannot carry".into(),
        ));
    }
    let credentials = signing::load_credentials(&args.credentials, &config)?;
    let legacy = signing::legacy_profile(args.legacy_sha1, &config)?;
    signing::check_key(&credentials, legacy)?;
    signing::warn_if_expired(&credentials, &args.verbosity);
    let carried = signing::certificate_emails(&credentials);
    if !carried.is_empty() && !carried.iter().any(|e| e.eq_ignore_ascii_case(&email)) {
        return Err(CliError::Usage(format!(
            "the signing certificate carries {}, not {}: only the endorser of an entry can deprecate it",
            carried.join(", "),
            clean(&email)
        )));
    }

    let marketplace = args.net.marketplace(&config)?;
    let key = EntryKey {
        identifier: image.clone(),
        email: Some(email.clone()),
        created: args.created.clone(),
    };
    let mut manifest = latest_entry(&marketplace, &key)?;
    if let Some(reason) = &manifest.terms.deprecated {
        if args.created.is_none() {
            return Err(CliError::Usage(format!(
                "the latest entry of {image} by {} is already deprecated ({})",
                clean(&email),
                clean(reason)
            )));
        }
    }
    let entry_subject = endorser_subject(&manifest);
    manifest.terms.deprecated = Some(args.reason.clone());
    manifest.endorsement = None;
    let draft = write::to_string(&manifest);
    let signed = signing::sign(&draft, &image, &credentials, legacy, Some(&email))?;
    let report = check_document(
        signed.as_bytes(),
        "the deprecation entry",
        SignaturePolicy::Required,
        &TrustOptions::none(),
    )?;
    let signed_manifest = read::from_str(&signed, "the deprecation entry")?;
    // A certificate without any e-mail proves nothing about `--email`: then
    // the entry must have been signed by this very subject.
    if carried.is_empty() && endorser_subject(&signed_manifest) != entry_subject {
        return Err(CliError::Usage(format!(
            "the signing certificate carries no e-mail and its subject is not the one that signed the entry ({}): only the endorser of an entry can deprecate it",
            clean(entry_subject.as_deref().unwrap_or("unknown"))
        )));
    }
    let outcome = marketplace.upload(signed.as_bytes()).map_err(site_error)?;
    let created = signed_manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.created.clone())
        .unwrap_or_default();
    let endorser = report.email.unwrap_or(email);
    println!(
        "{}",
        marketplace.endpoint.entry_url(&image, &endorser, &created)
    );
    if args.verbosity.warnings() && outcome == Upload::AwaitingConfirmation {
        eprintln!(
            "202 Accepted: a confirmation e-mail was sent to {}; the deprecation is published once it is confirmed",
            clean(&endorser)
        );
    }
    Ok(0)
}

/// The subject DN the endorsement of `manifest` names.
fn endorser_subject(manifest: &Manifest) -> Option<String> {
    manifest
        .endorsement
        .as_ref()
        .and_then(|e| e.endorser.as_ref())
        .and_then(|e| e.subject.clone())
}

/// The entry to deprecate, verified: of those the Marketplace returns for
/// `key`, the newest that verifies and is the one asked for.
fn latest_entry(
    marketplace: &stratus_core::site::marketplace::Marketplace,
    key: &EntryKey,
) -> Result<Manifest, CliError> {
    let url = marketplace.key_url(key);
    let received = marketplace.entries(key).map_err(site_error)?;
    let mut best: Option<Manifest> = None;
    let mut problems = Vec::new();
    for document in received {
        let checked = check_document(
            document.text.as_bytes(),
            &document.origin,
            SignaturePolicy::Required,
            &TrustOptions::none(),
        )
        .and_then(|_| read::from_str(&document.text, &document.origin));
        let manifest = match checked {
            Ok(manifest) => manifest,
            Err(error) => {
                problems.push(error.to_string());
                continue;
            }
        };
        let created = |m: &Manifest| m.endorsement.as_ref().and_then(|e| e.created.clone());
        let wanted = manifest.identifier == key.identifier
            && manifest
                .endorser_email()
                .zip(key.email.as_deref())
                .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
            && (key.created.is_none() || created(&manifest) == key.created);
        if !wanted {
            problems.push(format!(
                "{}: an entry of another image or endorser",
                document.origin
            ));
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|b| created(b) < created(&manifest))
        {
            best = Some(manifest);
        }
    }
    best.ok_or_else(|| {
        site_error(SiteError::BadResponse {
            url,
            detail: if problems.is_empty() {
                "no entry to deprecate".into()
            } else {
                format!("no entry that verifies: {}", problems.join("; "))
            },
        })
    })
}
