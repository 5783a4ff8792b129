//! Signature verification on the legacy signed fixtures, and the forgeries
//! a hardened verifier must refuse.

mod support;
use support::fixtures;

use stratus_core::document::xml;
use stratus_core::signature::xmldsig::verify::{check_endorser, verify_signature};
use stratus_core::signature::xmldsig::SignatureError;

fn verify_text(text: &str) -> Result<(), SignatureError> {
    let doc = xml::parse(text, "test").map_err(|e| SignatureError::Structure(e.to_string()))?;
    let verified = verify_signature(&doc)?;
    check_endorser(&doc, &verified.signer).map(|_| ())
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(fixtures().join(name)).unwrap()
}

const SIGNED: &[&str] = &[
    "valid-full-signature.xml",
    "valid-ca-signed.xml",
    "server/valid-indate-signature.xml",
    "server/valid-expired-signature.xml",
    "server/valid-indate-newer-signature.xml",
];

#[test]
fn every_signed_fixture_verifies() {
    for name in SIGNED {
        verify_text(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn unsigned_and_empty_signatures_are_refused() {
    assert_eq!(
        verify_text(&fixture("valid-minimal.xml")),
        Err(SignatureError::Missing)
    );
    let err = verify_text(&fixture("valid-minimal-signature.xml")).unwrap_err();
    assert!(matches!(err, SignatureError::Structure(_)), "{err}");
}

/// Replace `from` by `to` once, checking it was there.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from:?} not in the document");
    text.replacen(from, to, 1)
}

#[test]
fn tampering_is_detected() {
    let signed = fixture("valid-full-signature.xml");
    let changed = edit(
        &signed,
        "<slterms:os>ttylinux</slterms:os>",
        "<slterms:os>evil</slterms:os>",
    );
    assert_eq!(verify_text(&changed), Err(SignatureError::DigestMismatch));
    let changed = edit(&signed, "#sha1\"/><DigestValue>", "#sha1\"/><DigestValue>A");
    assert!(verify_text(&changed).is_err());
    let start = signed.find("<SignatureValue>").unwrap() + "<SignatureValue>".len();
    let mut bytes = signed.clone().into_bytes();
    bytes[start + 10] = if bytes[start + 10] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let changed = String::from_utf8(bytes).unwrap();
    assert_eq!(
        verify_text(&changed),
        Err(SignatureError::BadSignatureValue)
    );
}

#[test]
fn comments_are_not_signed_but_harmless() {
    let signed = fixture("valid-full-signature.xml");
    let changed = edit(&signed, "<slterms:os>", "<!-- a comment --><slterms:os>");
    verify_text(&changed).unwrap();
}

#[test]
fn endorser_must_match_the_certificate() {
    let signed = fixture("valid-ca-signed.xml");
    // The document's own endorsement is signed: changing it breaks the digest.
    let changed = edit(&signed, "CN=Jim Tester,OU", "CN=Jim Testerx,OU");
    assert_eq!(verify_text(&changed), Err(SignatureError::DigestMismatch));
}

fn signature_element(text: &str) -> &str {
    let start = text.find("<Signature ").unwrap();
    let end = text.find("</Signature>").unwrap() + "</Signature>".len();
    &text[start..end]
}

#[test]
fn wrapping_forgeries_are_refused() {
    let signed = fixture("valid-full-signature.xml");
    let signature = signature_element(&signed).to_string();
    let description_start = signed.find("<rdf:Description").unwrap();
    let description_end = signed.find("</rdf:Description>").unwrap() + "</rdf:Description>".len();
    let description = &signed[description_start..description_end];
    let evil = description
        .replace("ttylinux", "evil")
        .replace("#MMZu9", "#NMZu9");

    let cases: Vec<(&str, String)> = vec![
        ("second description before", signed.replacen(description, &format!("{evil}{description}"), 1)),
        ("second description after", signed.replacen(description, &format!("{description}{evil}"), 1)),
        ("duplicated signature", signed.replacen(&signature, &format!("{signature}{signature}"), 1)),
        ("signature moved into the description", {
            let without = signed.replacen(&signature, "", 1);
            without.replacen("</rdf:Description>", &format!("{signature}</rdf:Description>"), 1)
        }),
        ("original moved into an Object", {
            let moved = signature.replacen("</Signature>", &format!("<Object>{description}</Object></Signature>"), 1);
            signed.replacen(description, &evil, 1).replacen(&signature, &moved, 1)
        }),
        ("second reference", signature_edit(&signed, &signature, "</Reference>", "</Reference><Reference URI=\"#x\"><DigestMethod Algorithm=\"http://www.w3.org/2000/09/xmldsig#sha1\"/><DigestValue>AA==</DigestValue></Reference>")),
        ("ID-based reference", signature_edit(&signed, &signature, "<Reference URI=\"\">", "<Reference URI=\"#MMZu9WvwKIro-rtBQfDk4PsKO7_\">")),
        ("XPath transform", signature_edit(&signed, &signature, "</Transforms>", "<Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xpath-19991116\"><XPath>1</XPath></Transform></Transforms>")),
        ("KeyInfo removed", {
            let start = signature.find("<KeyInfo>").unwrap();
            let end = signature.find("</KeyInfo>").unwrap() + "</KeyInfo>".len();
            signature_edit(&signed, &signature, &signature[start..end], "")
        }),
        ("signature stripped", signed.replacen(&signature, "", 1)),
        ("external URI", signature_edit(&signed, &signature, "<Reference URI=\"\">", "<Reference URI=\"http://example.org/x\">")),
    ];
    for (what, forged) in cases {
        assert!(verify_text(&forged).is_err(), "{what} was accepted");
    }
}

fn signature_edit(text: &str, signature: &str, from: &str, to: &str) -> String {
    let changed = edit(signature, from, to);
    text.replacen(signature, &changed, 1)
}

#[test]
fn doctype_and_entity_bombs_are_refused_before_verification() {
    let signed = fixture("valid-full-signature.xml");
    let bomb = signed.replacen(
        "<rdf:RDF",
        "<!DOCTYPE rdf:RDF [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><rdf:RDF",
        1,
    );
    assert!(xml::parse(&bomb, "bomb").is_err());
}

mod signing {
    use super::*;
    use stratus_core::signature::credentials::{load_pkcs12, Credentials};
    use stratus_core::signature::xmldsig::profile::SignatureMethod;
    use stratus_core::signature::xmldsig::sign::{Profile, Signer};

    fn jane() -> Credentials {
        load_pkcs12(&fixtures().join("test.p12"), "XYZXYZ").unwrap()
    }

    pub fn sign(
        text: &str,
        credentials: &Credentials,
        profile: Profile,
        email: Option<&str>,
    ) -> String {
        let key = &credentials.key;
        let sign = |method: SignatureMethod, bytes: &[u8]| {
            method.sign_with(key, bytes).map_err(|e| e.to_string())
        };
        Signer {
            chain: &credentials.chain,
            sign: &sign,
            profile,
            email,
            now: stratus_core::clock::parse_utc("2026-01-15T10:20:30Z").unwrap(),
        }
        .sign_document(text, "test")
        .unwrap()
    }

    #[test]
    fn signed_documents_verify_in_both_profiles() {
        let credentials = jane();
        for name in [
            "valid-minimal.xml",
            "valid-full.xml",
            "valid-minimal-empty-endorsement.xml",
            "valid-full-signature.xml",
        ] {
            for profile in [Profile::modern(), Profile::legacy()] {
                let signed = sign(&fixture(name), &credentials, profile.clone(), None);
                verify_text(&signed)
                    .unwrap_or_else(|e| panic!("{name} {profile:?}: {e}\n{signed}"));
                assert_eq!(signed.matches("<Signature ").count(), 1, "{name}");
                assert!(signed.contains("<email>jane.tester@example.org</email><subject>CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU</subject>"), "{signed}");
                assert!(signed.contains(
                    "<created xmlns=\"http://purl.org/dc/terms/\">2026-01-15T10:20:30Z</created>"
                ));
                // Re-signing replaces the signature.
                let again = sign(&signed, &credentials, profile.clone(), None);
                verify_text(&again).unwrap();
                assert_eq!(again.matches("<Signature ").count(), 1);
            }
        }
    }

    #[test]
    fn certificate_without_email_needs_one() {
        let jim = load_pkcs12(&fixtures().join("test-ca-signed.p12"), "XYZXYZ").unwrap();
        let signed = sign(
            &fixture("valid-minimal.xml"),
            &jim,
            Profile::legacy(),
            Some("jim.tester@example.org"),
        );
        verify_text(&signed).unwrap();
        assert!(signed.contains("<email>jim.tester@example.org</email>"));
    }
}

/// Independent peer: xmlsec1 verifies what we sign, and we verify what
/// xmlsec1 signs.
mod xmlsec1 {
    use super::signing::sign;
    use super::*;
    use std::process::Command;
    use stratus_core::signature::credentials::load_pkcs12;
    use stratus_core::signature::xmldsig::sign::Profile;

    fn xmlsec1_verify(text: &str) -> (bool, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("doc.xml");
        std::fs::write(&path, text).unwrap();
        let output = Command::new("xmlsec1")
            .args(["--verify", "--insecure"])
            .arg(&path)
            .output()
            .expect("xmlsec1 is installed (Debian package xmlsec1)");
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }

    #[test]
    fn xmlsec1_verifies_our_signatures() {
        let credentials = load_pkcs12(&fixtures().join("test.p12"), "XYZXYZ").unwrap();
        for profile in [Profile::modern(), Profile::legacy()] {
            let signed = sign(
                &fixture("valid-full.xml"),
                &credentials,
                profile.clone(),
                None,
            );
            let (ok, stderr) = xmlsec1_verify(&signed);
            assert!(ok, "{profile:?}: {stderr}");
            let tampered = signed.replacen("ttylinux", "evil", 1);
            assert!(
                !xmlsec1_verify(&tampered).0,
                "xmlsec1 accepted a tampered document"
            );
        }
    }

    fn openssl(args: &[&str]) {
        let status = Command::new("openssl")
            .args(args)
            .status()
            .expect("openssl is installed");
        assert!(status.success(), "openssl {args:?}");
    }

    /// Sign `valid-full.xml` with xmlsec1 from a template with the given
    /// algorithms.
    fn xmlsec1_sign(c14n: &str, method: &str, digest: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p12 = fixtures().join("test.p12");
        let key = dir.path().join("key.pem");
        let cert = dir.path().join("cert.pem");
        let p12 = p12.to_str().unwrap();
        openssl(&[
            "pkcs12",
            "-legacy",
            "-in",
            p12,
            "-passin",
            "pass:XYZXYZ",
            "-nodes",
            "-nocerts",
            "-out",
            key.to_str().unwrap(),
        ]);
        openssl(&[
            "pkcs12",
            "-legacy",
            "-in",
            p12,
            "-passin",
            "pass:XYZXYZ",
            "-nokeys",
            "-out",
            cert.to_str().unwrap(),
        ]);
        let template = format!(
            "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig#\"><SignedInfo><CanonicalizationMethod Algorithm=\"{c14n}\"/>\
             <SignatureMethod Algorithm=\"{method}\"/><Reference URI=\"\"><Transforms><Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/></Transforms>\
             <DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference></SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>"
        );
        let text =
            fixture("valid-full.xml").replacen("</rdf:RDF>", &format!("{template}</rdf:RDF>"), 1);
        let input = dir.path().join("template.xml");
        std::fs::write(&input, text).unwrap();
        let output = dir.path().join("signed.xml");
        let status = Command::new("xmlsec1")
            .arg("--sign")
            .arg("--privkey-pem")
            .arg(format!("{},{}", key.display(), cert.display()))
            .arg("--output")
            .arg(&output)
            .arg(&input)
            .status()
            .expect("xmlsec1 is installed");
        assert!(status.success());
        std::fs::read_to_string(output).unwrap()
    }

    #[test]
    fn we_verify_xmlsec1_signatures() {
        let cases = [
            (
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
            ),
            (
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
            ),
            (
                "http://www.w3.org/2001/10/xml-exc-c14n#",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
                "http://www.w3.org/2001/04/xmlenc#sha512",
            ),
        ];
        for (c14n, method, digest) in cases {
            let signed = xmlsec1_sign(c14n, method, digest);
            verify_text(&signed).unwrap_or_else(|e| panic!("{method}: {e}"));
            assert!(verify_text(&signed.replacen("ttylinux", "evil", 1)).is_err());
        }
    }
}

/// KeyInfo is not signed: it may hold one X509Data of X509Certificate
/// elements and white space, nothing else (as xmlsec1 requires). Comments
/// there change nothing.
#[test]
fn key_info_holds_only_certificates() {
    let signed = fixture("valid-full-signature.xml");
    let refused = [
        ("<KeyInfo>", "<KeyInfo><KeyName>jane</KeyName>"),
        ("<KeyInfo>", "<KeyInfo>text"),
        ("<KeyInfo>", "<KeyInfo>\u{a0}"),
        ("<X509Data>", "<X509Data>\u{2003}"),
        (
            "<X509Data>",
            "<X509Data><X509SubjectName>CN=Jane</X509SubjectName>",
        ),
        ("<X509Data>", "<X509Data><X509SKI>AAAA</X509SKI>"),
        ("<X509Data>", "<X509Data><Foreign xmlns=\"urn:x\"/>"),
        ("</X509Data>", "</X509Data><X509Data/>"),
        ("</X509Data>", "</X509Data><KeyValue/>"),
        ("<KeyInfo>", "<KeyInfo xmlns:x=\"urn:x\" x:a=\"1\">"),
        ("<X509Data>", "<X509Data Id=\"x\">"),
    ];
    for (from, to) in refused {
        let forged = edit(&signed, from, to);
        match verify_text(&forged) {
            Err(SignatureError::Structure(message)) => {
                assert!(
                    message.contains("KeyInfo")
                        || message.contains("X509Data")
                        || message.contains("unexpected text")
                        || message.contains("unexpected attribute"),
                    "{to}: {message}"
                )
            }
            other => panic!("{to}: {other:?}"),
        }
    }
    for (from, to) in [
        ("<KeyInfo>", "<KeyInfo><!-- a comment -->\n  "),
        ("<X509Data>", "<X509Data>\r\n\t<!---->"),
        ("<KeyInfo>", "<KeyInfo Id=\"keys\">"),
    ] {
        verify_text(&edit(&signed, from, to)).unwrap_or_else(|e| panic!("{to}: {e}"));
    }
}
