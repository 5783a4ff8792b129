//! Loading signing credentials from PKCS#12 stores and PEM/DER files, and
//! signing with them, checked against the real `openssl` CLI: every key,
//! certificate and store here is made by openssl at test time (or is a legacy
//! fixture), and every signature is verified by `openssl dgst -verify`.
//!
//! These tests need the `openssl` command and fail (they do not skip) when it
//! is missing.

mod support;
use support::{fixtures, openssl};

use std::path::Path;
use std::process::Command;

use stratus_core::signature::credentials::{
    load_pem, load_pkcs12, needs_password, CredentialError, Credentials, FileRole, KeyKind,
};

const LEGACY_PASSWORD: &str = "XYZXYZ";
const MESSAGE: &[u8] = b"<SignedInfo>stratus credentials test</SignedInfo>";

/// [`openssl`] with whitespace-separated arguments.
fn run(dir: &Path, args: &str) -> Vec<u8> {
    openssl(dir, &args.split_whitespace().collect::<Vec<_>>())
}

/// Runs openssl in `dir` and reports whether it succeeded (for `-verify`).
fn openssl_ok(dir: &Path, args: &[&str]) -> bool {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("the openssl CLI is required by these tests: {e}"))
        .status
        .success()
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

/// An RSA key `name.key` (PKCS#8 PEM) and a self-signed certificate
/// `name.crt` for it.
fn make_rsa(dir: &Path, name: &str, bits: u32) {
    let key = format!("{name}.key");
    let crt = format!("{name}.crt");
    run(dir, &format!("genrsa -out {key} {bits}"));
    let subject = format!("/C=EU/O=Stratus Tests/CN={name}");
    openssl(
        dir,
        &[
            "req", "-x509", "-new", "-key", &key, "-days", "2", "-subj", &subject, "-out", &crt,
        ],
    );
}

/// A CA (`ca.key`, `ca.crt`) and a leaf (`leaf.key`, `leaf.crt`) it signed.
fn make_ca_and_leaf(dir: &Path) {
    make_rsa(dir, "ca", 2048);
    run(dir, "genrsa -out leaf.key 2048");
    let subject = "/C=EU/O=Stratus Tests/CN=Leaf";
    openssl(
        dir,
        &[
            "req", "-new", "-key", "leaf.key", "-subj", subject, "-out", "leaf.csr",
        ],
    );
    run(
        dir,
        "x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -out leaf.crt",
    );
}

/// The DER of the first certificate of a PEM file, through openssl.
fn cert_der(dir: &Path, pem: &str) -> Vec<u8> {
    openssl(dir, &["x509", "-in", pem, "-outform", "DER"])
}

/// Signs with every algorithm and has openssl verify each signature with
/// the public key of the credentials' leaf certificate. RSA-SHA1 must also
/// be byte-identical to openssl's own signature when `key_pem` is given.
fn check_signatures(dir: &Path, creds: &Credentials, key_pem: Option<&str>) {
    std::fs::write(dir.join("leaf.der"), creds.leaf().as_ref()).unwrap();
    let public = run(dir, "x509 -inform DER -in leaf.der -pubkey -noout");
    std::fs::write(dir.join("pub.pem"), public).unwrap();
    std::fs::write(dir.join("msg"), MESSAGE).unwrap();
    let signatures = [
        ("-sha1", creds.key.sign_rsa_sha1(MESSAGE).unwrap()),
        ("-sha256", creds.key.sign_rsa_sha256(MESSAGE).unwrap()),
        ("-sha512", creds.key.sign_rsa_sha512(MESSAGE).unwrap()),
    ];
    for (digest, signature) in &signatures {
        assert_eq!(signature.len(), creds.key.rsa_bits().div_ceil(8));
        std::fs::write(dir.join("sig"), signature).unwrap();
        assert!(
            openssl_ok(
                dir,
                &[
                    "dgst",
                    digest,
                    "-verify",
                    "pub.pem",
                    "-signature",
                    "sig",
                    "msg"
                ]
            ),
            "openssl does not verify the {digest} signature"
        );
        std::fs::write(dir.join("msg.bad"), b"tampered").unwrap();
        assert!(!openssl_ok(
            dir,
            &[
                "dgst",
                digest,
                "-verify",
                "pub.pem",
                "-signature",
                "sig",
                "msg.bad"
            ]
        ));
    }
    if let Some(key_pem) = key_pem {
        let theirs = openssl(dir, &["dgst", "-sha1", "-sign", key_pem, "msg"]);
        assert_eq!(signatures[0].1, theirs, "RSA-SHA1 differs from openssl's");
    }
}

fn assert_wrong_password(
    result: Result<Credentials, CredentialError>,
    path: &Path,
    role: FileRole,
) {
    match result {
        Err(e @ CredentialError::WrongPassword { .. }) => {
            if let CredentialError::WrongPassword { path: p, role: r } = &e {
                assert_eq!(p, path);
                assert_eq!(*r, role);
            }
            let message = e.to_string();
            assert!(message.contains("(wrong password?)"), "{message}");
            assert!(message.contains(&path.display().to_string()), "{message}");
        }
        other => panic!(
            "expected WrongPassword for {}, got {other:?}",
            path.display()
        ),
    }
}

// ---------------------------------------------------------------------------
// PKCS#12

#[test]
fn legacy_fixture_stores_load_and_sign() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (store, subject) in [
        ("test.p12", "Jane Tester"),
        ("test-ca-signed.p12", "Jim Tester"),
    ] {
        let path = fixtures().join(store);
        let creds = load_pkcs12(&path, LEGACY_PASSWORD).unwrap();
        assert_eq!(creds.chain.len(), 1, "{store}");
        assert_eq!(creds.key.kind(), KeyKind::Rsa);
        assert_eq!(creds.key.rsa_bits(), 2048);
        // The same certificate and key as openssl extracts (RC2-40 + 3DES).
        let pass = format!("pass:{LEGACY_PASSWORD}");
        let p = path.to_str().unwrap();
        let certs = run(
            d,
            &format!("pkcs12 -legacy -in {p} -passin {pass} -nokeys -clcerts"),
        );
        std::fs::write(d.join("c.pem"), certs).unwrap();
        assert_eq!(creds.leaf().as_ref(), cert_der(d, "c.pem").as_slice());
        let text = run(d, "x509 -in c.pem -noout -subject");
        assert!(String::from_utf8_lossy(&text).contains(subject));
        run(
            d,
            &format!("pkcs12 -legacy -in {p} -passin {pass} -nocerts -nodes -out k.pem"),
        );
        check_signatures(d, &creds, Some("k.pem"));
    }
}

#[test]
fn legacy_fixture_wrong_password_and_missing_file() {
    let path = fixtures().join("test.p12");
    assert_wrong_password(load_pkcs12(&path, "wrong"), &path, FileRole::Certificate);
    assert_wrong_password(load_pkcs12(&path, ""), &path, FileRole::Certificate);

    let missing = fixtures().join("no-such-store.p12");
    let err = load_pkcs12(&missing, LEGACY_PASSWORD).unwrap_err();
    assert!(matches!(
        err,
        CredentialError::NotFound {
            role: FileRole::Certificate,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        format!("certificate file not found: {}", missing.display())
    );
}

#[test]
fn modern_and_legacy_openssl_stores_with_chain() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca_and_leaf(d);
    // OpenSSL 3 default: PBES2/AES-256-CBC, PBKDF2, HMAC-SHA256 MAC.
    run(d, "pkcs12 -export -inkey leaf.key -in leaf.crt -certfile ca.crt -passout pass:s3cret -out modern.p12");
    // RC2-40 certificates, 3DES key, SHA-1 MAC.
    run(d, "pkcs12 -export -legacy -inkey leaf.key -in leaf.crt -certfile ca.crt -passout pass:s3cret -out legacy.p12");
    let leaf = cert_der(d, "leaf.crt");
    let ca = cert_der(d, "ca.crt");
    for store in ["modern.p12", "legacy.p12"] {
        let path = d.join(store);
        let creds = load_pkcs12(&path, "s3cret").unwrap();
        assert_eq!(creds.chain.len(), 2, "{store}");
        assert_eq!(
            creds.chain[0].as_ref(),
            leaf.as_slice(),
            "{store}: leaf first"
        );
        assert_eq!(
            creds.chain[1].as_ref(),
            ca.as_slice(),
            "{store}: then the CA"
        );
        check_signatures(d, &creds, Some("leaf.key"));
        assert_wrong_password(load_pkcs12(&path, "s3creT"), &path, FileRole::Certificate);
    }
}

#[test]
fn pkcs12_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_rsa(d, "a", 2048);
    // A PEM file given as a store.
    let err = load_pkcs12(&d.join("a.crt"), "x").unwrap_err();
    assert!(matches!(err, CredentialError::BadPkcs12 { .. }), "{err:?}");
    assert!(err.to_string().contains("PEM"), "{err}");
    // A store with certificates only.
    run(
        d,
        "pkcs12 -export -nokeys -in a.crt -passout pass:pw -out certs.p12",
    );
    let err = load_pkcs12(&d.join("certs.p12"), "pw").unwrap_err();
    assert!(
        matches!(err, CredentialError::NoPrivateKey { .. }),
        "{err:?}"
    );
    // An EC key.
    run(
        d,
        "genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.key",
    );
    run(
        d,
        "req -x509 -new -key ec.key -days 2 -subj /CN=EC -out ec.crt",
    );
    run(
        d,
        "pkcs12 -export -inkey ec.key -in ec.crt -passout pass:pw -out ec.p12",
    );
    let err = load_pkcs12(&d.join("ec.p12"), "pw").unwrap_err();
    assert!(
        matches!(&err, CredentialError::UnsupportedKey { what, .. } if what.contains("EC")),
        "{err:?}"
    );
    assert!(err.to_string().contains("only RSA keys"), "{err}");
}

// ---------------------------------------------------------------------------
// PEM and DER files

/// Every key form openssl writes, with the password it needs.
fn key_forms(d: &Path) -> Vec<(&'static str, Option<&'static str>, &'static str)> {
    run(d, "rsa -in a.key -traditional -out pkcs1.pem");
    run(
        d,
        "pkcs8 -topk8 -nocrypt -in a.key -outform DER -out pkcs8.der",
    );
    run(d, "rsa -in a.key -traditional -outform DER -out pkcs1.der");
    run(
        d,
        "pkcs8 -topk8 -v2 aes-256-cbc -in a.key -passout pass:pw -out p8-aes256.pem",
    );
    run(d, "pkcs8 -topk8 -v2 aes-128-cbc -v2prf hmacWithSHA256 -in a.key -passout pass:pw -out p8-aes128.pem");
    run(d, "pkcs8 -topk8 -v2 des3 -v2prf hmacWithSHA1 -in a.key -passout pass:pw -out p8-des3-sha1.pem");
    run(
        d,
        "pkcs8 -topk8 -v2 aes-256-cbc -in a.key -passout pass:pw -outform DER -out p8-aes256.der",
    );
    for (cipher, out) in [
        ("-des3", "legacy-des3.pem"),
        ("-aes128", "legacy-aes128.pem"),
        ("-aes192", "legacy-aes192.pem"),
        ("-aes256", "legacy-aes256.pem"),
    ] {
        run(
            d,
            &format!("rsa -in a.key -traditional {cipher} -passout pass:pw -out {out}"),
        );
    }
    // Single DES lives in OpenSSL 3's legacy provider.
    run(d, "rsa -in a.key -traditional -des -passout pass:pw -provider legacy -provider default -out legacy-des.pem");
    // The older PKCS#8 encryptions (OpenSSL 1.0's -topk8 default, and -v1).
    for (scheme, out) in [
        ("PBE-SHA1-3DES", "p8-pbe-sha1-3des.pem"),
        ("PBE-SHA1-2DES", "p8-pbe-sha1-2des.pem"),
        ("PBE-SHA1-RC2-128", "p8-pbe-sha1-rc2-128.pem"),
        ("PBE-SHA1-RC2-40", "p8-pbe-sha1-rc2-40.pem"),
        ("PBE-MD5-DES", "p8-pbes1-md5-des.pem"),
        ("PBE-SHA1-DES", "p8-pbes1-sha1-des.pem"),
    ] {
        run(
            d,
            &format!("pkcs8 -topk8 -v1 {scheme} -in a.key -passout pass:pw -provider legacy -provider default -out {out}"),
        );
    }
    for (file, dek) in [
        ("legacy-des3.pem", "DES-EDE3-CBC,"),
        ("legacy-aes128.pem", "AES-128-CBC,"),
        ("legacy-aes192.pem", "AES-192-CBC,"),
        ("legacy-aes256.pem", "AES-256-CBC,"),
        ("legacy-des.pem", "DES-CBC,"),
    ] {
        let text = read(d, file);
        assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{file}: {text}");
        assert!(text.contains(&format!("DEK-Info: {dek}")), "{file}: {text}");
    }
    assert!(read(d, "a.key").starts_with("-----BEGIN PRIVATE KEY-----"));
    assert!(read(d, "pkcs1.pem").starts_with("-----BEGIN RSA PRIVATE KEY-----"));
    assert!(read(d, "p8-aes256.pem").starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    vec![
        ("a.key", None, "PKCS#8"),
        ("pkcs1.pem", None, "PKCS#1"),
        ("pkcs8.der", None, "PKCS#8 DER"),
        ("pkcs1.der", None, "PKCS#1 DER"),
        (
            "p8-aes256.pem",
            Some("pw"),
            "PKCS#8 PBES2 AES-256 HMAC-SHA256",
        ),
        (
            "p8-aes128.pem",
            Some("pw"),
            "PKCS#8 PBES2 AES-128 HMAC-SHA256",
        ),
        (
            "p8-des3-sha1.pem",
            Some("pw"),
            "PKCS#8 PBES2 3DES HMAC-SHA1",
        ),
        ("p8-aes256.der", Some("pw"), "PKCS#8 PBES2 DER"),
        ("legacy-des3.pem", Some("pw"), "Proc-Type DES-EDE3-CBC"),
        ("legacy-aes128.pem", Some("pw"), "Proc-Type AES-128-CBC"),
        ("legacy-aes192.pem", Some("pw"), "Proc-Type AES-192-CBC"),
        ("legacy-aes256.pem", Some("pw"), "Proc-Type AES-256-CBC"),
        ("legacy-des.pem", Some("pw"), "Proc-Type DES-CBC"),
        (
            "p8-pbe-sha1-3des.pem",
            Some("pw"),
            "PKCS#8 PKCS#12-PBE 3-key 3DES",
        ),
        (
            "p8-pbe-sha1-2des.pem",
            Some("pw"),
            "PKCS#8 PKCS#12-PBE 2-key 3DES",
        ),
        (
            "p8-pbe-sha1-rc2-128.pem",
            Some("pw"),
            "PKCS#8 PKCS#12-PBE RC2-128",
        ),
        (
            "p8-pbe-sha1-rc2-40.pem",
            Some("pw"),
            "PKCS#8 PKCS#12-PBE RC2-40",
        ),
        ("p8-pbes1-md5-des.pem", Some("pw"), "PKCS#8 PBES1 MD5 DES"),
        (
            "p8-pbes1-sha1-des.pem",
            Some("pw"),
            "PKCS#8 PBES1 SHA-1 DES",
        ),
    ]
}

#[test]
fn every_key_form_loads_signs_and_refuses_wrong_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_rsa(d, "a", 2048);
    let cert = d.join("a.crt");
    let leaf = cert_der(d, "a.crt");
    for (file, password, form) in key_forms(d) {
        let key = d.join(file);
        assert_eq!(needs_password(&key), password.is_some(), "{form}");
        let creds = load_pem(&cert, &key, password).unwrap_or_else(|e| panic!("{form}: {e}"));
        assert_eq!(creds.chain.len(), 1);
        assert_eq!(creds.leaf().as_ref(), leaf.as_slice());
        assert_eq!(creds.key.rsa_bits(), 2048);
        check_signatures(d, &creds, Some("a.key"));
        if password.is_some() {
            for wrong in ["pW", "", "a much longer wrong password than the right one"] {
                assert_wrong_password(
                    load_pem(&cert, &key, Some(wrong)),
                    &key,
                    FileRole::PrivateKey,
                );
            }
            let err = load_pem(&cert, &key, None).unwrap_err();
            assert!(
                matches!(err, CredentialError::PasswordRequired { .. }),
                "{form}: {err:?}"
            );
        } else {
            // A password given for an unencrypted key is ignored.
            load_pem(&cert, &key, Some("unused")).unwrap();
        }
    }
}

#[test]
fn many_wrong_passwords_never_load_a_legacy_key() {
    // A wrong password passes the PKCS#7 padding check about once in 256
    // tries; the DER check behind it must still refuse it.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_rsa(d, "a", 2048);
    run(
        d,
        "rsa -in a.key -traditional -des3 -passout pass:pw -out k.pem",
    );
    let (cert, key) = (d.join("a.crt"), d.join("k.pem"));
    for i in 0..1500 {
        let wrong = format!("wrong{i}");
        assert_wrong_password(
            load_pem(&cert, &key, Some(&wrong)),
            &key,
            FileRole::PrivateKey,
        );
    }
}

#[test]
fn chain_files_and_combined_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_ca_and_leaf(d);
    let chain_pem = read(d, "leaf.crt") + &read(d, "ca.crt");
    std::fs::write(d.join("chain.pem"), &chain_pem).unwrap();
    let creds = load_pem(&d.join("chain.pem"), &d.join("leaf.key"), None).unwrap();
    assert_eq!(creds.chain.len(), 2);
    assert_eq!(creds.chain[0].as_ref(), cert_der(d, "leaf.crt").as_slice());
    assert_eq!(creds.chain[1].as_ref(), cert_der(d, "ca.crt").as_slice());

    // One file with an encrypted legacy key, then the chain (as proxies and
    // some grid tools write them), used as both certificate and key.
    run(
        d,
        "rsa -in leaf.key -traditional -aes256 -passout pass:pw -out enc.pem",
    );
    let combined = d.join("combined.pem");
    std::fs::write(&combined, read(d, "enc.pem") + &chain_pem).unwrap();
    assert!(needs_password(&combined));
    let creds = load_pem(&combined, &combined, Some("pw")).unwrap();
    assert_eq!(creds.chain.len(), 2);
    check_signatures(d, &creds, Some("leaf.key"));

    // The CA first is not the leaf: the key does not match it.
    std::fs::write(
        d.join("reversed.pem"),
        read(d, "ca.crt") + &read(d, "leaf.crt"),
    )
    .unwrap();
    let err = load_pem(&d.join("reversed.pem"), &d.join("leaf.key"), None).unwrap_err();
    assert!(
        matches!(err, CredentialError::KeyMismatch { .. }),
        "{err:?}"
    );
}

#[test]
fn pem_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_rsa(d, "a", 2048);
    make_rsa(d, "b", 2048);
    let (a_crt, b_key) = (d.join("a.crt"), d.join("b.key"));

    let err = load_pem(&a_crt, &b_key, None).unwrap_err();
    assert!(
        matches!(err, CredentialError::KeyMismatch { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains(&a_crt.display().to_string()), "{message}");
    assert!(message.contains(&b_key.display().to_string()), "{message}");

    let missing = d.join("missing.pem");
    let err = load_pem(&missing, &b_key, None).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("certificate file not found: {}", missing.display())
    );
    let err = load_pem(&a_crt, &missing, None).unwrap_err();
    assert!(matches!(
        err,
        CredentialError::NotFound {
            role: FileRole::PrivateKey,
            ..
        }
    ));
    assert!(!needs_password(&missing));

    // Not a credential file at all.
    std::fs::write(d.join("big.img"), vec![0u8; 2 * 1024 * 1024]).unwrap();
    let err = load_pem(&d.join("big.img"), &b_key, None).unwrap_err();
    assert!(matches!(err, CredentialError::TooLarge { .. }), "{err:?}");
    let err = load_pkcs12(&d.join("big.img"), "pw").unwrap_err();
    assert!(matches!(err, CredentialError::TooLarge { .. }), "{err:?}");

    // A key file with no key, a certificate file with no certificate.
    let err = load_pem(&a_crt, &a_crt, None).unwrap_err();
    assert!(
        matches!(err, CredentialError::NoPrivateKey { .. }),
        "{err:?}"
    );
    let err = load_pem(&d.join("a.key"), &d.join("a.key"), None).unwrap_err();
    assert!(
        matches!(err, CredentialError::NoCertificate { .. }),
        "{err:?}"
    );
    std::fs::write(
        d.join("garbage.pem"),
        "-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let err = load_pem(&d.join("garbage.pem"), &d.join("a.key"), None).unwrap_err();
    assert!(matches!(err, CredentialError::BadPem { .. }), "{err:?}");

    // EC keys, traditional and PKCS#8.
    run(
        d,
        "ecparam -name prime256v1 -genkey -noout -out ec-trad.pem",
    );
    run(d, "pkcs8 -topk8 -nocrypt -in ec-trad.pem -out ec-p8.pem");
    for file in ["ec-trad.pem", "ec-p8.pem"] {
        let err = load_pem(&a_crt, &d.join(file), None).unwrap_err();
        assert!(
            matches!(&err, CredentialError::UnsupportedKey { what, .. } if what.contains("EC")),
            "{file}: {err:?}"
        );
    }
    // DSA key.
    run(
        d,
        "genpkey -genparam -algorithm DSA -pkeyopt dsa_paramgen_bits:1024 -out dsa.param",
    );
    run(d, "genpkey -paramfile dsa.param -out dsa.pem");
    let err = load_pem(&a_crt, &d.join("dsa.pem"), None).unwrap_err();
    assert!(
        matches!(&err, CredentialError::UnsupportedKey { what, .. } if what.contains("DSA")),
        "{err:?}"
    );

    // PKCS#8 PBES2 with a cipher the pkcs8 crate lacks (Camellia).
    run(
        d,
        "pkcs8 -topk8 -v2 camellia-256-cbc -in a.key -passout pass:pw -out camellia.pem",
    );
    assert!(needs_password(&d.join("camellia.pem")));
    let err = load_pem(&a_crt, &d.join("camellia.pem"), Some("pw")).unwrap_err();
    assert!(
        matches!(err, CredentialError::UnsupportedEncryption { .. }),
        "{err:?}"
    );
}

#[test]
fn key_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // 1024 bits: legacy grid keys. RSA-SHA1 works; ring refuses the others.
    make_rsa(d, "small", 1024);
    let creds = load_pem(&d.join("small.crt"), &d.join("small.key"), None).unwrap();
    assert_eq!(creds.key.rsa_bits(), 1024);
    for result in [
        creds.key.sign_rsa_sha256(MESSAGE),
        creds.key.sign_rsa_sha512(MESSAGE),
    ] {
        match result {
            Err(
                e @ CredentialError::KeyTooSmall {
                    bits: 1024,
                    min: 2048,
                    ..
                },
            ) => {
                assert!(e.to_string().contains("1024-bit"), "{e}")
            }
            other => panic!("expected KeyTooSmall, got {other:?}"),
        }
    }
    let signature = creds.key.sign_rsa_sha1(MESSAGE).unwrap();
    std::fs::write(d.join("msg"), MESSAGE).unwrap();
    std::fs::write(d.join("sig"), &signature).unwrap();
    let public = run(d, "x509 -in small.crt -pubkey -noout");
    std::fs::write(d.join("small.pub"), public).unwrap();
    assert!(openssl_ok(
        d,
        &[
            "dgst",
            "-sha1",
            "-verify",
            "small.pub",
            "-signature",
            "sig",
            "msg"
        ]
    ));

    // 3072 bits (ring) and 2056 bits (primes not a multiple of 512 bits:
    // ring refuses it, the rsa crate signs).
    for (name, bits, ring_takes_it) in [("k3072", 3072, true), ("k2056", 2056, false)] {
        make_rsa(d, name, bits);
        let key = format!("{name}.key");
        let creds = load_pem(&d.join(format!("{name}.crt")), &d.join(&key), None).unwrap();
        assert_eq!(creds.key.rsa_bits(), bits as usize);
        let ring = ring::signature::RsaKeyPair::from_pkcs8(creds.key.pkcs8_der());
        assert_eq!(ring.is_ok(), ring_takes_it, "{name}: {ring:?}");
        check_signatures(d, &creds, Some(&key));
    }
}

// ---------------------------------------------------------------------------
// Key derivations whose parameters ask for too much work.

#[path = "../../../fuzz/common/hostile.rs"]
mod hostile;
use hostile::{der, integer, Kdf};

/// One DER element of `data`: (tag, header length, total length).
fn element(data: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *data.first()?;
    let first = usize::from(*data.get(1)?);
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let count = first & 0x7f;
        let bytes = data.get(2..2 + count)?;
        (
            bytes.iter().fold(0, |n, b| (n << 8) | usize::from(*b)),
            2 + count,
        )
    };
    (header + len <= data.len()).then_some((tag, header, header + len))
}

/// `data` (a sequence of DER elements) with every INTEGER equal to `from`
/// replaced by `to`, looking into constructed elements and into OCTET
/// STRINGs that hold DER; lengths are encoded again. `None` if `data` is
/// not wholly DER.
fn replace_integers(data: &[u8], from: u64, to: u64) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let (tag, header, total) = element(rest)?;
        let content = &rest[header..total];
        let rewritten = if tag == 0x02 && content == &integer(from)[2..] {
            integer(to)
        } else if tag & 0x20 != 0 || tag == 0x04 {
            match replace_integers(content, from, to) {
                Some(inner) => der(tag, &inner),
                None if tag == 0x04 => rest[..total].to_vec(),
                None => return None,
            }
        } else {
            rest[..total].to_vec()
        };
        out.extend(rewritten);
        rest = &rest[total..];
    }
    Some(out)
}

/// Runs `load` on another thread: its result, or `None` after a minute.
fn within_a_minute<T: Send + 'static>(load: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(load());
    });
    receive
        .recv_timeout(std::time::Duration::from_secs(60))
        .ok()
}

/// The pkcs8 crate runs PBKDF2 with any count a key file gives (2^31
/// iterations: hours) and scrypt with any parameters (N = 2^40 asks for a
/// petabyte, and the failed allocation aborts the process): both are
/// refused before any derivation runs, naming the file and the bound.
#[test]
fn encrypted_keys_with_costly_derivations_are_refused_before_deriving() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_rsa(d, "k", 2048);
    run(
        d,
        "pkcs8 -topk8 -v2 aes-256-cbc -iter 1000 -in k.key -passout pass:pw -outform DER -out pbkdf2.der",
    );
    run(
        d,
        "pkcs8 -topk8 -scrypt -scrypt_N 16384 -scrypt_r 8 -scrypt_p 1 -in k.key -passout pass:pw -outform DER -out scrypt.der",
    );
    let pbkdf2 = std::fs::read(d.join("pbkdf2.der")).unwrap();
    let scrypt = std::fs::read(d.join("scrypt.der")).unwrap();
    // The unchanged files load.
    for file in ["pbkdf2.der", "scrypt.der"] {
        load_pem(&d.join("k.crt"), &d.join(file), Some("pw")).unwrap();
    }
    let cases = [
        (
            "iterations.pem",
            replace_integers(&pbkdf2, 1000, 1 << 31),
            "iterations",
        ),
        (
            "scrypt-n.pem",
            replace_integers(&scrypt, 16384, 1 << 40),
            "scrypt",
        ),
        (
            "scrypt-p.pem",
            replace_integers(&scrypt, 1, 65535),
            "scrypt",
        ),
    ];
    for (name, der, what) in cases {
        let path = d.join(name);
        std::fs::write(&path, hostile::pem("ENCRYPTED PRIVATE KEY", &der.unwrap())).unwrap();
        let crt = d.join("k.crt");
        let outcome = within_a_minute(move || load_pem(&crt, &path, Some("pw")))
            .unwrap_or_else(|| panic!("{name}: still deriving after a minute"));
        let err = outcome.unwrap_err();
        assert!(
            matches!(err, CredentialError::TooCostly { .. }),
            "{name}: {err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(name) && message.contains(what),
            "{message}"
        );
    }
}

/// p12-keystore bounds each key derivation of a store (10^6 iterations)
/// but not how many a store holds, and tries every secret bag whatever the
/// password: a store without a MAC holding a hundred secret bags of 10^6
/// iterations each took its reader 10^8 iterations, for anyone. The
/// derivations a store can ask for before the password is known to be
/// right are counted first, together.
#[test]
fn a_store_of_many_costly_bags_is_refused_before_deriving() {
    let store = |bags, iterations| hostile::store_of_secret_bags(bags, Kdf::Pbkdf2(iterations));
    let dir = tempfile::tempdir().unwrap();
    // Two bags of 1,000 iterations: read (and found to hold no key).
    let small = dir.path().join("small.p12");
    std::fs::write(&small, store(2, 1000)).unwrap();
    let err = load_pkcs12(&small, "pw").unwrap_err();
    assert!(!matches!(err, CredentialError::TooCostly { .. }), "{err:?}");

    let costly = dir.path().join("costly.p12");
    std::fs::write(&costly, store(100, 1_000_000)).unwrap();
    let path = costly.clone();
    let err = within_a_minute(move || load_pkcs12(&path, "any password"))
        .expect("still deriving after a minute")
        .unwrap_err();
    assert!(matches!(err, CredentialError::TooCostly { .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains("costly.p12"), "{message}");
    assert!(message.contains("10000000"), "{message}");
}
