//! `stratus-kill-instance`: see [`stratus_cli::commands::kill_instance`].

fn main() {
    stratus_cli::common::main(stratus_cli::commands::kill_instance::run)
}
