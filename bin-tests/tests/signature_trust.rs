//! Trust checks of `stratus-validate-metadata` (`--ca`, `--trust-dir`,
//! `--crl`, `--at`): the legacy CA-signed fixture with its CRLs, IGTF-style
//! trust directories, and a fresh CA made with openssl whose certificates
//! sign through `stratus-sign-metadata`.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ALICE_EMAIL: &str = "alice@example.org";
const ALICE_DN: &str = "CN=Alice Signer,O=Own Test Grid,C=EU";
const OWN_ROOT_DN: &str = "CN=Own Test Root,O=Own Test Grid,C=EU";

/// A fresh CA, a user it certified (valid 2010–2040, SAN e-mail), the same
/// CA's CRL revoking a second user, and an unrelated CA.
struct Grid {
    root: Vec<u8>,
    /// Alice: her key, and her certificate followed by the root's.
    alice: Pem,
    /// Bob, certified by the same root, then revoked.
    bob: Pem,
    /// Version 2 and version 1 CRLs of the root, both revoking Bob.
    crl: Vec<u8>,
    crl_v1: Vec<u8>,
    other_root: Vec<u8>,
}

fn grid() -> &'static Grid {
    static GRID: OnceLock<Grid> = OnceLock::new();
    GRID.get_or_init(|| {
        let root = MiniCa::new("/C=EU/O=Own Test Grid/CN=Own Test Root");
        let alice_key = new_rsa_key(2048);
        let alice_cert = root.issue(
            &alice_key,
            "/C=EU/O=Own Test Grid/CN=Alice Signer",
            &user_extensions(Some(&format!("email:{ALICE_EMAIL}"))),
            START,
            END,
        );
        let bob_key = new_rsa_key(2048);
        let bob_cert = root.issue(
            &bob_key,
            "/C=EU/O=Own Test Grid/CN=Bob Signer",
            &user_extensions(Some("email:bob@example.org")),
            START,
            END,
        );
        root.revoke(&bob_cert);
        let crl = root.crl(true);
        let crl_v1 = root.crl(false);
        let chain = |cert: &[u8]| [cert, &root.cert[..]].concat();
        let other = MiniCa::new("/C=EU/O=Other Grid/CN=Other Root");
        Grid {
            root: root.cert.clone(),
            alice: Pem {
                key: alice_key,
                cert: chain(&alice_cert),
            },
            bob: Pem {
                key: bob_key,
                cert: chain(&bob_cert),
            },
            crl,
            crl_v1,
            other_root: other.cert.clone(),
        }
    })
}

fn ca_signed() -> PathBuf {
    fixture("valid-ca-signed.xml")
}

/// Validate a file with `args`; the exit code and the JSON verdict.
fn verdict_for(lab: &Lab, args: &[&str], file: &Path) -> (i32, serde_json::Value) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    all.push(arg(file));
    let output = lab.validate(&all, b"");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{}{}", stdout(&output), stderr(&output));
    (code(&output), lines[0].clone())
}

fn assert_trusted(verdict: &(i32, serde_json::Value), signer: &str, what: &str) {
    let (exit, value) = verdict;
    assert_eq!(*exit, 0, "{what}: {value}");
    assert_eq!(value["valid"], true, "{what}: {value}");
    assert_eq!(value["trusted"], true, "{what}: {value}");
    assert_eq!(value["signer"], signer, "{what}: {value}");
}

fn assert_untrusted(verdict: &(i32, serde_json::Value), reason: &str, what: &str) {
    let (exit, value) = verdict;
    assert_eq!(*exit, 4, "{what}: {value}");
    assert_eq!(value["valid"], false, "{what}: {value}");
    assert_eq!(value["stage"], "trust", "{what}: {value}");
    let message = value["message"].as_str().unwrap();
    assert!(
        message.contains(reason),
        "{what}: expected {reason:?} in {message:?}"
    );
}

#[test]
fn the_legacy_ca_signed_fixture_with_its_crls() {
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let empty = fixture("test-crl-empty.pem");
    let revoked = fixture("test-crl-revoked.pem");
    let file = ca_signed();

    let output = lab.validate(
        &[
            "--ca",
            arg(&ca),
            "--crl",
            arg(&empty),
            "--at",
            IN_2012,
            arg(&file),
        ],
        b"",
    );
    assert_ok(&output, "valid-ca-signed with the empty CRL in 2012");
    assert_eq!(stdout(&output), format!("Valid: {}\n", file.display()));
    assert!(
        !stderr(&output).contains("not trust-checked"),
        "{}",
        stderr(&output)
    );

    let in_2012 = |crl: Option<&Path>| {
        let mut args = vec!["--ca", arg(&ca), "--at", IN_2012];
        if let Some(crl) = crl {
            args.extend(["--crl", arg(crl)]);
        }
        verdict_for(&lab, &args, &file)
    };
    assert_trusted(&in_2012(Some(&empty)), JIM_DN, "empty CRL");
    assert_trusted(&in_2012(None), JIM_DN, "no CRL");
    assert_untrusted(&in_2012(Some(&revoked)), "revoked", "revoked CRL");
    // At the (pinned) current time the certificate has expired.
    let now = verdict_for(&lab, &["--ca", arg(&ca), "--crl", arg(&empty)], &file);
    assert_untrusted(&now, "expired", "now");
    let now = verdict_for(&lab, &["--ca", arg(&ca)], &file);
    assert_untrusted(&now, "expired", "now, no CRL");
    let output = lab.validate(&["--ca", arg(&ca), arg(&file)], b"");
    assert_code(&output, 4, "expired, text output");
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains(&format!("Invalid: {}", file.display())),
        "{}",
        stderr(&output)
    );
}

#[test]
fn an_older_crl_does_not_hide_a_newer_revocation() {
    // test-crl-empty.pem (CRL number 4) and test-crl-revoked.pem (number
    // 5, a minute later) come from the same CA; the newer one revokes Jim.
    // Whichever order or form they are given in, Jim is revoked.
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let empty = fixture("test-crl-empty.pem");
    let revoked = fixture("test-crl-revoked.pem");
    let file = ca_signed();
    let both_in_one = lab.write(
        "both.pem",
        [
            std::fs::read(&empty).unwrap(),
            std::fs::read(&revoked).unwrap(),
        ]
        .concat(),
    );
    let hash = subject_hash(&ca);
    let dir = lab.path("dir");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&ca, dir.join(format!("{hash}.0"))).unwrap();
    std::fs::copy(&empty, dir.join(format!("{hash}.r0"))).unwrap();
    std::fs::copy(&revoked, dir.join(format!("{hash}.r1"))).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec![
            "--ca",
            arg(&ca),
            "--crl",
            arg(&revoked),
            "--crl",
            arg(&empty),
        ],
        vec![
            "--ca",
            arg(&ca),
            "--crl",
            arg(&empty),
            "--crl",
            arg(&revoked),
        ],
        vec!["--ca", arg(&ca), "--crl", arg(&both_in_one)],
        vec!["--trust-dir", arg(&dir)],
        vec!["--trust-dir", arg(&dir), "--crl", arg(&empty)],
    ];
    let mut accepted = Vec::new();
    for mut args in cases {
        args.extend(["--at", IN_2012]);
        let (exit, value) = verdict_for(&lab, &args, &file);
        if exit != 4 || value["stage"] != "trust" {
            accepted.push(format!(
                "stratus-validate-metadata --json {} {}\n  -> exit {exit}: {value}",
                args.join(" "),
                file.display()
            ));
        }
    }
    assert!(
        accepted.is_empty(),
        "a revoked signer was not refused:\n{}",
        accepted.join("\n")
    );
}

#[test]
fn a_self_signed_signer_is_not_trusted_by_the_legacy_ca() {
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let verdict = verdict_for(
        &lab,
        &["--ca", arg(&ca), "--at", "2011-06-01T00:00:00Z"],
        &fixture("valid-full-signature.xml"),
    );
    let (exit, value) = &verdict;
    assert_eq!(*exit, 4, "{value}");
    assert_eq!(value["stage"], "trust", "{value}");
    // And a document Jane signs now is not trusted by it either.
    let signed = lab.sign_as_jane(&[], unsigned_doc());
    let file = lab.write("jane.xml", &signed);
    let (exit, value) = verdict_for(&lab, &["--ca", arg(&ca), "--at", IN_2012], &file);
    assert_eq!(exit, 4, "{value}");
    assert_eq!(value["stage"], "trust", "{value}");
}

#[test]
fn a_trust_directory_with_hashed_anchor_and_crl() {
    let lab = Lab::new();
    let ca = fixture("test-ca.pem");
    let hash = subject_hash(&ca);
    assert_eq!(hash.len(), 8, "an OpenSSL subject hash: {hash}");
    let file = ca_signed();
    let trust_dir = |name: &str, crl: Option<&str>| {
        let dir = lab.path(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::copy(&ca, dir.join(format!("{hash}.0"))).unwrap();
        if let Some(crl) = crl {
            std::fs::copy(fixture(crl), dir.join(format!("{hash}.r0"))).unwrap();
        }
        dir
    };
    let clean = trust_dir("clean", Some("test-crl-empty.pem"));
    let revoked = trust_dir("revoked", Some("test-crl-revoked.pem"));
    let no_crl = trust_dir("nocrl", None);

    let output = lab.validate(
        &["--trust-dir", arg(&clean), "--at", IN_2012, arg(&file)],
        b"",
    );
    assert_ok(&output, "trust dir with the empty CRL");
    assert_eq!(stdout(&output), format!("Valid: {}\n", file.display()));

    let check = |dir: &Path, at: Option<&str>| {
        let mut args = vec!["--trust-dir", arg(dir)];
        if let Some(at) = at {
            args.extend(["--at", at]);
        }
        verdict_for(&lab, &args, &file)
    };
    assert_trusted(&check(&clean, Some(IN_2012)), JIM_DN, "clean dir");
    assert_trusted(&check(&no_crl, Some(IN_2012)), JIM_DN, "dir without CRL");
    assert_untrusted(&check(&revoked, Some(IN_2012)), "revoked", "revoked dir");
    assert_untrusted(&check(&clean, None), "expired", "clean dir, now");
    // A CRL given with --crl joins those of the directory.
    let (exit, value) = verdict_for(
        &lab,
        &[
            "--trust-dir",
            arg(&no_crl),
            "--crl",
            arg(&fixture("test-crl-revoked.pem")),
            "--at",
            IN_2012,
        ],
        &file,
    );
    assert_untrusted(&(exit, value), "revoked", "dir plus --crl");
    // A directory without anchors is an error, not "trust nobody".
    let empty = lab.path("empty");
    std::fs::create_dir(&empty).unwrap();
    let output = lab.validate(&["--trust-dir", arg(&empty), arg(&file)], b"");
    assert_code(&output, 255, "empty trust dir");
    assert_eq!(stdout(&output), "");
    assert!(
        stderr(&output).contains("no CA certificates"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn crl_and_time_need_anchors() {
    let lab = Lab::new();
    let file = ca_signed();
    let crl = fixture("test-crl-empty.pem");
    for args in [
        vec!["--crl", arg(&crl)],
        vec!["--at", IN_2012],
        vec!["--crl", arg(&crl), "--at", IN_2012],
    ] {
        let mut all = args.clone();
        all.push(arg(&file));
        let output = lab.validate(&all, b"");
        assert_code(&output, 2, &args.join(" "));
        assert_eq!(stdout(&output), "", "{}", args.join(" "));
        assert!(
            stderr(&output).contains("--ca or --trust-dir"),
            "{}",
            stderr(&output)
        );
    }
    let ca = fixture("test-ca.pem");
    let output = lab.validate(&["--ca", arg(&ca), "--at", "yesterday", arg(&file)], b"");
    assert_code(&output, 2, "--at yesterday");
    assert!(stderr(&output).contains("--at"), "{}", stderr(&output));
}

#[test]
fn without_anchors_the_signer_is_reported_untrusted_but_valid() {
    let lab = Lab::new();
    let file = ca_signed();
    let output = lab.validate(&[arg(&file)], b"");
    assert_ok(&output, "no anchors");
    assert_eq!(stdout(&output), format!("Valid: {}\n", file.display()));
    assert!(
        stderr(&output).contains("not trust-checked"),
        "{}",
        stderr(&output)
    );
    let (exit, value) = verdict_for(&lab, &[], &file);
    assert_eq!(exit, 0);
    assert_eq!(value["trusted"], false, "{value}");
    assert_eq!(value["signer"], JIM_DN, "{value}");
}

#[test]
fn a_fresh_ca_trusts_what_its_user_signs() {
    let lab = Lab::new();
    let grid = grid();
    let root = lab.write("root.pem", &grid.root);
    let other = lab.write("other.pem", &grid.other_root);
    let p12 = lab.write("alice.p12", grid.alice.p12("alice-pass"));
    let (key, chain) = grid.alice.write(&lab, "alice");

    let from_p12 = lab.sign_ok(
        &["--p12-cert", arg(&p12), "--p12-password", "alice-pass"],
        unsigned_doc(),
    );
    let from_pem = lab.sign_ok(
        &["--pem-cert", arg(&chain), "--pem-key", arg(&key)],
        unsigned_doc(),
    );
    for (what, signed) in [("P12", &from_p12), ("PEM", &from_pem)] {
        let (email, subject, issuer, _) = endorsement(signed);
        assert_eq!(email, ALICE_EMAIL, "{what}");
        assert_eq!(subject, ALICE_DN, "{what}");
        assert_eq!(issuer, OWN_ROOT_DN, "{what}");
        // The chain of the P12 (or PEM file) travels in KeyInfo, signer first.
        assert_eq!(count_all(signed, DSIG, "X509Certificate"), 2, "{what}");
        assert_xmlsec_verifies(signed, what);
        let file = lab.write(&format!("{what}.xml"), signed);

        assert_trusted(
            &verdict_for(&lab, &["--ca", arg(&root)], &file),
            ALICE_DN,
            what,
        );
        let output = lab.validate(&["--ca", arg(&root), arg(&file)], b"");
        assert_ok(&output, what);
        assert!(
            !stderr(&output).contains("not trust-checked"),
            "{what}: {}",
            stderr(&output)
        );
        // Some other CA, or the legacy one, does not vouch for Alice; the
        // root she carries in KeyInfo is no anchor.
        let (exit, value) = verdict_for(&lab, &["--ca", arg(&other)], &file);
        assert_eq!(
            (exit, &value["stage"]),
            (4, &"trust".into()),
            "{what}: {value}"
        );
        let legacy = fixture("test-ca.pem");
        let (exit, value) = verdict_for(&lab, &["--ca", arg(&legacy)], &file);
        assert_eq!(
            (exit, &value["stage"]),
            (4, &"trust".into()),
            "{what}: {value}"
        );
        // Several anchors: one of them is enough.
        assert_trusted(
            &verdict_for(&lab, &["--ca", arg(&other), "--ca", arg(&root)], &file),
            ALICE_DN,
            what,
        );
        // Before Alice's certificate starts, it is not valid.
        let (exit, value) = verdict_for(
            &lab,
            &["--ca", arg(&root), "--at", "2009-06-01T00:00:00Z"],
            &file,
        );
        assert_eq!(
            (exit, &value["stage"]),
            (4, &"trust".into()),
            "{what}: {value}"
        );
    }

    // The same root in a trust directory.
    let dir = lab.path("grid-security");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(&root, dir.join(format!("{}.0", subject_hash(&root)))).unwrap();
    let file = lab.write("by-dir.xml", &from_p12);
    assert_trusted(
        &verdict_for(&lab, &["--trust-dir", arg(&dir)], &file),
        ALICE_DN,
        "trust dir",
    );
}

#[test]
fn a_fresh_ca_revokes_with_its_crl() {
    let lab = Lab::new();
    let grid = grid();
    let root = lab.write("root.pem", &grid.root);
    let crl = lab.write("root.crl", &grid.crl);
    // The CRL is issued at the real time: check after it, while every
    // certificate is still valid.
    let at = "2039-06-01T00:00:00Z";
    let (alice_key, alice_cert) = grid.alice.write(&lab, "alice");
    let (bob_key, bob_cert) = grid.bob.write(&lab, "bob");
    let alice = lab.sign_ok(
        &["--pem-cert", arg(&alice_cert), "--pem-key", arg(&alice_key)],
        unsigned_doc(),
    );
    let bob = lab.sign_ok(
        &["--pem-cert", arg(&bob_cert), "--pem-key", arg(&bob_key)],
        unsigned_doc(),
    );
    let alice = lab.write("alice.xml", alice);
    let bob = lab.write("bob.xml", bob);
    let with_crl = ["--ca", arg(&root), "--crl", arg(&crl), "--at", at];
    assert_trusted(&verdict_for(&lab, &with_crl, &alice), ALICE_DN, "Alice");
    assert_untrusted(&verdict_for(&lab, &with_crl, &bob), "revoked", "Bob");
    assert_trusted(
        &verdict_for(&lab, &["--ca", arg(&root), "--at", at], &bob),
        "CN=Bob Signer,O=Own Test Grid,C=EU",
        "Bob without the CRL",
    );
    // In a trust directory, as <hash>.r0.
    let dir = lab.path("dir");
    std::fs::create_dir(&dir).unwrap();
    let hash = subject_hash(&root);
    std::fs::copy(&root, dir.join(format!("{hash}.0"))).unwrap();
    std::fs::copy(&crl, dir.join(format!("{hash}.r0"))).unwrap();
    let in_dir = ["--trust-dir", arg(&dir), "--at", at];
    assert_trusted(&verdict_for(&lab, &in_dir, &alice), ALICE_DN, "Alice, dir");
    assert_untrusted(&verdict_for(&lab, &in_dir, &bob), "revoked", "Bob, dir");
    // A version 1 CRL (what `openssl ca -gencrl` writes by default) must not
    // let Bob through: it revokes him, or it is refused as unusable.
    let crl_v1 = lab.write("root-v1.crl", &grid.crl_v1);
    for file in [&alice, &bob] {
        let output = lab.validate(
            &[
                "--ca",
                arg(&root),
                "--crl",
                arg(&crl_v1),
                "--at",
                at,
                arg(file),
            ],
            b"",
        );
        assert!(
            [4, 255].contains(&code(&output)) && !stdout(&output).contains("Valid"),
            "v1 CRL on {}: exit {}\n{}{}",
            file.display(),
            code(&output),
            stdout(&output),
            stderr(&output)
        );
    }
    // Both files in one call: the worst outcome is the exit code.
    let mut args = with_crl.to_vec();
    args.extend([arg(&alice), arg(&bob)]);
    let output = lab.validate(&args, b"");
    assert_code(&output, 4, "Alice and Bob");
    assert_eq!(stdout(&output), format!("Valid: {}\n", alice.display()));
}
