//! `stratus-describe-instance`: list the local instances started by
//! `stratus-run-instance` (the legacy command's name), from the state
//! directory; instances whose QEMU is gone are removed first.

use crate::common::{CliError, Verbosity, EXIT_CODES_HELP};
use clap::Parser;
use stratus_core::site::instance::StateDir;

/// List the running local instances.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-describe-instance",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP
)]
pub struct DescribeInstance {
    /// Only these instances (vm IDs)
    #[arg(value_name = "ID")]
    pub ids: Vec<u32>,
    /// Print a JSON array instead of a table
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-describe-instance`.
pub fn run(args: DescribeInstance) -> Result<i32, CliError> {
    let state = StateDir::from_env()?;
    let records: Vec<_> = state
        .list()
        .into_iter()
        .filter(|r| args.ids.is_empty() || args.ids.contains(&r.id))
        .collect();
    let mut text = String::new();
    if args.json {
        let values: Vec<_> = records
            .iter()
            .map(|r| r.json_value(&state.dir(r.id)))
            .collect();
        text = format!("{:#}\n", serde_json::Value::Array(values));
    } else if args.verbosity.quiet > 0 {
        for r in &records {
            text.push_str(&format!(
                "{}, {}\n",
                r.id,
                stratus_core::site::instance::GUEST_IP
            ));
        }
    } else {
        text.push_str("id  state    accel  cpu  ram   ssh                  image\n");
        for r in &records {
            let ssh = r
                .ssh_port
                .map(|p| format!("127.0.0.1:{p}"))
                .unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "{:<3} {:<8} {:<6} {:<4} {:<5} {:<20} {}\n",
                r.id, "running", r.accel, r.cpus, r.ram_mib, ssh, r.image
            ));
        }
    }
    crate::common::write_output(None, text.as_bytes())?;
    let missing: Vec<String> = args
        .ids
        .iter()
        .filter(|id| records.iter().all(|r| r.id != **id))
        .map(u32::to_string)
        .collect();
    if !missing.is_empty() {
        return Err(CliError::Usage(format!(
            "no running instance with vm ID {}",
            missing.join(", ")
        )));
    }
    Ok(0)
}
