//! Any text as the user configuration file: read or refused with a
//! message, never a panic.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::config(data));
