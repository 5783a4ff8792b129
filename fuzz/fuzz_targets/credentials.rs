//! Any bytes as a certificate file, a private key file and a PKCS#12 store:
//! an answer, never a panic, and key derivations within their bounds.
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::credentials(data));
