//! `stratus-kill-instance`: stop local instances started by
//! `stratus-run-instance` (the legacy command's name) and remove their
//! state (overlay, context CD, console log).

use crate::common::{CliError, Verbosity, EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::site::instance::StateDir;

/// Stop local instances.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-kill-instance",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP
)]
pub struct KillInstance {
    /// The instances to stop (vm IDs)
    #[arg(value_name = "ID", required_unless_present = "all")]
    pub ids: Vec<u32>,
    /// Stop every instance
    #[arg(long, conflicts_with = "ids")]
    pub all: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-kill-instance`.
pub fn run(args: KillInstance) -> Result<i32, CliError> {
    let state = StateDir::from_env()?;
    let ids: Vec<u32> = if args.all {
        state.list().iter().map(|r| r.id).collect()
    } else {
        args.ids.clone()
    };
    let mut missing = Vec::new();
    for id in ids {
        if state.kill(id) {
            args.verbosity.info(format!("Machine {id} stopped"));
        } else {
            missing.push(id.to_string());
        }
    }
    if !missing.is_empty() {
        return Err(CliError::Usage(format!(
            "no running instance with vm ID {}",
            missing.join(", ")
        )));
    }
    Ok(0)
}
