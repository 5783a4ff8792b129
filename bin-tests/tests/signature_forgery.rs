//! Forged, tampered and wrapped signatures: `stratus-validate-metadata`
//! must refuse every one (exit 3 for the signature, 1 where the XML stage
//! refuses first, 4 for an impostor only a trust anchor can tell apart),
//! never report it Valid, never crash and never hang.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const RDF_NS: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#";

/// Impostors, made once for this test process.
struct Impostors {
    /// Mallory: her own key, a self-signed certificate in her own name.
    mallory: Pem,
    /// Mallory's key with a self-signed certificate copying Jane's subject
    /// and e-mail exactly.
    fake_jane: Pem,
    /// A CA whose subject is exactly the legacy CA's, with its own key.
    fake_ca: Vec<u8>,
    /// A certificate from that CA with exactly Jim's subject, valid
    /// 2012-01-01 to 2013-01-01 like the real one; then the fake CA's
    /// certificate (the chain).
    fake_jim: Pem,
}

fn impostors() -> &'static Impostors {
    static IMPOSTORS: OnceLock<Impostors> = OnceLock::new();
    IMPOSTORS.get_or_init(|| {
        let mallory_key = new_rsa_key(2048);
        let mallory = self_signed(
            &mallory_key,
            "/C=EU/O=Evil Corp/CN=Mallory",
            &user_extensions(Some("email:mallory@example.org")),
        );
        let fake_jane = self_signed(
            &mallory_key,
            "/C=EU/O=StratusLab Project/OU=Testing Department/CN=Jane Tester",
            &user_extensions(Some(&format!("email:{JANE_EMAIL}"))),
        );
        let ca = MiniCa::new(
            "/C=EU/O=StratusLab Project/OU=Testing Department/CN=Certificate Authority",
        );
        let jim_key = new_rsa_key(2048);
        let jim_cert = ca.issue(
            &jim_key,
            "/C=EU/O=StratusLab Project/OU=Testing Department/CN=Jim Tester",
            &user_extensions(None),
            "20120101000000Z",
            "20130101000000Z",
        );
        Impostors {
            mallory,
            fake_jane,
            fake_ca: ca.cert.clone(),
            fake_jim: Pem {
                key: jim_key,
                cert: [&jim_cert[..], &ca.cert[..]].concat(),
            },
        }
    })
}

/// Jane's signature over the shared unsigned document: the modern
/// profile, or the legacy one.
fn signed_by_jane(legacy: bool) -> &'static str {
    static MODERN: OnceLock<String> = OnceLock::new();
    static LEGACY: OnceLock<String> = OnceLock::new();
    let cell = if legacy { &LEGACY } else { &MODERN };
    cell.get_or_init(|| {
        let lab = Lab::new();
        let extra: &[&str] = if legacy { &["--legacy-sha1"] } else { &[] };
        let signed = lab.sign_as_jane(extra, unsigned_doc());
        assert_valid(&lab.validate(&[], &signed), "the untouched signed document");
        let signed = String::from_utf8(signed).unwrap();
        assert!(signed.is_ascii(), "the test document is ASCII");
        signed
    })
}

/// Validate `doc` (stdin, `--json`): the exit code and the verdict; a
/// refusal must not say valid.
fn judge(lab: &Lab, args: &[&str], doc: &[u8]) -> (i32, serde_json::Value) {
    let (exit, verdict) = lab.verdict(args, doc);
    assert!(
        exit == 0 || verdict["valid"] == false,
        "exit {exit} with {verdict}"
    );
    (exit, verdict)
}

/// Require a refusal at `stage` with exit `exit` and `message` in it.
fn assert_forgery_refused(lab: &Lab, doc: &str, exit: i32, stage: &str, message: &str, what: &str) {
    let (code, verdict) = judge(lab, &[], doc.as_bytes());
    assert_eq!(verdict["valid"], false, "{what}: {verdict}\n{doc}");
    assert_eq!(code, exit, "{what}: {verdict}");
    assert_eq!(verdict["stage"], stage, "{what}: {verdict}");
    let text = verdict["message"].as_str().unwrap_or_default();
    assert!(
        text.contains(message),
        "{what}: expected {message:?} in {text:?}"
    );
    // The text output says Invalid, never Valid.
    let output = lab.validate(&[], doc.as_bytes());
    assert_code(&output, exit, what);
    assert_eq!(stdout(&output), "", "{what}");
    assert!(
        stderr(&output).starts_with("Invalid: -\n"),
        "{what}: {}",
        stderr(&output)
    );
}

/// Every variant of `doc` with one byte of `range` replaced (by `X`, or
/// `Y` where it was `X`), validated in one call: every one refused at the
/// signature or the XML stage.
fn assert_every_byte_matters(lab: &Lab, doc: &str, range: std::ops::Range<usize>, what: &str) {
    let dir = lab.path(what);
    std::fs::create_dir(&dir).unwrap();
    let mut names = Vec::new();
    for at in range.clone() {
        let mut bytes = doc.as_bytes().to_vec();
        bytes[at] = if bytes[at] == b'X' { b'Y' } else { b'X' };
        let name = format!("{what}/{at:05}.xml");
        std::fs::write(lab.path(&name), bytes).unwrap();
        names.push(name);
    }
    let mut c = lab.command(VALIDATE);
    c.arg("--json").args(&names);
    let output = run_with_input(c, b"");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), names.len(), "{what}: one verdict per variant");
    let mut signature = 0;
    let mut wrong = Vec::new();
    for (line, name) in lines.iter().zip(&names) {
        assert_eq!(line["file"], name.as_str());
        match (line["valid"].as_bool(), line["stage"].as_str()) {
            (Some(false), Some("signature")) => signature += 1,
            (Some(false), Some("xml")) => {}
            _ => wrong.push(format!("{name}: {line}")),
        }
    }
    assert!(
        wrong.is_empty(),
        "{what}: {} one-byte changes not refused by the signature or XML check:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    let expected_exit = if signature > 0 { 3 } else { 1 };
    assert_code(&output, expected_exit, what);
    assert!(!stdout(&output).contains("\"valid\":true"), "{what}");
    assert!(
        signature > 0,
        "{what}: some change must reach the signature check"
    );
}

#[test]
fn every_byte_of_the_signed_content_matters() {
    let lab = Lab::new();
    for legacy in [false, true] {
        let doc = signed_by_jane(legacy);
        // From the root element's start to the Signature: all that is signed.
        let start = doc.find("<rdf:RDF").unwrap();
        let end = signature_range(doc).start;
        assert!(end - start > 2000, "a real document");
        let what = if legacy { "content-legacy" } else { "content" };
        assert_every_byte_matters(&lab, doc, start..end, what);
    }
}

#[test]
fn every_byte_of_signed_info_and_signature_value_matters() {
    let lab = Lab::new();
    for legacy in [false, true] {
        let doc = signed_by_jane(legacy);
        let signed_info = element_range(doc, "SignedInfo");
        let value = element_range(doc, "SignatureValue");
        let suffix = if legacy { "-legacy" } else { "" };
        assert_every_byte_matters(&lab, doc, signed_info, &format!("signedinfo{suffix}"));
        assert_every_byte_matters(&lab, doc, value, &format!("value{suffix}"));
    }
}

#[test]
fn a_digest_value_from_another_document_is_refused() {
    let lab = Lab::new();
    let doc = signed_by_jane(false);
    let image = lab.write("other.img", b"another image");
    let other = lab.sign_as_jane(&[], &build_in(&lab, &["--format", "raw", arg(&image)]));
    let digest = |d: &str| {
        let range = element_range(d, "DigestValue");
        d[range].to_string()
    };
    let other = text(&other).to_string();
    assert_ne!(digest(doc), digest(&other));
    let forged = doc.replace(&digest(doc), &digest(&other));
    assert_forgery_refused(
        &lab,
        &forged,
        3,
        "signature",
        "content (ref='') validity: false",
        "foreign DigestValue",
    );
    // The other document with this one's signature.
    let transplanted = format!(
        "{}{}{}",
        &other[..signature_range(&other).start],
        signature_of(doc),
        &other[signature_range(&other).end..]
    );
    assert_forgery_refused(
        &lab,
        &transplanted,
        3,
        "signature",
        "content (ref='') validity: false",
        "transplanted Signature",
    );
}

/// The evil twin of the Description: another title and download location.
fn evil_description(doc: &str) -> String {
    let description = &doc[description_range(doc)];
    let evil = description
        .replace("Signed test image", "Totally legit image")
        .replace(
            "http://example.org/images/disk.img",
            "http://evil.example.com/rootkit.img",
        );
    assert_ne!(evil, description);
    evil
}

#[test]
fn wrapping_attacks_are_refused() {
    let lab = Lab::new();
    for legacy in [false, true] {
        let doc = signed_by_jane(legacy);
        let description = description_range(doc);
        let evil = evil_description(doc);
        let signature = signature_of(doc);
        let unsigned = strip_signature(doc);
        let mut cases: Vec<(&str, String, i32, &str)> = Vec::new();
        let modified = "content (ref='') validity: false";

        cases.push((
            "evil Description before the signed one",
            format!(
                "{}{}\n    {}",
                &doc[..description.start],
                evil.replace("rdf:about=\"#", "rdf:about=\"#x"),
                &doc[description.start..]
            ),
            3,
            modified,
        ));
        cases.push((
            "evil Description after the signed one",
            format!(
                "{}\n    {}{}",
                &doc[..description.end],
                evil,
                &doc[description.end..]
            ),
            3,
            modified,
        ));
        // The signed Description moved into an Object of the Signature,
        // the evil one in its place.
        let in_object = signature.replace(
            "</Signature>",
            &format!("<Object>{}</Object></Signature>", &doc[description.clone()]),
        );
        let swapped = format!(
            "{}{}{}",
            &doc[..description.start],
            evil,
            &doc[description.end..]
        );
        cases.push((
            "original moved into an Object",
            swapped.replace(signature, &in_object),
            3,
            "Object",
        ));
        // The same Object wrapping with the original content untouched.
        cases.push((
            "an Object added to the Signature",
            doc.replace(signature, &in_object),
            3,
            "Object",
        ));
        cases.push((
            "the Signature twice",
            doc.replace(signature, &format!("{signature}{signature}")),
            3,
            "more than one Signature",
        ));
        cases.push((
            "an empty second Signature",
            doc.replace(
                signature,
                &format!("{signature}<Signature xmlns=\"{DSIG}\"/>"),
            ),
            3,
            "more than one Signature",
        ));
        cases.push((
            "a second Reference",
            {
                let reference = &doc[element_range(doc, "Reference")];
                doc.replacen(reference, &format!("{reference}{reference}"), 1)
            },
            3,
            "more than one Reference",
        ));
        cases.push((
            "the Reference pointing at an Id",
            doc.replacen("<Reference URI=\"\">", "<Reference URI=\"#desc\">", 1)
                .replacen("<rdf:Description ", "<rdf:Description Id=\"desc\" ", 1),
            3,
            "URI=\"#desc\"",
        ));
        cases.push((
            "KeyInfo removed",
            doc.replace(&doc[element_range(doc, "KeyInfo")], ""),
            3,
            "(found: SignedInfo, SignatureValue)",
        ));
        cases.push((
            "the certificate removed from X509Data",
            doc.replace(&doc[element_range(doc, "X509Certificate")], ""),
            3,
            "X509Data holds no X509Certificate",
        ));
        cases.push((
            "the Signature in another namespace",
            doc.replace(
                &format!("<Signature xmlns=\"{DSIG}\">"),
                "<Signature xmlns=\"http://www.w3.org/2000/09/xmldsig-more#\">",
            ),
            1,
            "no signature",
        ));
        for (what, forged, expected, message) in cases {
            assert_ne!(forged, doc, "{what}: the forgery changes the document");
            let (exit, verdict) = judge(&lab, &[], forged.as_bytes());
            let what = format!("{what} (legacy: {legacy})");
            assert_eq!(verdict["valid"], false, "{what}: {verdict}\n{forged}");
            assert_eq!(exit, expected, "{what}: {verdict}");
            assert_eq!(verdict["stage"], "signature", "{what}: {verdict}");
            let message_text = verdict["message"].as_str().unwrap_or_default();
            assert!(
                message_text.contains(message),
                "{what}: expected {message:?} in {message_text:?}"
            );
        }
        // Stripped: unsigned, exit 1.
        assert_forgery_refused(&lab, &unsigned, 1, "signature", "no signature", "stripped");
    }
}

#[test]
fn a_signature_moved_into_the_description_is_refused() {
    // The enveloped transform removes the Signature wherever it is, so the
    // digest still matches (xmlsec1 accepts it): only the placement rule
    // stops it.
    let lab = Lab::new();
    for legacy in [false, true] {
        let doc = signed_by_jane(legacy);
        let signature = signature_of(doc);
        let without = strip_signature(doc);
        let end = without.find("</rdf:Description>").unwrap();
        let moved = format!("{}{}{}", &without[..end], signature, &without[end..]);
        assert_xmlsec_verifies(moved.as_bytes(), "Signature inside the Description");
        assert_forgery_refused(
            &lab,
            &moved,
            3,
            "signature",
            "last element child",
            &format!("Signature inside the Description (legacy: {legacy})"),
        );
        // Or before the Description, as the first child of rdf:RDF.
        let start = without.find("<rdf:Description").unwrap();
        let first = format!("{}{}{}", &without[..start], signature, &without[start..]);
        assert_forgery_refused(
            &lab,
            &first,
            3,
            "signature",
            "last element child",
            &format!("Signature before the Description (legacy: {legacy})"),
        );
    }
}

#[test]
fn an_id_reference_signed_by_xmlsec1_is_refused() {
    // A genuine signature (xmlsec1 verifies it) that covers only the
    // Description, through an Id: not the whole document.
    let lab = Lab::new();
    let doc = signed_by_jane(false);
    let body =
        strip_signature(doc).replacen("<rdf:Description ", "<rdf:Description Id=\"desc\" ", 1);
    let template = format!(
        "<Signature xmlns=\"{DSIG}\"><SignedInfo>\
         <CanonicalizationMethod Algorithm=\"http://www.w3.org/TR/2001/REC-xml-c14n-20010315\"/>\
         <SignatureMethod Algorithm=\"http://www.w3.org/2001/04/xmldsig-more#rsa-sha256\"/>\
         <Reference URI=\"#desc\"><DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <DigestValue/></Reference></SignedInfo><SignatureValue/>\
         <KeyInfo><X509Data/></KeyInfo></Signature>"
    );
    let id_attr = format!("{RDF_NS}:Description");
    let signed = xmlsec_sign(
        &before_root_end(&body, &template),
        jane(),
        &["--id-attr:Id", &id_attr],
    );
    let signed = text(&signed).to_string();
    assert_forgery_refused(
        &lab,
        &signed,
        3,
        "signature",
        "URI=\"#desc\"",
        "Id reference",
    );
}

#[test]
fn a_key_value_instead_of_a_certificate_is_refused() {
    // xmlsec1 signs and puts the bare RSA key in KeyInfo: no certificate,
    // so no endorser to check (the legacy validator crashed here).
    let lab = Lab::new();
    let doc = signed_by_jane(false);
    let template = Template::Sha256.xml().replace(
        "<KeyInfo><X509Data/></KeyInfo>",
        "<KeyInfo><KeyValue/></KeyInfo>",
    );
    let signed = xmlsec_sign(
        &before_root_end(&strip_signature(doc), &template),
        jane(),
        &[],
    );
    assert!(text(&signed).contains("RSAKeyValue"), "{}", text(&signed));
    assert_forgery_refused(
        &lab,
        text(&signed),
        3,
        "signature",
        "KeyValue",
        "KeyValue only",
    );
}

/// Run `command` with `input`; fail (killing it) if it is still running
/// after two minutes: a guard against a hang, not a performance check.
fn run_guarded(mut command: Command, input: &[u8]) -> Output {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let mut pipe = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let started = Instant::now();
    loop {
        if child
            .try_wait()
            .expect("the child can be waited for")
            .is_some()
        {
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("stratus-validate-metadata still running after two minutes: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = writer.join();
    child.wait_with_output().expect("the output is collected")
}

fn guarded_verdict(lab: &Lab, doc: &str) -> (i32, serde_json::Value) {
    let mut c = lab.command(VALIDATE);
    c.arg("--json");
    let output = run_guarded(c, doc.as_bytes());
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{}{}", stdout(&output), stderr(&output));
    (code(&output), lines[0].clone())
}

/// `doc` with `doctype` after the XML declaration.
fn with_doctype(doc: &str, doctype: &str) -> String {
    let end = doc.find("?>").unwrap() + 2;
    format!("{}\n{doctype}{}", &doc[..end], &doc[end..])
}

#[test]
fn doctypes_and_entities_are_refused_at_the_xml_stage() {
    let lab = Lab::new();
    let doc = signed_by_jane(false);
    // An entity that expands to exactly the signed text: were entities
    // expanded, the digest would match. The XML stage refuses it first.
    let same_text = with_doctype(
        doc,
        "<!DOCTYPE rdf:RDF [<!ENTITY t \"Signed test image\">]>",
    )
    .replace(">Signed test image<", ">&t;<");
    let evil_text = with_doctype(doc, "<!DOCTYPE rdf:RDF [<!ENTITY t \"Evil image\">]>")
        .replace(">Signed test image<", ">&t;<");
    let unused = with_doctype(doc, "<!DOCTYPE rdf:RDF [<!ENTITY t \"unused\">]>");
    let external = with_doctype(
        doc,
        "<!DOCTYPE rdf:RDF [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>",
    )
    .replace(">Signed test image<", ">&x;<");
    let parameter = with_doctype(
        doc,
        "<!DOCTYPE rdf:RDF [<!ENTITY % p SYSTEM \"file:///etc/passwd\"> %p;]>",
    );
    let mut laughs = String::from("<!DOCTYPE rdf:RDF [<!ENTITY lol0 \"lol\">");
    for i in 1..=9 {
        let previous = format!("&lol{};", i - 1);
        laughs.push_str(&format!("<!ENTITY lol{i} \"{}\">", previous.repeat(10)));
    }
    laughs.push_str("]>");
    let bomb = with_doctype(doc, &laughs).replace(">Signed test image<", ">&lol9;<");
    let quadratic = {
        let big = "A".repeat(50_000);
        let uses = "&a;".repeat(50_000);
        with_doctype(doc, &format!("<!DOCTYPE rdf:RDF [<!ENTITY a \"{big}\">]>"))
            .replace(">Signed test image<", &format!(">{uses}<"))
    };
    for (what, forged) in [
        ("entity with the signed text", same_text),
        ("entity with other text", evil_text),
        ("unused entity", unused),
        ("external entity", external),
        ("parameter entity", parameter),
        ("billion laughs", bomb),
        ("quadratic blowup", quadratic),
    ] {
        let (exit, verdict) = guarded_verdict(&lab, &forged);
        assert_eq!(verdict["valid"], false, "{what}: {verdict}");
        assert_eq!(exit, 1, "{what}: {verdict}");
        assert_eq!(verdict["stage"], "xml", "{what}: {verdict}");
        let message = verdict["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("root:"),
            "{what}: /etc/passwd leaked: {message}"
        );
        assert!(
            message.len() < 2000,
            "{what}: a short message: {}",
            message.len()
        );
    }
}

#[test]
fn an_impostor_key_claiming_janes_endorsement_is_refused() {
    let lab = Lab::new();
    let doc = signed_by_jane(false);
    for template in [Template::Sha256, Template::Sha1WithComments] {
        // Jane's endorsement kept, the Signature made with Mallory's key.
        let forged = xmlsec_sign(&with_template(doc, template), &impostors().mallory, &[]);
        assert_xmlsec_verifies(&forged, "Mallory's signature");
        assert_eq!(endorsement(&forged).1, JANE_DN);
        let (exit, verdict) = judge(&lab, &[], &forged);
        assert_eq!(exit, 3, "{template:?}: {verdict}");
        assert_eq!(verdict["stage"], "signature");
        assert_eq!(
            verdict["message"],
            format!("endorser inconsistency (subject): CN=Mallory,O=Evil Corp,C=EU != {JANE_DN}"),
            "{template:?}"
        );
    }
    // Jane's certificate kept in KeyInfo, the signature made by Mallory.
    let forged = xmlsec_sign(
        &with_template(doc, Template::Sha256),
        &impostors().mallory,
        &[],
    );
    let forged = text(&forged);
    let mallory_cert = &forged[element_range(forged, "X509Certificate")];
    let jane_cert = &doc[element_range(doc, "X509Certificate")];
    let forged = forged.replace(mallory_cert, jane_cert);
    assert_forgery_refused(
        &lab,
        &forged,
        3,
        "signature",
        "signature validation: falsecontent (ref='') validity: true",
        "Mallory's signature, Jane's certificate",
    );
}

#[test]
fn a_self_signed_copy_of_janes_certificate_needs_an_anchor_to_be_caught() {
    // Mallory's self-signed certificate copies Jane's subject and e-mail:
    // the signature and the endorsement agree. Without anchors this is
    // valid (the legacy behaviour, with a warning); with Jane's real
    // certificate as the anchor it is not trusted.
    let lab = Lab::new();
    let (key, cert) = impostors().fake_jane.write(&lab, "fake-jane");
    let forged = lab.sign_ok(
        &["--pem-cert", arg(&cert), "--pem-key", arg(&key)],
        unsigned_doc(),
    );
    assert_eq!(endorsement(&forged).0, JANE_EMAIL);
    assert_eq!(endorsement(&forged).1, JANE_DN);
    let output = lab.validate(&[], &forged);
    assert_valid(&output, "fake Jane without anchors");
    assert!(
        stderr(&output).contains("not trust-checked"),
        "{}",
        stderr(&output)
    );

    let anchor = lab.write("jane-anchor.pem", first_pem_certificate(&jane().cert));
    let at = "2011-06-01T00:00:00Z";
    let (exit, verdict) = judge(&lab, &["--ca", arg(&anchor), "--at", at], &forged);
    assert_eq!(exit, 4, "{verdict}");
    assert_eq!(verdict["stage"], "trust", "{verdict}");
    // The real Jane, with the same anchor, is trusted.
    let real = signed_by_jane(false);
    let (exit, verdict) = judge(&lab, &["--ca", arg(&anchor), "--at", at], real.as_bytes());
    assert_eq!(exit, 0, "{verdict}");
    assert_eq!(verdict["trusted"], true, "{verdict}");
}

#[test]
fn an_impostor_jim_from_another_ca_is_caught_by_the_legacy_ca() {
    let lab = Lab::new();
    let impostor = &impostors().fake_jim;
    let (key, chain) = impostor.write(&lab, "fake-jim");
    let leaf = lab.write("fake-jim-leaf.pem", first_pem_certificate(&impostor.cert));
    let p12 = lab.write("fake-jim.p12", impostor.p12(PASSWORD));
    let legacy_ca = fixture("test-ca.pem");
    let empty_crl = fixture("test-crl-empty.pem");
    let fake_ca = lab.write("fake-ca.pem", &impostors().fake_ca);

    for (what, args) in [
        (
            "PEM leaf only",
            vec!["--pem-cert", arg(&leaf), "--pem-key", arg(&key)],
        ),
        (
            "PEM with chain",
            vec!["--pem-cert", arg(&chain), "--pem-key", arg(&key)],
        ),
        (
            "P12 with chain",
            vec!["--p12-cert", arg(&p12), "--p12-password", PASSWORD],
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--email", JIM_EMAIL]);
        let forged = lab.sign_ok(&args, unsigned_doc());
        // The endorsement is word for word that of valid-ca-signed.xml.
        let (email, subject, issuer, _) = endorsement(&forged);
        assert_eq!(
            (email.as_str(), subject.as_str(), issuer.as_str()),
            (JIM_EMAIL, JIM_DN, LEGACY_CA_DN),
            "{what}"
        );
        // Legacy behaviour: no anchors, valid, with the warning.
        let output = lab.validate(&[], &forged);
        assert_valid(&output, what);
        assert!(
            stderr(&output).contains("not trust-checked"),
            "{what}: {}",
            stderr(&output)
        );
        let (exit, verdict) = judge(&lab, &[], &forged);
        assert_eq!(
            (exit, &verdict["trusted"]),
            (0, &false.into()),
            "{what}: {verdict}"
        );
        assert_eq!(verdict["signer"], JIM_DN, "{what}");

        // The real CA, at a time when the impostor's certificate is valid.
        for trust in [
            vec!["--ca", arg(&legacy_ca), "--at", IN_2012],
            vec![
                "--ca",
                arg(&legacy_ca),
                "--crl",
                arg(&empty_crl),
                "--at",
                IN_2012,
            ],
        ] {
            let (exit, verdict) = judge(&lab, &trust, &forged);
            assert_eq!(exit, 4, "{what} {}: {verdict}", trust.join(" "));
            assert_eq!(verdict["stage"], "trust", "{what}: {verdict}");
        }
        let output = lab.validate(&["--ca", arg(&legacy_ca), "--at", IN_2012], &forged);
        assert_code(&output, 4, what);
        assert_eq!(stdout(&output), "", "{what}");
        // Sanity: the impostor's own CA vouches for it, so the refusal
        // above is about the CA, not the dates.
        let (exit, verdict) = judge(&lab, &["--ca", arg(&fake_ca), "--at", IN_2012], &forged);
        assert_eq!(exit, 0, "{what}: {verdict}");
        assert_eq!(verdict["trusted"], true, "{what}: {verdict}");
    }
    // The real Jim, with the same trust options, is trusted.
    let real = std::fs::read(fixture("valid-ca-signed.xml")).unwrap();
    let (exit, verdict) = judge(&lab, &["--ca", arg(&legacy_ca), "--at", IN_2012], &real);
    assert_eq!(exit, 0, "{verdict}");
}

#[test]
fn jims_signature_with_the_impostors_certificate_is_refused() {
    let lab = Lab::new();
    let real = std::fs::read_to_string(fixture("valid-ca-signed.xml")).unwrap();
    let leaf = first_pem_certificate(&impostors().fake_jim.cert);
    let base64: String = text(&leaf)
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    let range = element_range(&real, "X509Certificate");
    let forged = format!(
        "{}<X509Certificate>{base64}</X509Certificate>{}",
        &real[..range.start],
        &real[range.end..]
    );
    assert_forgery_refused(
        &lab,
        &forged,
        3,
        "signature",
        "signature validation: falsecontent (ref='') validity: true",
        "certificate swapped",
    );
}

#[test]
fn comments_are_not_signed() {
    let lab = Lab::new();
    for legacy in [false, true] {
        let doc = signed_by_jane(legacy);
        let description = doc.find("<rdf:Description").unwrap();
        let title = doc.find("<dcterms:title>").unwrap();
        let mut commented = doc.to_string();
        commented.insert_str(title, "<!-- reviewed by Jim -->");
        commented.insert_str(description, "<!-- a comment -->");
        let root = commented.find("<rdf:RDF").unwrap();
        commented.insert_str(root, "<!-- before the root -->\n");
        let what = format!("comments (legacy: {legacy})");
        assert_valid(&lab.validate(&[], commented.as_bytes()), &what);
        assert_xmlsec_verifies(commented.as_bytes(), &what);
    }
}

#[test]
fn the_untouched_documents_are_valid() {
    // The baseline of every forgery above.
    let lab = Lab::new();
    for legacy in [false, true] {
        let (exit, verdict) = judge(&lab, &[], signed_by_jane(legacy).as_bytes());
        assert_eq!(exit, 0, "{verdict}");
        assert_eq!(verdict["signer"], JANE_DN);
    }
}

/// The first certificate of a PEM bundle (openssl's "Bag Attributes"
/// preamble dropped).
fn first_pem_certificate(pem: &[u8]) -> Vec<u8> {
    let pem = text(pem);
    let start = pem
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = pem[start..].find("-----END CERTIFICATE-----").unwrap() + start + 25;
    format!("{}\n", &pem[start..end]).into_bytes()
}
