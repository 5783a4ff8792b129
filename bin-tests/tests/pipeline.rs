//! The commands chained through real pipes, as in a shell:
//! `stratus-build-metadata img | stratus-validate-metadata --no-signature`.

mod common;

use common::*;
use std::ffi::OsStr;
use std::process::{Child, Command, Output, Stdio};

/// Spawn `first` (whose stdin the caller sets) with its stdout piped into
/// `second`; return both outputs (the first one's stdout is empty: it went
/// down the pipe).
fn pipe(mut first: Command, mut second: Command) -> (Output, Output) {
    let mut producer: Child = first
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the first command starts");
    let link = producer.stdout.take().expect("stdout is piped");
    let consumer = second
        .stdin(Stdio::from(link))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the second command starts");
    let second_output = consumer
        .wait_with_output()
        .expect("the second command runs");
    let first_output = producer.wait_with_output().expect("the first command runs");
    (first_output, second_output)
}

fn build_command<S: AsRef<OsStr>>(args: &[S]) -> Command {
    let mut c = command(BUILD);
    c.args(args).stdin(Stdio::null());
    c
}

fn validate_command(args: &[&str]) -> Command {
    let mut c = command(VALIDATE);
    c.args(args);
    c
}

#[test]
fn build_piped_into_validate_is_a_valid_draft() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "disk.img", &sample_image(200_000, 1));
    let (built, checked) = pipe(
        build_command(&[
            "--location".as_ref(),
            "http://example.org/disk.img".as_ref(),
            image.as_os_str(),
        ]),
        validate_command(&["--no-signature"]),
    );
    assert_ok(&built, "build");
    assert_eq!(stderr(&built), "", "no warning with --location");
    assert_ok(&checked, "validate --no-signature");
    assert_eq!(stdout(&checked), "Valid: -\n");
    assert_eq!(stderr(&checked), "");
}

#[test]
fn build_piped_into_validate_without_no_signature_is_unsigned() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "disk.img", b"foo");
    let (built, checked) = pipe(
        build_command(&["-q".as_ref(), image.as_os_str()]),
        validate_command(&[]),
    );
    assert_ok(&built, "build");
    assert_code(&checked, 1, "validate an unsigned draft");
    assert_eq!(stdout(&checked), "");
    assert_eq!(stderr(&checked), "Invalid: -\nno signature\n");

    let (_, checked) = pipe(
        build_command(&["-q".as_ref(), image.as_os_str()]),
        validate_command(&["--json"]),
    );
    assert_code(&checked, 1, "validate --json an unsigned draft");
    let lines = json_lines(&checked);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["file"], "-");
    assert_eq!(lines[0]["valid"], false);
    assert_eq!(lines[0]["stage"], "signature");
    assert_eq!(lines[0]["message"], "no signature");
}

#[test]
fn build_output_passes_xmllint() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "disk.img", b"foo");
    let mut lint = Command::new("xmllint");
    lint.args(["--noout", "-"]);
    let (built, linted) = pipe(
        build_command(&[
            "-q".as_ref(),
            "--title".as_ref(),
            "Fish & <Chips>".as_ref(),
            "--email".as_ref(),
            "jane@example.org".as_ref(),
            image.as_os_str(),
        ]),
        lint,
    );
    assert_ok(&built, "build");
    assert_ok(&linted, "xmllint --noout");
    assert_eq!(stderr(&linted), "");
}

#[test]
fn compressed_image_through_three_processes() {
    // gzip -c img | stratus-build-metadata - | stratus-validate-metadata --no-signature --json
    let dir = tempfile::tempdir().unwrap();
    let data = sample_image(500_000, 77);
    let image = write_file(dir.path(), "disk.img", &data);
    let sha256 = coreutils_digest("sha256sum", &image);

    let mut gzip = Command::new("gzip")
        .arg("-c")
        .arg(&image)
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip starts");
    // First with the document kept, to look inside it.
    let builder = command(BUILD)
        .args(["-q", "-"])
        .stdin(Stdio::from(gzip.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("build starts");
    let built = builder.wait_with_output().unwrap();
    assert!(gzip.wait().unwrap().success(), "gzip wrote it all");
    let doc = built.stdout.clone();
    assert_ok(&built, "build from a gzip pipe");
    assert_eq!(term(&doc, DCTERMS, "compression"), "gz");
    assert_eq!(term(&doc, SLREQ, "bytes"), data.len().to_string());
    assert_eq!(checksum(&doc, "SHA-256"), Some(sha256));

    let checked = stratus_stdin(VALIDATE, &["--no-signature", "--json"], &doc);
    assert_ok(&checked, "validate the built document");
    assert_eq!(json_lines(&checked)[0]["valid"], true);

    // And the fully piped version.
    let mut gzip = Command::new("gzip")
        .arg("-c")
        .arg(&image)
        .stdout(Stdio::piped())
        .spawn()
        .expect("gzip starts");
    let mut build = command(BUILD);
    build
        .args(["-q", "-"])
        .stdin(Stdio::from(gzip.stdout.take().unwrap()));
    let (built, checked) = pipe(build, validate_command(&["--no-signature"]));
    assert!(gzip.wait().unwrap().success(), "gzip wrote it all");
    assert_ok(&built, "build");
    assert_ok(&checked, "validate");
    assert_eq!(stdout(&checked), "Valid: -\n");
}

#[test]
fn output_file_then_validate_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "disk.img", b"foo");
    let out = dir.path().join("disk.xml");
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("--email"),
        OsStr::new("jane@example.org"),
        OsStr::new("-o"),
        out.as_os_str(),
        image.as_os_str(),
    ]);
    assert_ok(&output, "build -o");
    let checked = stratus(VALIDATE, &["--no-signature".as_ref(), out.as_os_str()]);
    assert_ok(&checked, "validate the file");
    assert_eq!(stdout(&checked), format!("Valid: {}\n", out.display()));
    // Two copies in one call, one from stdin.
    let doc = std::fs::read(&out).unwrap();
    let mut c = command(VALIDATE);
    c.args(["--no-signature".as_ref(), out.as_os_str(), "-".as_ref()]);
    let checked = run_with_input(c, &doc);
    assert_ok(&checked, "file and stdin");
    assert_eq!(
        stdout(&checked),
        format!("Valid: {}\nValid: -\n", out.display())
    );
}
