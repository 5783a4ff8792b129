//! `stratus-create-image`: see [`stratus_cli::commands::create_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::create_image::run)
}
