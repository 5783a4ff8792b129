//! The limits that keep parsing linear in the input: documents of each
//! hostile shape at every limit are valid, just over it they are refused
//! with a message naming the limit, and the scaling shapes stay valid up
//! to their largest size. (How the time grows with the size is measured by
//! `make bench`, not here.)

#[path = "../../../fuzz/common/shapes.rs"]
mod shapes;

use stratus_core::document::validate::{check_document, SignaturePolicy};
use stratus_core::document::xml::limits;
use stratus_core::signature::trust::TrustOptions;

fn verdict(text: &str, name: &str) -> Result<(), String> {
    check_document(
        text.as_bytes(),
        name,
        SignaturePolicy::Skip,
        &TrustOptions::none(),
    )
    .map(|_| ())
    .map_err(|e| e.to_string())
}

#[test]
fn the_generator_knows_the_library_limits() {
    assert_eq!(shapes::MAX_DEPTH, limits::MAX_DEPTH);
    assert_eq!(shapes::MAX_ATTRIBUTES, limits::MAX_ATTRIBUTES);
    assert_eq!(
        shapes::MAX_ATTRIBUTES_PER_ELEMENT,
        limits::MAX_ATTRIBUTES_PER_ELEMENT
    );
    assert_eq!(shapes::MAX_DECLARATIONS, limits::MAX_DECLARATIONS);
    assert_eq!(
        shapes::MAX_DECLARATIONS_PER_ELEMENT,
        limits::MAX_DECLARATIONS_PER_ELEMENT
    );
    assert_eq!(shapes::MAX_START_TAG_BYTES, limits::MAX_START_TAG_BYTES);
    assert_eq!(
        shapes::MAX_NODES,
        stratus_core::document::xml::MAX_NODES as usize
    );
    assert_eq!(
        shapes::MAX_DOCUMENT_BYTES as u64,
        stratus_core::document::input::MAX_DOCUMENT_BYTES
    );
}

#[test]
fn every_limit_admits_its_value_and_refuses_one_more() {
    for sample in shapes::near_limits() {
        let outcome = verdict(&sample.text, &sample.name);
        match sample.expect {
            shapes::Expect::Valid => {
                assert_eq!(outcome, Ok(()), "{}", sample.name);
            }
            shapes::Expect::Refused(message) => {
                let error = outcome.expect_err(&sample.name);
                assert!(error.contains(message), "{}: {error}", sample.name);
                assert!(error.starts_with(&sample.name), "{}: {error}", sample.name);
            }
        }
    }
}

#[test]
fn scaling_shapes_are_valid_at_their_largest() {
    for shape in shapes::shapes() {
        let text = (shape.build)(shape.max_units);
        assert!(
            text.len() as u64 <= stratus_core::document::input::MAX_DOCUMENT_BYTES,
            "{}",
            shape.name
        );
        assert_eq!(verdict(&text, shape.name), Ok(()), "{}", shape.name);
    }
}

#[test]
fn a_refused_limit_names_the_element_and_its_line() {
    let attributes: String = (0..65).map(|i| format!(" ex:b{i}=\"v\"")).collect();
    let text = shapes::draft("", &format!("<ex:wide{attributes}/>"));
    let error = verdict(&text, "wide.xml").unwrap_err();
    let line = text[..text.find("<ex:wide").unwrap()].lines().count() + 1;
    assert_eq!(
        error,
        format!("wide.xml: not accepted: the element 'ex:wide' at {line}:1 exceeds the limit of 64 attributes on one element")
    );
}
