//! Any bytes through the whole validation (decoding, parsing, signature,
//! schema, constraints, RDF/XML): an answer, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_core::trust::TrustOptions;
use stratus_core::validate::{check_document, SignaturePolicy};

fuzz_target!(|data: &[u8]| {
    let trust = TrustOptions::none();
    let _ = check_document(data, "fuzz.xml", SignaturePolicy::Required, &trust);
    let _ = check_document(data, "fuzz.xml", SignaturePolicy::Skip, &trust);
});
