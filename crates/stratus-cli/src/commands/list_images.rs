//! `stratus-list-images`: the images on the configured Marketplace
//! (client.md §14): for each current entry, the legacy short block, or
//! `--json`, or `--table`.

use crate::common::{CliError, Verbosity};
use crate::listing::{self, FormatArgs};
use crate::site_args::{ConfigArgs, NetArgs, SITE_EXIT_CODES_HELP};
use clap::Parser;

/// List the images on the Marketplace.
///
/// Every current entry (the latest of each image and endorser, neither expired nor deprecated)
/// of the configured Marketplace.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-list-images",
    version,
    infer_long_args = true,
    after_help = SITE_EXIT_CODES_HELP
)]
pub struct ListImages {
    /// Ignored, as by the legacy command
    #[arg(value_name = "ARG", hide = true)]
    pub ignored: Vec<String>,

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

/// Run `stratus-list-images`.
pub fn run(args: ListImages) -> Result<i32, CliError> {
    let config = args.config.load()?;
    let marketplace = args.net.marketplace(&config)?;
    let entries = listing::fetch(&marketplace, &[], &[], &args.verbosity)?;
    listing::print(&entries, args.format, &mut |out, entry| {
        listing::short_block(out, &entry.manifest)
    })?;
    Ok(0)
}
