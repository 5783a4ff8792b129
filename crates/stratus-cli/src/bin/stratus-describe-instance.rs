//! `stratus-describe-instance`: see [`stratus_cli::commands::describe_instance`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::describe_instance::run)
}
