//! The endorser whitelist (marketplace.md §6.3, EndorserWhitelistTest of
//! §7.3) with `validate.email=true`: an upload whose signer chains to the
//! whitelist's trust store, is valid now, is not revoked and is listed is
//! committed at once (201); any other awaits confirmation (202). With a CA
//! made here (trust store as a PEM bundle, a hashed directory and a
//! PKCS#12 store) and with the legacy test CA, "now" fixed inside its
//! certificates' validity. A Java KeyStore is a clear start-up error.

mod common;
mod market;
mod sigkit;
mod smtp;

use market::*;
use sigkit::*;
use std::path::Path;

const SUBJECT: &str = "/C=EU/O=StratusLab Project/OU=Testing Department/CN=Jim Tester";
const DN: &str = "CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU";

struct Setup {
    lab: Lab,
    ca: MiniCa,
    signed: Vec<u8>,
    leaf: Vec<u8>,
}

fn setup() -> Setup {
    let lab = Lab::new();
    let ca = MiniCa::new("/C=EU/O=Whitelist Test/CN=Whitelist Test CA");
    let key = new_rsa_key(2048);
    let leaf = ca.issue(
        &key,
        SUBJECT,
        &user_extensions(Some("email:jim@example.org")),
        START,
        END,
    );
    let pem = Pem {
        key,
        cert: leaf.clone(),
    };
    let (key_path, cert_path) = pem.write(&lab, "jim");
    let draft = build_in(
        &lab,
        &[
            "--format",
            "raw",
            "--os",
            "ubuntu",
            arg(&lab.write("disk.img", common::sample_image(4096, 5))),
        ],
    );
    let signed = lab.sign_ok(
        &["--pem-cert", arg(&cert_path), "--pem-key", arg(&key_path)],
        &draft,
    );
    Setup {
        lab,
        ca,
        signed,
        leaf,
    }
}

/// A server confirming by mail (to a port nothing listens on: the mail is
/// not the point here) with the whitelist `lines`.
fn server(
    lab: &Lab,
    truststore: &Path,
    crl: Option<&Path>,
    lines: &str,
    extra: &str,
    now: &str,
) -> Server {
    let list = lab.write(&format!("whitelist-{}", lines.len()), lines);
    let mut config = format!(
        "validate.email=true\nmail.host=127.0.0.1\nmail.port={}\nadmin.email=admin@example.org\nmail.timeout=2\n\
         whitelist.enabled=true\nwhitelist.location={}\nwhitelist.truststore={}\n{extra}",
        smtp::free_port(),
        list.display(),
        truststore.display()
    );
    if let Some(crl) = crl {
        config.push_str(&format!("whitelist.crl={}\n", crl.display()));
    }
    Server::options().config(&config).now(now).start()
}

const NOW: &str = "2026-01-15T10:20:30Z";

#[test]
fn a_listed_signer_of_the_trusted_ca_is_committed_at_once() {
    let s = setup();
    let ca = s.lab.write("ca.pem", &s.ca.cert);
    let crl = s.lab.write("crl.pem", s.ca.crl(true));
    let server = server(
        &s.lab,
        &ca,
        Some(&crl),
        &format!("# trusted services\n{DN}\n"),
        "",
        NOW,
    );
    let reply = server.post(&s.signed);
    assert_eq!(reply.status, 201, "{}\n{}", reply.text(), server.log());
}

#[test]
fn a_signer_of_another_ca_is_not_whitelisted() {
    let s = setup();
    let ca = s.lab.write("ca.pem", &s.ca.cert);
    let server = server(
        &s.lab,
        &ca,
        None,
        &format!("{DN}\nCN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU\n"),
        "",
        NOW,
    );
    // Jane's certificate is not from this CA.
    assert_eq!(server.post(&indate()).status, 202);
    assert!(server.log().contains("not whitelisted"), "{}", server.log());
}

#[test]
fn a_revoked_signer_is_not_whitelisted() {
    let s = setup();
    s.ca.revoke(&s.leaf);
    let ca = s.lab.write("ca.pem", &s.ca.cert);
    let crl = s.lab.write("crl.pem", s.ca.crl(true));
    let server = server(&s.lab, &ca, Some(&crl), &format!("{DN}\n"), "", NOW);
    assert_eq!(server.post(&s.signed).status, 202);
    assert!(server.log().contains("revoked"), "{}", server.log());
}

#[test]
fn an_unlisted_signer_is_not_whitelisted() {
    let s = setup();
    let ca = s.lab.write("ca.pem", &s.ca.cert);
    let server = server(
        &s.lab,
        &ca,
        None,
        "CN=Someone Else,O=StratusLab Project,C=EU\n",
        "",
        NOW,
    );
    assert_eq!(server.post(&s.signed).status, 202);
    assert!(
        server.log().contains("is not in the whitelist"),
        "{}",
        server.log()
    );
}

#[test]
fn the_trust_store_may_be_a_hashed_directory_or_a_pkcs12_store() {
    let s = setup();
    // An OpenSSL-hashed directory with the CRL beside its CA.
    let dir = s.lab.path("certificates");
    std::fs::create_dir_all(&dir).unwrap();
    let ca = s.lab.write("ca.pem", &s.ca.cert);
    let hash = subject_hash(&ca);
    std::fs::write(dir.join(format!("{hash}.0")), &s.ca.cert).unwrap();
    std::fs::write(dir.join(format!("{hash}.r0")), s.ca.crl(true)).unwrap();
    let server1 = server(&s.lab, &dir, None, &format!("{DN}\n"), "", NOW);
    assert_eq!(server1.post(&s.signed).status, 201, "{}", server1.log());
    // A PKCS#12 trust store (certificates only) with its password.
    let p12 = s.lab.path("truststore.p12");
    openssl(
        &[
            "pkcs12",
            "-export",
            "-nokeys",
            "-in",
            arg(&ca),
            "-passout",
            "pass:XYZXYZ",
            "-out",
            arg(&p12),
        ],
        s.lab.home().as_path(),
    );
    let server2 = server(
        &s.lab,
        &p12,
        None,
        &format!("{DN}\n"),
        "whitelist.password=XYZXYZ\n",
        NOW,
    );
    assert_eq!(server2.post(&s.signed).status, 201, "{}", server2.log());
}

#[test]
fn a_java_keystore_is_a_clear_start_up_error() {
    let lab = Lab::new();
    let jks = lab.write("truststore.jks", b"\xFE\xED\xFE\xED\x00\x00\x00\x02");
    let list = lab.write("whitelist", format!("{DN}\n"));
    let config = lab.write(
        "marketplace.cfg",
        format!(
            "validate.email=true\nmail.host=localhost\nmail.port=25\nadmin.email=a@example.org\n\
             whitelist.enabled=true\nwhitelist.location={}\nwhitelist.truststore={}\n",
            list.display(),
            jks.display()
        ),
    );
    let output = market(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--config",
        arg(&config),
        "--data",
        arg(&lab.path("data")),
    ]);
    assert_eq!(common::code(&output), 255);
    let stderr = common::stderr(&output);
    assert!(
        stderr.contains("Java KeyStore (JKS) cannot be read")
            && stderr.contains("keytool -importkeystore"),
        "{stderr}"
    );
}

/// The legacy test CA, with "now" inside its certificates' validity
/// (2012-02-01 to 2013-01-31; CRLs of 2012-03-05).
#[test]
fn the_legacy_test_ca_verified_revoked_and_listed() {
    let legacy = stratus_bin_tests::fixtures();
    let ca = legacy.join("test-ca.pem");
    let document = std::fs::read(legacy.join("valid-ca-signed.xml")).unwrap();
    let lab = Lab::new();
    let now = "2012-03-10T00:00:00Z";
    // Verified, listed, CRL empty: committed at once.
    let empty = legacy.join("test-crl-empty.pem");
    let server1 = server(&lab, &ca, Some(&empty), &format!("{DN}\n"), "", now);
    assert_eq!(server1.post(&document).status, 201, "{}", server1.log());
    // The revoking CRL: not whitelisted.
    let revoked = legacy.join("test-crl-revoked.pem");
    let server2 = server(&lab, &ca, Some(&revoked), &format!("{DN}\n"), "", now);
    assert_eq!(server2.post(&document).status, 202, "{}", server2.log());
    // Not listed (the empty legacy whitelist): not whitelisted.
    let server3 = server(&lab, &ca, Some(&empty), "\n", "", now);
    assert_eq!(server3.post(&document).status, 202);
    // Not from that CA (Jane's in-date document, endorsed again before
    // "now": an endorsement more than a day ahead is refused): not
    // whitelisted.
    let janes = variant("valid-indate-signature.xml", &[], "2012-03-09T00:00:00Z");
    let server4 = server(&lab, &ca, Some(&empty), &format!("{DN}\n"), "", now);
    assert_eq!(server4.post(&janes).status, 202, "{}", server4.log());
    // After the certificate expired: not whitelisted.
    let server5 = server(
        &lab,
        &ca,
        None,
        &format!("{DN}\n"),
        "",
        "2013-06-01T00:00:00Z",
    );
    assert_eq!(server5.post(&document).status, 202);
}
