//! Running `stratus-marketplace` as an operator does: `import` of a
//! legacy data directory in both layouts (then the same listings as
//! direct uploads give), `export`, `check`, the configuration (file,
//! environment, flags, and the errors that stop start-up), trust options
//! (the legacy whitelist test's material), `--require-endorsement`, HTTPS,
//! the default data directory, `--help` and `--version`.

mod common;
mod market;
mod sigkit;

use common::*;
use market::*;
use sigkit::*;
use std::path::Path;
use std::process::{Output, Stdio};

/// The documents a legacy data directory holds in these tests, with
/// their keys.
fn legacy_documents() -> Vec<(String, Vec<u8>)> {
    vec![
        (format!("{BEE8}/{JANE}/{INDATE_CREATED}"), indate()),
        (format!("{BEE8}/{JANE}/{NEWER_CREATED}"), newer()),
        (
            format!("{CE3U}/{JANE}/2011-09-12T11:23:44Z"),
            server_fixture("valid-expired-signature.xml"),
        ),
        (
            format!("{BEE8}/{JANE}/2014-05-04T16:47:11Z"),
            server_fixture("valid-alternative.xml"),
        ),
        (
            format!("{NEWID}/{JANE}/2014-05-04T16:49:03Z"),
            alternative_newid().to_vec(),
        ),
    ]
}

/// A legacy data directory: the HEAD layout (`metadata/`) or the older
/// one, with the good documents, an unsigned one and a misfiled one.
fn legacy_dir(root: &Path, head_layout: bool) {
    let base = if head_layout {
        root.join("metadata")
    } else {
        root.to_path_buf()
    };
    let write = |key: &str, doc: &[u8]| {
        let path = base.join(format!("{key}.xml"));
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, doc).unwrap();
    };
    for (key, doc) in legacy_documents() {
        write(&key, &doc);
    }
    write(
        &format!("{BEE8}/nobody@example.org/2014-01-01T00:00:00Z"),
        &server_fixture("valid.xml"),
    );
    write(&format!("{CE3U}/{JANE}/2000-01-01T00:00:00Z"), &indate());
    // What the legacy server kept beside the files: not documents.
    std::fs::create_dir_all(root.join("datastore")).unwrap();
    std::fs::write(root.join("datastore/values.dat"), b"opaque").unwrap();
    std::fs::write(root.join(".sync"), b"").unwrap();
}

fn market_in(dir: &Path, args: &[&str]) -> Output {
    let mut c = server_command(dir, None);
    if let Some(at) = args.iter().position(|a| *a == "--data") {
        store_env(&mut c, Path::new(args[at + 1]));
    }
    c.args(args);
    run_with_input(c, b"")
}

fn arg_of(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The listings to compare between two servers.
fn views(server: &Server) -> Vec<Vec<u8>> {
    [
        "/metadata?media=json&status=all".to_string(),
        "/metadata?media=json".to_string(),
        format!("/metadata/{BEE8}"),
        format!("/metadata/{BEE8}?created={INDATE_CREATED}&status=all"),
        format!("/tag/{JANE}/Alternative"),
        "/endorsers".to_string(),
        format!("/endorsers/{JANE}?range=3650"),
    ]
    .iter()
    .map(|path| {
        let reply = server.get(path);
        assert_eq!(reply.status, 200, "{path}");
        reply.body
    })
    .collect()
}

#[test]
fn import_of_both_legacy_layouts_gives_the_listings_of_direct_uploads() {
    let direct = Server::start();
    for (_, doc) in legacy_documents() {
        direct.upload(&doc);
    }
    let expected = views(&direct);
    for head_layout in [true, false] {
        let scratch = tempfile::tempdir().unwrap();
        let legacy = scratch.path().join("legacy");
        legacy_dir(&legacy, head_layout);
        let data = scratch.path().join("data");
        let output = market_in(
            scratch.path(),
            &["import", arg_of(&legacy), "--data", arg_of(&data)],
        );
        // Two bad documents: reported by name, skipped, exit 1.
        assert_code(&output, 1, "import");
        let report = stderr(&output);
        assert!(
            report.contains(
                "nobody@example.org/2014-01-01T00:00:00Z.xml: invalid metadata: no signature"
            ),
            "{report}"
        );
        assert!(
            report.contains("2000-01-01T00:00:00Z.xml: filed as"),
            "{report}"
        );
        assert!(
            stdout(&output).contains("imported 5 documents"),
            "{}",
            stdout(&output)
        );
        let server = Server::options().data(&data).start();
        assert_eq!(
            views(&server),
            expected,
            "layout with metadata/: {head_layout}"
        );
    }
}

#[test]
fn export_then_import_round_trips_and_check_verifies() {
    let server = Server::start();
    for (_, doc) in legacy_documents() {
        server.upload(&doc);
    }
    let expected = views(&server);
    let data = server.data.clone();
    let mut server = server;
    assert!(server.stop().success());
    let scratch = tempfile::tempdir().unwrap();
    let export = scratch.path().join("export");
    let output = market_in(
        scratch.path(),
        &["export", arg_of(&export), "--data", arg_of(&data)],
    );
    assert_ok(&output, "export");
    assert!(stdout(&output).contains("exported 5 documents"));
    // The legacy layout, each file the stored document byte for byte.
    let file = export.join(format!("metadata/{BEE8}/{JANE}/{INDATE_CREATED}.xml"));
    let exported = std::fs::read(&file).unwrap();
    assert!(exported.starts_with(DECLARATION.as_bytes()));
    let mut c = command(VALIDATE);
    c.env("STRATUS_NOW", NOW_2015).arg("-q").arg(&file);
    assert_code(&run_with_input(c, b""), 0, "the exported file validates");
    let again = scratch.path().join("again");
    let output = market_in(
        scratch.path(),
        &["import", arg_of(&export), "--data", arg_of(&again)],
    );
    assert_ok(&output, "import of the export");
    let server = Server::options().data(&again).start();
    assert_eq!(views(&server), expected);
    drop(server);
    let output = market_in(scratch.path(), &["check", "--data", arg_of(&again)]);
    assert_ok(&output, "check");
    assert!(
        stdout(&output).contains("checked 5 entries: 0 problems"),
        "{}",
        stdout(&output)
    );
    // Checked against a CA that certified none of them, every one is reported.
    let ca = fixtures().join("test-ca.pem");
    let mut c = server_command(scratch.path(), Some("2012-06-01T00:00:00Z"));
    store_env(&mut c, &again);
    c.args(["check", "--data", arg_of(&again), "--ca", arg_of(&ca)]);
    let output = run_with_input(c, b"");
    assert_code(&output, 1, "check --ca");
    assert_eq!(
        stderr(&output).matches("signer not trusted").count(),
        5,
        "{}",
        stderr(&output)
    );
    if skip_on_postgres("several processes share a PostgreSQL store: no directory lock") {
        return;
    }
    // The store is in use while a server runs.
    let server = Server::options().data(&again).start();
    let output = market_in(scratch.path(), &["check", "--data", arg_of(&again)]);
    assert_code(&output, 255, "check while serving");
    assert!(
        stderr(&output).contains("held by another stratus-marketplace"),
        "{}",
        stderr(&output)
    );
    drop(server);
}

#[test]
fn configuration_errors_stop_start_up_with_a_clear_message() {
    let scratch = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "validate.email=false\ndata.dri=/tmp\n",
            "marketplace.cfg:2: unknown key 'data.dri'",
        ),
        ("mail.port=0\n", "'mail.port': invalid value '0'"),
        (
            "admin.email=admin@list@example.com\n",
            "'admin.email': invalid value",
        ),
        ("store.type=mysql\n", "'store.type'"),
        (
            "data.dir=relative/dir\n",
            "'data.dir': invalid value 'relative/dir': expected an absolute path",
        ),
        ("admin.email=\n", "'admin.email' is required"),
        (
            "validate.email=true\n",
            "'mail.host' is required with validate.email=true",
        ),
        ("validate.email=yes\n", "expected true or false"),
    ];
    for (text, message) in cases {
        let config = scratch.path().join("marketplace.cfg");
        std::fs::write(&config, text).unwrap();
        let output = market_in(scratch.path(), &["serve", "--listen", "127.0.0.1:0"]);
        assert_code(&output, 2, text);
        assert!(
            stderr(&output).contains(message),
            "{text}: {}",
            stderr(&output)
        );
        assert!(stdout(&output).is_empty(), "it did not start");
    }
    std::fs::remove_file(scratch.path().join("marketplace.cfg")).unwrap();
    let mut c = server_command(scratch.path(), None);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .env("MARKETPLACE_MAIL_PORT", "65536");
    let output = run_with_input(c, b"");
    assert_code(&output, 2, "environment");
    assert!(
        stderr(&output).contains("environment variable MARKETPLACE_MAIL_PORT"),
        "{}",
        stderr(&output)
    );
    let output = market_in(scratch.path(), &["serve", "--config", "/no/such/file"]);
    assert_code(&output, 2, "--config");
    let output = market_in(scratch.path(), &["serve", "--listen", "nowhere"]);
    assert_code(&output, 2, "--listen");
    let mut c = server_command(scratch.path(), Some("yesterday"));
    c.args(["serve", "--listen", "127.0.0.1:0"]);
    assert_code(&run_with_input(c, b""), 2, "STRATUS_NOW");
    // An address in use: exit 7.
    let server = Server::start();
    let taken = server.addr.to_string();
    let output = market_in(
        scratch.path(),
        &[
            "serve",
            "--listen",
            &taken,
            "--data",
            arg_of(&scratch.path().join("d")),
        ],
    );
    assert_code(&output, 7, "address in use");
    assert!(stderr(&output).contains(&format!("cannot listen on {taken}")));
}

#[test]
fn the_file_then_the_environment_then_the_flags() {
    if skip_on_postgres("it finds the data directory by its SQLite database file") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let from_file = scratch.path().join("from-file");
    let from_env = scratch.path().join("from-env");
    std::fs::write(
        scratch.path().join("marketplace.cfg"),
        format!(
            "# the legacy keys are all accepted\nvalidate.email = false\nstore.type=native\n\
             rdbms.port=3306\nmaster.url=http://mp.example.org\nsupport.email=admin@example.org\n\
             data.dir={}\n",
            from_file.display()
        ),
    )
    .unwrap();
    // The file found in the working directory.
    let mut c = server_command(scratch.path(), None);
    c.args(["export", arg_of(&scratch.path().join("out"))]);
    assert_ok(&run_with_input(c, b""), "export with the file's data.dir");
    assert!(from_file.join("marketplace.sqlite").is_file());
    // The environment over the file.
    let mut c = server_command(scratch.path(), None);
    c.args(["export", arg_of(&scratch.path().join("out"))])
        .env("MARKETPLACE_DATA_DIR", &from_env);
    assert_ok(&run_with_input(c, b""), "export with MARKETPLACE_DATA_DIR");
    assert!(from_env.join("marketplace.sqlite").is_file());
    // A flag over both.
    let from_flag = scratch.path().join("from-flag");
    let mut c = server_command(scratch.path(), None);
    c.args([
        "export",
        arg_of(&scratch.path().join("out")),
        "--data",
        arg_of(&from_flag),
    ])
    .env("MARKETPLACE_DATA_DIR", &from_env);
    assert_ok(&run_with_input(c, b""), "export with --data");
    assert!(from_flag.join("marketplace.sqlite").is_file());
}

#[test]
fn the_default_data_directory() {
    if skip_on_postgres("it finds the data directory by its SQLite database file") {
        return;
    }
    let scratch = tempfile::tempdir().unwrap();
    let mut c = server_command(scratch.path(), None);
    c.args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("XDG_DATA_HOME")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(scratch.path().join("log")).unwrap());
    let mut child = c.spawn().unwrap();
    let _addr = wait_for_listening(&mut child, &scratch.path().join("log"));
    let dir = scratch.path().join(".local/share/stratus-marketplace");
    assert!(dir.join("marketplace.sqlite").is_file());
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn only_trusted_signers_with_trust_anchors() {
    // The legacy whitelist test's material, at a time its CA, certificate
    // and CRLs are valid.
    let at = "2012-06-01T00:00:00Z";
    let ca = fixtures().join("test-ca.pem");
    let ca_signed = std::fs::read(fixtures().join("valid-ca-signed.xml")).unwrap();
    let server = Server::options()
        .arg("--ca")
        .arg(arg_of(&ca))
        .now(at)
        .start();
    let reply = server.post(&ca_signed);
    assert_eq!(reply.status, 201, "{}", reply.text());
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        &indate(),
    );
    assert_eq!(reply.status, 400);
    assert!(
        reply
            .error_text()
            .starts_with("invalid metadata: signer not trusted"),
        "{}",
        reply.text()
    );
    let with_crl = |crl: &str| {
        Server::options()
            .arg("--ca")
            .arg(arg_of(&ca))
            .arg("--crl")
            .arg(arg_of(&fixtures().join(crl)))
            .now(at)
            .start()
    };
    assert_eq!(with_crl("test-crl-empty.pem").post(&ca_signed).status, 201);
    let server = with_crl("test-crl-revoked.pem");
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        &ca_signed,
    );
    assert_eq!(reply.status, 400);
    assert!(reply.error_text().contains("revoked"), "{}", reply.text());
    // The same through the configuration file.
    let server = Server::options()
        .config(&format!(
            "validate.email=false\ntrust.ca={}\n",
            ca.display()
        ))
        .now(at)
        .start();
    assert_eq!(server.post(&indate()).status, 400);
    assert_eq!(server.post(&ca_signed).status, 201);
}

#[test]
fn require_endorsement_refuses_a_document_without_an_endorser_email() {
    // Jim's certificate has no e-mail, so a document signed with it may
    // leave the endorser e-mail out: legacy accepted and never listed it.
    let jim = pem_from_p12(&fixtures().join("test-ca-signed.p12"));
    let text =
        String::from_utf8(std::fs::read(fixtures().join("valid-ca-signed.xml")).unwrap()).unwrap();
    let text = text.replace("<email>jim.tester@example.org</email>", "");
    let doc = xmlsec_sign(&with_template(&text, Template::Sha1WithComments), &jim, &[]);
    let at = "2012-06-01T00:00:00Z";
    let server = Server::options().now(at).start();
    assert_eq!(server.post(&doc).status, 201);
    assert_eq!(server.get("/metadata?status=all").status, 404);
    let server = Server::options()
        .arg("--require-endorsement")
        .now(at)
        .start();
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        &doc,
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.error_text(),
        "invalid metadata: the endorsement has no e-mail or no created time"
    );
}

#[test]
fn https_with_a_certificate_of_its_own() {
    let scratch = tempfile::tempdir().unwrap();
    let dir = scratch.path();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ],
        dir,
    );
    let server = Server::options()
        .arg("--tls-cert")
        .arg(arg_of(&dir.join("cert.pem")))
        .arg("--tls-key")
        .arg(arg_of(&dir.join("key.pem")))
        .start();
    let document = dir.join("doc.xml");
    std::fs::write(&document, indate()).unwrap();
    let port = server.addr.port();
    let curl = |args: &[&str]| {
        std::process::Command::new("curl")
            .args(["-s", "-i", "--cacert", arg_of(&dir.join("cert.pem"))])
            .args(args)
            .output()
            .expect("curl runs")
    };
    let output = curl(&[
        "-H",
        "Content-Type: application/xml",
        "--data-binary",
        &format!("@{}", document.display()),
        &format!("https://localhost:{port}/marketplace/metadata"),
    ]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.starts_with("HTTP/1.1 201"), "{text}\n{}", server.log());
    assert!(
        text.contains(&format!(
            "location: https://localhost:{port}/marketplace/metadata/{BEE8}"
        )),
        "{text}"
    );
    let output = curl(&[&format!("https://127.0.0.1:{port}/metadata/{BEE8}")]);
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    // Plain HTTP on the TLS port is not served.
    assert!(
        send_raw(server.addr, b"GET /metadata HTTP/1.1\r\nHost: x\r\n\r\n")
            .map(|r| r.status != 200)
            .unwrap_or(true)
    );
}

#[test]
fn help_and_version() {
    let output = market(&["--help"]);
    assert_ok(&output, "--help");
    let text = stdout(&output);
    for word in [
        "serve",
        "import",
        "export",
        "check",
        "Exit codes",
        "marketplace.cfg",
    ] {
        assert!(text.contains(word), "{word}:\n{text}");
    }
    let output = market(&["serve", "--help"]);
    let text = stdout(&output);
    for option in [
        "--listen",
        "--data",
        "--config",
        "--tls-cert",
        "--tls-key",
        "--ca",
        "--trust-dir",
        "--crl",
        "--max-body-bytes",
        "--require-endorsement",
        "--prefix",
    ] {
        assert!(text.contains(option), "{option}:\n{text}");
    }
    let output = market(&["--version"]);
    assert_ok(&output, "--version");
    assert!(stdout(&output).starts_with("stratus-marketplace "));
    assert_code(&market(&["frobnicate"]), 2, "an unknown subcommand");
}

#[test]
fn the_packaged_configuration_starts_a_server() {
    let packaged =
        std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../packaging/marketplace.cfg");
    let text = std::fs::read_to_string(&packaged).unwrap();
    let data = tempfile::tempdir().unwrap();
    // data.dir and server.listen of the package, overridden for the test.
    let server = Server::options().config(&text).data(data.path()).start();
    server.upload(&indate());
    assert_eq!(
        server.get(&format!("/marketplace/metadata/{BEE8}")).status,
        200
    );
}
