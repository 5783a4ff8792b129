//! `stratus-build-metadata`: see [`stratus_cli::commands::build_metadata`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::build_metadata::run)
}
