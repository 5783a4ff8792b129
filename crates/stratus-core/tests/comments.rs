//! Comments are not signed (a same-document reference digests the
//! document without them), so no verdict may depend on them: inserting
//! `<!---->` anywhere outside the Signature leaves every fixture's verdict
//! as it was. Processing instructions are signed (canonical XML keeps
//! them, and xmlsec1 refuses a signed document with one added), but the
//! rules never read them either.

mod support;
use support::fixtures;

use stratus_core::document::manifest::rules;
use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::document::xml;
use stratus_core::error::Stage;
use stratus_core::signature::trust::TrustOptions;
use stratus_core::Error;

const UNSIGNED: &[&str] = &[
    "valid-minimal.xml",
    "valid-full.xml",
    "valid-full-alt-cimi.xml",
    "valid-minimal-leading-zero-sha1.xml",
    "valid-minimal-empty-endorsement.xml",
    "invalid-bad-inbound-port.xml",
    "invalid-email.xml",
    "invalid-inconsistent-checksum.xml",
    "invalid-multiple-os.xml",
    "invalid-no-xml-base.xml",
    "invalid-rdf-attribute.xml",
];
const SIGNED: &[&str] = &["valid-full-signature.xml", "valid-ca-signed.xml"];

/// The stage that refused the document, or `None` when it is valid.
fn unsigned_verdict(text: &str) -> Option<Stage> {
    let doc = xml::parse(text, "t").ok()?;
    rules::check_unsigned(&doc, text).err().map(|e| e.stage)
}

fn signed_verdict(text: &str) -> Option<Stage> {
    let result = check_document(
        text.as_bytes(),
        "t",
        SignaturePolicy::Required,
        &TrustOptions::none(),
    );
    match result {
        Ok(_) => None,
        Err(Error::Invalid { reason, .. }) => Some(reason.stage),
        Err(other) => panic!("{other}"),
    }
}

/// Byte offsets where a comment may go: before and after every element
/// and at the start, end and a few inner points of every text node,
/// outside the Signature (whose SignedInfo may be canonicalized with
/// comments).
fn insertion_points(text: &str) -> Vec<usize> {
    let doc = xml::parse(text, "t").unwrap();
    let in_signature = |node: roxmltree::Node| {
        node.ancestors()
            .any(|a| xml::is_element(a, xml::XMLDSIG_NS, "Signature"))
    };
    let mut points = Vec::new();
    for node in doc.descendants().filter(|n| !in_signature(*n)) {
        let range = node.range();
        if node.is_element() {
            points.extend([range.start, range.end]);
        } else if node.is_text() {
            let inner: Vec<usize> = text[range.clone()]
                .char_indices()
                .map(|(i, _)| range.start + i)
                .collect();
            points.extend([range.start, range.end]);
            points.extend(inner.iter().step_by(inner.len().div_ceil(4).max(1)));
        }
    }
    points.sort_unstable();
    points.dedup();
    points
}

fn check_insertions(name: &str, inserts: &[&str], verdict: fn(&str) -> Option<Stage>) {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    let expected = verdict(&text);
    let points = insertion_points(&text);
    assert!(points.len() > 20, "{name}: {} points", points.len());
    for at in points {
        for insert in inserts {
            let changed = format!("{}{insert}{}", &text[..at], &text[at..]);
            assert_eq!(
                verdict(&changed),
                expected,
                "{name}: {insert} at byte {at} changes the verdict"
            );
        }
    }
}

#[test]
fn comments_never_change_an_unsigned_verdict() {
    for name in UNSIGNED {
        check_insertions(name, &["<!---->", "<?pi data?>"], unsigned_verdict);
    }
}

#[test]
fn comments_never_change_a_signed_verdict() {
    for name in SIGNED {
        check_insertions(
            name,
            &["<!---->", "<!-- <rdf:Description/> -->"],
            signed_verdict,
        );
    }
}

#[test]
fn processing_instructions_are_signed() {
    let text = std::fs::read_to_string(fixtures().join("valid-full-signature.xml")).unwrap();
    let root = text.find("<rdf:RDF").unwrap();
    let changed = format!("{}<?pi data?>{}", &text[..root], &text[root..]);
    assert_eq!(signed_verdict(&changed), Some(Stage::Signature));
}

/// The legacy constraint compared the algorithm's text nodes one by one
/// (`text()='SHA-1'`); the value is now the element's string value.
#[test]
fn the_sha1_constraint_reads_the_string_value() {
    let text = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    let algorithm = "<slreq:algorithm>SHA-1</slreq:algorithm>";
    assert!(text.contains(algorithm));
    let split = text.replacen(
        algorithm,
        "<slreq:algorithm>SH<!---->A-1</slreq:algorithm>",
        1,
    );
    assert_eq!(unsigned_verdict(&split), None);
    let longer = text.replacen(
        algorithm,
        "<slreq:algorithm>SHA-1<!---->x</slreq:algorithm>",
        1,
    );
    assert_eq!(unsigned_verdict(&longer), Some(Stage::Constraint));
}
