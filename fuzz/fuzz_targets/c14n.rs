//! Every canonicalization method over any document the parser accepts: no
//! panic, and the canonical form of a whole document is itself a document
//! the parser accepts.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::canonicalize(data));
