//! The legacy validation rules (`manifest::rules`) against the legacy
//! fixtures (metadata.md §5), against the fixtures of §5 that are not shipped
//! (rebuilt here from their descriptions), and against variants written from
//! the rules of §3.2–§3.4, one rule broken at a time.
//!
//! Each case gives the expected outcome of the schema (X), constraint (C) and
//! RDF (R) checks run on their own. A refused schema or RDF check must give a
//! message containing the expected fragment; a refused constraint check must
//! give exactly the legacy message. `check_unsigned` must then report the
//! first of the three failures, or accept.

use std::path::{Path, PathBuf};

use stratus_core::document::manifest::rules;
use stratus_core::{Invalid, Stage};

/// The expected outcome of one check.
#[derive(Clone, Copy, Debug)]
enum Want {
    /// Accepted.
    Pass,
    /// Refused: the message contains this fragment (schema, RDF), or is
    /// exactly this (constraints).
    Fail(&'static str),
    /// Not checked: the legacy outcome is not known (the pipeline is still
    /// compared with the outcomes actually observed).
    Unknown,
}
use Want::{Fail, Pass, Unknown};

const BASE_MSG: &str =
    "root element must have xml:base attribute with value http://mp.stratuslab.eu/";
const TYPE_MSG: &str = "description must have exactly 1 dcterms:type element";
const SHA1_MSG: &str =
    "description must have exactly 1 slterms:checksum element using SHA-1 algorithm";
const SCHEMA_PREFIX: &str = "XML schema validation exception: ";

/// Run the three checks and the pipeline on `text` and compare.
fn expect(name: &str, text: &str, x: Want, c: Want, r: Want) {
    let doc = stratus_core::document::xml::parse(text, name)
        .unwrap_or_else(|e| panic!("{name}: test document does not parse: {e}"));
    let outcomes = [
        (Stage::Schema, x, rules::check_schema(&doc)),
        (Stage::Constraint, c, rules::check_constraints(&doc)),
        (Stage::Rdf, r, rules::check_rdf(&doc, text)),
    ];
    let mut first_failure: Option<Invalid> = None;
    for (stage, want, got) in outcomes {
        match (want, &got) {
            (Pass, Ok(())) | (Unknown, _) => {}
            (Pass, Err(e)) => panic!("{name}: {stage:?} should pass, got: {}", e.message),
            (Fail(fragment), Err(e)) => {
                assert_eq!(e.stage, stage, "{name}: wrong stage");
                match stage {
                    Stage::Constraint => {
                        assert_eq!(e.message, fragment, "{name}: constraint message")
                    }
                    Stage::Schema => {
                        assert!(
                            e.message.starts_with(SCHEMA_PREFIX),
                            "{name}: schema message prefix: {}",
                            e.message
                        );
                        assert!(
                            e.message.contains(fragment),
                            "{name}: schema message {:?} lacks {fragment:?}",
                            e.message
                        );
                    }
                    _ => assert!(
                        e.message.contains(fragment),
                        "{name}: {stage:?} message {:?} lacks {fragment:?}",
                        e.message
                    ),
                }
            }
            (Fail(fragment), Ok(())) => {
                panic!("{name}: {stage:?} should fail with {fragment:?}, but passed")
            }
        }
        if first_failure.is_none() {
            first_failure = got.err();
        }
    }
    let pipeline = rules::check_unsigned(&doc, text).err();
    assert_eq!(pipeline, first_failure, "{name}: check_unsigned");
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/legacy")
}

// ---------------------------------------------------------------------------
// The shipped legacy fixtures
// ---------------------------------------------------------------------------

/// Every shipped fixture document with its outcomes from metadata.md §5.
const FIXTURES: &[(&str, Want, Want, Want)] = &[
    (
        "invalid-bad-inbound-port.xml",
        Fail("cvc-maxInclusive-valid: Value '65536' is not facet-valid with respect to maxInclusive '65535' for type 'port'."),
        Fail(TYPE_MSG),
        Pass,
    ),
    (
        "invalid-email.xml",
        Fail(r"Value 'jane.tester_at_example.org' is not facet-valid with respect to pattern '[A-Za-z0-9\._%+-]+@[A-Za-z0-9\.-]+' for type 'email-type'."),
        Fail(TYPE_MSG),
        Pass,
    ),
    (
        "invalid-inconsistent-checksum.xml",
        Pass,
        Fail("checksum from identifier (1113827081651840475597112894378558741689028636415) and SHA-1 checksum (1113827081651840475597112894378558741689028636414) are not consistent"),
        Pass,
    ),
    (
        "invalid-multiple-os.xml",
        Pass,
        Fail("description must have at most 1 slterms:os element"),
        Pass,
    ),
    (
        "invalid-no-xml-base.xml",
        Fail("cvc-complex-type.4: Attribute 'base' belonging to namespace 'http://www.w3.org/XML/1998/namespace', must appear on element 'rdf:RDF'."),
        Fail(BASE_MSG),
        Pass,
    ),
    (
        "invalid-rdf-attribute.xml",
        Pass,
        Pass,
        Fail("[line 29, column"),
    ),
    ("valid-ca-signed.xml", Pass, Pass, Pass),
    ("valid-full-alt-cimi.xml", Pass, Pass, Pass),
    ("valid-full-signature.xml", Pass, Pass, Pass),
    ("valid-full.xml", Pass, Pass, Pass),
    (
        "valid-minimal-empty-endorsement.xml",
        Fail(r#"cvc-complex-type.2.4.b: The content of element 'slreq:endorsement' is not complete. One of '{"http://purl.org/dc/terms/":created}' is expected."#),
        Pass,
        Pass,
    ),
    ("valid-minimal-leading-zero-sha1.xml", Pass, Pass, Pass),
    ("valid-minimal-signature.xml", Pass, Pass, Pass),
    ("valid-minimal.xml", Pass, Pass, Pass),
    (
        "server/valid-alternative.xml",
        Fail(r#"cvc-complex-type.2.4.a: Invalid content was found starting with element '{"http://purl.org/dc/terms/":alternative}'. One of '{"http://mp.stratuslab.eu/slreq#":bytes}' is expected."#),
        Pass,
        Pass,
    ),
    ("server/valid-expired-signature.xml", Pass, Pass, Pass),
    ("server/valid-indate-newer-signature.xml", Pass, Pass, Pass),
    ("server/valid-indate-signature.xml", Pass, Pass, Pass),
    (
        "server/valid.xml",
        Fail(r#"One of '{"http://purl.org/dc/terms/":created}' is expected."#),
        Pass,
        Pass,
    ),
];

#[test]
fn shipped_fixtures_give_the_catalogued_outcomes() {
    for &(name, x, c, r) in FIXTURES {
        let path = fixture_dir().join(name);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        expect(name, &text, x, c, r);
    }
}

#[test]
fn every_shipped_fixture_document_is_catalogued() {
    for sub in ["", "server"] {
        let dir = fixture_dir().join(sub);
        for entry in std::fs::read_dir(&dir).expect("fixture directory") {
            let file = entry.unwrap().file_name().into_string().unwrap();
            if !file.ends_with(".xml") {
                continue;
            }
            let name = if sub.is_empty() {
                file
            } else {
                format!("{sub}/{file}")
            };
            assert!(
                FIXTURES.iter().any(|(known, ..)| *known == name),
                "fixture {name} has no expected outcome in FIXTURES"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Documents written from the rules
// ---------------------------------------------------------------------------

/// A valid minimal document with two placeholders: `<!--extra-->` in the free
/// part of the description and `<!--after-->` after the description.
const MINIMAL: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
    xmlns:dcterms="http://purl.org/dc/terms/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    xmlns:slreq="http://mp.stratuslab.eu/slreq#"
    xmlns:slterms="http://mp.stratuslab.eu/slterms#"
    xmlns:ex="http://example.org/"
    xml:base="http://mp.stratuslab.eu/">
  <rdf:Description rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_">
    <dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7_</dcterms:identifier>
    <slreq:bytes>100</slreq:bytes>
    <slreq:checksum rdf:parseType="Resource">
      <slreq:algorithm>SHA-1</slreq:algorithm>
      <slreq:value>c319bbd5afc0a22ba3eaed0507c39383ec28eeff</slreq:value>
    </slreq:checksum>
    <slreq:endorsement rdf:parseType="Resource">
      <dcterms:created>2011-01-24T09:59:42Z</dcterms:created>
      <slreq:endorser rdf:parseType="Resource">
        <slreq:email>jane.tester@example.org</slreq:email>
        <slreq:subject>CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU</slreq:subject>
        <slreq:issuer>CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU</slreq:issuer>
      </slreq:endorser>
    </slreq:endorsement>
    <dcterms:type>machine</dcterms:type>
    <!--extra-->
  </rdf:Description>
  <!--after-->
</rdf:RDF>
"##;

const ROOT_ATTRS: &str = r#"xml:base="http://mp.stratuslab.eu/">"#;
const ABOUT: &str = r##"rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_""##;
const IDENTIFIER: &str = "<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7_</dcterms:identifier>";
const BYTES: &str = "<slreq:bytes>100</slreq:bytes>";
const CHECKSUM_START: &str = r#"<slreq:checksum rdf:parseType="Resource">"#;
const ALGORITHM: &str = "<slreq:algorithm>SHA-1</slreq:algorithm>";
const VALUE: &str = "<slreq:value>c319bbd5afc0a22ba3eaed0507c39383ec28eeff</slreq:value>";
const ENDORSEMENT_START: &str = r#"<slreq:endorsement rdf:parseType="Resource">"#;
const CREATED: &str = "<dcterms:created>2011-01-24T09:59:42Z</dcterms:created>";
const ENDORSER_START: &str = r#"<slreq:endorser rdf:parseType="Resource">"#;
const EMAIL: &str = "<slreq:email>jane.tester@example.org</slreq:email>";
const ISSUER: &str =
    "<slreq:issuer>CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU</slreq:issuer>";
const TYPE: &str = "<dcterms:type>machine</dcterms:type>";
const EXTRA: &str = "<!--extra-->";
const AFTER: &str = "<!--after-->";
const SIGNATURE: &str = r#"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#"/>"#;

/// [`MINIMAL`] with each `from` (which must occur exactly once) replaced.
fn variant(edits: &[(&str, &str)]) -> String {
    let mut text = MINIMAL.to_string();
    for (from, to) in edits {
        assert_eq!(text.matches(from).count(), 1, "{from:?} must occur once");
        text = text.replacen(from, to, 1);
    }
    text
}

/// [`MINIMAL`] with `xml` in the free part of the description.
fn extra(xml: &str) -> String {
    variant(&[(EXTRA, xml)])
}

/// [`MINIMAL`] with `dcterms:valid` set to `valid` and the endorsement
/// `dcterms:created` to `created` (`None`: leave as is / absent).
fn dates(valid: Option<&str>, created: Option<&str>) -> String {
    let valid_element = valid.map(|v| format!("<dcterms:valid>{v}</dcterms:valid>"));
    let created_element = created.map(|c| format!("<dcterms:created>{c}</dcterms:created>"));
    variant(&[
        (EXTRA, valid_element.as_deref().unwrap_or("")),
        (CREATED, created_element.as_deref().unwrap_or(CREATED)),
    ])
}

#[test]
fn the_template_is_valid() {
    expect("minimal", MINIMAL, Pass, Pass, Pass);
}

/// The §5 fixtures that are not shipped, rebuilt from their descriptions.
#[test]
fn unshipped_legacy_fixtures_rebuilt_from_the_catalogue() {
    expect(
        "invalid-bad-about-id",
        &variant(&[(ABOUT, r##"rdf:about="#MMZu9WvwKIro-rtBQ""##), (TYPE, "")]),
        Fail("cvc-pattern-valid: Value '#MMZu9WvwKIro-rtBQ' is not facet-valid with respect to pattern '#[A-Za-z0-9_-]{27}' for type 'id-frag-type'."),
        Fail(TYPE_MSG),
        Pass,
    );
    expect(
        "invalid-bad-checksum-parsetype",
        &variant(&[(CHECKSUM_START, r#"<slreq:checksum rdf:parseType="BAD">"#)]),
        Fail("cvc-enumeration-valid: Value 'BAD' is not facet-valid with respect to enumeration '[Resource]'. It must be a value from the enumeration."),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-element-for-signature",
        &variant(&[(AFTER, "<rdf:Description/>")]),
        Fail(
            r#"cvc-complex-type.2.4.a: Invalid content was found starting with element '{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":Description}'. One of '{WC["http://www.w3.org/2000/09/xmldsig#"]}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-endorsement-parsetype",
        &variant(&[(
            ENDORSEMENT_START,
            r#"<slreq:endorsement rdf:parseType="BAD">"#,
        )]),
        Fail("Value 'BAD' is not facet-valid with respect to enumeration '[Resource]'"),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-endorser-parsetype",
        &variant(&[(ENDORSER_START, r#"<slreq:endorser rdf:parseType="BAD">"#)]),
        Fail("Value 'BAD' is not facet-valid with respect to enumeration '[Resource]'"),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-icmp-value",
        &extra("<slterms:icmp>65536</slterms:icmp>"),
        Fail("cvc-maxInclusive-valid: Value '65536' is not facet-valid with respect to maxInclusive '255' for type 'icmp-type'."),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-outbound-port",
        &extra("<slterms:outbound-port>65536</slterms:outbound-port>"),
        Fail("maxInclusive '65535' for type 'port'"),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-serial-number",
        &extra("<slterms:serial-number>X</slterms:serial-number>"),
        Fail("cvc-datatype-valid.1.2.1: 'X' is not a valid value for 'integer'."),
        Pass,
        Pass,
    );
    expect(
        "invalid-bad-xml-base",
        &variant(&[(ROOT_ATTRS, r#"xml:base="http://mp.stratuslab.eu/BAD">"#)]),
        Pass,
        Fail(BASE_MSG),
        Pass,
    );
    expect(
        "invalid-checksum-value",
        &variant(&[(VALUE, "<slreq:value>XYZ</slreq:value>")]),
        Fail("cvc-pattern-valid: Value 'XYZ' is not facet-valid with respect to pattern '[A-Fa-f0-9]+' for type 'checksum-value-type'."),
        Fail("XYZ is not a valid SHA-1 checksum"),
        Pass,
    );
    expect(
        "invalid-created-date-1",
        &dates(None, Some("2011-01-24X09:59:42Z")),
        Pass,
        Fail("dcterms:created value () is not a valid date"),
        Pass,
    );
    expect(
        "invalid-created-date-2",
        &dates(None, Some("2011-01-24T99:59:42Z")),
        Pass,
        Fail("Unparseable date: \"2011-01-24T99:59:42Z\""),
        Pass,
    );
    expect(
        "invalid-dcterms-type",
        &variant(&[(
            TYPE,
            "<dcterms:type><dcterms:identifier>dummy</dcterms:identifier></dcterms:type>",
        )]),
        Fail("cvc-complex-type.2.4.d: Invalid content was found starting with element 'dcterms:identifier'. No child element is expected at this point."),
        Fail("dcterms:type cannot have child elements"),
        Fail("[line 24, column"),
    );
    expect(
        "invalid-inconsistent-identifiers",
        &variant(&[(
            IDENTIFIER,
            "<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO77</dcterms:identifier>",
        )]),
        Pass,
        Fail("rdf:about attribute (#MMZu9WvwKIro-rtBQfDk4PsKO7_) and dcterms:identifier (MMZu9WvwKIro-rtBQfDk4PsKO77) are not consistent"),
        Pass,
    );
    for term in [
        "deprecated",
        "os-arch",
        "os-version",
        "os",
        "serial-number",
        "version",
    ] {
        let one = format!("<slterms:{term}>0</slterms:{term}>");
        let message = format!("description must have at most 1 slterms:{term} element");
        let message: &'static str = Box::leak(message.into_boxed_str());
        expect(
            &format!("invalid-multiple-{term}"),
            &extra(&format!("{one}\n{one}")),
            Pass,
            Fail(message),
            Pass,
        );
        expect(&format!("single-{term}"), &extra(&one), Pass, Pass, Pass);
    }
    expect(
        "invalid-no-content",
        r#"<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xml:base="http://mp.stratuslab.eu/"/>"#,
        Fail(
            r#"cvc-complex-type.2.4.b: The content of element 'rdf:RDF' is not complete. One of '{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":Description}' is expected."#,
        ),
        Fail(TYPE_MSG),
        Pass,
    );
    let endorsement_end = "    </slreq:endorsement>\n";
    let whole_endorsement = &MINIMAL[MINIMAL.find(ENDORSEMENT_START).unwrap()
        ..MINIMAL.find(endorsement_end).unwrap() + endorsement_end.len()];
    expect(
        "invalid-no-endorsement",
        &variant(&[(whole_endorsement, ""), (TYPE, "")]),
        Fail(
            r#"cvc-complex-type.2.4.b: The content of element 'rdf:Description' is not complete. One of '{"http://mp.stratuslab.eu/slreq#":checksum, "http://mp.stratuslab.eu/slreq#":endorsement}' is expected."#,
        ),
        Fail(TYPE_MSG),
        Pass,
    );
    expect(
        "invalid-no-endorser",
        &variant(&[(
            whole_endorsement,
            &format!("{ENDORSEMENT_START}{CREATED}</slreq:endorsement>"),
        )]),
        Fail(
            r#"cvc-complex-type.2.4.b: The content of element 'slreq:endorsement' is not complete. One of '{"http://mp.stratuslab.eu/slreq#":endorser}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "invalid-rdf-resource",
        &extra("<ex:dummy><ex:a>alpha</ex:a><ex:b>beta</ex:b></ex:dummy>"),
        Pass,
        Pass,
        Fail("[line 25, column"),
    );
    expect(
        "invalid-valid-date-1",
        &dates(Some("2011-01-24X09:59:42Z"), None),
        Pass,
        Fail("dcterms:valid value (2011-01-24X09:59:42Z) is not a valid date"),
        Pass,
    );
    expect(
        "invalid-valid-date-2",
        &dates(Some("2011-01-24T99:59:42Z"), None),
        Pass,
        Fail("Unparseable date: \"2011-01-24T99:59:42Z\""),
        Pass,
    );
    expect(
        "partial-multiple-signatures",
        &variant(&[(AFTER, &format!("{SIGNATURE}\n{SIGNATURE}\n{SIGNATURE}"))]),
        Fail("cvc-complex-type.2.4.d: Invalid content was found starting with element 'Signature'. No child element is expected at this point."),
        Pass,
        Pass,
    );
}

#[test]
fn root_element_rules() {
    expect(
        "root foreign attribute",
        &variant(&[(ROOT_ATTRS, r#"xml:base="http://mp.stratuslab.eu/" foo="bar">"#)]),
        Fail("cvc-complex-type.3.2.2: Attribute 'foo' is not allowed to appear in element 'rdf:RDF'."),
        Pass,
        Fail("namespaces are required"),
    );
    expect(
        "root xml:lang",
        &variant(&[(
            ROOT_ATTRS,
            r#"xml:base="http://mp.stratuslab.eu/" xml:lang="en">"#,
        )]),
        Fail("Attribute 'xml:lang' is not allowed to appear in element 'rdf:RDF'."),
        Pass,
        Pass,
    );
    expect(
        "root without xml:base",
        &variant(&[(ROOT_ATTRS, ">")]),
        Fail("must appear on element 'rdf:RDF'"),
        Fail(BASE_MSG),
        Pass,
    );
    expect(
        "xml:base without trailing slash",
        &variant(&[(ROOT_ATTRS, r#"xml:base="http://mp.stratuslab.eu">"#)]),
        Pass,
        Fail(BASE_MSG),
        Pass,
    );
    expect(
        "wrong document element",
        r#"<ex:RDF xmlns:ex="http://example.org/"/>"#,
        Fail("cvc-elt.1.a: Cannot find the declaration of element 'ex:RDF'."),
        Fail(BASE_MSG),
        Pass,
    );
    expect(
        "second description with its own dcterms:type",
        &variant(&[(
            AFTER,
            r##"<rdf:Description rdf:about="#other"><dcterms:type>disk</dcterms:type></rdf:Description>"##,
        )]),
        Fail(r#"One of '{WC["http://www.w3.org/2000/09/xmldsig#"]}' is expected."#),
        Fail(TYPE_MSG),
        // RDF/XML, but the graph says something about another resource.
        Fail("the RDF graph has a statement about <http://mp.stratuslab.eu/#other>, in the element dcterms:type at "),
        );
    expect(
        "one signature",
        &variant(&[(AFTER, SIGNATURE)]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "signature with any content and a prefix",
        &variant(&[(
            AFTER,
            r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#" any="thing">text <ds:SignedInfo rdf:parseType="BAD">x</ds:SignedInfo></ds:Signature>"#,
        )]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "other xmldsig element in the signature slot",
        &variant(&[(
            AFTER,
            r#"<Object xmlns="http://www.w3.org/2000/09/xmldsig#"/>"#,
        )]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "two signatures",
        &variant(&[(AFTER, &format!("{SIGNATURE}{SIGNATURE}"))]),
        Fail(
            "cvc-complex-type.2.4.d: Invalid content was found starting with element 'Signature'.",
        ),
        Pass,
        Pass,
    );
    expect(
        "signature before the description",
        &variant(&[(
            "  <rdf:Description",
            &format!("{SIGNATURE}<rdf:Description"),
        )]),
        Fail(
            r#"cvc-complex-type.2.4.a: Invalid content was found starting with element '{"http://www.w3.org/2000/09/xmldsig#":Signature}'. One of '{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":Description}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "element after the signature",
        &variant(&[(AFTER, &format!("{SIGNATURE}<ex:more/>"))]),
        Fail("Invalid content was found starting with element 'ex:more'. No child element is expected at this point."),
        Pass,
        Pass,
    );
    expect(
        "text in rdf:RDF",
        &variant(&[(AFTER, "stray text")]),
        Fail("cvc-complex-type.2.3: Element 'rdf:RDF' cannot have character [children], because the type's content type is element-only."),
        Pass,
        Fail("[line 28, column 1]"),
    );
}

#[test]
fn description_rules() {
    expect(
        "description without rdf:about",
        &variant(&[(ABOUT, "")]),
        Fail("cvc-complex-type.4: Attribute 'about' belonging to namespace 'http://www.w3.org/1999/02/22-rdf-syntax-ns#', must appear on element 'rdf:Description'."),
        Fail("rdf:about attribute () and dcterms:identifier (MMZu9WvwKIro-rtBQfDk4PsKO7_) are not consistent"),
        Pass,
    );
    expect(
        "rdf:about not a fragment",
        &variant(&[(ABOUT, r#"rdf:about="MMZu9WvwKIro-rtBQfDk4PsKO7_""#)]),
        Fail("is not facet-valid with respect to pattern '#[A-Za-z0-9_-]{27}'"),
        Fail("rdf:about attribute (MMZu9WvwKIro-rtBQfDk4PsKO7_) and dcterms:identifier (MMZu9WvwKIro-rtBQfDk4PsKO7_) are not consistent"),
        Pass,
    );
    expect(
        "rdf:about with a bad character",
        &variant(&[
            (ABOUT, r##"rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7=""##),
            (
                IDENTIFIER,
                "<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7=</dcterms:identifier>",
            ),
        ]),
        Fail("Value '#MMZu9WvwKIro-rtBQfDk4PsKO7=' is not facet-valid"),
        Fail("invalid identifier"),
        Pass,
    );
    expect(
        "short identifier consistent with rdf:about",
        &variant(&[
            (ABOUT, r##"rdf:about="#abc""##),
            (IDENTIFIER, "<dcterms:identifier>abc</dcterms:identifier>"),
        ]),
        Fail("Value '#abc' is not facet-valid"),
        Fail("invalid identifier"),
        Pass,
    );
    expect(
        "rdf:ID on the description",
        &variant(&[(ABOUT, &format!(r#"{ABOUT} rdf:ID="x""#))]),
        Fail("Attribute 'rdf:ID' is not allowed to appear in element 'rdf:Description'."),
        Pass,
        Fail(""),
    );
    expect(
        "xml:lang on the description",
        &variant(&[(ABOUT, &format!(r#"{ABOUT} xml:lang="en""#))]),
        Fail("Attribute 'xml:lang' is not allowed to appear in element 'rdf:Description'."),
        Pass,
        Pass,
    );
    expect(
        "text in the description",
        &extra("some text"),
        Fail("cvc-complex-type.2.3: Element 'rdf:Description' cannot have character [children]"),
        Pass,
        Fail(""),
    );
    expect(
        "rdf:type first",
        &variant(&[(
            IDENTIFIER,
            &format!("<rdf:type>image</rdf:type>{IDENTIFIER}"),
        )]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "rdf:type twice",
        &variant(&[(
            IDENTIFIER,
            &format!("<rdf:type>a</rdf:type><rdf:type>b</rdf:type>{IDENTIFIER}"),
        )]),
        Fail(
            r#"Invalid content was found starting with element '{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":type}'. One of '{"http://purl.org/dc/terms/":identifier}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "dcterms:type before the identifier",
        &variant(&[(TYPE, ""), (IDENTIFIER, &format!("{TYPE}{IDENTIFIER}"))]),
        Fail(
            r#"cvc-complex-type.2.4.a: Invalid content was found starting with element '{"http://purl.org/dc/terms/":type}'. One of '{"http://www.w3.org/1999/02/22-rdf-syntax-ns#":type, "http://purl.org/dc/terms/":identifier}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "dcterms:alternative before the bytes",
        &variant(&[(
            BYTES,
            &format!("<dcterms:alternative>tag</dcterms:alternative>{BYTES}"),
        )]),
        Fail(
            r#"'{"http://purl.org/dc/terms/":alternative}'. One of '{"http://mp.stratuslab.eu/slreq#":bytes}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "no bytes",
        &variant(&[(BYTES, "")]),
        Fail(
            r#"Invalid content was found starting with element '{"http://mp.stratuslab.eu/slreq#":checksum}'. One of '{"http://mp.stratuslab.eu/slreq#":bytes}' is expected."#,
        ),
        Pass,
        Pass,
    );
    let checksum = &MINIMAL[MINIMAL.find(CHECKSUM_START).unwrap()
        ..MINIMAL.find("</slreq:checksum>").unwrap() + "</slreq:checksum>".len()];
    expect(
        "no checksum",
        &variant(&[(checksum, "")]),
        Fail(
            r#"Invalid content was found starting with element '{"http://mp.stratuslab.eu/slreq#":endorsement}'. One of '{"http://mp.stratuslab.eu/slreq#":checksum}' is expected."#,
        ),
        Fail(SHA1_MSG),
        Pass,
    );
    expect(
        "four checksums",
        &variant(&[(
            checksum,
            &format!(
                "{CHECKSUM_START}<slreq:algorithm>MD5</slreq:algorithm><slreq:value>a003bf123ce16965005ee85c60281a31</slreq:value></slreq:checksum>\
                 {checksum}\
                 {CHECKSUM_START}<slreq:algorithm>SHA-256</slreq:algorithm><slreq:value>63694032B698D2F455B67311E0D4B821</slreq:value></slreq:checksum>\
                 <slreq:checksum><slreq:algorithm>whatever</slreq:algorithm><slreq:value>0</slreq:value></slreq:checksum>"
            ),
        )]),
        Pass,
        Pass,
        Fail(""), // the last checksum has no parseType="Resource"
    );
}

#[test]
fn integer_and_pattern_types() {
    let bytes = |value: &str| variant(&[(BYTES, &format!("<slreq:bytes>{value}</slreq:bytes>"))]);
    expect(
        "bytes X",
        &bytes("X"),
        Fail("cvc-datatype-valid.1.2.1: 'X' is not a valid value for 'integer'."),
        Pass,
        Pass,
    );
    expect(
        "bytes -1",
        &bytes("-1"),
        Fail("cvc-minInclusive-valid: Value '-1' is not facet-valid with respect to minInclusive '0' for type 'nonNegativeInteger'."),
        Pass,
        Pass,
    );
    expect("bytes with spaces", &bytes(" 100 "), Pass, Pass, Pass);
    expect("bytes with a newline", &bytes("\n100\n"), Pass, Pass, Pass);
    expect("bytes +100", &bytes("+100"), Pass, Pass, Pass);
    expect("bytes 0", &bytes("0"), Pass, Pass, Pass);
    expect("bytes -0", &bytes("-0"), Pass, Pass, Pass);
    expect("bytes 30 digits", &bytes(&"9".repeat(30)), Pass, Pass, Pass);
    expect(
        "bytes 400 digits",
        &bytes(&"7".repeat(400)),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "bytes empty",
        &bytes(""),
        Fail("'' is not a valid value for 'integer'"),
        Pass,
        Pass,
    );
    expect(
        "bytes with an inner space",
        &bytes("1 000"),
        Fail("'1 000' is not a valid value for 'integer'"),
        Pass,
        Pass,
    );
    expect(
        "bytes with a child element",
        &bytes("1<ex:x/>"),
        Fail("cvc-type.3.1.2: Element 'slreq:bytes' is a simple type, so it must have no element information item [children]."),
        Pass,
        Fail(""),
    );
    expect(
        "bytes with an attribute",
        &variant(&[(BYTES, r#"<slreq:bytes xml:lang="en">100</slreq:bytes>"#)]),
        Fail(
            "cvc-type.3.1.1: Element 'slreq:bytes' is a simple type, so it cannot have attributes",
        ),
        Pass,
        Pass,
    );

    expect(
        "inbound port 65535 and 0",
        &extra("<slterms:inbound-port> 65535 </slterms:inbound-port><slterms:inbound-port>0</slterms:inbound-port><slterms:inbound-port>+22</slterms:inbound-port>"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "inbound port 65536",
        &extra("<slterms:inbound-port>65536</slterms:inbound-port>"),
        Fail("Value '65536' is not facet-valid with respect to maxInclusive '65535' for type 'port'."),
        Pass,
        Pass,
    );
    expect(
        "outbound port -1",
        &extra("<slterms:outbound-port>-1</slterms:outbound-port>"),
        Fail("cvc-minInclusive-valid: Value '-1' is not facet-valid with respect to minInclusive '0' for type 'port'."),
        Pass,
        Pass,
    );
    expect(
        "outbound port huge",
        &extra(&format!(
            "<slterms:outbound-port>{}</slterms:outbound-port>",
            "9".repeat(40)
        )),
        Fail("maxInclusive '65535'"),
        Pass,
        Pass,
    );
    expect(
        "icmp 255",
        &extra("<slterms:icmp>255</slterms:icmp>"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "icmp 256",
        &extra("<slterms:icmp>256</slterms:icmp>"),
        Fail("Value '256' is not facet-valid with respect to maxInclusive '255' for type 'icmp-type'."),
        Pass,
        Pass,
    );
    expect(
        "serial number X",
        &extra("<slterms:serial-number>X</slterms:serial-number>"),
        Fail("'X' is not a valid value for 'integer'"),
        Pass,
        Pass,
    );
    expect(
        "serial number -3",
        &extra("<slterms:serial-number>-3</slterms:serial-number>"),
        Fail("minInclusive '0' for type 'nonNegativeInteger'"),
        Pass,
        Pass,
    );

    let email = |value: &str| variant(&[(EMAIL, &format!("<slreq:email>{value}</slreq:email>"))]);
    expect("email x@y", &email("x@y"), Pass, Pass, Pass);
    expect(
        "email with %+-_",
        &email("a.b%c+d_e-f@g-h.i"),
        Pass,
        Pass,
        Pass,
    );
    for bad in [
        " jane@example.org",
        "jane@example.org ",
        "a@b@c",
        "jane@exa_mple.org",
        "@example.org",
        "jane@",
        "",
        "Jane &lt;jane@example.org&gt;",
    ] {
        expect(
            &format!("email {bad:?}"),
            &email(bad),
            Fail("for type 'email-type'"),
            Pass,
            Pass,
        );
    }

    let value = |v: &str| variant(&[(VALUE, &format!("<slreq:value>{v}</slreq:value>"))]);
    expect(
        "upper-case SHA-1",
        &value("C319BBD5AFC0A22BA3EAED0507C39383EC28EEFF"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "SHA-1 with leading zeros",
        &value("000c319bbd5afc0a22ba3eaed0507c39383ec28eeff"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "SHA-1 empty",
        &value(""),
        Fail("Value '' is not facet-valid with respect to pattern '[A-Fa-f0-9]+'"),
        Fail(" is not a valid SHA-1 checksum"),
        Pass,
    );
    expect(
        "SHA-1 with spaces",
        &value(" c319bbd5afc0a22ba3eaed0507c39383ec28eeff "),
        Fail("for type 'checksum-value-type'"),
        Fail(" c319bbd5afc0a22ba3eaed0507c39383ec28eeff  is not a valid SHA-1 checksum"),
        Pass,
    );
    expect(
        "SHA-1 with a sign",
        &value("+c319bbd5afc0a22ba3eaed0507c39383ec28eeff"),
        Fail("for type 'checksum-value-type'"),
        Fail("+c319bbd5afc0a22ba3eaed0507c39383ec28eeff is not a valid SHA-1 checksum"),
        Pass,
    );
    expect(
        "SHA-1 mismatch",
        &value("c319bbd5afc0a22ba3eaed0507c39383ec28eefe"),
        Pass,
        Fail("checksum from identifier (1113827081651840475597112894378558741689028636415) and SHA-1 checksum (1113827081651840475597112894378558741689028636414) are not consistent"),
        Pass,
    );
    expect(
        "SHA-1 one",
        &variant(&[
            (ABOUT, r##"rdf:about="#AAAAAAAAAAAAAAAAAAAAAAAAAAB""##),
            (
                IDENTIFIER,
                "<dcterms:identifier>AAAAAAAAAAAAAAAAAAAAAAAAAAB</dcterms:identifier>",
            ),
            (
                VALUE,
                "<slreq:value>0000000000000000000000000000000000000002</slreq:value>",
            ),
        ]),
        Pass,
        Fail("checksum from identifier (1) and SHA-1 checksum (2) are not consistent"),
        Pass,
    );
}

#[test]
fn complex_types_and_parse_type() {
    for (label, start) in [
        ("checksum", CHECKSUM_START),
        ("endorsement", ENDORSEMENT_START),
        ("endorser", ENDORSER_START),
    ] {
        let bad = start.replace("Resource", "resource");
        expect(
            &format!("parseType resource on {label}"),
            &variant(&[(start, &bad)]),
            Fail("Value 'resource' is not facet-valid with respect to enumeration '[Resource]'"),
            Pass,
            Pass, // an unknown parseType is read as Literal
        );
        let without = start.replace(r#" rdf:parseType="Resource""#, "");
        expect(
            &format!("no parseType on {label}"),
            &variant(&[(start, &without)]),
            Pass,
            Pass,
            Fail(""),
        );
        let extra_attribute = start.replace(">", r##" rdf:about="#x">"##);
        expect(
            &format!("rdf:about on {label}"),
            &variant(&[(start, &extra_attribute)]),
            Fail("cvc-complex-type.3.2.2: Attribute 'rdf:about' is not allowed"),
            Pass,
            Unknown, // rdf:about on a property element: oxrdfxml ignores it
        );
        let foreign = start.replace(">", r#" ex:note="x">"#);
        expect(
            &format!("foreign attribute on {label}"),
            &variant(&[(start, &foreign)]),
            Fail("Attribute 'ex:note' is not allowed"),
            Pass,
            Unknown, // a property attribute next to parseType="Resource": oxrdfxml accepts it
        );
    }
    expect(
        "parseType BAD on an extension",
        &extra(
            r#"<ex:related rdf:parseType="BAD"><dcterms:identifier>x</dcterms:identifier></ex:related>"#,
        ),
        Fail("Value 'BAD' is not facet-valid with respect to enumeration '[Resource]'"),
        Pass,
        Pass,
    );
    expect(
        "parseType BAD deep in an extension",
        &extra(
            r#"<ex:a rdf:parseType="Resource"><ex:b rdf:parseType="Resource"><ex:c rdf:parseType="Literal"><x/></ex:c></ex:b></ex:a>"#,
        ),
        Fail("Value 'Literal' is not facet-valid"),
        Pass,
        Pass,
    );
    expect(
        "checksum elements swapped",
        &variant(&[(ALGORITHM, ""), (VALUE, &format!("{VALUE}{ALGORITHM}"))]),
        Fail(
            r#"Invalid content was found starting with element '{"http://mp.stratuslab.eu/slreq#":value}'. One of '{"http://mp.stratuslab.eu/slreq#":algorithm}' is expected."#,
        ),
        Fail(" is not a valid SHA-1 checksum"), // no algorithm precedes the value
        Pass,
    );
    expect(
        "text in a checksum",
        &variant(&[(ALGORITHM, &format!("x{ALGORITHM}"))]),
        Fail("Element 'slreq:checksum' cannot have character [children]"),
        Pass,
        Fail(""),
    );
    expect(
        "extra element in a checksum",
        &variant(&[(VALUE, &format!("{VALUE}<ex:x>1</ex:x>"))]),
        Fail("Invalid content was found starting with element 'ex:x'. No child element is expected at this point."),
        Pass,
        Pass,
    );
    expect(
        "empty endorsement",
        &variant(&[(
            &MINIMAL[MINIMAL.find(ENDORSEMENT_START).unwrap()
                ..MINIMAL.find("</slreq:endorsement>").unwrap() + "</slreq:endorsement>".len()],
            r#"<slreq:endorsement rdf:parseType="Resource"/>"#,
        )]),
        Fail(
            r#"cvc-complex-type.2.4.b: The content of element 'slreq:endorsement' is not complete. One of '{"http://purl.org/dc/terms/":created}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "endorser with two issuers",
        &variant(&[(ISSUER, &format!("{ISSUER}\n{ISSUER}"))]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "endorser without issuer",
        &variant(&[(ISSUER, "")]),
        Fail(
            r#"cvc-complex-type.2.4.b: The content of element 'slreq:endorser' is not complete. One of '{"http://mp.stratuslab.eu/slreq#":issuer}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "endorser with an element after the issuers",
        &variant(&[(ISSUER, &format!("{ISSUER}<ex:x>1</ex:x>"))]),
        Fail(
            r#"Invalid content was found starting with element '{"http://example.org/":x}'. One of '{"http://mp.stratuslab.eu/slreq#":issuer}' is expected."#,
        ),
        Pass,
        Pass,
    );
    expect(
        "endorser without email",
        &variant(&[(EMAIL, "")]),
        Fail(r#"One of '{"http://mp.stratuslab.eu/slreq#":email}' is expected."#),
        Pass,
        Pass,
    );
    expect(
        "text in an endorser",
        &variant(&[(EMAIL, &format!("{EMAIL} text"))]),
        Fail("Element 'slreq:endorser' cannot have character [children]"),
        Pass,
        Fail(""),
    );
    expect(
        "endorsement created with a child element",
        &variant(&[(
            CREATED,
            "<dcterms:created><ex:when>2011-01-24T09:59:42Z</ex:when></dcterms:created>",
        )]),
        Fail("Invalid content was found starting with element 'ex:when'. No child element is expected at this point."),
        Pass,
        Fail(""),
    );
}

#[test]
fn the_free_part_is_checked_laxly() {
    expect(
        "rdf:datatype on slterms:os",
        &extra(
            r#"<slterms:os rdf:datatype="http://www.w3.org/2001/XMLSchema#string">linux</slterms:os>"#,
        ),
        Fail("cvc-type.3.1.1: Element 'slterms:os' is a simple type, so it cannot have attributes"),
        Pass,
        Pass,
    );
    expect(
        "xml:lang on slterms:version",
        &extra(r#"<slterms:version xml:lang="en">1</slterms:version>"#),
        Fail("Element 'slterms:version' is a simple type, so it cannot have attributes"),
        Pass,
        Pass,
    );
    expect(
        "xml:lang on dcterms:title",
        &extra(
            r#"<dcterms:title xml:lang="en-GB">Title</dcterms:title><dc:title xml:lang="">T</dc:title>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "bad xml:lang on dcterms:title",
        &extra(r#"<dcterms:title xml:lang="en_GB">Title</dcterms:title>"#),
        Fail("'en_GB' is not a valid value for 'language'"),
        Pass,
        Fail(""),
    );
    expect(
        "rdf:resource on dcterms:type",
        &variant(&[(TYPE, r#"<dcterms:type rdf:resource="http://example.org/machine"/>"#)]),
        Fail("cvc-complex-type.3.2.2: Attribute 'rdf:resource' is not allowed to appear in element 'dcterms:type'."),
        Pass,
        Pass,
    );
    expect(
        "rdf:datatype on dcterms:valid",
        &extra(
            r#"<dcterms:valid rdf:datatype="http://www.w3.org/2001/XMLSchema#dateTime">2011-01-24T09:59:42Z</dcterms:valid>"#,
        ),
        Fail("Attribute 'rdf:datatype' is not allowed to appear in element 'dcterms:valid'."),
        Pass,
        Pass,
    );
    expect(
        "empty dcterms:type",
        &variant(&[(TYPE, "<dcterms:type/>")]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "nested dcterms:identifier with a child element",
        &extra(r#"<ex:related rdf:parseType="Resource"><dcterms:identifier><ex:x/></dcterms:identifier></ex:related>"#),
        Fail("cvc-complex-type.2.4.d: Invalid content was found starting with element 'ex:x'. No child element is expected at this point."),
        Pass,
        Pass,
    );
    expect(
        "dc element with a child element",
        &extra(r#"<ex:a rdf:parseType="Resource"><dc:creator><ex:x/></dc:creator></ex:a>"#),
        Fail("Invalid content was found starting with element 'ex:x'."),
        Pass,
        Pass,
    );
    expect(
        "abstract dc:any",
        &extra("<dc:any>x</dc:any>"),
        Fail("cvc-elt.2: The value of {abstract} in the element declaration for 'dc:any' must be false."),
        Pass,
        Pass,
    );
    expect(
        "undeclared dc and dcterms names",
        &extra(
            r#"<dc:compression rdf:datatype="http://www.w3.org/2001/XMLSchema#string">gz</dc:compression><dcterms:compression rdf:parseType="Resource"><ex:algorithm>gzip</ex:algorithm></dcterms:compression><dcterms:compression/>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "slreq term in the free part",
        &extra("<slreq:bytes>X</slreq:bytes>"),
        Fail("'X' is not a valid value for 'integer'"),
        Pass,
        Pass,
    );
    expect(
        "undeclared slreq term",
        &extra(r#"<slreq:note ex:a="b"/>"#),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "email pattern nested in an extension",
        &extra(
            r#"<ex:contact rdf:parseType="Resource"><slreq:email>nobody</slreq:email></ex:contact>"#,
        ),
        Fail("for type 'email-type'"),
        Pass,
        Pass,
    );
    expect(
        "rdf:type with rdf:resource in the free part",
        &extra(r#"<rdf:type rdf:resource="http://example.org/Image"/>"#),
        Fail("Element 'rdf:type' is a simple type, so it cannot have attributes"),
        Pass,
        Pass,
    );
    expect(
        "xsi:type",
        &extra(
            r#"<slterms:os xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">linux</slterms:os>"#,
        ),
        Fail("'xsi:type'"),
        Pass,
        Fail(""),
    );
    expect(
        "second complete endorsement after dcterms:type",
        &extra(&format!(
            "{ENDORSEMENT_START}{CREATED}{ENDORSER_START}{EMAIL}<slreq:subject>CN=Other</slreq:subject>{ISSUER}</slreq:endorser></slreq:endorsement>"
        )),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "second incomplete endorsement after dcterms:type",
        &extra(&format!("{ENDORSEMENT_START}{CREATED}</slreq:endorsement>")),
        Fail("The content of element 'slreq:endorsement' is not complete."),
        Pass,
        Pass,
    );
    expect(
        "second checksum after dcterms:type",
        &extra(
            r#"<slreq:checksum rdf:parseType="Resource"><slreq:algorithm>MD5</slreq:algorithm><slreq:value>nothex</slreq:value></slreq:checksum>"#,
        ),
        Fail("Value 'nothex' is not facet-valid"),
        Pass,
        Pass,
    );
    expect(
        "nested rdf:RDF is validated as a root",
        &extra(r##"<ex:wrap rdf:parseType="Resource"><rdf:RDF><rdf:Description rdf:about="#AAAAAAAAAAAAAAAAAAAAAAAAAAB"><dcterms:type>disk</dcterms:type></rdf:Description></rdf:RDF></ex:wrap>"##),
        Fail("Attribute 'base' belonging to namespace 'http://www.w3.org/XML/1998/namespace', must appear on element 'rdf:RDF'."),
        Fail(TYPE_MSG),
        Fail(""),
    );
    expect(
        "nested rdf:Description is validated",
        &extra(
            r##"<ex:wrap><rdf:Description rdf:about="#AAAAAAAAAAAAAAAAAAAAAAAAAAB"/></ex:wrap>"##,
        ),
        Fail("The content of element 'rdf:Description' is not complete."),
        Pass,
        Pass,
    );
    expect(
        "element without namespace",
        &extra(r#"<plain xmlns="">x</plain>"#),
        Pass,
        Pass,
        Fail("namespaces are required"),
    );
}

#[test]
fn accepted_documents() {
    expect(
        "extensions of any namespace",
        &extra(
            r#"<accounts xmlns="http://stratuslab.eu/accounts" rdf:parseType="Resource"><root>root</root><sudo>ubuntu</sudo></accounts>
               <MachineConfiguration xmlns="http://schemas.dmtf.org/cimi/1" rdf:parseType="Resource"><cpu>2</cpu>
                 <disk rdf:parseType="Resource"><capacity>2048000</capacity></disk></MachineConfiguration>
               <o:x xmlns:o="urn:other:" xml:lang="fr" xml:space="preserve">1</o:x>
               <ex:link rdf:resource="http://example.org/other"/>
               <ex:number rdf:datatype="http://www.w3.org/2001/XMLSchema#integer">5</ex:number>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "locations: several, empty, not a URI",
        &extra(
            "<slterms:location>http://example.org/a.img</slterms:location>
             <slterms:location>http://example.org/b.img</slterms:location>
             <slterms:location/>
             <slterms:location>not a uri with spaces</slterms:location>",
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "unknown slterms elements",
        &extra(
            r#"<slterms:disks-bus>virtio</slterms:disks-bus><slterms:kind rdf:datatype="urn:k">machine</slterms:kind><slterms:tag xml:lang="en">latest</slterms:tag><slterms:compression/>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "every declared optional term",
        &extra(
            "<dcterms:valid>2012-02-29T23:59:59Z</dcterms:valid>
             <dcterms:created>whenever</dcterms:created>
             <dcterms:title>t</dcterms:title><dcterms:alternative>a</dcterms:alternative>
             <dcterms:description/><dcterms:creator>c</dcterms:creator>
             <dcterms:publisher>p</dcterms:publisher><dcterms:format>qcow2</dcterms:format>
             <dcterms:isReplacedBy>x</dcterms:isReplacedBy><dcterms:replaces>y</dcterms:replaces>
             <dcterms:isVersionOf>z</dcterms:isVersionOf><dcterms:accrualPolicy/>
             <slterms:serial-number>0</slterms:serial-number><slterms:version>1.0</slterms:version>
             <slterms:hypervisor>kvm</slterms:hypervisor><slterms:hypervisor>xen</slterms:hypervisor>
             <slterms:inbound-port>443</slterms:inbound-port><slterms:outbound-port>25</slterms:outbound-port>
             <slterms:icmp>8</slterms:icmp><slterms:os>ttylinux</slterms:os>
             <slterms:os-version>9.7</slterms:os-version><slterms:os-arch>i486</slterms:os-arch>
             <slterms:deprecated>reason</slterms:deprecated>",
        ),
        Pass,
        Pass,
        Pass,
    );
    let commented = variant(&[
        (
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- prolog --><?prolog pi?>\n",
        ),
        ("  <rdf:Description", "  <!-- c --><?pi?><rdf:Description"),
        (IDENTIFIER, &format!("<!-- c -->{IDENTIFIER}<?pi?>")),
        (
            BYTES,
            "<slreq:bytes><!-- c -->1<?pi?>0<!-- c -->0</slreq:bytes>",
        ),
        (
            ALGORITHM,
            "<!-- c --><slreq:algorithm><!-- c -->SHA-1</slreq:algorithm>",
        ),
        (
            VALUE,
            "<slreq:value>c319bbd5afc0a22ba3<!-- c -->eaed0507c39383ec28eeff</slreq:value><?pi?>",
        ),
        (CREATED, &format!("<?pi?>{CREATED}<!-- c -->")),
        (
            EMAIL,
            "<slreq:email>jane.tester@<?pi?>example.org</slreq:email>",
        ),
        (TYPE, "<dcterms:type>mach<!-- c -->ine</dcterms:type>"),
        (
            "</rdf:RDF>\n",
            "<!-- c --></rdf:RDF>\n<!-- epilog --><?epilog?>\n",
        ),
    ]);
    expect("comments and PIs anywhere", &commented, Pass, Pass, Pass);
    expect(
        "CDATA sections",
        &variant(&[
            (BYTES, "<slreq:bytes>1<![CDATA[0]]>0</slreq:bytes>"),
            (
                VALUE,
                "<slreq:value><![CDATA[c319bbd5afc0a22ba3eaed0507c39383ec28eeff]]></slreq:value>",
            ),
            (
                EXTRA,
                "<dcterms:title>a <![CDATA[<b> & </b>]]> c</dcterms:title><dcterms:title>a<![CDATA[</x>]]></dcterms:title>",
            ),
        ]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "entity and character references",
        &extra("<dcterms:title>a &amp; b &#65;&#x42; &lt;c&gt; &quot;</dcterms:title>"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "signature nested in an extension is stripped",
        &extra(
            r#"<ex:wrap rdf:parseType="Resource"><Signature xmlns="http://www.w3.org/2000/09/xmldsig#"><SignedInfo>not RDF at all</SignedInfo></Signature><ex:x>1</ex:x></ex:wrap>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "signature with text content in the signature slot",
        &variant(&[(
            AFTER,
            r#"<Signature xmlns="http://www.w3.org/2000/09/xmldsig#">text<KeyInfo>more text</KeyInfo></Signature>"#,
        )]),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "xsi location hints",
        &variant(&[(
            ROOT_ATTRS,
            r#"xml:base="http://mp.stratuslab.eu/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="urn:x x.xsd">"#,
        )]),
        Pass,
        Pass,
        Pass,
    );
}

#[test]
fn constraint_checks_in_order() {
    expect(
        "no xml:base and no dcterms:type: xml:base first",
        &variant(&[(ROOT_ATTRS, ">"), (TYPE, "")]),
        Fail("cvc-complex-type.4"),
        Fail(BASE_MSG),
        Pass,
    );
    expect(
        "no dcterms:type",
        &variant(&[(TYPE, "")]),
        Pass,
        Fail(TYPE_MSG),
        Pass,
    );
    expect(
        "two dcterms:type",
        &extra("<dcterms:type>disk</dcterms:type>"),
        Pass,
        Fail(TYPE_MSG),
        Pass,
    );
    expect(
        "dcterms:type only nested in an extension",
        &variant(&[
            (TYPE, ""),
            (
                EXTRA,
                r#"<ex:x rdf:parseType="Resource"><dcterms:type>machine</dcterms:type></ex:x>"#,
            ),
        ]),
        Pass,
        Fail(TYPE_MSG),
        Pass,
    );
    let algorithm = |a: &str| {
        variant(&[(
            ALGORITHM,
            &format!("<slreq:algorithm>{a}</slreq:algorithm>"),
        )])
    };
    for bad in ["sha-1", "SHA1", " SHA-1", "SHA-1 ", "SHA-1<!-- c -->x"] {
        expect(
            &format!("algorithm {bad:?}"),
            &algorithm(bad),
            Pass,
            Fail(SHA1_MSG),
            Pass,
        );
    }
    // Comments are not signed: the value is the string value (legacy: any
    // one text node had to be `SHA-1`).
    expect(
        "algorithm split by a comment",
        &algorithm("SHA-<!-- c -->1"),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "two SHA-1 checksums",
        &variant(&[(
            "</slreq:checksum>",
            &format!("</slreq:checksum>{CHECKSUM_START}{ALGORITHM}{VALUE}</slreq:checksum>"),
        )]),
        Pass,
        Fail(SHA1_MSG),
        Pass,
    );
    expect(
        "SHA-1 checksum nested in an extension does not count",
        &extra(&format!(
            r#"<ex:x rdf:parseType="Resource">{CHECKSUM_START}{ALGORITHM}{VALUE}</slreq:checksum></ex:x>"#
        )),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "at-most-one checks run in the legacy order",
        &extra(
            "<slterms:os>a</slterms:os><slterms:os>b</slterms:os>
             <slterms:version>1</slterms:version><slterms:version>2</slterms:version>",
        ),
        Pass,
        Fail("description must have at most 1 slterms:version element"),
        Pass,
    );
    expect(
        "identifier with white space",
        &variant(&[(
            IDENTIFIER,
            "<dcterms:identifier> MMZu9WvwKIro-rtBQfDk4PsKO7_ </dcterms:identifier>",
        )]),
        Pass,
        Fail("rdf:about attribute (#MMZu9WvwKIro-rtBQfDk4PsKO7_) and dcterms:identifier ( MMZu9WvwKIro-rtBQfDk4PsKO7_ ) are not consistent"),
        Pass,
    );
    expect(
        "nested identifiers are ignored",
        &extra(
            r#"<ex:related rdf:parseType="Resource"><dcterms:identifier>NMZu9WvwKIro-rtBQfDk4PsKO7_</dcterms:identifier></ex:related>"#,
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "SHA-1 algorithm split by a comment still selects the value",
        &variant(&[
            (ALGORITHM, "<slreq:algorithm><!-- c -->SHA-1</slreq:algorithm>"),
            (VALUE, "<slreq:value>c319bbd5afc0a22ba3eaed0507c39383ec28eefe</slreq:value>"),
        ]),
        Pass,
        Fail("checksum from identifier (1113827081651840475597112894378558741689028636415) and SHA-1 checksum (1113827081651840475597112894378558741689028636414) are not consistent"),
        Pass,
    );
}

#[test]
fn date_rules() {
    let cases: &[(&str, Option<&str>, Option<&str>, Want)] = &[
        ("valid ok", Some("2011-07-23T10:59:42Z"), None, Pass),
        ("valid empty", Some(""), None, Pass),
        ("valid leap day", Some("2012-02-29T23:59:59Z"), None, Pass),
        (
            "valid not a leap year",
            Some("2011-02-29T10:00:00Z"),
            None,
            Fail("Unparseable date: \"2011-02-29T10:00:00Z\""),
        ),
        (
            "valid hour 24",
            Some("2011-01-24T24:00:00Z"),
            None,
            Fail("Unparseable date: \"2011-01-24T24:00:00Z\""),
        ),
        (
            "valid month 13",
            Some("2011-13-01T00:00:00Z"),
            None,
            Fail("Unparseable date: \"2011-13-01T00:00:00Z\""),
        ),
        (
            "valid fraction",
            Some("2011-02-20T10:00:00.000Z"),
            None,
            Fail("dcterms:valid value (2011-02-20T10:00:00.000Z) is not a valid date"),
        ),
        (
            "valid offset",
            Some("2011-02-20T10:00:00+01:00"),
            None,
            Fail("dcterms:valid value (2011-02-20T10:00:00+01:00) is not a valid date"),
        ),
        (
            "valid lower case",
            Some("2011-02-20t10:00:00z"),
            None,
            Fail("dcterms:valid value (2011-02-20t10:00:00z) is not a valid date"),
        ),
        (
            "valid date only",
            Some("2016-03-05"),
            None,
            Fail("dcterms:valid value (2016-03-05) is not a valid date"),
        ),
        (
            "valid with spaces",
            Some(" 2011-07-23T10:59:42Z"),
            None,
            Fail("dcterms:valid value ( 2011-07-23T10:59:42Z) is not a valid date"),
        ),
        ("created leap day", None, Some("2012-02-29T23:59:59Z"), Pass),
        ("created empty", None, Some(""), Pass),
        (
            "created offset, no valid: the message shows the empty valid",
            None,
            Some("2011-01-24T09:59:42+01:00"),
            Fail("dcterms:created value () is not a valid date"),
        ),
        (
            "created lower case: the message shows the valid value",
            Some("2012-01-01T00:00:00Z"),
            Some("2011-01-24t09:59:42z"),
            Fail("dcterms:created value (2012-01-01T00:00:00Z) is not a valid date"),
        ),
        (
            "created fraction with an empty valid",
            Some(""),
            Some("2011-01-24T09:59:42.5Z"),
            Fail("dcterms:created value () is not a valid date"),
        ),
        (
            "created not a leap year",
            Some("2012-01-01T00:00:00Z"),
            Some("2011-02-29T10:00:00Z"),
            Fail("Unparseable date: \"2011-02-29T10:00:00Z\""),
        ),
        (
            "created hour 24",
            None,
            Some("2011-01-24T24:00:00Z"),
            Fail("Unparseable date: \"2011-01-24T24:00:00Z\""),
        ),
        (
            "valid checked before created",
            Some("bad"),
            Some("also bad"),
            Fail("dcterms:valid value (bad) is not a valid date"),
        ),
    ];
    for &(name, valid, created, c) in cases {
        expect(name, &dates(valid, created), Pass, c, Pass);
    }
    expect(
        "only the first dcterms:valid counts",
        &extra(
            "<dcterms:valid>2011-07-23T10:59:42Z</dcterms:valid><dcterms:valid>bad</dcterms:valid>",
        ),
        Pass,
        Pass,
        Pass,
    );
    expect(
        "top-level dcterms:created is not checked",
        &extra("<dcterms:created>yesterday</dcterms:created>"),
        Pass,
        Pass,
        Pass,
    );
}

#[test]
fn deep_nesting_does_not_overflow() {
    let nested = |depth: usize| {
        let mut inner = String::with_capacity(depth * 40);
        for _ in 0..depth {
            inner.push_str(r#"<ex:a rdf:parseType="Resource">"#);
        }
        inner.push_str("<ex:b>x</ex:b>");
        for _ in 0..depth {
            inner.push_str("</ex:a>");
        }
        extra(&inner)
    };
    // As deep as the parser allows: rdf:RDF, rdf:Description, the ex:a
    // elements, ex:b.
    let deepest = stratus_core::document::xml::limits::MAX_DEPTH - 3;
    let text = nested(deepest);
    let doc = stratus_core::document::xml::parse(&text, "deep").unwrap();
    assert_eq!(rules::check_schema(&doc), Ok(()));
    assert_eq!(rules::check_constraints(&doc), Ok(()));
    let err = stratus_core::document::xml::parse(&nested(deepest + 1), "deep").unwrap_err();
    assert!(
        err.to_string().contains("levels of nested elements"),
        "{err}"
    );
}

#[test]
fn many_documents_in_one_run() {
    // Not a benchmark: it only shows that nothing accumulates across calls.
    let texts: Vec<String> = (0..1000)
        .map(|i| extra(&format!("<dcterms:title>image {i}</dcterms:title>")))
        .collect();
    for text in &texts {
        let doc = stratus_core::document::xml::parse(text, "many").unwrap();
        assert_eq!(rules::check_unsigned(&doc, text), Ok(()));
    }
}

/// The RDF graph says no more than the description: an extension element
/// that names the image or another resource is refused at the RDF stage,
/// naming the element; extensions about blank nodes stay valid.
#[test]
fn extensions_may_not_add_to_the_graph() {
    let refused = [
        (
            "a property attribute on an element pointing at the image",
            r##"<ex:see rdf:resource="#MMZu9WvwKIro-rtBQfDk4PsKO7_" dcterms:identifier="OTHER"/>"##,
            "statement <http://purl.org/dc/terms/identifier> about the image",
            "ex:see",
        ),
        (
            "more locations through a property attribute",
            r##"<ex:see rdf:resource="#MMZu9WvwKIro-rtBQfDk4PsKO7_" slterms:location="http://evil.example/x"/>"##,
            "statement <http://mp.stratuslab.eu/slterms#location> about the image",
            "ex:see",
        ),
        (
            "a typed node naming the image",
            r##"<ex:x><ex:Thing rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_"><slreq:checksum rdf:parseType="Resource"><slreq:algorithm>SHA-1</slreq:algorithm><slreq:value>0000000000000000000000000000000000000000</slreq:value></slreq:checksum></ex:Thing></ex:x>"##,
            "about the image that no property element of its description makes",
            "ex:Thing",
        ),
        (
            "rdf:ID naming the image",
            r#"<ex:x><ex:Thing rdf:ID="MMZu9WvwKIro-rtBQfDk4PsKO7_"><slterms:location>http://evil.example/y</slterms:location></ex:Thing></ex:x>"#,
            "statement <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> about the image",
            "ex:Thing",
        ),
        (
            "another endorsement",
            r##"<ex:x><rdf:Description rdf:about="#MMZu9WvwKIro-rtBQfDk4PsKO7_"><slreq:endorsement rdf:parseType="Resource"><dcterms:created>2011-01-24T09:59:42Z</dcterms:created></slreq:endorsement></rdf:Description></ex:x>"##,
            "statement <http://mp.stratuslab.eu/slreq#endorsement> about the image",
            "slreq:endorsement",
        ),
        (
            "a statement about another entry",
            r##"<ex:x><rdf:Description rdf:about="#NMZu9WvwKIro-rtBQfDk4PsKO7_"><slterms:deprecated>bad</slterms:deprecated></rdf:Description></ex:x>"##,
            "statement about <http://mp.stratuslab.eu/#NMZu9WvwKIro-rtBQfDk4PsKO7_>",
            "slterms:deprecated",
        ),
        (
            "a statement about an absolute IRI",
            r#"<ex:x><rdf:Description rdf:about="http://example.org/elsewhere"><ex:p>v</ex:p></rdf:Description></ex:x>"#,
            "statement about <http://example.org/elsewhere>",
            "ex:p",
        ),
        (
            "a reified property (rdf:ID on a property element)",
            r#"<ex:note rdf:ID="r1">x</ex:note>"#,
            "statement about <http://mp.stratuslab.eu/#r1>",
            "ex:note",
        ),
    ];
    for (name, xml, message, element) in refused {
        let text = extra(xml);
        let doc = stratus_core::document::xml::parse(&text, name).unwrap();
        // The schema refuses some of these already (rdf:Description with
        // rdf:about in the free part); the RDF stage refuses them all.
        assert!(rules::check_unsigned(&doc, &text).is_err(), "{name}");
        let error = rules::check_rdf(&doc, &text).unwrap_err();
        assert_eq!(error.stage, Stage::Rdf, "{name}: {}", error.message);
        assert!(error.message.contains(message), "{name}: {}", error.message);
        let in_element = format!("in the element {element} at ");
        assert!(
            error.message.contains(&in_element),
            "{name}: {}",
            error.message
        );
    }
    let allowed = [
        r#"<ex:note>literal</ex:note>"#,
        r#"<ex:link rdf:resource="http://example.org/other-image"/>"#,
        r#"<ex:blank ex:size="3" ex:unit="GiB"/>"#,
        r#"<ex:x rdf:parseType="Resource"><ex:y rdf:parseType="Resource"><ex:z>v</ex:z></ex:y></ex:x>"#,
        r#"<ex:x><ex:Thing><ex:p>typed blank node</ex:p></ex:Thing></ex:x>"#,
        r#"<ex:x rdf:nodeID="n1"/><ex:y><ex:Thing rdf:nodeID="n1"><ex:p>v</ex:p></ex:Thing></ex:y>"#,
    ];
    for xml in allowed {
        let text = extra(xml);
        let doc = stratus_core::document::xml::parse(&text, "allowed").unwrap();
        assert_eq!(rules::check_unsigned(&doc, &text), Ok(()), "{xml}");
    }
}
