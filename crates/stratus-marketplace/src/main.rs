//! `stratus-marketplace`: see [`stratus_marketplace::cli`].

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(stratus_marketplace::cli::main())
}
