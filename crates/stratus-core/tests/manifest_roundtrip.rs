//! Reading and writing metadata documents: every legacy fixture survives
//! read → write → read, and so do generated documents (property test).

mod support;
use support::fixtures;

use proptest::prelude::*;
use stratus_core::document::manifest::{
    read, write, Attribute, Checksum, Element, Endorsement, Endorser, Manifest, Node, Terms,
};

fn round_trip(manifest: &Manifest) -> Manifest {
    let text = write::to_string(manifest);
    read::from_str(&text, "written").unwrap_or_else(|e| panic!("{e}\n{text}"))
}

#[test]
fn every_fixture_round_trips() {
    let mut count = 0;
    for dir in [fixtures(), fixtures().join("server")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let Ok(manifest) = read::from_str(&text, &path.display().to_string()) else {
                continue; // documents without a description or identifier
            };
            assert_eq!(round_trip(&manifest), manifest, "{}", path.display());
            count += 1;
        }
    }
    assert!(count >= 15, "only {count} fixtures read");
}

#[test]
fn full_fixture_is_modelled() {
    let text = std::fs::read_to_string(fixtures().join("valid-full.xml")).unwrap();
    let m = read::from_str(&text, "valid-full.xml").unwrap();
    assert_eq!(m.identifier, "MMZu9WvwKIro-rtBQfDk4PsKO7_");
    assert_eq!(m.bytes, 100);
    assert_eq!(
        m.checksum("SHA-1"),
        Some("c319bbd5afc0a22ba3eaed0507c39383ec28eeff")
    );
    let endorsement = m.endorsement.as_ref().unwrap();
    assert_eq!(endorsement.created.as_deref(), Some("2011-01-24T09:59:42Z"));
    assert_eq!(m.endorser_email(), Some("jane.tester@example.org"));
    assert_eq!(endorsement.endorser.as_ref().unwrap().issuers.len(), 1);
    assert_eq!(m.terms.image_type.as_deref(), Some("machine"));
    assert_eq!(m.terms.os_arch.as_deref(), Some("i486"));
    assert_eq!(m.terms.inbound_ports, vec!["443"]);
    assert_eq!(
        m.terms.deprecated.as_deref(),
        Some("security issue with app")
    );
    let names: Vec<_> = m.extensions.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["other-info", "yet-more", "relatedImages"]);
    let related = &m.extensions[2];
    assert_eq!(related.prefix.as_deref(), Some("ex"));
    assert_eq!(related.attributes[0].name, "parseType");
}

#[test]
fn cimi_and_accounts_extensions_keep_default_namespaces() {
    let text = std::fs::read_to_string(fixtures().join("valid-full-alt-cimi.xml")).unwrap();
    let m = read::from_str(&text, "cimi").unwrap();
    let cimi = m
        .extensions
        .iter()
        .find(|e| e.name == "MachineConfiguration")
        .unwrap();
    assert_eq!(cimi.namespace, "http://schemas.dmtf.org/cimi/1");
    assert_eq!(cimi.prefix, None);
    let written = write::to_string(&m);
    assert!(written.contains(r#"<MachineConfiguration xmlns="http://schemas.dmtf.org/cimi/1" rdf:parseType="Resource">"#), "{written}");
    assert!(
        written.contains(
            r#"<accounts xmlns="http://stratuslab.eu/accounts" rdf:parseType="Resource">"#
        ),
        "{written}"
    );
    assert!(written.contains("<root>root</root>"), "{written}");
}

#[test]
fn empty_endorsement_and_empty_terms_survive() {
    let mut m = Manifest {
        identifier: "MMZu9WvwKIro-rtBQfDk4PsKO7_".into(),
        ..Manifest::default()
    };
    m.terms.os = Some(String::new());
    let text = write::to_string(&m);
    assert!(
        text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n<rdf:RDF"),
        "{text}"
    );
    assert!(
        text.contains("<slreq:endorsement rdf:parseType=\"Resource\"/>"),
        "{text}"
    );
    assert!(text.contains("<slterms:os></slterms:os>"), "{text}");
    assert_eq!(round_trip(&m), m);
}

/// Found by fuzzing: an endorsement holding only elements the model does
/// not know was read as an endorsement with no parts, which the writer
/// writes as the empty element; it is now read as that empty element.
#[test]
fn an_endorsement_of_unknown_elements_reads_as_empty() {
    let text = std::fs::read_to_string(fixtures().join("valid-full.xml")).unwrap();
    let start = text.find("<slreq:endorsement").unwrap();
    let end = text.find("</slreq:endorsement>").unwrap() + "</slreq:endorsement>".len();
    let odd = format!(
        "{}<slreq:endorsement rdf:parseType=\"Resource\"><slreq:note>x</slreq:note></slreq:endorsement>{}",
        &text[..start],
        &text[end..]
    );
    let m = read::from_str(&odd, "odd").unwrap();
    assert_eq!(m.endorsement, None);
    assert_eq!(round_trip(&m), m);
}

/// Found by fuzzing: with the `slterms` prefix bound to another namespace,
/// its elements are extensions, written under a fresh prefix; the written
/// text is a fixed point and the namespaces are kept.
#[test]
fn an_extension_prefix_clashing_with_a_fixed_one_is_renamed() {
    let text = std::fs::read_to_string(fixtures().join("valid-full.xml")).unwrap();
    let odd = text.replacen(
        "xmlns:slterms=\"http://mp.stratuslab.eu/slterms#\"",
        "xmlns:slterms=\"http://example.org/other#\"",
        1,
    );
    assert_ne!(odd, text, "the fixture declares slterms on the root");
    let m = read::from_str(&odd, "odd").unwrap();
    assert!(m
        .extensions
        .iter()
        .any(|e| e.namespace == "http://example.org/other#"));
    let written = write::to_string(&m);
    let again = read::from_str(&written, "written").unwrap();
    assert_eq!(write::to_string(&again), written);
    let namespaces = |m: &Manifest| -> Vec<String> {
        m.extensions.iter().map(|e| e.namespace.clone()).collect()
    };
    assert_eq!(namespaces(&again), namespaces(&m));
}

#[test]
fn reader_names_what_is_missing() {
    let no_bytes = r##"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:dcterms="http://purl.org/dc/terms/"><rdf:Description rdf:about="#x"><dcterms:identifier>x</dcterms:identifier></rdf:Description></rdf:RDF>"##;
    let err = read::from_str(no_bytes, "d.xml").unwrap_err().to_string();
    assert_eq!(err, "d.xml: rdf:Description has no slreq:bytes element");
    let err = read::from_str("<a/>", "d.xml").unwrap_err().to_string();
    assert!(err.contains("expected rdf:RDF"), "{err}");
}

fn text_strategy() -> impl Strategy<Value = String> {
    // Any text XML 1.0 can carry, with the characters that need escaping.
    proptest::string::string_regex("[a-zA-Z0-9 &<>\"'\t\n\r\u{e9}\u{4e2d}\u{1F600}=:;#/.-]{0,24}")
        .unwrap()
}

fn optional() -> impl Strategy<Value = Option<String>> {
    proptest::option::of(text_strategy())
}

fn element_strategy() -> impl Strategy<Value = Element> {
    let leaf = (
        prop_oneof![
            Just(("http://example.org/", Some("ex"))),
            Just(("http://schemas.dmtf.org/cimi/1", None))
        ],
        "[a-z][a-zA-Z]{0,8}",
        proptest::collection::vec(("[a-z]{1,5}", text_strategy()), 0..3),
        "[a-zA-Z0-9 &<>]{1,10}",
    )
        .prop_map(|((ns, prefix), name, attrs, text)| {
            let mut attributes: Vec<Attribute> = Vec::new();
            for (name, value) in attrs {
                if !attributes.iter().any(|a| a.name == name) {
                    attributes.push(Attribute {
                        namespace: String::new(),
                        prefix: None,
                        name,
                        value,
                    });
                }
            }
            Element {
                namespace: ns.into(),
                prefix: prefix.map(String::from),
                name,
                attributes,
                children: vec![Node::Text(text)],
            }
        });
    leaf.prop_recursive(2, 8, 3, |inner| {
        (inner.clone(), proptest::collection::vec(inner, 1..3)).prop_map(|(mut outer, children)| {
            outer.attributes = vec![Attribute {
                namespace: "http://www.w3.org/1999/02/22-rdf-syntax-ns#".into(),
                prefix: Some("rdf".into()),
                name: "parseType".into(),
                value: "Resource".into(),
            }];
            outer.children = children.into_iter().map(Node::Element).collect();
            outer
        })
    })
}

fn manifest_strategy() -> impl Strategy<Value = Manifest> {
    let checksums =
        proptest::collection::vec(("MD5|SHA-1|SHA-256|SHA-512", "[0-9a-f]{1,40}"), 1..5).prop_map(
            |v| {
                v.into_iter()
                    .map(|(algorithm, value)| Checksum { algorithm, value })
                    .collect()
            },
        );
    let endorser = proptest::option::of(
        (
            optional(),
            optional(),
            proptest::collection::vec(text_strategy(), 0..3),
        )
            .prop_map(|(email, subject, issuers)| Endorser {
                email,
                subject,
                issuers,
            }),
    );
    // An endorsement with no parts at all is the empty element: None.
    let endorsement = proptest::option::of(
        (optional(), endorser).prop_map(|(created, endorser)| Endorsement { created, endorser }),
    )
    .prop_map(|e| e.filter(|e| e.created.is_some() || e.endorser.is_some()));
    let terms = (
        (
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
        ),
        (
            proptest::collection::vec(text_strategy(), 0..3),
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
        ),
        (
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
            optional(),
        ),
        (
            proptest::collection::vec("[0-9]{1,5}", 0..3),
            optional(),
            optional(),
        ),
    )
        .prop_map(|(a, b, c, d)| Terms {
            image_type: a.0,
            kind: a.1,
            os: a.2,
            os_version: a.3,
            os_arch: a.4,
            version: a.5,
            compression: a.6,
            locations: b.0,
            format: b.1,
            creator: b.2,
            created: b.3,
            valid: b.4,
            title: b.5,
            alternative: c.0,
            description: c.1,
            hypervisor: c.2,
            disks_bus: c.3,
            publisher: c.4,
            deprecated: c.5,
            inbound_ports: d.0,
            serial_number: d.1,
            is_replaced_by: d.2,
            ..Terms::default()
        });
    (
        "[A-Za-z0-9_-]{27}",
        any::<u64>(),
        checksums,
        endorsement,
        terms,
        proptest::collection::vec(element_strategy(), 0..3),
        optional(),
    )
        .prop_map(
            |(identifier, bytes, checksums, endorsement, terms, extensions, rdf_type)| Manifest {
                rdf_type,
                identifier,
                bytes,
                checksums,
                endorsement,
                terms,
                extensions,
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn generated_documents_round_trip(manifest in manifest_strategy()) {
        prop_assert_eq!(round_trip(&manifest), manifest);
    }
}

#[test]
fn deep_extensions_are_refused_not_overflowing() {
    let minimal = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    let nested = |depth: usize| {
        let text = format!(
            "{}{}",
            "<ex:a rdf:parseType=\"Resource\">".repeat(depth),
            "</ex:a>".repeat(depth)
        );
        let text = minimal.replacen("<dcterms:type>", &format!("{text}<dcterms:type>"), 1);
        text.replacen("<rdf:RDF", "<rdf:RDF xmlns:ex=\"http://example.org/\"", 1)
    };
    // Deeper than the model reader allows, within the parser's limit.
    let err = read::from_str(&nested(100), "deep.xml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("nests deeper than 64 levels"), "{err}");
    // Far deeper: the parser's own limit stops it first.
    let err = read::from_str(&nested(100_000), "deep.xml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exceeds the limit of 128 levels of nested elements"),
        "{err}"
    );
}
