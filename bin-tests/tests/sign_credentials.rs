//! Where `stratus-sign-metadata` finds its credentials (options, the
//! environment, the user configuration file, `~/.globus/usercert.p12`),
//! the key formats it reads (P12, PEM: plain, PKCS#8 encrypted, legacy
//! Proc-Type encrypted), and how it refuses bad credentials, weak keys and
//! missing or invalid e-mail addresses.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The password of the encrypted PEM keys made here.
const PEM_PASSWORD: &str = "s3cret-pem";

/// Key material made once for this test process.
struct Material {
    /// Jane's key, PKCS#8 encrypted (AES-256-CBC).
    pkcs8_encrypted: Vec<u8>,
    /// Jane's key, legacy `Proc-Type: 4,ENCRYPTED` with DES-EDE3-CBC.
    traditional_des3: Vec<u8>,
    /// Jane's key, legacy `Proc-Type: 4,ENCRYPTED` with AES-256-CBC.
    traditional_aes256: Vec<u8>,
    /// A 1024-bit key with a self-signed certificate (SAN e-mail).
    small: Pem,
    /// A certificate whose only e-mail is the subject's emailAddress.
    email_in_dn: Pem,
}

const SMALL_EMAIL: &str = "small.key@example.org";
const DN_EMAIL: &str = "x@example.org";

fn material() -> &'static Material {
    static MATERIAL: OnceLock<Material> = OnceLock::new();
    MATERIAL.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::write(path.join("jane.key"), &jane().key).unwrap();
        let pass = format!("pass:{PEM_PASSWORD}");
        let pkcs8 = openssl(
            &[
                "pkcs8",
                "-topk8",
                "-v2",
                "aes-256-cbc",
                "-in",
                "jane.key",
                "-passout",
                &pass,
            ],
            path,
        );
        let des3 = openssl(
            &[
                "rsa",
                "-traditional",
                "-des3",
                "-in",
                "jane.key",
                "-passout",
                &pass,
            ],
            path,
        );
        let aes256 = openssl(
            &[
                "rsa",
                "-traditional",
                "-aes256",
                "-in",
                "jane.key",
                "-passout",
                &pass,
            ],
            path,
        );
        let small_key = new_rsa_key(1024);
        let small = self_signed(
            &small_key,
            "/C=EU/O=StratusLab Project/CN=Small Key",
            &user_extensions(Some(&format!("email:{SMALL_EMAIL}"))),
        );
        let dn_key = new_rsa_key(2048);
        let email_in_dn = self_signed(
            &dn_key,
            &format!("/CN=x/emailAddress={DN_EMAIL}"),
            &user_extensions(None),
        );
        Material {
            pkcs8_encrypted: pkcs8,
            traditional_des3: des3,
            traditional_aes256: aes256,
            small,
            email_in_dn,
        }
    })
}

fn jane_p12() -> PathBuf {
    fixture("test.p12")
}

fn jim_p12() -> PathBuf {
    fixture("test-ca-signed.p12")
}

/// Write the user configuration file `$HOME/.stratuslab/stratuslab-user.cfg`.
fn write_user_config(lab: &Lab, content: &str) -> PathBuf {
    let dir = lab.home().join(".stratuslab");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stratuslab-user.cfg");
    std::fs::write(&path, content).unwrap();
    path
}

/// The endorser subject of a signed document, checking it validates.
fn signer_of(lab: &Lab, signed: &[u8]) -> String {
    assert_valid(&lab.validate(&[], signed), "signed document");
    endorsement(signed).1
}

fn signed_by(lab: &Lab, output: &std::process::Output, what: &str) -> String {
    assert_ok(output, what);
    signer_of(lab, &output.stdout)
}

fn assert_fails_with(output: &std::process::Output, exit: i32, message: &str, what: &str) {
    assert_code(output, exit, what);
    assert_eq!(stdout(output), "", "{what}: nothing on stdout");
    assert!(
        stderr(output).contains(message),
        "{what}: expected {message:?} in stderr:\n{}",
        stderr(output)
    );
}

#[test]
fn p12_from_the_option() {
    let lab = Lab::new();
    let output = lab.sign(
        &["--p12-cert", arg(&jane_p12()), "--p12-password", PASSWORD],
        unsigned_doc(),
    );
    assert_eq!(signed_by(&lab, &output, "--p12-cert"), JANE_DN);
    assert!(
        stderr(&output).contains("expired"),
        "the expired certificate is reported: {}",
        stderr(&output)
    );
}

#[test]
fn p12_from_the_environment() {
    let lab = Lab::new();
    let output = lab.sign_env(
        &[],
        &[
            ("STRATUSLAB_P12_CERTIFICATE", arg(&jane_p12())),
            ("STRATUSLAB_P12_PASSWORD", PASSWORD),
        ],
        unsigned_doc(),
    );
    assert_eq!(signed_by(&lab, &output, "environment"), JANE_DN);
}

#[test]
fn p12_from_the_default_section_of_the_user_configuration() {
    let lab = Lab::new();
    write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = {PASSWORD}\n",
            arg(&jane_p12())
        ),
    );
    let output = lab.sign(&[], unsigned_doc());
    assert_eq!(signed_by(&lab, &output, "[default]"), JANE_DN);
    // The same file named with -c, away from HOME.
    let other = Lab::new();
    let cfg = other.write(
        "my.cfg",
        format!(
            "[default]\np12_certificate: {}\np12_password: {PASSWORD}\n",
            arg(&jane_p12())
        ),
    );
    let output = other.sign(&["-c", arg(&cfg)], unsigned_doc());
    assert_eq!(signed_by(&other, &output, "-c my.cfg"), JANE_DN);
}

fn two_section_config(lab: &Lab) {
    write_user_config(
        lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = {PASSWORD}\n\n\
             [jim]\np12_certificate = {}\nemail = {JIM_EMAIL}\n",
            arg(&jane_p12()),
            arg(&jim_p12())
        ),
    );
}

#[test]
fn a_selected_section_overrides_the_default_one() {
    let lab = Lab::new();
    two_section_config(&lab);
    assert_eq!(
        signed_by(&lab, &lab.sign(&[], unsigned_doc()), "no section"),
        JANE_DN
    );
    for args in [&["-S", "jim"][..], &["--user-config-section", "jim"][..]] {
        let output = lab.sign(args, unsigned_doc());
        assert_eq!(signed_by(&lab, &output, &args.join(" ")), JIM_DN);
        // Jim's certificate has no e-mail: the section's `email` is used,
        // and the password comes from [default].
        assert_eq!(endorsement(&output.stdout).0, JIM_EMAIL);
    }
    let output = lab.sign_env(
        &[],
        &[("STRATUSLAB_USER_CONFIG_SECTION", "jim")],
        unsigned_doc(),
    );
    assert_eq!(
        signed_by(&lab, &output, "STRATUSLAB_USER_CONFIG_SECTION"),
        JIM_DN
    );
}

#[test]
fn option_beats_environment_beats_configuration() {
    let lab = Lab::new();
    // Configuration: Jim (with his e-mail). Environment: Jane.
    write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = {PASSWORD}\nemail = {JIM_EMAIL}\n",
            arg(&jim_p12())
        ),
    );
    assert_eq!(
        signed_by(&lab, &lab.sign(&[], unsigned_doc()), "configuration only"),
        JIM_DN
    );
    let jane = jane_p12();
    let env = [("STRATUSLAB_P12_CERTIFICATE", arg(&jane))];
    let output = lab.sign_env(&[], &env, unsigned_doc());
    assert_eq!(
        signed_by(&lab, &output, "environment over configuration"),
        JANE_DN
    );
    let jim = jim_p12();
    let output = lab.sign_env(&["--p12-cert", arg(&jim)], &env, unsigned_doc());
    assert_eq!(signed_by(&lab, &output, "option over environment"), JIM_DN);

    // Passwords: a wrong one in the environment loses to the option, and
    // a wrong one in the configuration loses to the environment.
    let env = [
        ("STRATUSLAB_P12_CERTIFICATE", arg(&jane)),
        ("STRATUSLAB_P12_PASSWORD", "wrong"),
    ];
    let output = lab.sign_env(&["--p12-password", PASSWORD], &env, unsigned_doc());
    assert_eq!(
        signed_by(&lab, &output, "password option over environment"),
        JANE_DN
    );
    let output = lab.sign_env(&[], &env, unsigned_doc());
    assert_fails_with(
        &output,
        255,
        "error loading certificate (wrong password?)",
        "wrong password in the environment",
    );
    write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = wrong\n",
            arg(&jane_p12())
        ),
    );
    let output = lab.sign_env(
        &[],
        &[("STRATUSLAB_P12_PASSWORD", PASSWORD)],
        unsigned_doc(),
    );
    assert_eq!(
        signed_by(&lab, &output, "password environment over configuration"),
        JANE_DN
    );

    // E-mail: the option beats the configuration.
    write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = {PASSWORD}\nemail = config@example.org\n",
            arg(&jim_p12())
        ),
    );
    let output = lab.sign(&[], unsigned_doc());
    assert_ok(&output, "e-mail from the configuration");
    assert_eq!(endorsement(&output.stdout).0, "config@example.org");
    let output = lab.sign(&["--email", "option@example.org"], unsigned_doc());
    assert_ok(&output, "e-mail option");
    assert_eq!(endorsement(&output.stdout).0, "option@example.org");
}

#[test]
fn the_default_p12_is_in_the_globus_directory() {
    let lab = Lab::new();
    let missing = lab.home().join(".globus").join("usercert.p12");
    let output = lab.sign(&[], unsigned_doc());
    assert_fails_with(
        &output,
        255,
        &format!("certificate file not found: {}", missing.display()),
        "no credentials at all",
    );
    std::fs::create_dir_all(missing.parent().unwrap()).unwrap();
    std::fs::copy(jane_p12(), &missing).unwrap();
    let output = lab.sign(&["--p12-password", PASSWORD], unsigned_doc());
    assert_eq!(signed_by(&lab, &output, "~/.globus/usercert.p12"), JANE_DN);
}

#[test]
fn p12_errors_have_the_legacy_messages() {
    let lab = Lab::new();
    let output = lab.sign(
        &["--p12-cert", arg(&jane_p12()), "--p12-password", "wrong"],
        unsigned_doc(),
    );
    assert_fails_with(
        &output,
        255,
        "error loading certificate (wrong password?)",
        "wrong P12 password",
    );
    let missing = lab.path("nowhere.p12");
    let output = lab.sign(
        &["--p12-cert", arg(&missing), "--p12-password", PASSWORD],
        unsigned_doc(),
    );
    assert_fails_with(
        &output,
        255,
        &format!("certificate file not found: {}", missing.display()),
        "missing P12",
    );
    // No password and no terminal to ask on: the empty password fails.
    let output = lab.sign(&["--p12-cert", arg(&jane_p12())], unsigned_doc());
    assert_fails_with(
        &output,
        255,
        "error loading certificate (wrong password?)",
        "no P12 password, no terminal",
    );
    // Not a P12 at all: a credential error naming the file (the legacy
    // signer said `error loading certificate (wrong password?)` here too).
    let junk = lab.write("junk.p12", b"this is not a PKCS#12 file\n");
    let output = lab.sign(
        &["--p12-cert", arg(&junk), "--p12-password", PASSWORD],
        unsigned_doc(),
    );
    assert_fails_with(&output, 255, arg(&junk), "junk P12");
}

#[test]
fn a_p12_made_by_openssl_3_with_default_algorithms() {
    let lab = Lab::new();
    let p12 = lab.write("modern.p12", jane().p12("modern-pass"));
    let output = lab.sign(
        &["--p12-cert", arg(&p12), "--p12-password", "modern-pass"],
        unsigned_doc(),
    );
    assert_eq!(signed_by(&lab, &output, "OpenSSL 3 P12"), JANE_DN);
}

fn sign_with_pem(lab: &Lab, key: &Path, password: Option<&str>) -> std::process::Output {
    let (_, cert) = jane().write(lab, "jane");
    let mut args = vec!["--pem-cert", arg(&cert), "--pem-key", arg(key)];
    if let Some(password) = password {
        args.extend(["--pem-password", password]);
    }
    lab.sign(&args, unsigned_doc())
}

#[test]
fn pem_keys_plain_pkcs8_encrypted_and_legacy_encrypted() {
    let lab = Lab::new();
    let material = material();
    let (plain, _) = jane().write(&lab, "jane");
    assert_eq!(
        signed_by(&lab, &sign_with_pem(&lab, &plain, None), "plain PEM"),
        JANE_DN
    );

    let pkcs8 = lab.write("pkcs8.pem", &material.pkcs8_encrypted);
    assert!(text(&material.pkcs8_encrypted).starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let output = sign_with_pem(&lab, &pkcs8, Some(PEM_PASSWORD));
    assert_eq!(signed_by(&lab, &output, "PKCS#8 encrypted"), JANE_DN);

    for (name, pem, cipher) in [
        ("des3.pem", &material.traditional_des3, "DES-EDE3-CBC"),
        ("aes256.pem", &material.traditional_aes256, "AES-256-CBC"),
    ] {
        let pem_text = text(pem);
        assert!(
            pem_text.starts_with("-----BEGIN RSA PRIVATE KEY-----")
                && pem_text.contains("Proc-Type: 4,ENCRYPTED")
                && pem_text.contains(&format!("DEK-Info: {cipher},")),
            "a legacy encrypted PEM:\n{pem_text}"
        );
        let key = lab.write(name, pem);
        let output = sign_with_pem(&lab, &key, Some(PEM_PASSWORD));
        assert_eq!(signed_by(&lab, &output, name), JANE_DN);
        let output = sign_with_pem(&lab, &key, Some("wrong"));
        assert_code(&output, 255, &format!("{name} with a wrong password"));
        assert!(
            stderr(&output).contains("wrong password"),
            "{}",
            stderr(&output)
        );
        let output = sign_with_pem(&lab, &key, None);
        assert_code(&output, 2, &format!("{name} without password, no terminal"));
    }

    let output = sign_with_pem(&lab, &pkcs8, Some("wrong"));
    assert_code(&output, 255, "PKCS#8 with a wrong password");
    assert!(
        stderr(&output).contains("wrong password"),
        "{}",
        stderr(&output)
    );
    let output = sign_with_pem(&lab, &pkcs8, None);
    assert_code(&output, 2, "PKCS#8 without password, no terminal");
    assert!(stderr(&output).contains("password"), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

#[test]
fn pem_from_the_environment_and_the_configuration() {
    let lab = Lab::new();
    let (_, cert) = jane().write(&lab, "jane");
    let key = lab.write("pkcs8.pem", &material().pkcs8_encrypted);
    let output = lab.sign_env(
        &[],
        &[
            ("STRATUSLAB_PEM_CERTIFICATE", arg(&cert)),
            ("STRATUSLAB_PEM_KEY", arg(&key)),
            ("STRATUSLAB_PEM_PASSWORD", PEM_PASSWORD),
        ],
        unsigned_doc(),
    );
    assert_eq!(
        signed_by(&lab, &output, "PEM from the environment"),
        JANE_DN
    );
    write_user_config(
        &lab,
        &format!(
            "[default]\npem_certificate = {}\npem_key = {}\n",
            arg(&cert),
            arg(&key)
        ),
    );
    let output = lab.sign(&["--pem-password", PEM_PASSWORD], unsigned_doc());
    assert_eq!(
        signed_by(&lab, &output, "PEM from the configuration"),
        JANE_DN
    );
}

#[test]
fn a_pem_certificate_needs_its_key_and_the_key_its_certificate() {
    let lab = Lab::new();
    let (key, cert) = jane().write(&lab, "jane");
    for args in [
        vec!["--pem-cert", arg(&cert)],
        vec!["--pem-key", arg(&key)],
        vec!["--pem-cert", arg(&cert), "--pem-password", "x"],
    ] {
        let output = lab.sign(&args, unsigned_doc());
        assert_fails_with(&output, 2, "--pem-key", &args.join(" "));
    }
}

#[test]
fn user_configuration_errors() {
    let lab = Lab::new();
    let cfg = write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = 100%\n",
            arg(&jane_p12())
        ),
    );
    let output = lab.sign(&[], unsigned_doc());
    assert_fails_with(
        &output,
        255,
        &format!("Error parsing user configuration file {}", cfg.display()),
        "lone %",
    );
    // `%%` is a literal `%`: the file loads (and the password is wrong).
    write_user_config(
        &lab,
        &format!(
            "[default]\np12_certificate = {}\np12_password = 100%%\n",
            arg(&jane_p12())
        ),
    );
    let output = lab.sign(&[], unsigned_doc());
    assert_fails_with(
        &output,
        255,
        "error loading certificate (wrong password?)",
        "%% in the configuration",
    );

    two_section_config(&lab);
    let output = lab.sign(&["-S", "nosuch"], unsigned_doc());
    assert_fails_with(&output, 255, "No section: 'nosuch'", "-S nosuch");
    let output = lab.sign_env(
        &[],
        &[("STRATUSLAB_USER_CONFIG_SECTION", "nosuch")],
        unsigned_doc(),
    );
    assert_fails_with(
        &output,
        255,
        "No section: 'nosuch'",
        "section from the environment",
    );

    let no_default = lab.write("nodefault.cfg", "[other]\nemail = a@b.org\n");
    let output = lab.sign(&["-c", arg(&no_default)], unsigned_doc());
    assert_fails_with(&output, 255, "No section: 'default'", "no [default]");
    let missing = lab.path("missing.cfg");
    let output = lab.sign(&["-c", arg(&missing)], unsigned_doc());
    assert_fails_with(&output, 255, "No section: 'default'", "-c missing file");
}

#[test]
fn keys_under_2048_bits_need_the_legacy_profile() {
    let lab = Lab::new();
    let (key, cert) = material().small.write(&lab, "small");
    let args = ["--pem-cert", arg(&cert), "--pem-key", arg(&key)];
    let output = lab.sign(&args, unsigned_doc());
    assert_fails_with(&output, 2, "1024 bits", "1024-bit key, modern profile");
    assert!(
        stderr(&output).contains("--legacy-sha1"),
        "{}",
        stderr(&output)
    );

    let mut legacy = args.to_vec();
    legacy.push("--legacy-sha1");
    let output = lab.sign(&legacy, unsigned_doc());
    assert_ok(&output, "1024-bit key, --legacy-sha1");
    let signed = output.stdout;
    assert_eq!(
        dsig_algorithm(&signed, "SignatureMethod"),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    assert_eq!(endorsement(&signed).0, SMALL_EMAIL);
    let (exit, verdict) = lab.verdict(&[], &signed);
    assert_eq!(exit, 0, "{verdict}");
    assert_eq!(verdict["signer"], "CN=Small Key,O=StratusLab Project,C=EU");
    assert_xmlsec_verifies(&signed, "1024-bit legacy signature");
}

#[test]
fn a_certificate_without_email_needs_the_email_option() {
    let lab = Lab::new();
    let jim = jim_p12();
    let base = ["--p12-cert", arg(&jim), "--p12-password", PASSWORD];
    let output = lab.sign(&base, unsigned_doc());
    assert_fails_with(
        &output,
        255,
        "cannot generate slreq:endorsement; email address not in cert or not provided",
        "no e-mail",
    );

    let mut with_email = base.to_vec();
    with_email.extend(["--email", JIM_EMAIL]);
    let output = lab.sign(&with_email, unsigned_doc());
    assert_ok(&output, "--email");
    let (email, subject, issuer, created) = endorsement(&output.stdout);
    assert_eq!(email, JIM_EMAIL);
    assert_eq!(subject, JIM_DN);
    assert_eq!(issuer, LEGACY_CA_DN);
    assert_eq!(created, NOW);
    assert_valid(&lab.validate(&[], &output.stdout), "Jim with --email");

    for bad in ["not@a@valid", "a@", "@b", "a b@c", "nobody"] {
        let mut args = base.to_vec();
        args.extend(["--email", bad]);
        let output = lab.sign(&args, unsigned_doc());
        assert_fails_with(
            &output,
            255,
            &format!("invalid email address: {bad}"),
            &format!("--email {bad}"),
        );
    }
}

#[test]
fn the_certificate_email_wins_over_the_option() {
    // Legacy rule: the subjectAltName e-mail, when present, is used.
    let lab = Lab::new();
    let signed = lab.sign_as_jane(&["--email", "someone.else@example.org"], unsigned_doc());
    assert_eq!(endorsement(&signed).0, JANE_EMAIL);
    assert_valid(&lab.validate(&[], &signed), "Jane with another --email");
}

#[test]
fn an_email_address_in_the_subject_dn_is_used() {
    let lab = Lab::new();
    let (key, cert) = material().email_in_dn.write(&lab, "dn");
    let signed = lab.sign_ok(
        &["--pem-cert", arg(&cert), "--pem-key", arg(&key)],
        unsigned_doc(),
    );
    let (email, subject, issuer, _) = endorsement(&signed);
    assert_eq!(email, DN_EMAIL);
    // Java's RFC 2253 form: emailAddress as its OID and the hex DER value
    // (IA5String, tag 0x16).
    let hex: String = DN_EMAIL.bytes().map(|b| format!("{b:02x}")).collect();
    let expected = format!("1.2.840.113549.1.9.1=#16{:02x}{hex},CN=x", DN_EMAIL.len());
    assert_eq!(subject, expected);
    assert_eq!(issuer, expected);
    let (exit, verdict) = lab.verdict(&[], &signed);
    assert_eq!(exit, 0, "{verdict}");
    assert_eq!(verdict["signer"], expected.as_str());
    // The option does not override an e-mail found in the certificate.
    let signed = lab.sign_ok(
        &[
            "--pem-cert",
            arg(&cert),
            "--pem-key",
            arg(&key),
            "--email",
            "other@example.org",
        ],
        unsigned_doc(),
    );
    assert_eq!(endorsement(&signed).0, DN_EMAIL);
}
