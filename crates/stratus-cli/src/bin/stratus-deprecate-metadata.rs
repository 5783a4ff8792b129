//! `stratus-deprecate-metadata`: see [`stratus_cli::commands::deprecate_metadata`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::deprecate_metadata::run)
}
