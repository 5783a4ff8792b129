//! `stratus-validate-metadata`: see [`stratus_cli::commands::validate_metadata`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::validate_metadata::run)
}
