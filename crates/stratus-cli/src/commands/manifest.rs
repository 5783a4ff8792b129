//! `stratus-manifest`: one element of a Marketplace entry (client.md §12),
//! for scripts: `-e locations` prints every location, `-e location` the
//! first, any other name the value of that term (`None` when absent).
//!
//! The legacy command died on any argument (a library function it called
//! had been removed). This one fetches the entries of an identifier (or
//! an entry key, or any metadata URL), verifies their signatures (exit 3
//! when none verifies), and reads the newest entry; `locations` are those
//! of every entry, as the legacy parser gave them.

use crate::common::{CliError, Verbosity};
use crate::site_args::{clean, site_error, NetArgs, SysadminConfigArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::document::manifest::{read, Manifest};
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::signature::trust::TrustOptions;
use stratus_core::site::source::Source;

/// Recover the value of the selected element from the identified metadata entry in the
/// Marketplace.
///
/// The metadata entry can be identified by the Marketplace ID (or identifier/email/created) or a
/// URL.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-manifest",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP,
    after_long_help = format!("Elements: identifier, bytes, md5, sha1, sha256, sha512, type, kind, os, \
        os-version, os-arch (or arch), version, compression, format, creator, title, tag, comment, \
        created (the endorsement's), valid, publisher, hypervisor, disks-bus, email (or endorser), \
        inbound-ports, serial-number, deprecated, location, locations.\n\n{SITE_EXIT_CODES_HELP}")
)]
pub struct ManifestCommand {
    /// The Marketplace identifier, identifier/email/created, or a metadata URL
    #[arg(value_name = "MARKETPLACE-ID-OR-URL")]
    pub entry: Option<String>,
    /// The element to print
    #[arg(short = 'e', long = "get-element", value_name = "ELEMENT")]
    pub element: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub net: NetArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub config: SysadminConfigArgs,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-manifest`.
pub fn run(args: ManifestCommand) -> Result<i32, CliError> {
    let entry = args
        .entry
        .clone()
        .ok_or_else(|| CliError::Usage("Too few arguments".into()))?;
    let element = args
        .element
        .clone()
        .ok_or_else(|| CliError::Usage("Missing mandatory -e/--get-element option".into()))?;
    let normalized = element.to_ascii_lowercase().replace(['-', '_'], "");
    if !KNOWN.contains(&normalized.as_str()) {
        return Err(CliError::Usage(format!(
            "Couldn't get '{}' element (normalized to '{}') from manifest",
            clean(&element),
            clean(&normalized)
        )));
    }
    let source = Source::parse(&entry).map_err(site_error)?;
    let config = args.config.load()?;
    let marketplace = args.net.marketplace(&config)?;
    let received = match &source {
        Source::Key(key) => marketplace.entries(key),
        Source::MetadataUrl(url) => marketplace.fetch(url),
        Source::ImageUrl(_) => return Err(CliError::Usage("Invalid Marketplace image URL".into())),
        Source::File(_) => {
            return Err(CliError::Usage(
                "give a Marketplace identifier or URL (a local file is read with any XML tool)"
                    .into(),
            ))
        }
    }
    .map_err(site_error)?;
    let mut verified: Vec<Manifest> = Vec::new();
    let mut last_error = None;
    for document in &received {
        let checked = check_document(
            document.text.as_bytes(),
            &document.origin,
            SignaturePolicy::Required,
            &TrustOptions::none(),
        )
        .and_then(|_| read::from_str(&document.text, &document.origin));
        match checked {
            Ok(manifest) => verified.push(manifest),
            Err(error) => {
                args.verbosity.warn(format!("an entry is skipped: {error}"));
                last_error = Some(error);
            }
        }
    }
    let newest = verified
        .iter()
        .max_by_key(|m| m.endorsement.as_ref().and_then(|e| e.created.clone()));
    let Some(manifest) = newest else {
        return Err(match last_error {
            Some(error) => CliError::Core(error),
            None => CliError::Core(stratus_core::Error::Site(
                stratus_core::site::SiteError::BadResponse {
                    url: clean(&entry),
                    detail: "no metadata entry".into(),
                },
            )),
        });
    };
    for line in values(&normalized, manifest, &verified)? {
        println!("{}", clean(&line));
    }
    Ok(0)
}

/// The element names, normalized (lower case, no `-` or `_`).
const KNOWN: [&str; 34] = [
    "identifier",
    "bytes",
    "md5",
    "sha1",
    "sha256",
    "sha512",
    "type",
    "kind",
    "os",
    "osversion",
    "arch",
    "osarch",
    "version",
    "compression",
    "format",
    "creator",
    "user",
    "title",
    "tag",
    "comment",
    "created",
    "valid",
    "publisher",
    "hypervisor",
    "disksbus",
    "email",
    "endorser",
    "inboundports",
    "filename",
    "serialnumber",
    "deprecated",
    "location",
    "locations",
    "description",
];

/// The printed lines of `element` of `manifest` (`all`: every verified
/// entry, for `locations`).
fn values(element: &str, manifest: &Manifest, all: &[Manifest]) -> Result<Vec<String>, CliError> {
    let t = &manifest.terms;
    let one = |v: Option<&str>| {
        vec![v
            .filter(|v| !v.is_empty())
            .map_or("None".to_string(), str::to_string)]
    };
    let checksum = |name: &str| one(manifest.checksum(name));
    Ok(match element {
        "locations" => {
            let mut seen: Vec<String> = Vec::new();
            for location in all.iter().flat_map(|m| m.terms.locations.iter()) {
                if !location.trim().is_empty() && !seen.contains(location) {
                    seen.push(location.clone());
                }
            }
            seen
        }
        "location" => match t.locations.iter().find(|l| !l.trim().is_empty()) {
            Some(location) => vec![location.clone()],
            None => {
                return Err(CliError::Core(stratus_core::Error::Site(
                    stratus_core::site::SiteError::BadResponse {
                        url: manifest.identifier.clone(),
                        detail: "the entry lists no location".into(),
                    },
                )))
            }
        },
        "identifier" => vec![manifest.identifier.clone()],
        "bytes" => vec![manifest.bytes.to_string()],
        "md5" => checksum("MD5"),
        "sha1" => checksum("SHA-1"),
        "sha256" => checksum("SHA-256"),
        "sha512" => checksum("SHA-512"),
        "type" => one(t.image_type.as_deref()),
        "kind" => one(t.kind.as_deref()),
        "os" => one(t.os.as_deref()),
        "osversion" => one(t.os_version.as_deref()),
        "arch" | "osarch" => one(t.os_arch.as_deref()),
        "version" => one(t.version.as_deref()),
        "compression" => one(t.compression.as_deref()),
        "format" => one(t.format.as_deref()),
        "creator" | "user" => one(t.creator.as_deref()),
        "title" => one(t.title.as_deref()),
        "tag" => one(t.alternative.as_deref()),
        "comment" | "description" => one(t.description.as_deref()),
        "created" => one(manifest
            .endorsement
            .as_ref()
            .and_then(|e| e.created.as_deref())
            .or(t.created.as_deref())),
        "valid" => one(t.valid.as_deref()),
        "publisher" => one(t.publisher.as_deref()),
        "hypervisor" => one(t.hypervisor.as_deref()),
        "disksbus" => one(t.disks_bus.as_deref()),
        "email" | "endorser" => one(manifest.endorser_email()),
        "inboundports" => vec![format!(
            "[{}]",
            t.inbound_ports
                .iter()
                .map(|p| format!("'{p}'"))
                .collect::<Vec<_>>()
                .join(", ")
        )],
        "serialnumber" => one(t.serial_number.as_deref()),
        "deprecated" => one(t.deprecated.as_deref()),
        _ => one(None),
    })
}
