//! Every canonicalization method over any document the parser accepts: no
//! panic, and the canonical form of a whole document is itself a document
//! the parser accepts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use stratus_core::xml::{self, c14n};

const METHODS: [&str; 4] = [
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
    "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
    "http://www.w3.org/2001/10/xml-exc-c14n#",
    "http://www.w3.org/2001/10/xml-exc-c14n#WithComments",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = xml::decode_text(data, "fuzz.xml") else {
        return;
    };
    let Ok(doc) = xml::parse(&text, "fuzz.xml") else {
        return;
    };
    for uri in METHODS {
        let algorithm = c14n::Algorithm::from_uri(uri, "").expect("a known method");
        let canonical = c14n::canonicalize_document(&doc, &algorithm, None);
        let canonical = String::from_utf8(canonical).expect("canonical XML is UTF-8");
        if let Err(e) = xml::parse(&canonical, "canonical.xml") {
            panic!("canonical form refused: {e}\n{canonical}");
        }
    }
});
