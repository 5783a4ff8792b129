//! `stratus-manifest`: see [`stratus_cli::commands::manifest`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::manifest::run)
}
