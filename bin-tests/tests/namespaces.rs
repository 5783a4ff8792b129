//! IGTF namespace policies in a `--trust-dir`: a CA certified by openssl
//! signs for two users, one inside and one outside the namespace its
//! `.namespaces` or `.signing_policy` file allows; `stratus-validate-metadata`
//! trusts the first and refuses the second (exit 4).

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

const ROOT_SUBJECT: &str = "/C=EU/O=Namespace Grid/CN=Namespace Root";

/// The CA, a user inside its namespace and one outside, each with a
/// document signed by them; and a sub-CA inside the namespace, with a user
/// inside and one outside.
struct World {
    root: Vec<u8>,
    sub_ca: Vec<u8>,
    inside: Vec<u8>,
    outside: Vec<u8>,
    below_sub_ca_inside: Vec<u8>,
    below_sub_ca_outside: Vec<u8>,
}

/// A document signed by a new user `subject` certified by `issuer`, with
/// the chain `issuer_chain` (PEM, the issuer first) in KeyInfo.
fn signed_by(
    lab: &Lab,
    issuer: &MiniCa,
    issuer_chain: &[u8],
    subject: &str,
    email: &str,
) -> Vec<u8> {
    let key = new_rsa_key(2048);
    let cert = issuer.issue(
        &key,
        subject,
        &user_extensions(Some(&format!("email:{email}"))),
        START,
        END,
    );
    let pem = Pem {
        key,
        cert: [&cert[..], issuer_chain].concat(),
    };
    let (key, chain) = pem.write(lab, email);
    lab.sign_ok(
        &["--pem-cert", arg(&chain), "--pem-key", arg(&key)],
        unsigned_doc(),
    )
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let root = MiniCa::new(ROOT_SUBJECT);
        let sub = root.sub_ca("/C=EU/O=Namespace Grid/CN=Namespace Sub CA");
        let sub_chain = [&sub.cert[..], &root.cert[..]].concat();
        let lab = Lab::new();
        World {
            inside: signed_by(
                &lab,
                &root,
                &root.cert,
                "/C=EU/O=Namespace Grid/CN=Inside User",
                "inside@example.org",
            ),
            outside: signed_by(
                &lab,
                &root,
                &root.cert,
                "/C=XX/O=Elsewhere/CN=Outside User",
                "outside@example.org",
            ),
            below_sub_ca_inside: signed_by(
                &lab,
                &sub,
                &sub_chain,
                "/C=EU/O=Namespace Grid/CN=Sub User",
                "sub@example.org",
            ),
            below_sub_ca_outside: signed_by(
                &lab,
                &sub,
                &sub_chain,
                "/C=XX/O=Elsewhere/CN=Outside User",
                "victim@example.org",
            ),
            root: root.cert.clone(),
            sub_ca: sub.cert.clone(),
        }
    })
}

/// A trust directory with the root as `<hash>.0` and the given policy
/// files (`namespaces`, `signing_policy`) as `<hash>.<extension>`.
fn trust_dir(lab: &Lab, name: &str, policies: &[(&str, &str)]) -> PathBuf {
    let dir = lab.path(name);
    std::fs::create_dir(&dir).unwrap();
    let hash = add_anchor(lab, &dir, &world().root);
    for (extension, text) in policies {
        std::fs::write(dir.join(format!("{hash}.{extension}")), text).unwrap();
    }
    dir
}

/// Adds `cert` (PEM) to a trust directory as `<hash>.0`; its hash.
fn add_anchor(lab: &Lab, dir: &Path, cert: &[u8]) -> String {
    let file = lab.write(&format!("anchor-{}.pem", cert.len()), cert);
    let hash = subject_hash(&file);
    std::fs::copy(&file, dir.join(format!("{hash}.0"))).unwrap();
    hash
}

fn verdict(lab: &Lab, dir: &Path, doc: &[u8]) -> (i32, serde_json::Value) {
    lab.verdict(&["--trust-dir", arg(dir)], doc)
}

fn assert_trusted(verdict: &(i32, serde_json::Value), what: &str) {
    assert_eq!(verdict.0, 0, "{what}: {}", verdict.1);
    assert_eq!(verdict.1["valid"], true, "{what}: {}", verdict.1);
}

fn assert_outside(verdict: &(i32, serde_json::Value), what: &str) {
    assert_eq!(
        (verdict.0, &verdict.1["stage"]),
        (4, &"trust".into()),
        "{what}: {}",
        verdict.1
    );
    let message = verdict.1["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("'/C=XX/O=Elsewhere/CN=Outside User' is outside the namespace")
            && message.contains(ROOT_SUBJECT),
        "{what}: {message}"
    );
}

const NAMESPACES: &str = "##############################################\n\
#NAMESPACES-VERSION: 1.0\n\
# a policy in the EUGridPMA format\n\
TO Issuer \"/C=EU/O=Namespace Grid/CN=Namespace Root\" \\\n\
  PERMIT Subject \"/C=EU/O=Namespace Grid/.*\"\n";

const SIGNING_POLICY: &str = "# EACL of the Namespace Root\n\
access_id_CA      X509         '/C=EU/O=Namespace Grid/CN=Namespace Root'\n\
pos_rights        globus        CA:sign\n\
cond_subjects     globus     '\"/C=EU/O=Namespace Grid/*\"'\n";

#[test]
fn a_namespaces_file_limits_what_its_ca_may_certify() {
    let lab = Lab::new();
    let world = world();
    let dir = trust_dir(&lab, "eugridpma", &[("namespaces", NAMESPACES)]);
    assert_trusted(&verdict(&lab, &dir, &world.inside), "inside");
    assert_outside(&verdict(&lab, &dir, &world.outside), "outside");

    // The plain output names the reason too.
    let file = lab.write("outside.xml", &world.outside);
    let output = lab.validate(&["--trust-dir", arg(&dir), arg(&file)], b"");
    assert_eq!(code(&output), 4, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("outside the namespace"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_sub_ca_does_not_escape_its_parents_namespace() {
    let lab = Lab::new();
    let world = world();
    let dir = trust_dir(&lab, "sub-ca", &[("namespaces", NAMESPACES)]);
    assert_trusted(
        &verdict(&lab, &dir, &world.below_sub_ca_inside),
        "sub-CA user inside",
    );
    let escaped = verdict(&lab, &dir, &world.below_sub_ca_outside);
    assert_outside(&escaped, "sub-CA user outside");
    // The sub-CA trusted directly, as IGTF bundles ship intermediates: the
    // chain stops there, and the root's policy still applies below it.
    add_anchor(&lab, &dir, &world.sub_ca);
    assert_trusted(
        &verdict(&lab, &dir, &world.below_sub_ca_inside),
        "sub-CA anchor, inside",
    );
    assert_outside(
        &verdict(&lab, &dir, &world.below_sub_ca_outside),
        "sub-CA anchor, outside",
    );
}

/// Found by review: two intermediates with the same name (different keys)
/// made a loop of names above the signer, and a walk by name never reached
/// the root's policy. The CAs above a certificate are now taken by their
/// place in the verified chain.
#[test]
fn a_loop_of_names_does_not_hide_the_roots_policy() {
    let lab = Lab::new();
    let root = MiniCa::new(ROOT_SUBJECT);
    let upper_x = root.sub_ca("/C=EU/O=Namespace Grid/CN=X");
    let y = upper_x.sub_ca("/C=EU/O=Namespace Grid/CN=Y");
    let lower_x = y.sub_ca("/C=EU/O=Namespace Grid/CN=X");
    let chain = [&lower_x.cert[..], &y.cert, &upper_x.cert, &root.cert].concat();
    let doc = signed_by(
        &lab,
        &lower_x,
        &chain,
        "/C=XX/O=Elsewhere/CN=Outside User",
        "loop@example.org",
    );
    let dir = lab.path("loop");
    std::fs::create_dir(&dir).unwrap();
    let hash = add_anchor(&lab, &dir, &root.cert);
    std::fs::write(dir.join(format!("{hash}.namespaces")), NAMESPACES).unwrap();
    assert_outside(&verdict(&lab, &dir, &doc), "below a loop of names");
}

#[test]
fn policy_files_beside_an_alias_named_certificate() {
    let lab = Lab::new();
    let world = world();
    let dir = lab.path("alias");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("Namespace-Root.pem"), &world.root).unwrap();
    std::fs::write(dir.join("Namespace-Root.namespaces"), NAMESPACES).unwrap();
    assert_trusted(&verdict(&lab, &dir, &world.inside), "alias, inside");
    assert_outside(&verdict(&lab, &dir, &world.outside), "alias, outside");

    // A policy file with no certificate beside it constrains nothing: refused.
    std::fs::write(dir.join("Orphan.namespaces"), NAMESPACES).unwrap();
    let file = lab.write("inside.xml", &world.inside);
    let output = lab.validate(&["--trust-dir", arg(&dir), arg(&file)], b"");
    assert_eq!(code(&output), 255, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("Orphan.namespaces: no CA certificate beside it"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn self_and_deny_statements() {
    let lab = Lab::new();
    let world = world();
    let policy = "TO Issuer SELF PERMIT Subject \"/C=.*\"\n\
                  TO Issuer SELF DENY Subject \"/C=XX/.*\"\n";
    let dir = trust_dir(&lab, "self-deny", &[("namespaces", policy)]);
    assert_trusted(&verdict(&lab, &dir, &world.inside), "inside");
    let refused = verdict(&lab, &dir, &world.outside);
    assert_outside(&refused, "denied");
    assert!(
        refused.1["message"].as_str().unwrap().contains("denied by"),
        "{}",
        refused.1
    );
}

#[test]
fn a_signing_policy_file_limits_its_ca_too() {
    let lab = Lab::new();
    let world = world();
    let dir = trust_dir(&lab, "globus", &[("signing_policy", SIGNING_POLICY)]);
    assert_trusted(&verdict(&lab, &dir, &world.inside), "inside");
    assert_outside(&verdict(&lab, &dir, &world.outside), "outside");
}

#[test]
fn the_namespaces_file_wins_over_the_signing_policy() {
    let lab = Lab::new();
    let world = world();
    let permissive = "TO Issuer SELF PERMIT Subject \"/.*\"\n";
    let dir = trust_dir(
        &lab,
        "both",
        &[
            ("namespaces", permissive),
            ("signing_policy", SIGNING_POLICY),
        ],
    );
    assert_trusted(&verdict(&lab, &dir, &world.outside), "namespaces first");
}

#[test]
fn without_a_policy_nothing_is_constrained() {
    let lab = Lab::new();
    let world = world();
    let dir = trust_dir(&lab, "none", &[]);
    assert_trusted(&verdict(&lab, &dir, &world.outside), "no policy");
}

#[test]
fn a_policy_about_another_ca_is_refused() {
    let lab = Lab::new();
    let world = world();
    let typo = "TO Issuer \"/C=EU/O=Namespace Grid/CN=Namespace Rot\" PERMIT Subject \"/.*\"\n";
    let dir = trust_dir(&lab, "typo", &[("namespaces", typo)]);
    let file = lab.write("inside.xml", &world.inside);
    let output = lab.validate(&["--trust-dir", arg(&dir), arg(&file)], b"");
    assert_eq!(code(&output), 255, "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!(
            "line 1: no statement about its CA '{ROOT_SUBJECT}'"
        )),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_broken_policy_file_is_named_with_its_line() {
    let lab = Lab::new();
    let world = world();
    let broken = "# fine so far\nTO Issuer SELF ALLOW Subject \"/.*\"\n";
    let dir = trust_dir(&lab, "broken", &[("namespaces", broken)]);
    let file = lab.write("inside.xml", &world.inside);
    let output = lab.validate(&["--trust-dir", arg(&dir), arg(&file)], b"");
    assert_eq!(code(&output), 255, "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains(".namespaces: line 2: expected PERMIT or DENY, found 'ALLOW'"),
        "{message}"
    );
}
