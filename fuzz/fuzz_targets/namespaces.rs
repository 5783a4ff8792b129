//! Any text as an IGTF `.namespaces` or `.signing_policy` file: parsed or
//! refused with a line number, and checks of a subject never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;
use stratus_core::namespaces::Namespaces;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut policies = Namespaces::default();
    let ca = "/C=EU/O=Fuzz/CN=Fuzz CA";
    if let Err(e) = policies.add_namespaces(Path::new("f.namespaces"), text, ca) {
        assert!(e.line >= 1, "{e}");
    }
    if let Err(e) = policies.add_signing_policy(Path::new("f.signing_policy"), text, ca) {
        assert!(e.line >= 1, "{e}");
    }
    for subject in ["/C=EU/O=Fuzz/CN=Jane", "", "/"] {
        let _ = policies.check(ca, subject);
    }
});
