//! `stratus-download-image`: download the image of a Marketplace entry,
//! verified (client.md §11).
//!
//! The entry (identifier, `id/email[/created]`, URL, or metadata file) is
//! resolved with the site policy (`--policy`, else
//! `/etc/stratuslab/policy.cfg` when it exists) and its signature verified
//! before any image byte is fetched. The locations are tried in order,
//! each streamed through decompression and every digest at once into a
//! temporary file beside the target, renamed only after the size and every
//! checksum matched (see `stratus_core::site::download`). stderr says
//! which location served the image; stdout prints the image's path.

use crate::commands::policy_image::site;
use crate::common::{CliError, Verbosity};
use crate::site_args::{
    clean, print_refusals, site_error, NetArgs, PolicyArgs, SysadminConfigArgs,
    SITE_EXIT_CODES_HELP,
};
use clap::Parser;
use std::io::IsTerminal;
use std::path::PathBuf;
use stratus_core::site::download::{self, Event, Served};
use stratus_core::site::{resolve, Cache, Source};

/// The legacy default output file.
const DEFAULT_OUTPUT: &str = "/tmp/image.img";

/// Download the image corresponding to the image described in the metadata entry identified by
/// the given URI.
///
/// The entry may be given as a Marketplace identifier, identifier/email/created, a URL, or a
/// metadata file (`-`: standard input). The image is verified (size and every checksum of the
/// signed metadata) before it is renamed into place; its path is printed on stdout.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-download-image",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct DownloadImage {
    /// The metadata entry: identifier, identifier/email[/created], URL or metadata file
    #[arg(value_name = "MARKETPLACE-ENTRY-URI")]
    pub entry: Option<String>,
    /// Where to save the downloaded image [default: /tmp/image.img; with --cache, only the cache]
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep verified images in DIR (by SHA-512, else SHA-1) and serve them from it, verified again,
    /// with no network
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Convert the output with qemu-img: qcow2 or raw
    #[arg(long, value_name = "FORMAT", value_parser = ["qcow2", "raw"])]
    pub format: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub policy: PolicyArgs,

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

/// Run `stratus-download-image`.
pub fn run(args: DownloadImage) -> Result<i32, CliError> {
    let entry = args
        .entry
        .clone()
        .ok_or_else(|| CliError::Usage("Too few arguments".into()))?;
    if args.format.is_some() && args.output.is_none() && args.cache.is_some() {
        return Err(CliError::Usage(
            "--format converts the output file: give -o FILE with --cache".into(),
        ));
    }
    let source = Source::parse(&entry).map_err(site_error)?;
    let site = site(
        &args.policy,
        &args.net,
        &args.config,
        &args.verbosity,
        false,
    )?;
    let resolution = resolve::resolve(&site, &source)?;
    let chosen = match resolution.accepted() {
        Ok(chosen) => chosen,
        Err(refusal) => {
            print_refusals(&resolution);
            return Err(site_error(refusal));
        }
    };
    let manifest = chosen
        .manifest
        .as_ref()
        .expect("an accepted entry has a manifest");
    let output = match (&args.output, &args.cache) {
        (Some(output), _) => Some(output.clone()),
        (None, Some(_)) => None,
        (None, None) => Some(PathBuf::from(DEFAULT_OUTPUT)),
    };
    let options = download::Options {
        output,
        cache: args.cache.as_ref().map(Cache::new),
        format: args.format.clone(),
    };
    let mut reporter = Reporter::new(manifest.bytes, &args.verbosity);
    let image = download::fetch(&site.marketplace.client, manifest, &options, &mut |e| {
        reporter.event(e)
    });
    reporter.finish();
    let image = image?;
    if args.verbosity.warnings() {
        let algorithms: Vec<&str> = image.verified.iter().map(|a| a.legacy_name()).collect();
        let from = match &image.served_by {
            Served::Cache => "the cache".to_string(),
            Served::Location(url) => clean(url),
        };
        eprintln!(
            "image {} from {from}: {} bytes, {} verified",
            image.identifier,
            image.bytes,
            algorithms.join(", ")
        );
    }
    println!("{}", crate::common::escaped_name(image.path()));
    Ok(0)
}

/// Progress and location reports on stderr.
struct Reporter<'a> {
    verbosity: &'a Verbosity,
    bar: Option<indicatif::ProgressBar>,
    total: u64,
}

impl<'a> Reporter<'a> {
    fn new(total: u64, verbosity: &'a Verbosity) -> Self {
        let bar = (verbosity.warnings() && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} {bytes}/{total_bytes} {wide_bar} {bytes_per_sec} {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Reporter {
            verbosity,
            bar,
            total,
        }
    }

    fn say(&self, message: String) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Progress { done, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_position(done);
                }
            }
            Event::Trying(url) => {
                if self.verbosity.detail() {
                    self.say(format!("trying {}", clean(url)));
                }
                if let Some(bar) = &self.bar {
                    bar.set_length(self.total);
                    bar.set_position(0);
                }
            }
            Event::Failed(attempt) if self.verbosity.warnings() => self.say(format!(
                "  [WARNING] {}: {} (trying the next location)",
                clean(&attempt.url),
                clean(&attempt.detail)
            )),
            Event::Resumed {
                url,
                offset,
                restarted,
                why,
            } if self.verbosity.warnings() => {
                let how = if restarted {
                    "the server ignores ranges: read again from the start, the bytes already verified skipped".to_string()
                } else {
                    format!("resumed at byte {offset}")
                };
                self.say(format!("  [WARNING] {}: {}: {how}", clean(url), clean(why)));
            }
            Event::CacheHit(path) if self.verbosity.detail() => self.say(format!(
                "verified in the cache: {}",
                crate::common::escaped_name(path)
            )),
            Event::CacheStale(path, why) if self.verbosity.warnings() => self.say(format!(
                "  [WARNING] {}: removed from the cache: {}",
                crate::common::escaped_name(path),
                clean(why)
            )),
            _ => {}
        }
    }

    fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
