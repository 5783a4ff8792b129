//! A document the model reads is written, read back and written again: the
//! writer never produces what the reader refuses, and its output is a fixed
//! point. (The models themselves may differ in prefix names only: an
//! extension whose prefix clashes with a fixed one, such as `slterms` bound
//! to another namespace, is written under a fresh prefix.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_core::manifest::{read, write};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(manifest) = read::from_str(text, "fuzz.xml") else {
        return;
    };
    let written = write::to_string(&manifest);
    let again = read::from_str(&written, "written.xml")
        .unwrap_or_else(|e| panic!("the writer's output is refused: {e}\n{written}"));
    let rewritten = write::to_string(&again);
    assert_eq!(
        written, rewritten,
        "the writer's output is not a fixed point"
    );
    assert_eq!(manifest.identifier, again.identifier);
    assert_eq!(manifest.checksums, again.checksums);
    assert_eq!(manifest.endorsement, again.endorsement);
    assert_eq!(manifest.extensions.len(), again.extensions.len());
});
