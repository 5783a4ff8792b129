//! `stratus-sign-metadata`: see [`stratus_cli::commands::sign_metadata`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::sign_metadata::run)
}
