//! Regression tests for holes a review of the signing path found: namespace
//! declarations that different readers resolve differently, the endorser
//! read from the wrong place, signing documents in other encodings, and
//! certificates whose purpose is not signing.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::os::unix::fs::PermissionsExt;

fn signed_full() -> (Lab, Vec<u8>) {
    let lab = Lab::new();
    let draft = std::fs::read(fixture("valid-full-alt-cimi.xml")).unwrap();
    let signed = lab.sign_as_jane(&[], &draft);
    (lab, signed)
}

#[test]
fn a_second_default_namespace_declaration_is_refused() {
    let (lab, signed) = signed_full();
    let text = String::from_utf8(signed).unwrap();
    // The canonical form keeps the last declaration; a reader taking the
    // first would see the CIMI terms in no namespace.
    let forged = text.replacen(
        "<MachineConfiguration xmlns=\"http://schemas.dmtf.org/cimi/1\"",
        "<MachineConfiguration xmlns=\"\" xmlns=\"http://schemas.dmtf.org/cimi/1\"",
        1,
    );
    assert_ne!(forged, text, "the fixture holds the CIMI extension");
    let (code, verdict) = lab.verdict(&[], forged.as_bytes());
    assert_eq!(code, 1, "{verdict}");
    assert_eq!(verdict["stage"], "xml", "{verdict}");
    let forged = text.replacen("<rdf:Description", "<rdf:Description xmlns:p=\"\"", 1);
    assert_eq!(lab.verdict(&[], forged.as_bytes()).0, 1);
}

#[test]
fn a_fake_email_outside_the_endorsement_does_not_count() {
    let (lab, signed) = signed_full();
    let text = String::from_utf8(signed).unwrap();
    // An e-mail hidden in KeyInfo (not signed) must not stand in for the
    // endorsement's.
    let forged = text.replacen(
        "<X509Data>",
        "<KeyName><email xmlns=\"http://mp.stratuslab.eu/slreq#\">mallory@evil.org</email></KeyName><X509Data>",
        1,
    );
    let (code, verdict) = lab.verdict(&[], forged.as_bytes());
    assert_eq!(code, 3, "{verdict}");
    let forged = text.replacen(
        "<X509Certificate>",
        "<Foreign xmlns=\"urn:x\"/><X509Certificate>",
        1,
    );
    assert_eq!(lab.verdict(&[], forged.as_bytes()).0, 3);
}

#[test]
fn latin1_and_utf16_documents_sign_and_verify() {
    let lab = Lab::new();
    let utf8 = std::fs::read_to_string(fixture("valid-minimal.xml"))
        .unwrap()
        .replacen("encoding=\"UTF-8\"", "encoding=\"ISO-8859-1\"", 1)
        .replacen(
            "<dcterms:type>machine</dcterms:type>",
            "<dcterms:type>machine</dcterms:type><dcterms:title>Genève</dcterms:title>",
            1,
        );
    let latin1: Vec<u8> = utf8
        .chars()
        .map(|c| u8::try_from(u32::from(c)).unwrap())
        .collect();
    let signed = lab.sign_as_jane(&[], &latin1);
    let text = String::from_utf8(signed.clone()).expect("the signed document is UTF-8");
    assert!(
        text.contains("encoding=\"UTF-8\"") && text.contains("Genève"),
        "{text}"
    );
    assert_eq!(lab.verdict(&[], &signed).0, 0);

    let utf16: Vec<u8> = [0xFF, 0xFE]
        .into_iter()
        .chain(
            std::fs::read_to_string(fixture("valid-minimal.xml"))
                .unwrap()
                .replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1)
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    let signed = lab.sign_as_jane(&[], &utf16);
    assert_eq!(lab.verdict(&[], &signed).0, 0);
}

#[test]
fn the_descriptions_own_endorsement_is_kept() {
    let lab = Lab::new();
    let text = std::fs::read_to_string(fixture("valid-minimal.xml")).unwrap().replacen(
        "<dcterms:type>machine</dcterms:type>",
        "<dcterms:type>machine</dcterms:type><ex:x xmlns:ex=\"http://example.org/\" rdf:parseType=\"Resource\"><slreq:endorsement rdf:parseType=\"Resource\"/></ex:x>",
        1,
    );
    let signed = lab.sign_as_jane(&[], text.as_bytes());
    let (code, verdict) = lab.verdict(&[], &signed);
    assert_eq!(code, 0, "{verdict}");
}

#[test]
fn signing_in_place_keeps_the_mode_and_the_original() {
    let lab = Lab::new();
    let draft = std::fs::read(fixture("valid-minimal.xml")).unwrap();
    let path = lab.write("draft.xml", &draft);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let p12 = fixture("test.p12");
    let output = lab.sign(
        &[
            "--p12-cert",
            arg(&p12),
            "--p12-password",
            PASSWORD,
            arg(&path),
        ],
        b"",
    );
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(std::fs::read(lab.path("draft.xml.orig")).unwrap(), draft);
    let leftovers: Vec<_> = std::fs::read_dir(lab.path("."))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("draft.xml.new") || n.starts_with(".stratus-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn no_signature_with_trust_options_is_a_usage_error() {
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let output = lab.validate(&["--no-signature", "--ca", arg(&ca)], b"<a/>");
    assert_eq!(code(&output), 2, "{}", stderr(&output));
}

#[test]
fn certificates_not_meant_for_signing_are_untrusted() {
    let lab = Lab::new();
    let ca = MiniCa::new("/O=Purpose Test/CN=Purpose CA");
    let ca_path = lab.write("ca.pem", &ca.cert);
    let draft = std::fs::read(fixture("valid-minimal.xml")).unwrap();
    let cases = [
        ("server only", "extendedKeyUsage=serverAuth\nsubjectAltName=email:s@example.org", 4),
        ("key encipherment only", "keyUsage=critical,keyEncipherment\nsubjectAltName=email:k@example.org", 4),
        ("client auth", "extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature\nsubjectAltName=email:c@example.org", 0),
    ];
    for (what, extensions, expected) in cases {
        let key = new_rsa_key(2048);
        let cert = ca.issue(&key, "/O=Purpose Test/CN=User", extensions, START, END);
        let pem = Pem { key, cert };
        let (key_path, cert_path) = pem.write(&lab, what.split(' ').next().unwrap());
        let signed = lab.sign_ok(
            &["--pem-cert", arg(&cert_path), "--pem-key", arg(&key_path)],
            &draft,
        );
        let (code, verdict) = lab.verdict(&["--ca", arg(&ca_path)], &signed);
        assert_eq!(code, expected, "{what}: {verdict}");
    }
}

/// The password is asked for on the terminal when none is given: `script`
/// (util-linux) gives the command a real pseudo-terminal.
#[test]
fn the_password_is_prompted_for_on_a_terminal() {
    let lab = Lab::new();
    let draft = lab.write(
        "draft.xml",
        std::fs::read(fixture("valid-minimal.xml")).unwrap(),
    );
    let out = lab.path("signed.xml");
    let p12 = fixture("test.p12");
    let inner = format!(
        "'{}' --p12-cert '{}' -o '{}' '{}'",
        stratus_bin_tests::bin_dir().join(SIGN).display(),
        p12.display(),
        out.display(),
        draft.display()
    );
    let mut script = std::process::Command::new("script");
    script
        .args(["-qec", &inner, "/dev/null"])
        .env("HOME", lab.home())
        .env_remove("STRATUSLAB_P12_PASSWORD");
    let output = run_with_input(script, format!("{PASSWORD}\r").as_bytes());
    let screen = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(code(&output), 0, "{screen}");
    // Whether the terminal echoes the answer depends on when it arrives
    // (before or after echo is turned off), so only the prompt is checked.
    assert!(
        screen.contains("PKCS12 (P12) cert '"),
        "no prompt: {screen}"
    );
    let signed = std::fs::read(&out).unwrap();
    assert_eq!(lab.verdict(&[], &signed).0, 0);
}

#[test]
fn one_bad_document_does_not_stop_the_others() {
    let lab = Lab::new();
    let draft = std::fs::read(fixture("valid-minimal.xml")).unwrap();
    let first = lab.write("a.xml", &draft);
    let bad = lab.write(
        "bad.xml",
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\"/>",
    );
    let last = lab.write("c.xml", &draft);
    let p12 = fixture("test.p12");
    let output = lab.sign(
        &[
            "-q",
            "--p12-cert",
            arg(&p12),
            "--p12-password",
            PASSWORD,
            arg(&first),
            arg(&bad),
            arg(&last),
        ],
        b"",
    );
    assert_eq!(code(&output), 1, "{}", stderr(&output));
    assert!(
        stderr(&output)
            .contains("bad.xml: document must contain exactly 1 slreq:endorsement element"),
        "{}",
        stderr(&output)
    );
    for path in [&first, &last] {
        assert_eq!(
            lab.verdict(&[], &std::fs::read(path).unwrap()).0,
            0,
            "{}",
            path.display()
        );
    }
    assert!(!lab.path("bad.xml.orig").exists());
}
