//! `stratus-upload-image`: see [`stratus_cli::commands::upload_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::upload_image::run)
}
