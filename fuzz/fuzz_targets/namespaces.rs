//! Any text as an IGTF `.namespaces` or `.signing_policy` file: parsed or
//! refused with a line number, and checks of a subject never panic.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::namespaces(data));
