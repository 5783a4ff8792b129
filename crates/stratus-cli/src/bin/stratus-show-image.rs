//! `stratus-show-image`: see [`stratus_cli::commands::show_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::show_image::run)
}
