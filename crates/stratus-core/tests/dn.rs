//! Distinguished names in Java's `X500Principal.getName()` form, and the
//! e-mail of a certificate.
//!
//! Checked on the legacy fixtures (against the subject and issuer strings the
//! Java signer wrote into the signed documents), and on certificates made at
//! test time by the real `openssl req -x509` with awkward names, whose
//! expected strings are written by hand from the rules of metadata.md §4.5;
//! the `#hex` form is cross-checked with `openssl asn1parse`. These tests need
//! the `openssl` command and fail (they do not skip) when it is missing.

mod support;
use support::{fixtures, openssl};

use std::path::Path;

use base64::Engine as _;
use stratus_core::signature::dn::{any_email, certificate_emails, rfc2253, subject_email};
use x509_parser::prelude::{FromDer, X509Certificate, X509Name};

fn parse(der: &[u8]) -> X509Certificate<'_> {
    x509_parser::parse_x509_certificate(der).unwrap().1
}

/// The DER of the first certificate in a PEM text.
fn pem_to_der(dir: &Path, pem: &[u8]) -> Vec<u8> {
    std::fs::write(dir.join("in.pem"), pem).unwrap();
    openssl(dir, &["x509", "-in", "in.pem", "-outform", "DER"])
}

/// The X509Certificate of a signed XML fixture (base64, possibly wrapped).
fn xml_certificate(file: &Path) -> Vec<u8> {
    let text = std::fs::read_to_string(file).unwrap();
    let start = text.find("X509Certificate>").unwrap() + "X509Certificate>".len();
    let end = start + text[start..].find('<').unwrap();
    let b64: String = text[start..end]
        .replace("&#13;", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

/// The text of the first `<…local>` element of an XML file.
fn xml_text(file: &Path, local: &str) -> String {
    let text = std::fs::read_to_string(file).unwrap();
    for prefix in ["<slreq:", "<"] {
        let open = format!("{prefix}{local}>");
        if let Some(i) = text.find(&open) {
            let start = i + open.len();
            let end = start + text[start..].find('<').unwrap();
            return text[start..end].to_string();
        }
    }
    panic!("no {local} in {}", file.display());
}

const JANE: &str = "CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU";
const JIM: &str = "CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU";
const CA: &str = "CN=Certificate Authority,OU=Testing Department,O=StratusLab Project,C=EU";
const TEST_CA: &str = "CN=TestCA,OU=Test,O=StratusLab,C=EU";

#[test]
fn fixture_stores_and_ca() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (store, subject, issuer, email) in [
        ("test.p12", JANE, JANE, Some("jane.tester@example.org")),
        ("test-ca-signed.p12", JIM, CA, None),
    ] {
        let path = fixtures().join(store);
        let pem = openssl(
            d,
            &[
                "pkcs12",
                "-legacy",
                "-in",
                path.to_str().unwrap(),
                "-passin",
                "pass:XYZXYZ",
                "-nokeys",
                "-clcerts",
            ],
        );
        let der = pem_to_der(d, &pem);
        let cert = parse(&der);
        assert_eq!(rfc2253(cert.subject()), subject, "{store}");
        assert_eq!(rfc2253(cert.issuer()), issuer, "{store}");
        assert_eq!(subject_email(&cert).as_deref(), email, "{store}");
        assert_eq!(any_email(&cert).as_deref(), email, "{store}");
    }
    let pem = std::fs::read(fixtures().join("test-ca.pem")).unwrap();
    let der = pem_to_der(d, &pem);
    let cert = parse(&der);
    assert_eq!(rfc2253(cert.subject()), CA);
    assert_eq!(rfc2253(cert.issuer()), CA);
    assert_eq!(subject_email(&cert), None);
}

/// The strings the Java signer wrote into the endorsements of the signed
/// fixtures are exactly ours for their embedded certificates.
#[test]
fn signed_fixtures_match_the_java_endorsements() {
    let cases = [
        ("valid-full-signature.xml", JANE, JANE, true),
        ("valid-ca-signed.xml", JIM, CA, false),
        ("server/valid-alternative.xml", JANE, JANE, true),
        ("server/valid-expired-signature.xml", JANE, JANE, true),
        ("server/valid-indate-signature.xml", JANE, TEST_CA, false),
        (
            "server/valid-indate-newer-signature.xml",
            JANE,
            TEST_CA,
            false,
        ),
    ];
    for (name, subject, issuer, has_san) in cases {
        let file = fixtures().join(name);
        let der = xml_certificate(&file);
        let cert = parse(&der);
        assert_eq!(rfc2253(cert.subject()), subject, "{name}");
        assert_eq!(rfc2253(cert.issuer()), issuer, "{name}");
        assert_eq!(
            rfc2253(cert.subject()),
            xml_text(&file, "subject"),
            "{name}"
        );
        assert_eq!(rfc2253(cert.issuer()), xml_text(&file, "issuer"), "{name}");
        let email = subject_email(&cert);
        if has_san {
            assert_eq!(email.as_deref(), Some("jane.tester@example.org"), "{name}");
            assert_eq!(email.unwrap(), xml_text(&file, "email"), "{name}");
        } else {
            assert_eq!(email, None, "{name}");
        }
    }
}

/// A self-signed certificate made by `openssl req -x509` with `subject`
/// (in openssl's `/type=value` syntax, DER order), the given string mask and
/// extra arguments; returns its DER.
fn make_cert(dir: &Path, subject: &str, string_mask: &str, extra: &[&str]) -> Vec<u8> {
    if !dir.join("ec.key").exists() {
        openssl(
            dir,
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                "ec.key",
            ],
        );
    }
    let config = format!("[req]\ndistinguished_name = dn\nstring_mask = {string_mask}\n[dn]\n");
    std::fs::write(dir.join("req.cnf"), config).unwrap();
    let mut args = vec![
        "req", "-config", "req.cnf", "-x509", "-new", "-key", "ec.key", "-days", "2", "-utf8",
        "-subj", subject,
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["-outform", "DER", "-out", "cert.der"]);
    openssl(dir, &args);
    std::fs::read(dir.join("cert.der")).unwrap()
}

#[test]
fn special_characters_multi_valued_rdns_and_oid_attributes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let der = make_cert(
        d,
        "/C=EU/O=Acme, Inc./OU=semi;colon/OU=a=b/CN=x#y<>\"\\\\q/CN= padded /UID=jm+CN=Jos\
         /emailAddress=jane@example.org/serialNumber=12345/DC=org/DC=example",
        "utf8only",
        &[
            "-addext",
            "subjectAltName=DNS:x,email:first@x,email:second@x",
        ],
    );
    let cert = parse(&der);
    let expected = "DC=example,DC=org,\
                    2.5.4.5=#13053132333435,\
                    1.2.840.113549.1.9.1=#16106a616e65406578616d706c652e6f7267,\
                    CN=Jos+UID=jm,\
                    CN=\\ padded\\ ,\
                    CN=x\\#y\\<\\>\\\"\\\\q,\
                    OU=a\\=b,\
                    OU=semi\\;colon,\
                    O=Acme\\, Inc.,\
                    C=EU";
    assert_eq!(rfc2253(cert.subject()), expected);
    assert_eq!(rfc2253(cert.issuer()), expected);
    // The first rfc822Name of the SAN, not the DN's emailAddress.
    assert_eq!(subject_email(&cert).as_deref(), Some("first@x"));
    assert_eq!(any_email(&cert).as_deref(), Some("first@x"));

    // Cross-check the #hex values with openssl's own parse of the DER.
    std::fs::write(d.join("c.der"), &der).unwrap();
    let dump = openssl(d, &["asn1parse", "-inform", "DER", "-in", "c.der"]);
    let dump = String::from_utf8(dump).unwrap();
    let lines: Vec<&str> = dump.lines().collect();
    let mut checked = 0;
    for (name, oid) in [
        ("emailAddress", "1.2.840.113549.1.9.1"),
        ("serialNumber", "2.5.4.5"),
    ] {
        for (i, line) in lines.iter().enumerate() {
            if !line.ends_with(&format!(":{name}")) {
                continue;
            }
            // "  204:d=5  hl=2 l=  16 prim: IA5STRING :jane@example.org"
            let value = lines[i + 1];
            let offset: usize = value.split(':').next().unwrap().trim().parse().unwrap();
            let field = |key: &str| -> usize {
                let rest = &value[value.find(key).unwrap() + key.len()..];
                rest.trim_start()
                    .split(|c: char| !c.is_ascii_digit())
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            let (hl, l) = (field("hl="), field(" l="));
            let hex: String = der[offset..offset + hl + l]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            assert!(
                expected.contains(&format!("{oid}=#{hex}")),
                "{name}: {oid}=#{hex} not in {expected}"
            );
            checked += 1;
        }
    }
    assert_eq!(
        checked, 4,
        "emailAddress and serialNumber in subject and issuer"
    );
}

#[test]
fn non_ascii_values_in_every_string_type() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // utf8only: everything is a UTF8String. In the multi-valued RDN the
    // shorter UID sorts first in DER.
    let der = make_cert(d, "/L=Genève/CN=José Müller+UID=jm", "utf8only", &[]);
    let cert = parse(&der);
    assert_eq!(rfc2253(cert.subject()), "UID=jm+CN=José Müller,L=Genève");

    // default: Latin-1 text as TeletexString, other BMP text as BMPString,
    // the rest as UTF8String; all decoded.
    let der = make_cert(
        d,
        "/L=Genève/O=Ωmega/CN=José Müller+UID=jm/OU=𝄞 clef",
        "default",
        &[],
    );
    std::fs::write(d.join("c.der"), &der).unwrap();
    let dump = openssl(d, &["asn1parse", "-inform", "DER", "-in", "c.der"]);
    let dump = String::from_utf8_lossy(&dump);
    for string_type in ["T61STRING", "BMPSTRING", "UTF8STRING", "PRINTABLESTRING"] {
        assert!(dump.contains(string_type), "no {string_type} in {dump}");
    }
    let cert = parse(&der);
    assert_eq!(
        rfc2253(cert.subject()),
        "OU=𝄞 clef,UID=jm+CN=José Müller,O=Ωmega,L=Genève"
    );

    // pkix: no TeletexString, so Latin-1 text is a BMPString too.
    let der = make_cert(d, "/L=Genève/CN=Ωmega \\+ more", "pkix", &[]);
    let cert = parse(&der);
    assert_eq!(rfc2253(cert.subject()), "CN=Ωmega \\+ more,L=Genève");
}

#[test]
fn e_mail_sources() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // emailAddress in the DN only: not the legacy e-mail, but any_email's.
    let der = make_cert(
        d,
        "/CN=Grid User/emailAddress=grid@example.org",
        "utf8only",
        &[],
    );
    let cert = parse(&der);
    assert_eq!(subject_email(&cert), None);
    assert_eq!(any_email(&cert).as_deref(), Some("grid@example.org"));
    // A SAN without rfc822Name.
    let der = make_cert(
        d,
        "/CN=Host",
        "utf8only",
        &[
            "-addext",
            "subjectAltName=DNS:host.example.org,URI:http://x/",
        ],
    );
    let cert = parse(&der);
    assert_eq!(subject_email(&cert), None);
    assert_eq!(any_email(&cert), None);
    // The SAN wins over the DN.
    let der = make_cert(
        d,
        "/CN=Both/emailAddress=dn@example.org",
        "utf8only",
        &["-addext", "subjectAltName=email:san@example.org"],
    );
    let cert = parse(&der);
    assert_eq!(subject_email(&cert).as_deref(), Some("san@example.org"));
    assert_eq!(any_email(&cert).as_deref(), Some("san@example.org"));
    // Every e-mail, as the verifier accepts them: the SAN's in order, then
    // the subject's.
    assert_eq!(
        certificate_emails(&cert).unwrap(),
        vec!["san@example.org".to_string(), "dn@example.org".to_string()]
    );
    let der = make_cert(
        d,
        "/CN=Many/emailAddress=one@example.org/emailAddress=two@example.org",
        "utf8only",
        &[
            "-addext",
            "subjectAltName=email:a@example.org,DNS:h.example.org,email:b@example.org",
        ],
    );
    let emails = certificate_emails(&parse(&der)).unwrap();
    assert_eq!(
        emails,
        [
            "a@example.org",
            "b@example.org",
            "one@example.org",
            "two@example.org"
        ]
    );
    let der = make_cert(d, "/CN=None", "utf8only", &[]);
    assert!(certificate_emails(&parse(&der)).unwrap().is_empty());
}

// ---------------------------------------------------------------------------
// Names openssl req cannot make, built by hand.

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 0x80);
    let mut out = vec![tag, content.len() as u8];
    out.extend_from_slice(content);
    out
}

/// A Name of single-valued RDNs (DER order) of (OID content bytes, value TLV).
fn name(rdns: &[(&[u8], Vec<u8>)]) -> Vec<u8> {
    let mut seq = Vec::new();
    for (oid, value) in rdns {
        let mut ava = tlv(0x06, oid);
        ava.extend_from_slice(value);
        seq.extend(tlv(0x31, &tlv(0x30, &ava)));
    }
    tlv(0x30, &seq)
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const O: &[u8] = &[0x55, 0x04, 0x0a];
const TITLE: &[u8] = &[0x55, 0x04, 0x0c];

fn render(der: &[u8]) -> String {
    let (rest, name) = X509Name::from_der(der).unwrap();
    assert!(rest.is_empty());
    rfc2253(&name)
}

#[test]
fn hand_built_names() {
    assert_eq!(render(&name(&[])), "");
    // UniversalString is not decoded by Java: hex, even for CN.
    assert_eq!(
        render(&name(&[(CN, tlv(0x1c, &[0, 0, 0, 0x41, 0, 0, 0, 0x62]))])),
        "CN=#1c080000004100000062"
    );
    // A keyword attribute with a non-string value.
    assert_eq!(render(&name(&[(CN, tlv(0x02, &[0x05]))])), "CN=#020105");
    // A non-keyword attribute with a string value (title) is hex too.
    assert_eq!(
        render(&name(&[(TITLE, tlv(0x13, b"Dr"))])),
        "2.5.4.12=#13024472"
    );
    // TeletexString and GeneralString as Latin-1; BMPString as UTF-16.
    assert_eq!(
        render(&name(&[
            (O, tlv(0x14, b"Gen\xe8ve")),
            (CN, tlv(0x1b, b"x\xff"))
        ])),
        "CN=xÿ,O=Genève"
    );
    assert_eq!(
        render(&name(&[(
            CN,
            tlv(0x1e, &[0xd8, 0x34, 0xdd, 0x1e, 0x00, 0x20])
        )])),
        "CN=𝄞\\ "
    );
    // NUL, carriage return and spaces.
    assert_eq!(render(&name(&[(CN, tlv(0x0c, b"a\0b"))])), "CN=a\\00b");
    assert_eq!(
        render(&name(&[(CN, tlv(0x0c, b"\r x \r"))])),
        "CN=\\\r\\ x\\ \\\r"
    );
    assert_eq!(render(&name(&[(CN, tlv(0x0c, b"   "))])), "CN=\\ \\ \\ ");
    // Escapes before the whitespace pass: a trailing escaped space stays one
    // escape, an escaped special character at the end is not doubled.
    assert_eq!(render(&name(&[(CN, tlv(0x0c, b"a+"))])), "CN=a\\+");
}

/// The slash form is OpenSSL's own one-line form of the name, as IGTF
/// policy files write names: checked against `openssl x509 -subject
/// -nameopt compat` on grid-style names and on awkward ones (non-ASCII,
/// `/` and `+` inside values, a multi-valued RDN, a control character,
/// attribute types with long OpenSSL names).
#[test]
fn openssl_slash_form_matches_openssl() {
    let subjects = [
        "/DC=org/DC=example/C=EU/O=Grid Org/OU=Unit A/CN=Jane Doe/emailAddress=jane@example.org",
        "/C=EU/O=D\u{e9}mo Grid/OU=a\\/b/CN=Jane+UID=jd/CN=tab\tx",
        "/O=a\\+b/OU=c=d/CN=e\\\\f,g~/pseudonym=ps/postalCode=123/dnQualifier=q/name=nm/initials=JD/title=T/street=S",
        "/CN=host\\/grid.example.org/serialNumber=42/GN=Jane/SN=Doe",
    ];
    for subject in subjects {
        let dir = tempfile::tempdir().unwrap();
        openssl(
            dir.path(),
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "key.pem",
                "-utf8",
                "-multivalue-rdn",
                "-subj",
                subject,
                "-days",
                "2",
                "-out",
                "cert.pem",
            ],
        );
        let der = openssl(dir.path(), &["x509", "-in", "cert.pem", "-outform", "DER"]);
        let printed = openssl(
            dir.path(),
            &[
                "x509", "-in", "cert.pem", "-noout", "-subject", "-nameopt", "compat",
            ],
        );
        let printed = String::from_utf8(printed).unwrap();
        let printed = printed.trim().strip_prefix("subject=").unwrap();
        let cert = parse(&der);
        assert_eq!(
            stratus_core::signature::dn::openssl_slash(cert.subject()),
            printed,
            "{subject}"
        );
    }
}
