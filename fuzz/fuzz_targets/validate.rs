//! Any bytes through the whole validation (decoding, parsing, signature,
//! schema, constraints, RDF/XML): an answer, never a panic.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::validate(data));
