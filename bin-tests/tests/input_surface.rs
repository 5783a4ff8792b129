//! The inputs the commands read besides documents, driven through the
//! binaries: credential files given as pipes or under names that are not
//! UTF-8, credentials from the environment, and messages that quote what
//! a hostile file or name holds.

mod common;
mod sigkit;

use common::*;
use sigkit::*;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run `command` with `input` on stdin; `None` when it has not finished
/// within a minute (it is then killed).
fn run_within_a_minute(mut command: Command, input: &[u8]) -> Option<Output> {
    use std::io::Write;
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = writer.join();
    Some(child.wait_with_output().unwrap())
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

/// `--pem-key <(...)`: the key is a pipe that can be read once. The
/// command read it to see whether it needs a password, then opened it
/// again to load it, and waited forever for a second writer.
#[test]
fn a_pem_key_given_as_a_pipe_is_read_once() {
    let lab = Lab::new();
    let (_, cert) = jane().write(&lab, "jane");
    let fifo = lab.path("key.fifo");
    mkfifo(&fifo);
    let key = jane().key.clone();
    let writer_path = fifo.clone();
    // One writer, once, as a shell's process substitution gives.
    std::thread::spawn(move || std::fs::write(writer_path, key));
    let command = lab.sign_command(&["--pem-cert", arg(&cert), "--pem-key", arg(&fifo)]);
    let output = run_within_a_minute(command, unsigned_doc());
    let output = output.expect("stratus-sign-metadata waited for a second writer of the key pipe");
    assert_ok(&output, "a key from a pipe");
    assert_valid(
        &lab.validate(&[], &output.stdout),
        "signed with a piped key",
    );
}

/// File names are bytes: a name that is not UTF-8, from the options or
/// the environment, names that file (it was turned into text with U+FFFD
/// in place of the bytes, which names no file).
#[test]
fn credential_file_names_need_not_be_utf8() {
    let lab = Lab::new();
    let cert = lab.dir.path().join(OsStr::from_bytes(b"cert-\xff.pem"));
    let key = lab.dir.path().join(OsStr::from_bytes(b"key-\xfe.pem"));
    std::fs::write(&cert, &jane().cert).unwrap();
    std::fs::write(&key, &jane().key).unwrap();

    let mut command = lab.sign_command(&[]);
    command
        .arg("--pem-cert")
        .arg(&cert)
        .arg("--pem-key")
        .arg(&key);
    let output = run_with_input(command, unsigned_doc());
    assert_ok(&output, "names that are not UTF-8, as options");

    let mut command = lab.sign_command(&[]);
    command
        .env("STRATUSLAB_PEM_CERTIFICATE", &cert)
        .env("STRATUSLAB_PEM_KEY", &key);
    let output = run_with_input(command, unsigned_doc());
    assert_ok(&output, "names that are not UTF-8, from the environment");
}

/// A password variable that is not UTF-8 cannot be a password: it is a
/// usage error naming the variable, not a value silently passed over for
/// the next source (an empty password, then "wrong password").
#[test]
fn a_password_variable_that_is_not_utf8_is_named() {
    let lab = Lab::new();
    let p12 = fixture("test.p12");
    let mut command = lab.sign_command(&["--p12-cert", arg(&p12)]);
    command.env("STRATUSLAB_P12_PASSWORD", OsStr::from_bytes(b"XYZ\xffXYZ"));
    let output = run_with_input(command, unsigned_doc());
    assert_code(&output, 2, "a password variable that is not UTF-8");
    assert!(
        stderr(&output).contains("STRATUSLAB_P12_PASSWORD: the value is not valid UTF-8"),
        "{}",
        stderr(&output)
    );
}

/// Messages quote what files hold and what they are called; neither may
/// move the cursor, retitle the terminal or start a new line (the trust
/// directory and its policies come from CA bundles, not from the site).
#[test]
fn messages_escape_the_names_and_contents_they_quote() {
    let lab = Lab::new();
    let doc = std::fs::read(fixture("valid-ca-signed.xml")).unwrap();

    let certs = lab.path("certs");
    std::fs::create_dir(&certs).unwrap();
    std::fs::copy(fixture("test-ca.pem"), certs.join("3e2d1c0b.0")).unwrap();
    std::fs::write(
        certs.join("3e2d1c0b.namespaces"),
        "TO Issuer SELF \x1b]0;owned\x07PERMIT Subject \"/.*\"\n",
    )
    .unwrap();
    let output = lab.validate(&["--trust-dir", arg(&certs), "--at", IN_2012], &doc);
    assert_code(&output, 255, "a policy file quoting terminal controls");
    let err = stderr(&output);
    assert!(
        err.contains("expected PERMIT or DENY, found '\\033]0;owned\\aPERMIT'"),
        "{err}"
    );
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");

    let junk = lab.path("junk");
    std::fs::create_dir(&junk).unwrap();
    std::fs::copy(fixture("test-ca.pem"), junk.join("3e2d1c0b.0")).unwrap();
    std::fs::write(junk.join("bad\x1b[2J\nname.pem"), "not a certificate").unwrap();
    let output = lab.validate(&["--trust-dir", arg(&junk), "--at", IN_2012], &doc);
    assert_code(
        &output,
        255,
        "a trust file with control characters in its name",
    );
    let err = stderr(&output);
    assert!(err.contains("bad\\033[2J\\nname.pem"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

/// A fake `qemu-img` running `script` (copied by `cp`, so that no
/// descriptor of it is open in this process when it runs).
fn fake_qemu_img(dir: &Path, script: &str) -> std::path::PathBuf {
    let text = write_file(dir, "fake-qemu-img.txt", script.as_bytes());
    let fake = dir.join("fake-qemu-img");
    tool("cp", &[text.as_os_str(), fake.as_os_str()]);
    tool("chmod", &["755".as_ref(), fake.as_os_str()]);
    fake
}

/// `qemu-img info` reads an image's headers; an image can make it wait
/// (a VMDK descriptor naming a FIFO as an extent) or talk at length. It
/// was waited for without end and its output read whole; it is now killed
/// after 30 seconds, and at most 16 MiB of its output is read.
#[test]
fn qemu_img_is_bounded_in_time_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "disk.img", &[0u8; 4096]);

    let stuck = fake_qemu_img(dir.path(), "#!/bin/sh\nexec sleep 600\n");
    let mut c = command(BUILD);
    c.env("STRATUS_QEMU_IMG", &stuck).arg("-q").arg(&image);
    let output = run_within_a_minute(c, b"").expect("qemu-img was waited for without end");
    assert_code(&output, 255, "a qemu-img that never finishes");
    let err = stderr(&output);
    assert!(err.contains("did not finish within 30 seconds"), "{err}");
    assert!(
        err.contains("disk.img") && err.contains("--format"),
        "{err}"
    );
    assert!(output.stdout.is_empty());

    let talkative = fake_qemu_img(
        dir.path(),
        "#!/bin/sh\nhead -c 20000000 /dev/zero | tr '\\0' ' '\necho '{\"format\": \"raw\"}'\n",
    );
    let mut c = command(BUILD);
    c.env("STRATUS_QEMU_IMG", &talkative).arg("-q").arg(&image);
    let output = run_within_a_minute(c, b"").expect("finished");
    assert_code(&output, 255, "a qemu-img writing 20 MB");
    let err = stderr(&output);
    assert!(err.contains("wrote more than the 16777216 bytes"), "{err}");
}

/// A variable the commands read that is not UTF-8 is a usage error naming
/// it: it was passed over as if unset (the real clock used instead of the
/// pinned one, the default section instead of the one chosen).
#[test]
fn variables_that_are_not_utf8_are_named() {
    let doc = fixture("valid-minimal.xml");
    for variable in [
        "STRATUS_NOW",
        "STRATUSLAB_USER_CONFIG_SECTION",
        "STRATUS_QEMU_IMG",
        "STRATUSLAB_MARKETPLACE_ENDPOINT",
        "HTTPS_PROXY",
        "no_proxy",
        "STRATUS_QEMU",
        "STRATUS_MKISOFS",
        "STRATUS_VIRT_CUSTOMIZE",
    ] {
        let mut c = command(VALIDATE);
        c.arg("--no-signature")
            .arg(&doc)
            .env(variable, OsStr::from_bytes(b"\xff"));
        let output = run_with_input(c, b"");
        assert_code(&output, 2, variable);
        let err = stderr(&output);
        assert!(
            err.contains(&format!("{variable}: the value is not valid UTF-8")),
            "{err}"
        );
    }
}
