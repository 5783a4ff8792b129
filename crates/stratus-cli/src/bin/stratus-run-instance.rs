//! `stratus-run-instance`: see [`stratus_cli::commands::run_instance`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::run_instance::run)
}
