//! `stratus-upload-metadata`: see [`stratus_cli::commands::upload_metadata`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::upload_metadata::run)
}
