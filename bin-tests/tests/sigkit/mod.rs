//! Shared helpers for the signing tests (`stratus-sign-metadata` with
//! `stratus-validate-metadata`): a scratch directory with its own empty
//! HOME, the real openssl and xmlsec1 tools, a throw-away CA made with
//! `openssl ca`, xmlsec1 signature templates and document surgery.
//!
//! Test files using it declare `mod common;` and `mod sigkit;`. Key
//! material is generated once per test process (`OnceLock`) and kept in
//! memory; each test writes what it needs into its own temporary directory.

#![allow(dead_code)]

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;

pub const SIGN: &str = "stratus-sign-metadata";
pub const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";

/// The password of every legacy key store.
pub const PASSWORD: &str = "XYZXYZ";
pub const JANE_DN: &str = "CN=Jane Tester,OU=Testing Department,O=StratusLab Project,C=EU";
pub const JANE_EMAIL: &str = "jane.tester@example.org";
pub const JIM_DN: &str = "CN=Jim Tester,OU=Testing Department,O=StratusLab Project,C=EU";
pub const JIM_EMAIL: &str = "jim.tester@example.org";
/// The issuer of Jim's certificate (`test-ca.pem`).
pub const LEGACY_CA_DN: &str =
    "CN=Certificate Authority,OU=Testing Department,O=StratusLab Project,C=EU";
/// A day on which Jim's certificate, the legacy CA and its CRLs are valid.
pub const IN_2012: &str = "2012-06-01T00:00:00Z";

/// A legacy fixture file.
pub fn fixture(name: &str) -> PathBuf {
    fixtures().join(name)
}

/// A path as a `&str` argument (temporary paths are UTF-8).
pub fn arg(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// A scratch directory holding an empty `home/`, used as HOME by every
/// command it runs, so that no real `~/.globus` or `~/.stratuslab` is read.
pub struct Lab {
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::create_dir(dir.path().join("home")).expect("HOME is created");
        Lab { dir }
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, data).expect("the test file is written");
        path
    }

    /// A stratus command with HOME set to the lab's home, no inherited
    /// `STRATUSLAB_*` variable, run in the lab directory.
    pub fn command(&self, name: &str) -> Command {
        let mut c = command(name);
        c.env("HOME", self.home()).current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("STRATUSLAB_") {
                c.env_remove(key);
            }
        }
        c
    }

    pub fn sign_command(&self, args: &[&str]) -> Command {
        let mut c = self.command(SIGN);
        c.args(args);
        c
    }

    /// Run `stratus-sign-metadata args` with `input` on stdin.
    pub fn sign(&self, args: &[&str], input: &[u8]) -> Output {
        run_with_input(self.sign_command(args), input)
    }

    /// Run `stratus-sign-metadata` with environment variables set.
    pub fn sign_env(&self, args: &[&str], env: &[(&str, &str)], input: &[u8]) -> Output {
        let mut c = self.sign_command(args);
        for (key, value) in env {
            c.env(key, value);
        }
        run_with_input(c, input)
    }

    /// Sign `input` (stdin to stdout); require success; the signed document.
    pub fn sign_ok(&self, args: &[&str], input: &[u8]) -> Vec<u8> {
        let output = self.sign(args, input);
        assert_ok(
            &output,
            &format!("stratus-sign-metadata {}", args.join(" ")),
        );
        output.stdout
    }

    /// Sign with Jane's legacy P12 (`test.p12`), plus `extra` options.
    pub fn sign_as_jane(&self, extra: &[&str], input: &[u8]) -> Vec<u8> {
        let p12 = fixture("test.p12");
        let mut args = vec!["--p12-cert", arg(&p12), "--p12-password", PASSWORD];
        args.extend_from_slice(extra);
        self.sign_ok(&args, input)
    }

    /// Run `stratus-validate-metadata args` with `input` on stdin.
    pub fn validate(&self, args: &[&str], input: &[u8]) -> Output {
        let mut c = self.command(VALIDATE);
        c.args(args);
        run_with_input(c, input)
    }

    /// Validate `doc` from stdin with `--json`: the exit code and the object.
    pub fn verdict(&self, args: &[&str], doc: &[u8]) -> (i32, serde_json::Value) {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let output = self.validate(&all, doc);
        let lines = json_lines(&output);
        assert_eq!(
            lines.len(),
            1,
            "one JSON line expected\nstdout:\n{}\nstderr:\n{}",
            stdout(&output),
            stderr(&output)
        );
        (code(&output), lines[0].clone())
    }
}

/// Spawn the commands with each one's stdout piped into the next one's
/// stdin (the first reads nothing); return every output, in order. Only
/// the last output has its stdout (the others went down the pipes).
pub fn pipeline(commands: Vec<Command>) -> Vec<Output> {
    let mut children: Vec<Child> = Vec::new();
    let count = commands.len();
    let mut previous: Option<std::process::ChildStdout> = None;
    for (i, mut c) in commands.into_iter().enumerate() {
        match previous.take() {
            Some(link) => c.stdin(Stdio::from(link)),
            None => c.stdin(Stdio::null()),
        };
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("the command starts");
        if i + 1 < count {
            previous = child.stdout.take();
        }
        children.push(child);
    }
    // Wait from the last to the first: each one drains its predecessor.
    let mut outputs: Vec<Output> = children
        .into_iter()
        .rev()
        .map(|child| child.wait_with_output().expect("the command runs"))
        .collect();
    outputs.reverse();
    outputs
}

/// Run an external tool (which must be installed: a missing tool fails
/// the test) with `args` in `dir`; return what it did.
pub fn run_tool(program: &str, args: &[&str], dir: &Path) -> Output {
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} is required for this test and could not run: {e}"))
}

/// Run openssl in `dir`; it must succeed; its stdout.
pub fn openssl(args: &[&str], dir: &Path) -> Vec<u8> {
    let output = run_tool("openssl", args, dir);
    assert!(
        output.status.success(),
        "openssl {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// A fresh unencrypted RSA key (PEM) of `bits` bits, from `openssl genrsa`.
pub fn new_rsa_key(bits: u32) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    openssl(
        &["genrsa", "-out", "key.pem", &bits.to_string()],
        dir.path(),
    );
    std::fs::read(dir.path().join("key.pem")).unwrap()
}

/// A key and its certificate (chain), in PEM.
#[derive(Clone, Debug)]
pub struct Pem {
    pub key: Vec<u8>,
    pub cert: Vec<u8>,
}

impl Pem {
    /// Write `<stem>.key.pem` and `<stem>.cert.pem` into the lab.
    pub fn write(&self, lab: &Lab, stem: &str) -> (PathBuf, PathBuf) {
        (
            lab.write(&format!("{stem}.key.pem"), &self.key),
            lab.write(&format!("{stem}.cert.pem"), &self.cert),
        )
    }

    /// A PKCS#12 of this key and certificate(s), protected by `password`
    /// (OpenSSL 3 defaults: AES-256-CBC, PBKDF2, SHA-256 MAC).
    pub fn p12(&self, password: &str) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("key.pem"), &self.key).unwrap();
        std::fs::write(dir.path().join("cert.pem"), &self.cert).unwrap();
        let pass = format!("pass:{password}");
        openssl(
            &[
                "pkcs12", "-export", "-inkey", "key.pem", "-in", "cert.pem", "-passout", &pass,
                "-out", "out.p12",
            ],
            dir.path(),
        );
        std::fs::read(dir.path().join("out.p12")).unwrap()
    }
}

/// The key and certificate of a legacy P12 (`openssl pkcs12 -legacy`).
pub fn pem_from_p12(p12: &Path) -> Pem {
    let dir = tempfile::tempdir().unwrap();
    let pass = format!("pass:{PASSWORD}");
    let p12 = arg(p12);
    let common = ["pkcs12", "-legacy", "-in", p12, "-passin", &pass];
    let mut key_args = common.to_vec();
    key_args.extend(["-nocerts", "-nodes"]);
    let mut cert_args = common.to_vec();
    cert_args.extend(["-nokeys"]);
    Pem {
        key: openssl(&key_args, dir.path()),
        cert: openssl(&cert_args, dir.path()),
    }
}

/// Jane's key and certificate, extracted from `test.p12`.
pub fn jane() -> &'static Pem {
    static JANE: OnceLock<Pem> = OnceLock::new();
    JANE.get_or_init(|| pem_from_p12(&fixture("test.p12")))
}

/// A self-signed certificate for `key` (PEM), valid 2010–2040, with the
/// extension lines `extensions` (openssl config syntax).
pub fn self_signed(key: &[u8], subject: &str, extensions: &str) -> Pem {
    let ca = MiniCa::new_with_key(key, subject, extensions);
    Pem {
        key: key.to_vec(),
        cert: ca.cert.clone(),
    }
}

/// The default validity of the certificates made here: it covers the
/// pinned clock (2026-01-15) and any plausible real date.
pub const START: &str = "20100101000000Z";
pub const END: &str = "20400101000000Z";

/// A throw-away certification authority driven by `openssl ca`, so that
/// certificates get explicit validity dates (`-startdate`/`-enddate`).
pub struct MiniCa {
    dir: tempfile::TempDir,
    pub key: Vec<u8>,
    pub cert: Vec<u8>,
}

const CA_CONFIG: &str = "\
[ca]
default_ca = mini
[mini]
dir = .
database = ./index.txt
serial = ./serial
new_certs_dir = .
default_md = sha256
policy = anything
unique_subject = no
preserve = yes
email_in_dn = yes
copy_extensions = none
[anything]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
emailAddress = optional
";

impl MiniCa {
    /// A CA with a fresh key, self-signed, valid `START`..`END`.
    pub fn new(subject: &str) -> MiniCa {
        Self::new_with_key(
            &new_rsa_key(2048),
            subject,
            "basicConstraints = critical,CA:TRUE\n\
             keyUsage = critical,keyCertSign,cRLSign\n\
             subjectKeyIdentifier = hash\n",
        )
    }

    /// A CA certified by this one (an intermediate), with a fresh key.
    #[allow(dead_code)] // not every test binary makes sub-CAs
    pub fn sub_ca(&self, subject: &str) -> MiniCa {
        self.sub_ca_with(subject, "")
    }

    /// A CA certified by this one, with the extension lines `extra` (such
    /// as nameConstraints) besides those of every CA.
    pub fn sub_ca_with(&self, subject: &str, extra: &str) -> MiniCa {
        let key = new_rsa_key(2048);
        let cert = self.issue(
            &key,
            subject,
            &format!(
                "basicConstraints = critical,CA:TRUE\n\
                 keyUsage = critical,keyCertSign,cRLSign\n\
                 subjectKeyIdentifier = hash\n{extra}"
            ),
            START,
            END,
        );
        let dir = Self::database(&key);
        std::fs::write(dir.path().join("ca.pem"), &cert).unwrap();
        MiniCa { dir, key, cert }
    }

    /// A fresh `openssl ca` database directory holding `key` as ca.key.
    fn database(key: &[u8]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path();
        std::fs::write(path.join("ca.cnf"), CA_CONFIG).unwrap();
        std::fs::write(path.join("index.txt"), "").unwrap();
        std::fs::write(path.join("serial"), "1000\n").unwrap();
        std::fs::write(path.join("ca.key"), key).unwrap();
        dir
    }

    /// A self-signed CA for `key` (PEM) with the extension lines
    /// `extensions`, valid `START`..`END`.
    pub fn new_with_key(key: &[u8], subject: &str, extensions: &str) -> MiniCa {
        let dir = Self::database(key);
        let cert = certify(
            dir.path(),
            "ca",
            subject,
            extensions,
            &["-selfsign"],
            START,
            END,
        );
        MiniCa {
            dir,
            key: key.to_vec(),
            cert,
        }
    }

    /// Issue a certificate for `key` (PEM) with `subject` (openssl
    /// `/K=V/...` form), the extension lines `extensions`, valid
    /// `start`..`end` (`YYYYMMDDHHMMSSZ`); the certificate in PEM.
    pub fn issue(
        &self,
        key: &[u8],
        subject: &str,
        extensions: &str,
        start: &str,
        end: &str,
    ) -> Vec<u8> {
        let path = self.dir.path();
        std::fs::write(path.join("user.key"), key).unwrap();
        let signer = ["-cert", "ca.pem"];
        certify(path, "user", subject, extensions, &signer, start, end)
    }

    /// Revoke `cert` (PEM, issued by this CA) in the CA's database.
    pub fn revoke(&self, cert: &[u8]) {
        let path = self.dir.path();
        std::fs::write(path.join("revoke.pem"), cert).unwrap();
        openssl(
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-revoke",
                "revoke.pem",
            ],
            path,
        );
    }

    /// A CRL of the revoked certificates (PEM), issued now (real time) and
    /// valid for a century: version 2 (CRL number, authority key id) as
    /// grid CAs publish, or the version 1 CRL `openssl ca -gencrl` writes
    /// when its configuration names no CRL extensions.
    pub fn crl(&self, version2: bool) -> Vec<u8> {
        self.crl_valid_for(version2, 36500)
    }

    /// The same CRL, valid for `days` days from now.
    pub fn crl_valid_for(&self, version2: bool, days: u32) -> Vec<u8> {
        let path = self.dir.path();
        let mut config = CA_CONFIG.to_string();
        if version2 {
            config = config.replace(
                "copy_extensions = none\n",
                "copy_extensions = none\ncrlnumber = ./crlnumber\ncrl_extensions = crl_ext\n",
            );
            config.push_str("[crl_ext]\nauthorityKeyIdentifier = keyid:always\n");
            std::fs::write(path.join("crlnumber"), "01\n").unwrap();
        }
        std::fs::write(path.join("crl.cnf"), config).unwrap();
        openssl(
            &[
                "ca",
                "-batch",
                "-config",
                "crl.cnf",
                "-cert",
                "ca.pem",
                "-keyfile",
                "ca.key",
                "-gencrl",
                "-crldays",
                &days.to_string(),
                "-out",
                "crl.pem",
            ],
            path,
        );
        std::fs::read(path.join("crl.pem")).unwrap()
    }
}

/// In the CA database `path`: a request for the key `<stem>.key` with
/// `subject`, signed by `openssl ca` (with `signer`: `-selfsign`, or the
/// CA certificate) with the extension lines `extensions`, valid
/// `start`..`end`, written to `<stem>.pem`; the certificate in PEM.
fn certify(
    path: &Path,
    stem: &str,
    subject: &str,
    extensions: &str,
    signer: &[&str],
    start: &str,
    end: &str,
) -> Vec<u8> {
    std::fs::write(path.join("ext.cnf"), format!("[ext]\n{extensions}")).unwrap();
    let (key, csr, out) = (
        format!("{stem}.key"),
        format!("{stem}.csr"),
        format!("{stem}.pem"),
    );
    openssl(
        &["req", "-new", "-key", &key, "-subj", subject, "-out", &csr],
        path,
    );
    let mut args = vec!["ca", "-batch", "-config", "ca.cnf"];
    args.extend_from_slice(signer);
    args.extend_from_slice(&[
        "-keyfile",
        "ca.key",
        "-extfile",
        "ext.cnf",
        "-extensions",
        "ext",
        "-startdate",
        start,
        "-enddate",
        end,
        "-notext",
        "-in",
        &csr,
        "-out",
        &out,
    ]);
    openssl(&args, path);
    std::fs::read(path.join(out)).unwrap()
}

/// The OpenSSL subject hash of a PEM certificate (`openssl x509 -hash`),
/// the `<hash>` of `<hash>.0` and `<hash>.r0` in a trust directory.
pub fn subject_hash(cert: &Path) -> String {
    let out = openssl(
        &["x509", "-hash", "-noout", "-in", arg(cert)],
        cert.parent().unwrap(),
    );
    String::from_utf8(out).unwrap().trim().to_string()
}

/// The extensions of an end-entity (signing) certificate, with `san` as
/// subjectAltName when given.
pub fn user_extensions(san: Option<&str>) -> String {
    let mut text = String::from(
        "basicConstraints = CA:FALSE\n\
         keyUsage = critical,digitalSignature,nonRepudiation\n\
         subjectKeyIdentifier = hash\n",
    );
    if let Some(san) = san {
        text.push_str(&format!("subjectAltName = {san}\n"));
    }
    text
}

/// Run `stratus-build-metadata -q args` in the lab; require success; the
/// document.
pub fn build_in(lab: &Lab, args: &[&str]) -> Vec<u8> {
    let mut c = lab.command(BUILD);
    c.arg("-q").args(args);
    let output = run_with_input(c, b"");
    assert_ok(
        &output,
        &format!("stratus-build-metadata {}", args.join(" ")),
    );
    output.stdout
}

/// The unsigned document every signing test starts from: built by
/// `stratus-build-metadata` (pinned clock) from a small sample image.
pub fn unsigned_doc() -> &'static [u8] {
    static DOC: OnceLock<Vec<u8>> = OnceLock::new();
    DOC.get_or_init(|| {
        let lab = Lab::new();
        let image = lab.write("disk.img", sample_image(50_000, 7));
        build_in(
            &lab,
            &[
                "--format",
                "raw",
                "--location",
                "http://example.org/images/disk.img",
                "--title",
                "Signed test image",
                "--author",
                "Jane Tester",
                "--os",
                "ubuntu",
                arg(&image),
            ],
        )
    })
}

/// Text of a document (the tests only produce UTF-8).
pub fn text(doc: &[u8]) -> &str {
    std::str::from_utf8(doc).expect("UTF-8 document")
}

/// The byte range of the first `<Signature ...>...</Signature>` element
/// (default-namespace XML-DSig, as the signer and xmlsec1 write it).
pub fn signature_range(doc: &str) -> std::ops::Range<usize> {
    let start = doc
        .find("<Signature")
        .expect("the document has a Signature");
    let end = doc[start..]
        .find("</Signature>")
        .expect("the Signature ends")
        + start
        + 12;
    start..end
}

/// The Signature element's text.
pub fn signature_of(doc: &str) -> &str {
    &doc[signature_range(doc)]
}

/// The document without its Signature element (nothing else changes).
pub fn strip_signature(doc: &str) -> String {
    let range = signature_range(doc);
    format!("{}{}", &doc[..range.start], &doc[range.end..])
}

/// The byte range of `<rdf:Description ...>...</rdf:Description>`.
pub fn description_range(doc: &str) -> std::ops::Range<usize> {
    let start = doc.find("<rdf:Description").expect("a Description");
    let end = doc
        .find("</rdf:Description>")
        .expect("the Description ends")
        + 18;
    start..end
}

/// The byte range of `<tag...>...</tag>` (first occurrence, no nesting).
pub fn element_range(doc: &str, tag: &str) -> std::ops::Range<usize> {
    let start = doc
        .find(&format!("<{tag}>"))
        .or_else(|| doc.find(&format!("<{tag} ")))
        .unwrap_or_else(|| panic!("<{tag}> in the document"));
    let close = format!("</{tag}>");
    let end = doc[start..].find(&close).expect("the element ends") + start + close.len();
    start..end
}

/// Insert `what` just before `</rdf:RDF>`.
pub fn before_root_end(doc: &str, what: &str) -> String {
    let at = doc.rfind("</rdf:RDF>").expect("the root element ends");
    format!("{}{what}{}", &doc[..at], &doc[at..])
}

/// The xmlsec1 signature templates the interop tests use.
#[derive(Clone, Copy, Debug)]
pub enum Template {
    /// The legacy Java profile: RSA-SHA1, SHA-1, C14N 1.0 with comments.
    Sha1WithComments,
    /// The modern profile: RSA-SHA256, SHA-256, C14N 1.0.
    Sha256,
    /// RSA-SHA256 with exclusive C14N for SignedInfo and the reference.
    Sha256Exclusive,
}

impl Template {
    pub fn xml(self) -> String {
        let (c14n, method, digest, extra_transform) = match self {
            Template::Sha1WithComments => (
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments",
                "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
                "http://www.w3.org/2000/09/xmldsig#sha1",
                "",
            ),
            Template::Sha256 => (
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
                "",
            ),
            Template::Sha256Exclusive => (
                "http://www.w3.org/2001/10/xml-exc-c14n#",
                "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
                "http://www.w3.org/2001/04/xmlenc#sha256",
                "<Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            ),
        };
        format!(
            "<Signature xmlns=\"{DSIG}\"><SignedInfo>\
             <CanonicalizationMethod Algorithm=\"{c14n}\"/>\
             <SignatureMethod Algorithm=\"{method}\"/>\
             <Reference URI=\"\"><Transforms>\
             <Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>\
             {extra_transform}</Transforms>\
             <DigestMethod Algorithm=\"{digest}\"/><DigestValue/></Reference>\
             </SignedInfo><SignatureValue/><KeyInfo><X509Data/></KeyInfo></Signature>"
        )
    }
}

/// `doc` (any Signature removed) with `template` appended as the last
/// child of `rdf:RDF`, ready for `xmlsec1 --sign`.
pub fn with_template(doc: &str, template: Template) -> String {
    let doc = if doc.contains("<Signature") {
        strip_signature(doc)
    } else {
        doc.to_string()
    };
    before_root_end(&doc, &template.xml())
}

/// Sign a template document with `xmlsec1 --sign --privkey-pem key,cert`;
/// xmlsec1 must succeed; the signed document.
pub fn xmlsec_sign(doc: &str, pem: &Pem, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    std::fs::write(path.join("key.pem"), &pem.key).unwrap();
    std::fs::write(path.join("cert.pem"), &pem.cert).unwrap();
    std::fs::write(path.join("in.xml"), doc).unwrap();
    let mut args = vec!["--sign", "--privkey-pem", "key.pem,cert.pem"];
    args.extend_from_slice(extra);
    args.extend(["--output", "out.xml", "in.xml"]);
    let output = run_tool("xmlsec1", &args, path);
    assert!(
        output.status.success(),
        "xmlsec1 {} failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    std::fs::read(path.join("out.xml")).unwrap()
}

/// `xmlsec1 --verify --insecure` (no trust checks) on `doc`.
pub fn xmlsec_verify(doc: &[u8]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("doc.xml"), doc).unwrap();
    run_tool(
        "xmlsec1",
        &["--verify", "--insecure", "doc.xml"],
        dir.path(),
    )
}

/// Require `xmlsec1 --verify --insecure` to accept `doc`.
pub fn assert_xmlsec_verifies(doc: &[u8], what: &str) {
    let output = xmlsec_verify(doc);
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stderr).contains("OK"),
        "{what}: xmlsec1 --verify --insecure refused it\nstdout:\n{}\nstderr:\n{}\ndocument:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(doc)
    );
}

/// The text of the first element `ns:local` anywhere in `doc`.
pub fn first_text(doc: &[u8], ns: &str, local: &str) -> String {
    xpath(doc, &format!("string((//{})[1])", el(ns, local)))
}

/// How many elements `ns:local` the document holds, anywhere.
pub fn count_all(doc: &[u8], ns: &str, local: &str) -> usize {
    xpath(doc, &format!("count(//{})", el(ns, local)))
        .parse()
        .expect("a count")
}

/// The `Algorithm` of the first XML-DSig element `local`.
pub fn dsig_algorithm(doc: &[u8], local: &str) -> String {
    xpath(
        doc,
        &format!("string((//{})[1]/@Algorithm)", el(DSIG, local)),
    )
}

/// The endorsement values: (email, subject, issuer, created).
pub fn endorsement(doc: &[u8]) -> (String, String, String, String) {
    let created = xpath(
        doc,
        &format!(
            "string({}/{}/{})",
            description(),
            el(SLREQ, "endorsement"),
            el(DCTERMS, "created")
        ),
    );
    (
        first_text(doc, SLREQ, "email"),
        first_text(doc, SLREQ, "subject"),
        first_text(doc, SLREQ, "issuer"),
        created,
    )
}

/// Require a valid verdict (exit 0, "Valid: -" on stdout).
pub fn assert_valid(output: &Output, what: &str) {
    assert_ok(output, what);
    assert_eq!(stdout(output), "Valid: -\n", "{what}: {}", stderr(output));
}
