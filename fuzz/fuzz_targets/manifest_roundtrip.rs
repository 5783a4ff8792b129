//! A document the model reads is written, read back and written again: the
//! writer never produces what the reader refuses, and its output is a fixed
//! point. (The models themselves may differ in prefix names only: an
//! extension whose prefix clashes with a fixed one, such as `slterms` bound
//! to another namespace, is written under a fresh prefix.)
#![no_main]

#[path = "../common/checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::manifest_roundtrip(data));
