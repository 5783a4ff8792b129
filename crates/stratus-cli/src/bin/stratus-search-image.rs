//! `stratus-search-image`: see [`stratus_cli::commands::search_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::search_image::run)
}
