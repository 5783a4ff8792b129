//! The signer's identity (issue 7 §2): the endorsement bound to the
//! certificate (every e-mail it carries, names read whole) and the checks
//! on a trusted chain (weak keys, required CRLs, e-mail name constraints).
//!
//! Certificates are made at test time by the real `openssl` (these tests
//! fail, they do not skip, when it is missing); names the parser cannot
//! read whole are made by rewriting the DER of such a certificate.

mod support;
use support::{fixtures, openssl};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use std::path::Path;
use stratus_core::signature::trust::{Check, CrlMode, Policy, TrustError, TrustStore};
use stratus_core::signature::xmldsig::verify::{check_endorser, Endorser};
use stratus_core::signature::xmldsig::SignatureError;

// ---------------------------------------------------------------------------
// Certificates from openssl.

const CA_EXTENSIONS: &str = "basicConstraints = critical,CA:TRUE\n\
                             keyUsage = critical,keyCertSign,cRLSign\n\
                             subjectKeyIdentifier = hash\n";
const USER_EXTENSIONS: &str = "basicConstraints = CA:FALSE\n\
                               keyUsage = critical,digitalSignature\n";

/// A key and its certificate, both PEM, in their own directory.
struct Issued {
    dir: tempfile::TempDir,
    cert: Vec<u8>,
}

impl Issued {
    fn der(&self) -> CertificateDer<'static> {
        CertificateDer::from_pem_slice(&self.cert).unwrap()
    }

    fn key_path(&self) -> std::path::PathBuf {
        self.dir.path().join("key.pem")
    }

    fn cert_path(&self) -> std::path::PathBuf {
        self.dir.path().join("cert.pem")
    }
}

/// An RSA key of `bits` bits and public exponent `exponent`.
fn rsa_key(dir: &Path, bits: u32, exponent: u32) -> Vec<u8> {
    openssl(
        dir,
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
    );
    std::fs::read(dir.join("key.pem")).unwrap()
}

/// A certificate for a fresh key (`bits`, `exponent`) with `subject` and
/// `extensions`, signed by `issuer` (self-signed when `None`), valid from
/// yesterday for ten years.
fn issue(
    subject: &str,
    extensions: &str,
    issuer: Option<&Issued>,
    bits: u32,
    exponent: u32,
) -> Issued {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    rsa_key(d, bits, exponent);
    std::fs::write(
        d.join("req.cnf"),
        format!("[req]\ndistinguished_name = dn\n[dn]\n[ext]\n{extensions}"),
    )
    .unwrap();
    let serial = format!("{}", std::process::id() as u64 * 1000 + next_serial());
    match issuer {
        None => {
            openssl(
                d,
                &[
                    "req",
                    "-x509",
                    "-new",
                    "-config",
                    "req.cnf",
                    "-key",
                    "key.pem",
                    "-subj",
                    subject,
                    "-days",
                    "3650",
                    "-set_serial",
                    &serial,
                    "-extensions",
                    "ext",
                    "-out",
                    "cert.pem",
                ],
            );
        }
        Some(ca) => {
            openssl(
                d,
                &[
                    "req", "-new", "-config", "req.cnf", "-key", "key.pem", "-subj", subject,
                    "-out", "req.csr",
                ],
            );
            let ca_cert = ca.cert_path();
            let ca_key = ca.key_path();
            openssl(
                d,
                &[
                    "x509",
                    "-req",
                    "-in",
                    "req.csr",
                    "-CA",
                    ca_cert.to_str().unwrap(),
                    "-CAkey",
                    ca_key.to_str().unwrap(),
                    "-set_serial",
                    &serial,
                    "-days",
                    "3650",
                    "-extfile",
                    "req.cnf",
                    "-extensions",
                    "ext",
                    "-out",
                    "cert.pem",
                ],
            );
        }
    }
    let cert = std::fs::read(d.join("cert.pem")).unwrap();
    Issued { dir, cert }
}

fn next_serial() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SERIAL: AtomicU64 = AtomicU64::new(1);
    SERIAL.fetch_add(1, Ordering::Relaxed)
}

fn ca(subject: &str, extra: &str) -> Issued {
    issue(
        subject,
        &format!("{CA_EXTENSIONS}{extra}"),
        None,
        2048,
        65537,
    )
}

fn user(subject: &str, extra: &str, ca: &Issued) -> Issued {
    issue(
        subject,
        &format!("{USER_EXTENSIONS}{extra}"),
        Some(ca),
        2048,
        65537,
    )
}

fn store_of(anchors: &[&Issued]) -> TrustStore {
    let mut store = TrustStore::default();
    for anchor in anchors {
        store.add_ca_file(&anchor.cert_path()).unwrap();
    }
    store
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn check(policy: Policy, claimed: Option<&str>) -> Check<'_> {
    Check {
        at: now(),
        policy,
        claimed_email: claimed,
    }
}

fn strict() -> Policy {
    Policy::default()
}

// ---------------------------------------------------------------------------
// The endorsement against the certificate.

/// A document whose endorsement names `subject`, `issuer` and `email`.
fn endorsed(subject: &str, issuer: &str, email: Option<&str>) -> String {
    let email = email
        .map(|e| format!("<slreq:email>{e}</slreq:email>"))
        .unwrap_or_default();
    format!(
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\" \
         xmlns:slreq=\"http://mp.stratuslab.eu/slreq#\" xmlns:dcterms=\"http://purl.org/dc/terms/\">\
         <rdf:Description rdf:about=\"#x\"><slreq:endorsement rdf:parseType=\"Resource\">\
         <dcterms:created>2026-01-15T10:20:30Z</dcterms:created>\
         <slreq:endorser rdf:parseType=\"Resource\">{email}<slreq:subject>{subject}</slreq:subject>\
         <slreq:issuer>{issuer}</slreq:issuer></slreq:endorser></slreq:endorsement>\
         </rdf:Description></rdf:RDF>"
    )
}

/// check_endorser on a self-signed certificate's own names and `email`.
fn endorse(cert: &CertificateDer<'_>, email: Option<&str>) -> Result<Endorser, SignatureError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert).unwrap();
    let subject = stratus_core::signature::dn::rfc2253(parsed.subject());
    let issuer = stratus_core::signature::dn::rfc2253(parsed.issuer());
    let text = endorsed(&subject, &issuer, email);
    let doc = stratus_core::document::xml::parse(&text, "test").unwrap();
    check_endorser(&doc, cert)
}

fn email_mismatch(result: Result<Endorser, SignatureError>) -> String {
    match result {
        Err(error @ SignatureError::EndorserInconsistent { key: "email", .. }) => error.to_string(),
        other => panic!("expected an e-mail inconsistency, got {other:?}"),
    }
}

#[test]
fn an_e_mail_only_in_the_subject_binds_the_endorsement() {
    // The legacy validator looked at subjectAltName only, so any e-mail
    // passed with this certificate.
    let cert = ca("/CN=Grid User/emailAddress=grid@example.org", "").der();
    let bound = endorse(&cert, Some("grid@example.org")).unwrap();
    assert_eq!(bound.email.as_deref(), Some("grid@example.org"));
    assert!(bound.email_in_certificate);
    assert_eq!(
        email_mismatch(endorse(&cert, Some("someone.else@example.org"))),
        "endorser inconsistency (email): grid@example.org != someone.else@example.org"
    );
    assert_eq!(
        email_mismatch(endorse(&cert, None)),
        "endorser inconsistency (email): grid@example.org != null"
    );
}

#[test]
fn any_e_mail_of_the_certificate_binds_with_the_domain_ignoring_case() {
    let cert = ca(
        "/CN=Two Mails/emailAddress=dn@example.org",
        "subjectAltName = email:first@example.org,DNS:host.example.org,email:second@example.org\n",
    )
    .der();
    for email in [
        "first@example.org",
        "second@example.org",
        "second@EXAMPLE.Org",
        "dn@example.org",
    ] {
        let bound = endorse(&cert, Some(email)).unwrap_or_else(|e| panic!("{email}: {e}"));
        assert!(bound.email_in_certificate, "{email}");
    }
    // The local part is compared exactly.
    let message = email_mismatch(endorse(&cert, Some("Second@example.org")));
    assert_eq!(
        message,
        "endorser inconsistency (email): first@example.org, second@example.org, dn@example.org != Second@example.org"
    );
    assert!(endorse(&cert, Some("second@example.org.evil.net")).is_err());
}

#[test]
fn a_certificate_without_e_mail_leaves_the_e_mail_a_claim() {
    let cert = ca(
        "/CN=No Mail/O=Grid",
        "subjectAltName = DNS:host.example.org\n",
    )
    .der();
    let claim = endorse(&cert, Some("anyone@example.org")).unwrap();
    assert_eq!(claim.email.as_deref(), Some("anyone@example.org"));
    assert!(!claim.email_in_certificate);
}

/// The DER of a Name of single-valued UTF8String RDNs; `None` is an empty
/// RDN (an empty SET).
fn name_der(rdns: &[Option<(&[u8], &str)>]) -> Vec<u8> {
    fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        assert!(content.len() < 0x80);
        [&[tag, content.len() as u8][..], content].concat()
    }
    let mut sets = Vec::new();
    for rdn in rdns {
        match rdn {
            None => sets.extend([0x31, 0x00]),
            Some((oid, value)) => {
                let ava = [tlv(0x06, oid), tlv(0x0c, value.as_bytes())].concat();
                sets.extend(tlv(0x31, &tlv(0x30, &ava)));
            }
        }
    }
    tlv(0x30, &sets)
}

const CN: &[u8] = &[0x55, 0x04, 0x03];
const O: &[u8] = &[0x55, 0x04, 0x0a];

/// Replace the bytes `from` by `to` (same length) in `der`, at the offset
/// of `at` (a slice of `der`).
fn splice(der: &[u8], at: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(at.len(), to.len(), "a same-length edit keeps every length");
    let offset = at.as_ptr() as usize - der.as_ptr() as usize;
    let mut out = der.to_vec();
    out[offset..offset + to.len()].copy_from_slice(to);
    out
}

#[test]
fn names_the_parser_reads_only_in_part_never_sign() {
    // A self-signed certificate named O=Grid, CN=Inside, CN=EvilXX, whose
    // subject is then rewritten (same length) to O=Grid, CN=Inside, {},
    // CN=Evil: x509-parser stops at the empty RDN and reads
    // "CN=Inside,O=Grid", which an endorsement could claim.
    let cert = ca("/O=Grid/CN=Inside/CN=EvilXX", "").der();
    let (_, parsed) = x509_parser::parse_x509_certificate(&cert).unwrap();
    let original = name_der(&[
        Some((O, "Grid")),
        Some((CN, "Inside")),
        Some((CN, "EvilXX")),
    ]);
    assert_eq!(parsed.subject().as_raw(), &original[..]);
    let cut = name_der(&[
        Some((O, "Grid")),
        Some((CN, "Inside")),
        None,
        Some((CN, "Evil")),
    ]);
    let subject_cut = splice(&cert, parsed.subject().as_raw(), &cut);
    let issuer_cut = splice(&cert, parsed.issuer().as_raw(), &cut);
    for (bad, part) in [(subject_cut, "subject"), (issuer_cut, "issuer")] {
        let bad = CertificateDer::from(bad);
        let (_, parsed) = x509_parser::parse_x509_certificate(&bad).unwrap();
        let read = if part == "subject" {
            parsed.subject()
        } else {
            parsed.issuer()
        };
        assert_eq!(
            stratus_core::signature::dn::rfc2253(read),
            "CN=Inside,O=Grid"
        );
        // The endorsement names exactly what was read, and is refused.
        let err = endorse(&bad, None).unwrap_err();
        assert_eq!(err, SignatureError::UnreadableName(part), "{part}");
        assert!(err.to_string().contains("cannot be read whole"), "{err}");
    }
}

#[test]
fn an_unreadable_subject_alt_name_refuses_the_certificate() {
    // x509-parser sets aside a GeneralName it cannot decode: a Latin-1
    // byte in the rfc822Name, or a tag no GeneralName has. The e-mail
    // would then go unseen and any endorsement e-mail pass.
    let cert = ca("/CN=Broken SAN", "subjectAltName = email:x@example.org\n").der();
    let marker = [&[0x81, 13][..], b"x@example.org"].concat();
    let at = cert
        .windows(marker.len())
        .position(|w| w == marker)
        .expect("the rfc822Name in the DER");
    for (offset, byte) in [(2, 0xe9), (0, 0x89)] {
        let mut bad = cert.to_vec();
        bad[at + offset] = byte;
        let err = endorse(&CertificateDer::from(bad), Some("other@example.org")).unwrap_err();
        assert!(
            matches!(&err, SignatureError::BadCertificate(m) if m.contains("subjectAltName")),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------
// Weak keys.

#[test]
fn weak_keys_are_refused_unless_allowed() {
    let root = ca("/CN=Strong Root", "");
    let small = issue("/CN=Small Key", USER_EXTENSIONS, Some(&root), 1024, 65537);
    let three = issue("/CN=Exponent Three", USER_EXTENSIONS, Some(&root), 2048, 3);
    let store = store_of(&[&root]);
    let allow = Policy {
        allow_weak_keys: true,
        ..Policy::default()
    };
    for (leaf, reason) in [
        (
            &small,
            "its RSA key has 1024 bits, fewer than the 2048 required",
        ),
        (
            &three,
            "its RSA public exponent is 3, smaller than the 65537 required",
        ),
    ] {
        let err = store
            .verify_signer(&leaf.der(), &[], &check(strict(), None))
            .unwrap_err();
        match &err {
            TrustError::WeakKey { whose, reason: why } => {
                assert_eq!(whose, "the signer's certificate");
                assert_eq!(why, reason);
            }
            other => panic!("expected a weak key, got {other}"),
        }
        store
            .verify_signer(&leaf.der(), &[], &check(allow, None))
            .unwrap_or_else(|e| panic!("{reason}: allowed, yet {e}"));
    }
}

#[test]
fn a_weak_ca_key_is_named() {
    // A 1024-bit CA signing with SHA-256: webpki's own algorithms would
    // refuse it opaquely; here it is named.
    let root = issue("/CN=Weak Root", CA_EXTENSIONS, None, 1024, 65537);
    let leaf = user("/CN=Strong User", "", &root);
    let store = store_of(&[&root]);
    let err = store
        .verify_signer(&leaf.der(), &[], &check(strict(), None))
        .unwrap_err();
    assert!(
        matches!(&err, TrustError::WeakKey { whose, .. } if whose == "CA CN=Weak Root"),
        "{err}"
    );
    let allow = Policy {
        allow_weak_keys: true,
        ..Policy::default()
    };
    store
        .verify_signer(&leaf.der(), &[], &check(allow, None))
        .unwrap();
}

// ---------------------------------------------------------------------------
// Required CRLs, on the legacy CA and its CRLs (metadata.md §4.7).

fn legacy_leaf() -> CertificateDer<'static> {
    let text = std::fs::read_to_string(fixtures().join("valid-ca-signed.xml")).unwrap();
    let start = text.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = text.find("</X509Certificate>").unwrap();
    let b64: String = text[start..end].split_whitespace().collect();
    use base64::Engine;
    CertificateDer::from(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
}

fn legacy_store(crl: Option<&str>) -> TrustStore {
    let mut store = TrustStore::default();
    store.add_ca_file(&fixtures().join("test-ca.pem")).unwrap();
    if let Some(crl) = crl {
        store.add_crl_file(&fixtures().join(crl)).unwrap();
    }
    store
}

fn at(time: &str) -> i64 {
    stratus_core::clock::parse_rfc3339(time).unwrap()
}

#[test]
fn required_crls_must_exist_and_be_current() {
    let require = Policy {
        crl_mode: CrlMode::Require,
        ..Policy::default()
    };
    let legacy_ca = "CN=Certificate Authority,OU=Testing Department,O=StratusLab Project,C=EU";
    let run = |store: &TrustStore, when: &str, policy: Policy| {
        let check = Check {
            at: at(when),
            policy,
            claimed_email: None,
        };
        store.verify_signer(&legacy_leaf(), &[], &check)
    };
    // No CRL: fine by default, refused when required, naming the CA.
    let bare = legacy_store(None);
    run(&bare, "2012-06-01T00:00:00Z", strict()).unwrap();
    match run(&bare, "2012-06-01T00:00:00Z", require).unwrap_err() {
        TrustError::CrlRequired { ca, reason } => {
            assert_eq!(ca, legacy_ca);
            assert_eq!(reason, "none was given");
        }
        other => panic!("expected a required CRL, got {other}"),
    }
    // A current CRL satisfies it; one issued after the check time does not.
    let with_crl = legacy_store(Some("test-crl-empty.pem"));
    run(&with_crl, "2012-06-01T00:00:00Z", require).unwrap();
    run(&with_crl, "2012-03-01T00:00:00Z", strict()).unwrap();
    let err = run(&with_crl, "2012-03-01T00:00:00Z", require).unwrap_err();
    assert!(
        matches!(&err, TrustError::CrlRequired { ca, reason } if ca == legacy_ca && reason.contains("issued at 2012-03-05T21:07:10Z")),
        "{err}"
    );
    // A revocation is still found.
    let revoked = legacy_store(Some("test-crl-revoked.pem"));
    let err = run(&revoked, "2012-06-01T00:00:00Z", require).unwrap_err();
    assert!(matches!(err, TrustError::Revoked), "{err}");
}

// ---------------------------------------------------------------------------
// E-mail name constraints (RFC 5280 §4.2.1.10).

fn verdict(
    store: &TrustStore,
    leaf: &Issued,
    intermediates: &[&Issued],
    claimed: Option<&str>,
) -> Result<(), TrustError> {
    let chain: Vec<CertificateDer<'static>> = intermediates.iter().map(|c| c.der()).collect();
    store.verify_signer(&leaf.der(), &chain, &check(strict(), claimed))
}

fn outside(result: Result<(), TrustError>, expected_email: &str, expected_claim: bool) {
    match result {
        Err(TrustError::EmailOutsideConstraints { email, claimed, .. }) => {
            assert_eq!(email, expected_email);
            assert_eq!(claimed, expected_claim, "{email}");
        }
        other => panic!("expected {expected_email} outside the constraints, got {other:?}"),
    }
}

#[test]
fn an_anchors_e_mail_constraints_apply_to_certificates_and_claims() {
    let root = ca(
        "/CN=Mail Root",
        "nameConstraints = critical,permitted;email:.example.org,permitted;email:example.org,excluded;email:boss@example.org\n",
    );
    let store = store_of(&[&root]);
    // A subjectAltName e-mail within: accepted (webpki alone refuses any
    // rfc822Name below an rfc822Name constraint).
    let inside = user(
        "/CN=Inside",
        "subjectAltName = email:jane@sub.example.org\n",
        &root,
    );
    verdict(&store, &inside, &[], Some("jane@sub.example.org")).unwrap();
    // Outside the permitted subtrees, or excluded.
    let elsewhere = user(
        "/CN=Elsewhere",
        "subjectAltName = email:jane@example.net\n",
        &root,
    );
    outside(
        verdict(&store, &elsewhere, &[], None),
        "jane@example.net",
        false,
    );
    let boss = user(
        "/CN=Boss",
        "subjectAltName = email:boss@EXAMPLE.org\n",
        &root,
    );
    outside(verdict(&store, &boss, &[], None), "boss@EXAMPLE.org", false);
    // The subject's emailAddress is constrained too.
    let dn_only = user("/CN=Grid/emailAddress=grid@example.net", "", &root);
    outside(
        verdict(&store, &dn_only, &[], None),
        "grid@example.net",
        false,
    );
    // A certificate without e-mail: the endorsement's claim is constrained.
    let no_mail = user("/CN=No Mail", "", &root);
    verdict(&store, &no_mail, &[], Some("anyone@example.org")).unwrap();
    outside(
        verdict(&store, &no_mail, &[], Some("anyone@example.net")),
        "anyone@example.net",
        true,
    );
    let err = verdict(&store, &no_mail, &[], Some("boss@example.org")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "signer not trusted: the endorsement's e-mail boss@example.org is outside the e-mail names CA CN=Mail Root may certify (its name constraints)"
    );
}

#[test]
fn an_intermediates_e_mail_constraints_apply_too() {
    let root = ca("/CN=Open Root", "");
    let sub = issue(
        "/CN=Mail Sub CA",
        &format!("{CA_EXTENSIONS}nameConstraints = permitted;email:example.org\n"),
        Some(&root),
        2048,
        65537,
    );
    let store = store_of(&[&root]);
    // No subjectAltName e-mail: webpki passes, the check here applies.
    let dn_inside = user("/CN=Grid/emailAddress=grid@example.org", "", &sub);
    verdict(&store, &dn_inside, &[&sub], Some("grid@example.org")).unwrap();
    let dn_outside = user("/CN=Grid/emailAddress=grid@example.net", "", &sub);
    outside(
        verdict(&store, &dn_outside, &[&sub], Some("grid@example.net")),
        "grid@example.net",
        false,
    );
    let no_mail = user("/CN=No Mail", "", &sub);
    outside(
        verdict(&store, &no_mail, &[&sub], Some("x@example.net")),
        "x@example.net",
        true,
    );
    // A subjectAltName e-mail below it: webpki refuses it, matching or
    // not (fail-closed); trusting the sub-CA directly gives the exact rule.
    let san = user("/CN=San", "subjectAltName = email:jane@example.org\n", &sub);
    let err = verdict(&store, &san, &[&sub], None).unwrap_err();
    assert!(err.to_string().contains("name constraints"), "{err}");
    let direct = store_of(&[&root, &sub]);
    verdict(&direct, &san, &[], Some("jane@example.org")).unwrap();
    let san_outside = user("/CN=San", "subjectAltName = email:jane@example.net\n", &sub);
    outside(
        verdict(&direct, &san_outside, &[], None),
        "jane@example.net",
        false,
    );
}

#[test]
fn other_name_constraints_of_an_anchor_still_reach_webpki() {
    // DNS constraints are webpki's: kept when the e-mail ones are taken out.
    let root = ca(
        "/CN=Dns Root",
        "nameConstraints = critical,permitted;email:example.org,permitted;DNS:example.org\n",
    );
    let store = store_of(&[&root]);
    let host_inside = user("/CN=H", "subjectAltName = DNS:www.example.org\n", &root);
    verdict(&store, &host_inside, &[], None).unwrap();
    let host_outside = user("/CN=H", "subjectAltName = DNS:www.example.net\n", &root);
    let err = verdict(&store, &host_outside, &[], None).unwrap_err();
    assert!(err.to_string().contains("name constraints"), "{err}");
}

// ---------------------------------------------------------------------------
// A key that cannot have made the signature.

/// The legacy signed fixture with its X509Certificate replaced by `cert`.
fn with_certificate(cert: &CertificateDer<'_>) -> String {
    use base64::Engine;
    let text = std::fs::read_to_string(fixtures().join("valid-full-signature.xml")).unwrap();
    let start = text.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = text.find("</X509Certificate>").unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(cert.as_ref());
    format!("{}{b64}{}", &text[..start], &text[end..])
}

fn signature_of(text: &str) -> Result<(), SignatureError> {
    let doc = stratus_core::document::xml::parse(text, "test").unwrap();
    stratus_core::signature::xmldsig::verify::verify_signature(&doc).map(|_| ())
}

#[test]
fn a_key_too_small_for_the_signature_says_so() {
    // The fixture's SignatureValue is 256 bytes (a 2048-bit key).
    let small = issue("/CN=Small", "", None, 1024, 65537).der();
    let err = signature_of(&with_certificate(&small)).unwrap_err();
    assert_eq!(
        err,
        SignatureError::KeyMismatch {
            bits: 1024,
            signature_len: 256
        }
    );
    assert!(
        err.to_string()
            .contains("1024-bit RSA key is too small to hold this 256-byte SignatureValue"),
        "{err}"
    );
    let tiny = issue("/CN=Tiny", "", None, 512, 65537).der();
    let err = signature_of(&with_certificate(&tiny)).unwrap_err();
    assert_eq!(err, SignatureError::KeyTooSmall { bits: 512 });
    // A key of the right size that did not sign: "does not verify".
    let other = issue("/CN=Other", "", None, 2048, 65537).der();
    assert_eq!(
        signature_of(&with_certificate(&other)),
        Err(SignatureError::BadSignatureValue)
    );
    // A SignatureValue shorter than the key's signatures.
    let text = std::fs::read_to_string(fixtures().join("valid-full-signature.xml")).unwrap();
    let start = text.find("<SignatureValue>").unwrap() + "<SignatureValue>".len();
    let end = text.find("</SignatureValue>").unwrap();
    use base64::Engine;
    let engine = base64::engine::general_purpose::STANDARD;
    let value: String = text[start..end].split_whitespace().collect();
    let short = engine.encode(&engine.decode(value).unwrap()[..255]);
    let shortened = format!("{}{short}{}", &text[..start], &text[end..]);
    let err = signature_of(&shortened).unwrap_err();
    assert_eq!(
        err,
        SignatureError::KeyMismatch {
            bits: 2048,
            signature_len: 255
        }
    );
    assert!(
        err.to_string().contains("makes 256-byte signatures"),
        "{err}"
    );
}
