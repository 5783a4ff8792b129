//! Trust checks on the legacy CA material: the certificate in
//! `valid-ca-signed.xml` was issued by `test-ca.pem`, is revoked by
//! `test-crl-revoked.pem`, and expired long ago (metadata.md §4.7).

mod support;
use support::fixtures;

use base64::Engine;
use rustls_pki_types::CertificateDer;
use stratus_core::clock::parse_rfc3339;
use stratus_core::signature::trust::{TrustError, TrustStore};

/// The X509Certificate embedded in a signed fixture.
fn embedded_certificate(name: &str) -> CertificateDer<'static> {
    let text = std::fs::read_to_string(fixtures().join(name)).unwrap();
    let start = text.find("<X509Certificate>").unwrap() + "<X509Certificate>".len();
    let end = text.find("</X509Certificate>").unwrap();
    let b64: String = text[start..end].split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    CertificateDer::from(der)
}

fn store(crl: Option<&str>) -> TrustStore {
    let mut store = TrustStore::default();
    store.add_ca_file(&fixtures().join("test-ca.pem")).unwrap();
    if let Some(crl) = crl {
        store.add_crl_file(&fixtures().join(crl)).unwrap();
    }
    store
}

fn june_2012() -> i64 {
    parse_rfc3339("2012-06-01T00:00:00Z").unwrap()
}

#[test]
fn ca_signed_certificate_is_trusted_in_2012() {
    let leaf = embedded_certificate("valid-ca-signed.xml");
    store(None).verify(&leaf, &[], june_2012()).unwrap();
    store(Some("test-crl-empty.pem"))
        .verify(&leaf, &[], june_2012())
        .unwrap();
}

#[test]
fn revoked_by_the_crl() {
    let leaf = embedded_certificate("valid-ca-signed.xml");
    let err = store(Some("test-crl-revoked.pem"))
        .verify(&leaf, &[], june_2012())
        .unwrap_err();
    assert!(matches!(err, TrustError::Revoked), "{err}");
}

#[test]
fn expired_now_and_not_valid_before_issue() {
    let leaf = embedded_certificate("valid-ca-signed.xml");
    let now = parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
    let err = store(None).verify(&leaf, &[], now).unwrap_err();
    assert!(matches!(err, TrustError::Expired(_)), "{err}");
    let early = parse_rfc3339("2011-01-01T00:00:00Z").unwrap();
    let err = store(None).verify(&leaf, &[], early).unwrap_err();
    assert!(matches!(err, TrustError::NotYetValid(_)), "{err}");
}

#[test]
fn self_signed_signer_is_untrusted_by_another_ca() {
    let jane = embedded_certificate("valid-full-signature.xml");
    let err = store(None)
        .verify(&jane, &[], parse_rfc3339("2011-06-01").unwrap())
        .unwrap_err();
    assert!(matches!(err, TrustError::Untrusted(_)), "{err}");
    assert!(err.to_string().contains("unknown issuer"), "{err}");
}

#[test]
fn igtf_directory_with_hash_names() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("test-ca.pem"),
        dir.path().join("3e2d1c0b.0"),
    )
    .unwrap();
    std::fs::copy(
        fixtures().join("test-crl-revoked.pem"),
        dir.path().join("3e2d1c0b.r0"),
    )
    .unwrap();
    std::fs::write(dir.path().join("3e2d1c0b.info"), "alias = test\n").unwrap();
    let mut store = TrustStore::default();
    store.add_trust_dir(dir.path()).unwrap();
    assert_eq!((store.anchor_count(), store.crl_count()), (1, 1));
    let leaf = embedded_certificate("valid-ca-signed.xml");
    let err = store.verify(&leaf, &[], june_2012()).unwrap_err();
    assert!(matches!(err, TrustError::Revoked), "{err}");
}

#[test]
fn bad_trust_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let err = TrustStore::default().add_ca_file(&junk).unwrap_err();
    assert!(
        err.to_string().starts_with(&junk.display().to_string()),
        "{err}"
    );
    let err = TrustStore::default().add_crl_file(&junk).unwrap_err();
    assert!(err.to_string().contains("not a usable CRL"), "{err}");
    let err = TrustStore::default().add_trust_dir(dir.path()).unwrap_err();
    assert!(err.to_string().contains("junk.pem"), "{err}");
    let empty = tempfile::tempdir().unwrap();
    let err = TrustStore::default()
        .add_trust_dir(empty.path())
        .unwrap_err();
    assert!(err.to_string().contains("no CA certificates"), "{err}");
    let err = TrustStore::default()
        .add_ca_file(&dir.path().join("missing.pem"))
        .unwrap_err();
    assert!(matches!(err, TrustError::Io { .. }), "{err}");
}

#[test]
fn the_newest_crl_of_an_issuer_wins_whatever_the_order() {
    let leaf = embedded_certificate("valid-ca-signed.xml");
    for order in [
        ["test-crl-empty.pem", "test-crl-revoked.pem"],
        ["test-crl-revoked.pem", "test-crl-empty.pem"],
    ] {
        let mut store = store(None);
        for crl in order {
            store.add_crl_file(&fixtures().join(crl)).unwrap();
        }
        assert_eq!(store.crl_count(), 1);
        let err = store.verify(&leaf, &[], june_2012()).unwrap_err();
        assert!(matches!(err, TrustError::Revoked), "{order:?}: {err}");
    }
}
