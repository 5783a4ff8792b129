//! `stratus-show-image`: the entries of one image on the configured
//! Marketplace (client.md §14), fetched with the server's identifier
//! filter: the legacy block of each, or `--json`, or `--table`.

use crate::common::{CliError, Verbosity};
use crate::listing::{self, FormatArgs};
use crate::site_args::{clean, ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::site::source::is_identifier;

/// Show a specific image on the Marketplace.
///
/// Every current entry of the image (one per endorser). Nothing is printed when there is none.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-show-image",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct ShowImage {
    /// The image identifier
    #[arg(value_name = "IMAGE-ID")]
    pub images: Vec<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub format: FormatArgs,

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

/// Run `stratus-show-image`.
pub fn run(args: ShowImage) -> Result<i32, CliError> {
    let image = match args.images.as_slice() {
        [] => return Err(CliError::Usage("Specify image to show".into())),
        [image] => image.clone(),
        _ => return Err(CliError::Usage("Only specify one image to show".into())),
    };
    if !is_identifier(&image) {
        return Err(CliError::Usage(format!(
            "'{}' is not an image identifier (27 characters of A-Z a-z 0-9 - _)",
            clean(&image)
        )));
    }
    let config = args.config.load()?;
    let marketplace = args.net.marketplace(&config)?;
    let mut entries = listing::fetch(&marketplace, &[&image], &[], &args.verbosity)?;
    entries.retain(|e| e.manifest.identifier == image);
    listing::print(&entries, args.format, &mut |out, entry| {
        listing::block(out, &entry.manifest)
    })?;
    Ok(0)
}
