//! `stratus-list-images`: see [`stratus_cli::commands::list_images`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::list_images::run)
}
