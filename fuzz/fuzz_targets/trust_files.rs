//! Any bytes as CA certificates and CRLs of a trust directory: loaded or
//! refused, never a panic.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::trust_files(data));
