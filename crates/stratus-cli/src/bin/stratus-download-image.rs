//! `stratus-download-image`: see [`stratus_cli::commands::download_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::download_image::run)
}
