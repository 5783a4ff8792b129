//! `stratus-policy-image`: see [`stratus_cli::commands::policy_image`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::policy_image::run)
}
