//! The endorser bound to the certificate (issue 7 §2), through the built
//! binaries: the endorsement's e-mail against every e-mail of the
//! certificate, `email_verified`, e-mail name constraints of the CAs
//! (compared with `openssl verify`), names the parser cannot read whole
//! (certificates rewritten at the DER level), weak keys and
//! `--allow-weak-keys`, and `--crl-mode require`.
//!
//! Documents are signed by `stratus-sign-metadata`, or by `xmlsec1` where
//! the endorsement must say something our signer would never write (the
//! legacy Java signer wrote a `--email` of the user's choice whenever the
//! certificate had no subjectAltName e-mail).

mod common;
mod derkit;
mod sigkit;

use common::*;
use sigkit::*;
use std::path::Path;

const ROOT_SUBJECT: &str = "/C=EU/O=Identity Grid/CN=Identity Root";

/// A user of `ca`: a fresh 2048-bit key and a certificate with `subject`
/// (openssl slash form) and `san` as subjectAltName; `chain` follows the
/// user's certificate in the PEM (the intermediates to send in KeyInfo).
fn user(ca: &MiniCa, subject: &str, san: Option<&str>, chain: &[&MiniCa]) -> Pem {
    user_with_key(ca, subject, san, chain, new_rsa_key(2048))
}

fn user_with_key(
    ca: &MiniCa,
    subject: &str,
    san: Option<&str>,
    chain: &[&MiniCa],
    key: Vec<u8>,
) -> Pem {
    let mut cert = ca.issue(&key, subject, &user_extensions(san), START, END);
    for above in chain {
        cert.extend_from_slice(&above.cert);
    }
    Pem { key, cert }
}

/// Sign the sample document with `pem` (`stratus-sign-metadata
/// --pem-cert --pem-key`, plus `extra`); the signed document.
fn sign_with(lab: &Lab, pem: &Pem, extra: &[&str]) -> Vec<u8> {
    let stem = format!("signer{}", lab.dir.path().read_dir().unwrap().count());
    let (key, cert) = pem.write(lab, &stem);
    let mut args = vec!["--pem-cert", arg(&cert), "--pem-key", arg(&key)];
    args.extend_from_slice(extra);
    lab.sign_ok(&args, unsigned_doc())
}

/// `signed` with its endorser e-mail replaced by `email`, signed again by
/// xmlsec1 with `pem` (RSA-SHA256): what the legacy signer wrote with a
/// `--email` when the certificate had no subjectAltName e-mail.
fn reendorsed(signed: &[u8], email: &str, pem: &Pem) -> Vec<u8> {
    let doc = text(signed);
    let start = doc.find("<email>").expect("an endorser e-mail") + "<email>".len();
    let end = doc.find("</email>").unwrap();
    let edited = format!("{}{email}{}", &doc[..start], &doc[end..]);
    // xmlsec1 puts the first certificate of the file in X509Data.
    let leaf_only = Pem {
        key: pem.key.clone(),
        cert: first_certificate(&pem.cert),
    };
    xmlsec_sign(&with_template(&edited, Template::Sha256), &leaf_only, &[])
}

/// The first PEM certificate of a chain.
fn first_certificate(pem: &[u8]) -> Vec<u8> {
    let text = text(pem);
    let end = text.find("-----END CERTIFICATE-----").unwrap() + 25;
    format!("{}\n", &text[..end]).into_bytes()
}

/// Validate `doc` (written to a file) with `--json` and `args`.
fn verdict_of(lab: &Lab, args: &[&str], doc: &[u8]) -> (i32, serde_json::Value) {
    let file = lab.write("doc.xml", doc);
    verdict_file(lab, args, &file)
}

fn verdict_file(lab: &Lab, args: &[&str], file: &Path) -> (i32, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all.push(arg(file));
    let output = lab.validate(&all, b"");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{}{}", stdout(&output), stderr(&output));
    (code(&output), lines[0].clone())
}

fn assert_refused(verdict: &(i32, serde_json::Value), exit: i32, stage: &str, message: &str) {
    let (code, value) = verdict;
    assert_eq!(*code, exit, "{value}");
    assert_eq!(value["valid"], false, "{value}");
    assert_eq!(value["stage"], stage, "{value}");
    let text = value["message"].as_str().unwrap();
    assert!(text.contains(message), "expected {message:?} in {text:?}");
}

fn assert_valid_json(verdict: &(i32, serde_json::Value), trusted: bool, email_verified: bool) {
    let (code, value) = verdict;
    assert_eq!(*code, 0, "{value}");
    assert_eq!(value["valid"], true, "{value}");
    assert_eq!(value["trusted"], trusted, "{value}");
    assert_eq!(value["email_verified"], email_verified, "{value}");
}

/// Whether `openssl verify` accepts `leaf` (PEM) with `root` as the only
/// anchor and `untrusted` as intermediates.
fn openssl_verifies(lab: &Lab, root: &Path, untrusted: Option<&Path>, leaf: &[u8]) -> bool {
    let leaf = lab.write("openssl-leaf.pem", first_certificate(leaf));
    let mut args = vec!["verify", "-CAfile", arg(root)];
    if let Some(chain) = untrusted {
        args.extend(["-untrusted", arg(chain)]);
    }
    args.push(arg(&leaf));
    let output = run_tool("openssl", &args, lab.dir.path());
    output.status.success()
}

// ---------------------------------------------------------------------------
// The e-mail of the endorsement.

#[test]
fn an_e_mail_only_in_the_subject_binds_the_endorsement() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let root_pem = lab.write("root.pem", &root.cert);
    let grid = user(
        &root,
        "/C=EU/O=Identity Grid/CN=Grid User/emailAddress=grid@example.org",
        None,
        &[],
    );
    // Our signer takes the e-mail from the subject.
    let signed = sign_with(&lab, &grid, &[]);
    assert_eq!(endorsement(&signed).0, "grid@example.org");
    assert_valid_json(&verdict_of(&lab, &[], &signed), false, false);
    let trusted = verdict_of(&lab, &["--ca", arg(&root_pem)], &signed);
    assert_valid_json(&trusted, true, true);
    assert_eq!(trusted.1["email"], "grid@example.org");
    // Another e-mail, as the legacy signer wrote from --email: accepted by
    // the legacy validator, refused here with its message form (exit 3),
    // with or without trust options.
    let claim = reendorsed(&signed, "someone.else@example.org", &grid);
    assert_xmlsec_verifies(&claim, "re-endorsed");
    for args in [vec![], vec!["--ca", arg(&root_pem)]] {
        assert_refused(
            &verdict_of(&lab, &args, &claim),
            3,
            "signature",
            "endorser inconsistency (email): grid@example.org != someone.else@example.org",
        );
    }
    let output = lab.validate(&[], &claim);
    assert_code(&output, 3, "text mode");
    assert_eq!(
        stderr(&output),
        "Invalid: -\nendorser inconsistency (email): grid@example.org != someone.else@example.org\n"
    );
    // The domain part is compared ignoring case (RFC 5321), the local part
    // exactly.
    let upper = reendorsed(&signed, "grid@EXAMPLE.Org", &grid);
    assert_valid_json(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &upper),
        true,
        true,
    );
    let local = reendorsed(&signed, "Grid@example.org", &grid);
    assert_refused(&verdict_of(&lab, &[], &local), 3, "signature", "(email)");
}

#[test]
fn any_e_mail_of_the_certificate_may_be_the_endorsers() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let root_pem = lab.write("root.pem", &root.cert);
    let two = user(
        &root,
        "/C=EU/O=Identity Grid/CN=Two Mails/emailAddress=dn@example.org",
        Some("email:work@example.org,email:home@example.net"),
        &[],
    );
    let signed = sign_with(&lab, &two, &[]);
    // The signer writes the first subjectAltName e-mail.
    assert_eq!(endorsement(&signed).0, "work@example.org");
    for email in ["home@example.net", "dn@example.org"] {
        let other = reendorsed(&signed, email, &two);
        assert_valid_json(
            &verdict_of(&lab, &["--ca", arg(&root_pem)], &other),
            true,
            true,
        );
    }
    let stranger = reendorsed(&signed, "stranger@example.org", &two);
    assert_refused(
        &verdict_of(&lab, &[], &stranger),
        3,
        "signature",
        "endorser inconsistency (email): work@example.org, home@example.net, dn@example.org != stranger@example.org",
    );
}

#[test]
fn a_certificate_without_e_mail_leaves_the_e_mail_a_claim() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let root_pem = lab.write("root.pem", &root.cert);
    let plain = user(&root, "/C=EU/O=Identity Grid/CN=No Mail", None, &[]);
    let signed = sign_with(&lab, &plain, &["--email", "claimed@example.org"]);
    let file = lab.write("claim.xml", &signed);
    let (code, value) = verdict_file(&lab, &["--ca", arg(&root_pem)], &file);
    assert_valid_json(&(code, value.clone()), true, false);
    assert_eq!(value["email"], "claimed@example.org");
    assert_eq!(value["signer"], "CN=No Mail,O=Identity Grid,C=EU");
    // Text mode: valid, with a warning that the e-mail is only a claim.
    let output = lab.validate(&["--ca", arg(&root_pem), arg(&file)], b"");
    assert_ok(&output, "claim");
    assert_eq!(stdout(&output), format!("Valid: {}\n", file.display()));
    assert_eq!(
        stderr(&output),
        format!(
            "  [WARNING] {}: the signer's certificate carries no e-mail: the endorser e-mail claimed@example.org is the document's claim, not verified\n",
            file.display()
        )
    );
    // -q silences it; a certificate with the e-mail gets no such warning.
    let quiet = lab.validate(&["-q", "--ca", arg(&root_pem), arg(&file)], b"");
    assert_eq!(stderr(&quiet), "");
    let bound = user(
        &root,
        "/C=EU/O=Identity Grid/CN=Mail",
        Some("email:bound@example.org"),
        &[],
    );
    let signed = lab.write("bound.xml", sign_with(&lab, &bound, &[]));
    let output = lab.validate(&["--ca", arg(&root_pem), arg(&signed)], b"");
    assert_ok(&output, "bound");
    assert_eq!(stderr(&output), "");
    // Without trust options no e-mail is verified, carried or not.
    assert_valid_json(&verdict_file(&lab, &[], &signed), false, false);
}

// ---------------------------------------------------------------------------
// E-mail name constraints of the CAs (RFC 5280 §4.2.1.10).

#[test]
fn a_roots_e_mail_constraints_as_openssl_applies_them() {
    let lab = Lab::new();
    let root = MiniCa::new_with_key(
        &new_rsa_key(2048),
        "/C=EU/O=Mail Grid/CN=Mail Root",
        "basicConstraints = critical,CA:TRUE\n\
         keyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n\
         nameConstraints = critical,permitted;email:.example.org,permitted;email:example.org,excluded;email:boss@example.org\n",
    );
    let root_pem = lab.write("root.pem", &root.cert);
    let cases: [(&str, &str, Option<&str>, bool); 6] = [
        ("Host", "", Some("email:jane@example.org"), true),
        ("Sub", "", Some("email:jane@dept.example.org"), true),
        ("Elsewhere", "", Some("email:jane@example.net"), false),
        ("Lookalike", "", Some("email:jane@badexample.org"), false),
        ("Boss", "", Some("email:boss@example.org"), false),
        ("Dn", "/emailAddress=grid@example.net", None, false),
    ];
    for (cn, extra, san, inside) in cases {
        let pem = user(
            &root,
            &format!("/C=EU/O=Mail Grid/CN={cn}{extra}"),
            san,
            &[],
        );
        assert_eq!(
            openssl_verifies(&lab, &root_pem, None, &pem.cert),
            inside,
            "openssl verify on {cn}"
        );
        let signed = sign_with(&lab, &pem, &[]);
        let verdict = verdict_of(&lab, &["--ca", arg(&root_pem)], &signed);
        if inside {
            assert_valid_json(&verdict, true, true);
        } else {
            assert_refused(
                &verdict,
                4,
                "trust",
                "is outside the e-mail names CA CN=Mail Root,O=Mail Grid,C=EU may certify",
            );
        }
    }
    // A certificate without e-mail: the endorsement's claim is constrained.
    let plain = user(&root, "/C=EU/O=Mail Grid/CN=Plain", None, &[]);
    let inside = sign_with(&lab, &plain, &["--email", "plain@example.org"]);
    assert_valid_json(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &inside),
        true,
        false,
    );
    let outside = sign_with(&lab, &plain, &["--email", "plain@example.net"]);
    assert_refused(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &outside),
        4,
        "trust",
        "the endorsement's e-mail plain@example.net is outside the e-mail names",
    );
    // Without trust options nothing is constrained.
    assert_valid_json(&verdict_of(&lab, &[], &outside), false, false);
}

#[test]
fn an_intermediates_e_mail_constraints() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let sub = root.sub_ca_with(
        "/C=EU/O=Identity Grid/CN=Mail Sub CA",
        "nameConstraints = permitted;email:example.org\n",
    );
    let root_pem = lab.write("root.pem", &root.cert);
    let sub_pem = lab.write("sub.pem", &sub.cert);
    // E-mail in the subject only: checked here exactly, as openssl does.
    for (email, inside) in [("grid@example.org", true), ("grid@example.net", false)] {
        let pem = user(
            &sub,
            &format!("/C=EU/O=Identity Grid/CN=Grid/emailAddress={email}"),
            None,
            &[&sub],
        );
        assert_eq!(
            openssl_verifies(&lab, &root_pem, Some(&sub_pem), &pem.cert),
            inside,
            "{email}"
        );
        let signed = sign_with(&lab, &pem, &[]);
        let verdict = verdict_of(&lab, &["--ca", arg(&root_pem)], &signed);
        if inside {
            assert_valid_json(&verdict, true, true);
        } else {
            assert_refused(&verdict, 4, "trust", "grid@example.net is outside");
        }
    }
    // A subjectAltName e-mail within the constraints: openssl accepts it;
    // rustls-webpki refuses any such name below an intermediate with e-mail
    // constraints (fail-closed); the sub-CA given as an anchor gets the
    // exact rule.
    let san = user(
        &sub,
        "/C=EU/O=Identity Grid/CN=San",
        Some("email:jane@example.org"),
        &[&sub],
    );
    assert!(openssl_verifies(&lab, &root_pem, Some(&sub_pem), &san.cert));
    let signed = sign_with(&lab, &san, &[]);
    assert_refused(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &signed),
        4,
        "trust",
        "name constraints",
    );
    let both = ["--ca", arg(&root_pem), "--ca", arg(&sub_pem)];
    assert_valid_json(&verdict_of(&lab, &both, &signed), true, true);
}

// ---------------------------------------------------------------------------
// Names the parser cannot read whole.

/// `/O=Identity Grid/CN=<cn>`, then an empty RDN, then `/CN=Evil`.
fn cut_name(cn: &str) -> Vec<u8> {
    derkit::name(&[
        Some((derkit::O, "Identity Grid")),
        Some((derkit::CN, cn)),
        None,
        Some((derkit::CN, "Evil")),
    ])
}

#[test]
fn a_signer_whose_name_is_cut_short_is_refused_everywhere() {
    let lab = Lab::new();
    let key = new_rsa_key(2048);
    let plain = self_signed(&key, "/O=Identity Grid/CN=Inside", &user_extensions(None));
    // The same certificate, named O=Identity Grid, CN=Inside, {}, CN=Evil
    // as subject and issuer, signed again with its own key.
    let cut = cut_name("Inside");
    let cert = derkit::rewrite(&plain.cert, derkit::SUBJECT, &cut, &key);
    let cert = derkit::rewrite(&cert, derkit::ISSUER, &cut, &key);
    let cut_pem = Pem {
        key: key.clone(),
        cert,
    };
    // OpenSSL reads the whole name, the empty RDN included.
    let cert_file = lab.write("cut.pem", &cut_pem.cert);
    let printed = run_tool(
        "openssl",
        &[
            "x509",
            "-noout",
            "-subject",
            "-nameopt",
            "compat",
            "-in",
            arg(&cert_file),
        ],
        lab.dir.path(),
    );
    assert!(
        String::from_utf8_lossy(&printed.stdout).contains("CN=Evil"),
        "{}",
        String::from_utf8_lossy(&printed.stdout)
    );
    // Our signer refuses to sign under the part it read.
    let (key_file, _) = cut_pem.write(&lab, "cut");
    let output = lab.sign(
        &["--pem-cert", arg(&cert_file), "--pem-key", arg(&key_file)],
        unsigned_doc(),
    );
    assert_code(&output, 255, "signing with a cut name");
    assert!(
        stderr(&output).contains("cannot be read whole"),
        "{}",
        stderr(&output)
    );
    // A document signed with it by xmlsec1, claiming the part that was read
    // (the legacy verifier would have compared just that): refused, with
    // and without trust options.
    let honest = sign_with(&lab, &plain, &["--email", "x@example.org"]);
    assert_eq!(endorsement(&honest).1, "CN=Inside,O=Identity Grid");
    let forged = xmlsec_sign(
        &with_template(text(&honest), Template::Sha256),
        &cut_pem,
        &[],
    );
    assert_xmlsec_verifies(&forged, "cut name");
    let anchor = lab.write("anchor.pem", &plain.cert);
    for args in [vec![], vec!["--ca", arg(&anchor)]] {
        assert_refused(
            &verdict_of(&lab, &args, &forged),
            3,
            "signature",
            "the signer's certificate has a subject name that cannot be read whole",
        );
    }
}

#[test]
fn a_ca_whose_name_is_cut_short_makes_the_chain_untrusted() {
    // root -> one -> two -> user, where one's subject (and so two's issuer)
    // has an empty RDN. The user's own names are whole, so the signature
    // stage passes; without namespace policies the chain used to be trusted.
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let one = root.sub_ca("/O=Identity Grid/CN=One");
    let two = one.sub_ca("/O=Identity Grid/CN=Two");
    let pem = user(
        &two,
        "/O=Identity Grid/CN=User",
        Some("email:user@example.org"),
        &[],
    );
    let cut = cut_name("One");
    let one_cut = derkit::rewrite(&one.cert, derkit::SUBJECT, &cut, &root.key);
    let two_cut = derkit::rewrite(&two.cert, derkit::ISSUER, &cut, &one.key);
    let root_pem = lab.write("root.pem", &root.cert);
    // OpenSSL builds the chain through the rewritten names.
    let chain = lab.write("chain.pem", [two_cut.clone(), one_cut.clone()].concat());
    assert!(openssl_verifies(&lab, &root_pem, Some(&chain), &pem.cert));
    let with_chain = Pem {
        key: pem.key.clone(),
        cert: [pem.cert.clone(), two_cut, one_cut].concat(),
    };
    let signed = sign_with(&lab, &with_chain, &[]);
    assert_eq!(count_all(&signed, DSIG, "X509Certificate"), 3);
    assert_valid_json(&verdict_of(&lab, &[], &signed), false, false);
    assert_refused(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &signed),
        4,
        "trust",
        "the CA certificate 1 up the chain from the signer has a name that cannot be read whole",
    );
}

// ---------------------------------------------------------------------------
// Weak keys.

fn rsa_key_with_exponent(bits: u32, exponent: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            &format!("rsa_keygen_bits:{bits}"),
            "-pkeyopt",
            &format!("rsa_keygen_pubexp:{exponent}"),
            "-out",
            "key.pem",
        ],
        dir.path(),
    );
    std::fs::read(dir.path().join("key.pem")).unwrap()
}

#[test]
fn weak_signer_keys_are_refused_with_trust_options() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let root_pem = lab.write("root.pem", &root.cert);
    let subject = "/C=EU/O=Identity Grid/CN=Old Key";
    let san = Some("email:old@example.org");
    let small = user_with_key(&root, subject, san, &[], new_rsa_key(1024));
    let three = user_with_key(&root, subject, san, &[], rsa_key_with_exponent(2048, 3));
    // The legacy profile: ring signs only with e = 65537 and 2048 bits up.
    let cases = [
        (
            small,
            "its RSA key has 1024 bits, fewer than the 2048 required",
        ),
        (
            three,
            "its RSA public exponent is 3, smaller than the 65537 required",
        ),
    ];
    for (pem, reason) in cases {
        let signed = sign_with(&lab, &pem, &["--legacy-sha1"]);
        // Without trust options the legacy rule holds: it verifies.
        assert_valid_json(&verdict_of(&lab, &[], &signed), false, false);
        let ca = ["--ca", arg(&root_pem)];
        assert_refused(
            &verdict_of(&lab, &ca, &signed),
            4,
            "trust",
            &format!("weak key: the signer's certificate: {reason}"),
        );
        let allowed = ["--ca", arg(&root_pem), "--allow-weak-keys"];
        assert_valid_json(&verdict_of(&lab, &allowed, &signed), true, true);
    }
}

#[test]
fn a_weak_ca_key_is_named() {
    let lab = Lab::new();
    let root = MiniCa::new_with_key(
        &new_rsa_key(1024),
        "/C=EU/O=Old Grid/CN=Old Root",
        "basicConstraints = critical,CA:TRUE\n\
         keyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n",
    );
    let root_pem = lab.write("root.pem", &root.cert);
    let pem = user(
        &root,
        "/C=EU/O=Old Grid/CN=User",
        Some("email:u@example.org"),
        &[],
    );
    let signed = sign_with(&lab, &pem, &[]);
    assert_refused(
        &verdict_of(&lab, &["--ca", arg(&root_pem)], &signed),
        4,
        "trust",
        "weak key: CA CN=Old Root,O=Old Grid,C=EU: its RSA key has 1024 bits",
    );
    let allowed = ["--ca", arg(&root_pem), "--allow-weak-keys"];
    assert_valid_json(&verdict_of(&lab, &allowed, &signed), true, true);
}

#[test]
fn a_key_too_small_to_hold_the_signature_says_so() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let strong = user(
        &root,
        "/C=EU/O=Identity Grid/CN=Strong",
        Some("email:s@example.org"),
        &[],
    );
    let signed = sign_with(&lab, &strong, &[]);
    // The certificate swapped for one of a 1024-bit key: a 2048-bit
    // signature cannot come from it.
    let weak = user_with_key(
        &root,
        "/C=EU/O=Identity Grid/CN=Strong",
        Some("email:s@example.org"),
        &[],
        new_rsa_key(1024),
    );
    let der = derkit::pem_to_der(&weak.cert);
    let b64 = {
        let file = lab.write("weak.der", &der);
        let out = openssl(&["base64", "-A", "-in", arg(&file)], lab.dir.path());
        String::from_utf8(out).unwrap()
    };
    let doc = text(&signed);
    let start = doc.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = doc.find("</X509Certificate>").unwrap();
    let swapped = format!("{}{}{}", &doc[..start], b64.trim(), &doc[end..]);
    let output = lab.validate(&[], swapped.as_bytes());
    assert_code(&output, 3, "swapped certificate");
    assert!(
        stderr(&output).contains(
            "the signer's 1024-bit RSA key is too small to hold this 256-byte SignatureValue"
        ),
        "{}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("signature validation"),
        "{}",
        stderr(&output)
    );
}

// ---------------------------------------------------------------------------
// --crl-mode.

#[test]
fn required_crls_on_the_legacy_ca() {
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let empty = fixture("test-crl-empty.pem");
    let file = fixture("valid-ca-signed.xml");
    let base = ["--ca", arg(&ca), "--at", IN_2012];
    let with = |extra: &[&str]| {
        let mut args = base.to_vec();
        args.extend_from_slice(extra);
        verdict_file(&lab, &args, &file)
    };
    assert_valid_json(&with(&[]), true, false);
    assert_valid_json(&with(&["--crl-mode", "if-present"]), true, false);
    assert_refused(
        &with(&["--crl-mode", "require"]),
        4,
        "trust",
        &format!("CRLs are required, and CA {LEGACY_CA_DN} has no current CRL (none was given)"),
    );
    assert_valid_json(
        &with(&["--crl-mode", "require", "--crl", arg(&empty)]),
        true,
        false,
    );
    // openssl verify -crl_check refuses the same chain without a CRL.
    let leaf = lab.write("jim.pem", openssl_leaf_of(&lab, &file));
    let output = run_tool(
        "openssl",
        &[
            "verify",
            "-CAfile",
            arg(&ca),
            "-crl_check",
            "-attime",
            "1338508800",
            arg(&leaf),
        ],
        lab.dir.path(),
    );
    assert!(
        !output.status.success(),
        "openssl verify -crl_check without a CRL"
    );
    // Before the CRL was issued it is not current.
    let early = [
        "--ca",
        arg(&ca),
        "--crl",
        arg(&empty),
        "--crl-mode",
        "require",
        "--at",
        "2012-03-01T00:00:00Z",
    ];
    assert_refused(
        &verdict_file(&lab, &early, &file),
        4,
        "trust",
        "its CRL was issued at 2012-03-05T21:07:10Z",
    );
    // Text mode says the same on stderr.
    let mut text_args = base.to_vec();
    text_args.extend(["--crl-mode", "require", arg(&file)]);
    let output = lab.validate(&text_args, b"");
    assert_code(&output, 4, "require, text");
    assert!(
        stderr(&output).contains("has no current CRL"),
        "{}",
        stderr(&output)
    );
}

/// The signer's certificate of a signed file, in PEM.
fn openssl_leaf_of(lab: &Lab, file: &Path) -> Vec<u8> {
    let doc = std::fs::read_to_string(file).unwrap();
    let start = doc.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = doc.find("</X509Certificate>").unwrap();
    let b64: String = doc[start..end].split_whitespace().collect();
    let b64_file = lab.write("leaf.b64", format!("{b64}\n"));
    let der = openssl(
        &["base64", "-d", "-A", "-in", arg(&b64_file)],
        lab.dir.path(),
    );
    derkit::der_to_pem(&der)
}

#[test]
fn required_crls_in_a_trust_directory_and_expired_ones_named() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let sub = root.sub_ca("/C=EU/O=Identity Grid/CN=Identity Sub CA");
    let pem = user(
        &sub,
        "/C=EU/O=Identity Grid/CN=Deep",
        Some("email:deep@example.org"),
        &[&sub],
    );
    let signed = lab.write("deep.xml", sign_with(&lab, &pem, &[]));
    let root_pem = lab.write("root.pem", &root.cert);
    let dir = lab.path("certificates");
    std::fs::create_dir(&dir).unwrap();
    let hash = subject_hash(&root_pem);
    std::fs::copy(&root_pem, dir.join(format!("{hash}.0"))).unwrap();
    std::fs::write(dir.join(format!("{hash}.r0")), root.crl(true)).unwrap();
    // The CRLs are issued at the real time: check after it, while every
    // certificate is still valid.
    let later = "2039-06-01T00:00:00Z";
    let require = [
        "--trust-dir",
        arg(&dir),
        "--crl-mode",
        "require",
        "--at",
        later,
    ];
    // The sub-CA (sent in KeyInfo) has no CRL: named.
    assert_refused(
        &verdict_file(&lab, &require, &signed),
        4,
        "trust",
        "CA CN=Identity Sub CA,O=Identity Grid,C=EU has no current CRL (none was given)",
    );
    let if_present = ["--trust-dir", arg(&dir), "--at", later];
    assert_valid_json(&verdict_file(&lab, &if_present, &signed), true, true);
    let sub_crl = lab.write("sub.crl", sub.crl(true));
    let mut both = require.to_vec();
    both.extend(["--crl", arg(&sub_crl)]);
    assert_valid_json(&verdict_file(&lab, &both, &signed), true, true);
    // A CRL valid for a day, checked in 2030: expired, and named in either
    // mode, as openssl verify refuses it.
    let short = lab.write("sub-short.crl", sub.crl_valid_for(true, 1));
    for mode in ["if-present", "require"] {
        let args = [
            "--trust-dir",
            arg(&dir),
            "--crl",
            arg(&short),
            "--crl-mode",
            mode,
            "--at",
            "2030-01-01T00:00:00Z",
        ];
        assert_refused(
            &verdict_file(&lab, &args, &signed),
            4,
            "trust",
            "the CRL of CA CN=Identity Sub CA,O=Identity Grid,C=EU has expired",
        );
    }
    let sub_pem = lab.write("sub.pem", &sub.cert);
    let crls = lab.write(
        "crls.pem",
        [root.crl(true), sub.crl_valid_for(true, 1)].concat(),
    );
    let leaf = lab.write("deep.pem", first_certificate(&pem.cert));
    let output = run_tool(
        "openssl",
        &[
            "verify",
            "-CAfile",
            arg(&root_pem),
            "-untrusted",
            arg(&sub_pem),
            "-CRLfile",
            arg(&crls),
            "-crl_check_all",
            "-attime",
            "1893456000",
            arg(&leaf),
        ],
        lab.dir.path(),
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("CRL has expired")
            || String::from_utf8_lossy(&output.stderr).contains("CRL has expired"),
        "openssl verify on the expired CRL: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_new_options_need_anchors() {
    let lab = Lab::new();
    let doc = fixture("valid-full-signature.xml");
    for args in [
        vec!["--crl-mode", "require"],
        vec!["--crl-mode", "if-present"],
        vec!["--allow-weak-keys"],
    ] {
        let mut all = args.clone();
        all.push(arg(&doc));
        let output = lab.validate(&all, b"");
        assert_code(&output, 2, &args.join(" "));
        assert!(
            stderr(&output).contains("need trust anchors"),
            "{}",
            stderr(&output)
        );
        let mut draft = vec!["--no-signature"];
        draft.extend_from_slice(&args);
        let output = lab.validate(&draft, b"");
        assert_code(&output, 2, "with --no-signature");
    }
    let ca = fixture("test-ca.pem");
    let output = lab.validate(&["--ca", arg(&ca), "--crl-mode", "always", arg(&doc)], b"");
    assert_code(&output, 2, "a bad mode");
    assert!(
        stderr(&output).contains("if-present"),
        "{}",
        stderr(&output)
    );
}
