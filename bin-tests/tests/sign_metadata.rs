//! `stratus-sign-metadata` end to end: built, signed and validated through
//! real pipes; signing in place and to a file; re-signing; and interop
//! with xmlsec1 in both directions.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::process::Command;

fn build_command(lab: &Lab, image: &std::path::Path) -> Command {
    let mut c = lab.command(BUILD);
    c.args([
        "--format",
        "raw",
        "--location",
        "http://example.org/disk.img",
    ])
    .arg(image);
    c
}

fn jane_args() -> Vec<String> {
    vec![
        "--p12-cert".into(),
        arg(&fixture("test.p12")).into(),
        "--p12-password".into(),
        PASSWORD.into(),
    ]
}

#[test]
fn build_sign_validate_through_pipes() {
    let lab = Lab::new();
    let image = lab.write("disk.img", sample_image(120_000, 3));
    for legacy in [false, true] {
        let mut sign_args = jane_args();
        if legacy {
            sign_args.push("--legacy-sha1".into());
        }
        let mut sign = lab.command(SIGN);
        sign.args(&sign_args);
        let outputs = pipeline(vec![
            build_command(&lab, &image),
            sign,
            lab.command(VALIDATE),
        ]);
        let what = format!("build | sign (legacy: {legacy}) | validate");
        assert_ok(&outputs[0], &format!("{what}: build"));
        assert_ok(&outputs[1], &format!("{what}: sign"));
        assert_valid(&outputs[2], &what);
        // The certificate of test.p12 expired in 2012: a warning, no failure.
        assert!(
            stderr(&outputs[1]).contains("expired"),
            "{what}: no expiry warning: {}",
            stderr(&outputs[1])
        );
        assert!(
            stderr(&outputs[2]).contains("not trust-checked"),
            "{what}: no trust warning: {}",
            stderr(&outputs[2])
        );
    }
}

#[test]
fn the_endorsement_names_jane_at_the_pinned_time() {
    let lab = Lab::new();
    let image = lab.write("disk.img", sample_image(60_000, 4));
    for legacy in [false, true] {
        let mut sign_args = jane_args();
        if legacy {
            sign_args.push("--legacy-sha1".into());
        }
        let mut sign = lab.command(SIGN);
        sign.args(&sign_args);
        let outputs = pipeline(vec![build_command(&lab, &image), sign]);
        assert_ok(&outputs[1], "build | sign");
        let signed = &outputs[1].stdout;
        let (email, subject, issuer, created) = endorsement(signed);
        assert_eq!(email, JANE_EMAIL);
        assert_eq!(subject, JANE_DN);
        assert_eq!(issuer, JANE_DN);
        assert_eq!(created, NOW);
        assert_eq!(count_all(signed, DSIG, "Signature"), 1);
        assert_eq!(count_all(signed, DSIG, "X509Certificate"), 1);
        let (method, digest, c14n) = if legacy {
            (
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
            )
        } else {
            (
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            )
        };
        assert_eq!(dsig_algorithm(signed, "SignatureMethod"), method);
        assert_eq!(dsig_algorithm(signed, "DigestMethod"), digest);
        assert_eq!(dsig_algorithm(signed, "CanonicalizationMethod"), c14n);
        // The Signature is the last child of rdf:RDF, in the default namespace.
        assert!(
            text(signed).trim_end().ends_with("</Signature></rdf:RDF>"),
            "{}",
            text(signed)
        );
        assert!(text(signed).contains(&format!("<Signature xmlns=\"{DSIG}\">")));
        let (exit, verdict) = lab.verdict(&[], signed);
        assert_eq!(exit, 0, "{verdict}");
        assert_eq!(verdict["valid"], true);
        assert_eq!(verdict["signer"], JANE_DN);
        assert_eq!(verdict["trusted"], false);
    }
}

#[test]
fn signing_in_place_keeps_the_original() {
    let lab = Lab::new();
    let original = unsigned_doc();
    let file = lab.write("image.xml", original);
    let mut args = jane_args();
    args.push("image.xml".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_ok(&output, "sign in place");
    assert_eq!(stdout(&output), "", "nothing on stdout when signing a file");
    assert_eq!(std::fs::read(lab.path("image.xml.orig")).unwrap(), original);
    assert!(!lab.path("image.xml.new").exists(), "no staging file left");
    let signed = std::fs::read(&file).unwrap();
    assert_eq!(count_all(&signed, DSIG, "Signature"), 1);
    assert_eq!(
        strip_signature_and_endorsement(&signed),
        strip_signature_and_endorsement(original)
    );
    let output = lab.validate(&["image.xml"], b"");
    assert_ok(&output, "validate the file signed in place");
    assert_eq!(stdout(&output), "Valid: image.xml\n");
    assert_eq!(
        sorted_names(&lab),
        ["home", "image.xml", "image.xml.orig"],
        "only the signed file and its original"
    );
}

#[test]
fn output_option_leaves_the_input_untouched() {
    let lab = Lab::new();
    let original = unsigned_doc();
    lab.write("image.xml", original);
    let mut args = jane_args();
    args.extend(["-o".into(), "signed.xml".into(), "image.xml".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_ok(&output, "sign -o");
    assert_eq!(stdout(&output), "");
    assert_eq!(std::fs::read(lab.path("image.xml")).unwrap(), original);
    assert!(!lab.path("image.xml.orig").exists(), "no .orig with -o");
    assert_eq!(sorted_names(&lab), ["home", "image.xml", "signed.xml"]);
    let output = lab.validate(&["signed.xml"], b"");
    assert_ok(&output, "validate the -o output");
    assert_eq!(stdout(&output), "Valid: signed.xml\n");
}

#[test]
fn several_files_are_each_signed_in_place() {
    let lab = Lab::new();
    let other_image = lab.write("other.img", sample_image(10_000, 9));
    let other = build_in(&lab, &["--format", "raw", arg(&other_image)]);
    lab.write("a.xml", unsigned_doc());
    lab.write("b.xml", &other);
    let mut args = jane_args();
    args.extend(["a.xml".into(), "b.xml".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_ok(&output, "sign two files");
    assert_eq!(stdout(&output), "");
    assert_eq!(
        std::fs::read(lab.path("a.xml.orig")).unwrap(),
        unsigned_doc()
    );
    assert_eq!(std::fs::read(lab.path("b.xml.orig")).unwrap(), other);
    let output = lab.validate(&["a.xml", "b.xml"], b"");
    assert_ok(&output, "validate both");
    assert_eq!(stdout(&output), "Valid: a.xml\nValid: b.xml\n");

    // -o names one output: with two files it is a usage error, and
    // nothing is touched.
    lab.write("c.xml", unsigned_doc());
    lab.write("d.xml", unsigned_doc());
    let mut args = jane_args();
    args.extend([
        "-o".into(),
        "out.xml".into(),
        "c.xml".into(),
        "d.xml".into(),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_code(&output, 2, "-o with two files");
    assert!(!lab.path("out.xml").exists());
    assert!(!lab.path("c.xml.orig").exists());
    assert_eq!(std::fs::read(lab.path("c.xml")).unwrap(), unsigned_doc());

    // A missing file is a usage error before anything is signed.
    let mut args = jane_args();
    args.extend(["c.xml".into(), "missing.xml".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_code(&output, 2, "a missing file");
    assert!(
        stderr(&output).contains("Metadata file doesn't exist or is not a file"),
        "{}",
        stderr(&output)
    );
    assert!(!lab.path("c.xml.orig").exists(), "c.xml was not signed");
}

#[test]
fn dash_reads_stdin_like_no_file() {
    let lab = Lab::new();
    let mut args = jane_args();
    args.push("-".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let signed = lab.sign_ok(&args, unsigned_doc());
    assert_valid(&lab.validate(&[], &signed), "signed from `-`");
    assert_eq!(sorted_names(&lab), ["home"], "nothing written beside");
}

#[test]
fn re_signing_replaces_the_signature_and_the_endorsement() {
    let lab = Lab::new();
    // First signature by Jane, at another time.
    let mut first = lab.sign_command(&[
        "--p12-cert",
        arg(&fixture("test.p12")),
        "--p12-password",
        PASSWORD,
    ]);
    first.env("STRATUS_NOW", "2020-02-02T02:02:02Z");
    let first = run_with_input(first, unsigned_doc());
    assert_ok(&first, "first signature");
    let once = first.stdout;
    assert_eq!(endorsement(&once).3, "2020-02-02T02:02:02Z");

    // Re-signed by Jane with the legacy profile: one Signature, new time.
    let twice = lab.sign_as_jane(&["--legacy-sha1"], &once);
    assert_eq!(count_all(&twice, DSIG, "Signature"), 1, "{}", text(&twice));
    assert_eq!(count_all(&twice, SLREQ, "endorsement"), 1);
    assert_eq!(count_all(&twice, SLREQ, "endorser"), 1);
    assert_eq!(endorsement(&twice).3, NOW);
    assert_valid(&lab.validate(&[], &twice), "re-signed by Jane");

    // Re-signed by Jim: the endorsement now names Jim.
    let jim = fixture("test-ca-signed.p12");
    let thrice = lab.sign_ok(
        &[
            "--p12-cert",
            arg(&jim),
            "--p12-password",
            PASSWORD,
            "--email",
            JIM_EMAIL,
        ],
        &twice,
    );
    assert_eq!(count_all(&thrice, DSIG, "Signature"), 1);
    let (email, subject, issuer, _) = endorsement(&thrice);
    assert_eq!(
        (email.as_str(), subject.as_str(), issuer.as_str()),
        (JIM_EMAIL, JIM_DN, LEGACY_CA_DN)
    );
    let (exit, verdict) = lab.verdict(&[], &thrice);
    assert_eq!(exit, 0, "{verdict}");
    assert_eq!(verdict["signer"], JIM_DN);
}

#[test]
fn a_document_without_endorsement_is_refused() {
    let lab = Lab::new();
    let doc = text(unsigned_doc()).replace("<slreq:endorsement rdf:parseType=\"Resource\"/>", "");
    assert_ne!(doc, text(unsigned_doc()), "the endorsement was removed");
    let mut args = jane_args();
    args.push("-".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, doc.as_bytes());
    assert_code(&output, 1, "sign without endorsement");
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("document must contain exactly 1 slreq:endorsement element"),
        "{}",
        stderr(&output)
    );
    // A file that cannot be signed is left as it was, and no .orig is made.
    let file = lab.write("bad.xml", &doc);
    let mut args = jane_args();
    args.push("bad.xml".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = lab.sign(&args, b"");
    assert_code(&output, 1, "sign a file without endorsement");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), doc);
    assert_eq!(sorted_names(&lab), ["bad.xml", "home"]);
}

#[test]
fn our_signatures_verify_with_xmlsec1() {
    let lab = Lab::new();
    let (key, cert) = jane().write(&lab, "jane");
    let p12 = fixture("test.p12");
    let from_p12 = ["--p12-cert", arg(&p12), "--p12-password", PASSWORD];
    let from_pem = ["--pem-cert", arg(&cert), "--pem-key", arg(&key)];
    for credentials in [&from_p12, &from_pem] {
        for legacy in [false, true] {
            let mut args = credentials.to_vec();
            if legacy {
                args.push("--legacy-sha1");
            }
            let signed = lab.sign_ok(&args, unsigned_doc());
            let what = format!("stratus-sign-metadata {}", args.join(" "));
            assert_xmlsec_verifies(&signed, &what);
            assert_valid(&lab.validate(&[], &signed), &what);
            assert_eq!(endorsement(&signed).1, JANE_DN, "{what}");
        }
    }
}

#[test]
fn xmlsec1_signatures_verify_with_stratus() {
    let lab = Lab::new();
    // A document whose endorsement already names Jane: one she signed.
    let endorsed = lab.sign_as_jane(&[], unsigned_doc());
    for template in [
        Template::Sha1WithComments,
        Template::Sha256,
        Template::Sha256Exclusive,
    ] {
        let prepared = with_template(text(&endorsed), template);
        let signed = xmlsec_sign(&prepared, jane(), &[]);
        assert_xmlsec_verifies(&signed, &format!("{template:?}"));
        let (exit, verdict) = lab.verdict(&[], &signed);
        assert_eq!(exit, 0, "{template:?}: {verdict}\n{}", text(&signed));
        assert_eq!(verdict["valid"], true, "{template:?}");
        assert_eq!(verdict["signer"], JANE_DN, "{template:?}");
        assert_valid(&lab.validate(&[], &signed), &format!("{template:?}"));
        // And our signer takes xmlsec1's output back: re-signed, one Signature.
        let again = lab.sign_as_jane(&[], &signed);
        assert_eq!(count_all(&again, DSIG, "Signature"), 1, "{template:?}");
        assert_valid(
            &lab.validate(&[], &again),
            &format!("{template:?} re-signed"),
        );
    }
}

#[test]
fn an_xmlsec1_signature_over_an_unfilled_endorsement_is_refused() {
    // Signed properly, but the endorsement is empty: no endorser to check.
    let lab = Lab::new();
    let prepared = with_template(text(unsigned_doc()), Template::Sha256);
    let signed = xmlsec_sign(&prepared, jane(), &[]);
    assert_xmlsec_verifies(&signed, "empty endorsement");
    let (exit, verdict) = lab.verdict(&[], &signed);
    assert_eq!(verdict["valid"], false, "{verdict}");
    assert_eq!(exit, 3, "{verdict}");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap()
            .starts_with("endorser inconsistency (subject): "),
        "{verdict}"
    );
}

/// The document without its Signature and without the endorsement's
/// content: what signing must not change.
fn strip_signature_and_endorsement(doc: &[u8]) -> String {
    let doc = text(doc);
    let doc = if doc.contains("<Signature") {
        strip_signature(doc)
    } else {
        doc.to_string()
    };
    let start = doc.find("<slreq:endorsement").expect("an endorsement");
    let end = match doc[start..].find("</slreq:endorsement>") {
        Some(at) => start + at + "</slreq:endorsement>".len(),
        None => start + doc[start..].find("/>").unwrap() + 2,
    };
    format!("{}<ENDORSEMENT/>{}", &doc[..start], &doc[end..])
}

fn sorted_names(lab: &Lab) -> Vec<String> {
    dir_names(lab.dir.path())
}
