//! What each fuzz target checks of one input, as plain functions: the
//! fuzz targets call them on what the fuzzer generates, and the library's
//! tests call them on the committed corpus (`fuzz/regressions/`) and the
//! generated shapes, so that a regression is caught without a fuzzer.
//!
//! Each function panics when the property it checks does not hold.

// Each fuzz target uses one of these functions.
#![allow(dead_code)]

use std::path::Path;
use stratus_core::config::UserConfig;
use stratus_core::document::manifest::{read, write};
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::document::xml::{self, c14n};
use stratus_core::signature::credentials::{self, KeyFile};
use stratus_core::signature::namespaces::Namespaces;
use stratus_core::signature::trust::{TrustOptions, TrustStore};

/// The check of one fuzz target: panics when its property fails.
pub type Check = fn(&[u8]);

/// The fuzz targets, by name, with the check each runs.
pub const TARGETS: [(&str, Check); 7] = [
    ("validate", validate),
    ("manifest_roundtrip", manifest_roundtrip),
    ("c14n", canonicalize),
    ("namespaces", namespaces),
    ("credentials", credentials),
    ("trust_files", trust_files),
    ("config", config),
];

/// Any bytes through the whole validation (decoding, parsing, signature,
/// schema, constraints, RDF/XML): an answer, never a panic.
pub fn validate(data: &[u8]) {
    let trust = TrustOptions::none();
    let _ = check_document(data, "fuzz.xml", SignaturePolicy::Required, &trust);
    let _ = check_document(data, "fuzz.xml", SignaturePolicy::Skip, &trust);
}

/// A document the model reads is written, read back and written again: the
/// writer never produces what the reader refuses, and its output is a fixed
/// point. (The models themselves may differ in prefix names only: an
/// extension whose prefix clashes with a fixed one, such as `slterms` bound
/// to another namespace, is written under a fresh prefix.)
pub fn manifest_roundtrip(data: &[u8]) {
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
}

const C14N_METHODS: [&str; 4] = [
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
];

/// Every canonicalization method over any document the parser accepts: no
/// panic, and the canonical form of a whole document is itself a document
/// the parser accepts, but for the shape limits: exclusive
/// canonicalization declares a namespace again on every element that uses
/// it, so its output may have more declarations than the input.
pub fn canonicalize(data: &[u8]) {
    let Ok(text) = xml::decode_text(data, "fuzz.xml") else {
        return;
    };
    let Ok(doc) = xml::parse(&text, "fuzz.xml") else {
        return;
    };
    for uri in C14N_METHODS {
        let algorithm = c14n::Algorithm::from_uri(uri, "").expect("a known method");
        let canonical = c14n::canonicalize_document(&doc, &algorithm, None);
        let canonical = String::from_utf8(canonical).expect("canonical XML is UTF-8");
        match xml::parse(&canonical, "canonical.xml") {
            Err(e) if !e.to_string().contains("exceeds the limit of") => {
                panic!("canonical form refused: {e}\n{canonical}")
            }
            _ => {}
        }
    }
}

/// Any text as an IGTF `.namespaces` or `.signing_policy` file: parsed or
/// refused with a line number, and checks of a subject never panic.
pub fn namespaces(data: &[u8]) {
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
}

/// Any bytes as each kind of credential file: a certificate (chain) file,
/// a private key file (without a password, and with one, so that the
/// decryptions run) and a PKCS#12 store: an answer, never a panic, and
/// never a key derivation beyond the bounds of `stratus_core::signature::pbe`.
pub fn credentials(data: &[u8]) {
    let path = Path::new("fuzz.pem");
    let _ = credentials::certificates_from_bytes(data, path);
    let key = KeyFile::from_bytes(path, data.to_vec());
    let _ = key.needs_password();
    let _ = key.private_key(None);
    let _ = key.private_key(Some("pw"));
    let _ = credentials::pkcs12_from_bytes(data, "pw", path);
}

/// Any bytes as the files of a trust directory: CA certificates and CRLs
/// (PEM or DER): loaded or refused, never a panic.
pub fn trust_files(data: &[u8]) {
    let mut store = TrustStore::default();
    let _ = store.add_ca_bytes(Path::new("fuzz.0"), data);
    let _ = store.add_crl_bytes(Path::new("fuzz.r0"), data);
}

/// Any text as the user configuration file, with and without a selected
/// section: read or refused with a message, never a panic, and its
/// interpolation within its bound.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for section in [None, Some("fuzz")] {
        if let Err(message) = UserConfig::from_text(text, section) {
            assert!(!message.is_empty());
        }
    }
}
