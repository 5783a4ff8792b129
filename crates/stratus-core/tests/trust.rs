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

/// A trust directory with `3e2d1c0b.0`, the test CA.
fn ca_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        fixtures().join("test-ca.pem"),
        dir.path().join("3e2d1c0b.0"),
    )
    .unwrap();
    dir
}

/// `add_trust_dir` on another thread: its result, or `None` if it has not
/// returned within a minute (it is blocked).
fn load_dir_within_a_minute(dir: &std::path::Path) -> Option<Result<TrustStore, String>> {
    let (send, receive) = std::sync::mpsc::channel();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let mut store = TrustStore::default();
        let result = store.add_trust_dir(&dir).map(|()| store);
        let _ = send.send(result.map_err(|e| e.to_string()));
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(60))
        .ok()
}

/// Opening a FIFO for reading waits for a writer: a trust directory entry
/// that is one must be refused, naming it, not wait forever.
#[test]
fn a_fifo_in_a_trust_directory_is_refused_not_waited_for() {
    let dir = ca_dir();
    let fifo = dir.path().join("3e2d1c0b.r0");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let outcome = load_dir_within_a_minute(dir.path());
    if outcome.is_none() {
        // Let the blocked reader go before failing.
        let _ = std::fs::write(&fifo, b"");
        panic!("loading the trust directory blocked on the FIFO");
    }
    let error = outcome.unwrap().expect_err("a FIFO entry is refused");
    assert!(error.contains("3e2d1c0b.r0"), "{error}");
    assert!(error.contains("a FIFO, not a regular file"), "{error}");
}

/// Devices and directories with a trust file's name are refused too (a
/// device may never end), even through a symbolic link; links to regular
/// files are followed, as IGTF bundles use them.
#[test]
fn trust_directory_entries_must_be_regular_files() {
    let dir = ca_dir();
    std::os::unix::fs::symlink("/dev/null", dir.path().join("3e2d1c0b.r0")).unwrap();
    let error = load_dir_within_a_minute(dir.path())
        .expect("not blocked")
        .expect_err("a device is refused");
    assert!(
        error.contains("3e2d1c0b.r0: a device, not a regular file"),
        "{error}"
    );

    let dir = ca_dir();
    std::fs::create_dir(dir.path().join("old.pem")).unwrap();
    let error = load_dir_within_a_minute(dir.path())
        .expect("not blocked")
        .expect_err("a directory is refused");
    assert!(
        error.contains("old.pem: a directory, not a regular file"),
        "{error}"
    );

    let dir = ca_dir();
    std::os::unix::fs::symlink("3e2d1c0b.0", dir.path().join("test-ca.pem")).unwrap();
    let store = load_dir_within_a_minute(dir.path())
        .expect("not blocked")
        .unwrap();
    assert_eq!(store.anchor_count(), 2);
}

/// The CA certificate beside a policy file is read with the same limit as
/// every trust file (it was read whole, so a link to a device filled
/// memory).
#[test]
fn the_certificate_beside_a_policy_file_is_read_with_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let big = std::fs::File::create(dir.path().join("demo.pem")).unwrap();
    big.set_len(stratus_core::signature::trust::MAX_TRUST_FILE_BYTES + 1)
        .unwrap();
    std::fs::write(
        dir.path().join("demo.namespaces"),
        "TO Issuer SELF PERMIT Subject \"/C=XX/.*\"\n",
    )
    .unwrap();
    let error = load_dir_within_a_minute(dir.path())
        .expect("not blocked")
        .expect_err("an oversized certificate is refused");
    let limit = stratus_core::signature::trust::MAX_TRUST_FILE_BYTES;
    assert!(
        error.contains(&format!("demo.pem: larger than the limit of {limit} bytes")),
        "{error}"
    );
}

/// The test CA's CRL with its issuer name replaced by `/CN=CA <n>`: not a
/// valid signature, but CRLs are parsed when loaded and checked only when
/// used.
fn crl_of_another_issuer(crl: &[u8], n: usize) -> Vec<u8> {
    fn tlv(der: &[u8]) -> (usize, usize) {
        let (len, header) = match der[1] {
            short if short < 0x80 => (usize::from(short), 2),
            long => {
                let count = usize::from(long & 0x7f);
                let len = der[2..2 + count]
                    .iter()
                    .fold(0, |n, b| (n << 8) | usize::from(*b));
                (len, 2 + count)
            }
        };
        (header, header + len)
    }
    fn encode(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match content.len() {
            len if len < 0x80 => out.push(len as u8),
            len if len < 0x100 => out.extend([0x81, len as u8]),
            len => out.extend([0x82, (len >> 8) as u8, len as u8]),
        }
        out.extend_from_slice(content);
        out
    }
    let (header, _) = tlv(crl);
    let (tbs_header, tbs_end) = tlv(&crl[header..]);
    let tbs = &crl[header + tbs_header..header + tbs_end];
    let after_tbs = &crl[header + tbs_end..];
    // version, signature, issuer, then the rest.
    let (_, version_end) = tlv(tbs);
    let (_, signature_len) = tlv(&tbs[version_end..]);
    let issuer_at = version_end + signature_len;
    let (_, issuer_len) = tlv(&tbs[issuer_at..]);
    let cn = format!("CA {n}");
    let oid = [0x06, 0x03, 0x55, 0x04, 0x03];
    let ava = encode(0x30, &[&oid[..], &encode(0x0c, cn.as_bytes())].concat());
    let issuer = encode(0x30, &encode(0x31, &ava));
    let tbs = [&tbs[..issuer_at], &issuer, &tbs[issuer_at + issuer_len..]].concat();
    encode(0x30, &[encode(0x30, &tbs), after_tbs.to_vec()].concat())
}

/// Many CRLs in one file: one is kept per issuer, found by its issuer
/// (an index, where each new CRL was compared with every one before it).
#[test]
fn many_crls_in_one_file_are_indexed_by_issuer() {
    use base64::engine::general_purpose::STANDARD;
    let pem = std::fs::read_to_string(fixtures().join("test-crl-empty.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let crl = STANDARD.decode(b64).unwrap();
    let count = 20_000;
    let mut text = String::new();
    for n in 0..count {
        let der = crl_of_another_issuer(&crl, n % (count / 2));
        text.push_str("-----BEGIN X509 CRL-----\n");
        text.push_str(&STANDARD.encode(der));
        text.push_str("\n-----END X509 CRL-----\n");
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("many.pem");
    std::fs::write(&path, text).unwrap();
    let mut store = store(None);
    store.add_crl_file(&path).unwrap();
    assert_eq!(store.crl_count(), count / 2);
    // The CA's own CRL is still found among them.
    store
        .add_crl_file(&fixtures().join("test-crl-revoked.pem"))
        .unwrap();
    let leaf = embedded_certificate("valid-ca-signed.xml");
    let err = store.verify(&leaf, &[], june_2012()).unwrap_err();
    assert!(matches!(err, TrustError::Revoked), "{err}");
}
