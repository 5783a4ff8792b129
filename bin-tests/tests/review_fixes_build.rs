//! Regression tests for what a review of `stratus-build-metadata` and
//! `stratus-validate-metadata` found.

use std::process::{Command, Stdio};
use stratus_bin_tests::{code, command, fixtures, run_with_input, stderr, stdout};

fn qcow2(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("disk.qcow2");
    let status = Command::new("qemu-img")
        .args(["create", "-q", "-f", "qcow2"])
        .arg(&path)
        .arg("1M")
        .status()
        .expect("qemu-img is installed");
    assert!(status.success());
    path
}

#[test]
fn dev_stdin_is_probed_as_the_file_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let image = qcow2(dir.path());
    let mut build = command("stratus-build-metadata");
    build
        .args(["-q", "/dev/stdin"])
        .stdin(std::fs::File::open(&image).unwrap());
    let output = build.output().unwrap();
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(
        stdout(&output).contains("<dcterms:format>qcow2</dcterms:format>"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn unreadable_compressions_are_refused_not_hashed_as_raw() {
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("disk.img.zst");
    std::fs::write(&image, b"\x28\xb5\x2f\xfd\x00\x00\x19\x00\x00foo").unwrap();
    let mut build = command("stratus-build-metadata");
    build.arg("-q").arg(&image);
    let output = run_with_input(build, b"");
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("zstd-compressed: decompress it first"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn unique_prefixes_of_long_options_are_accepted_as_by_optparse() {
    let dir = tempfile::tempdir().unwrap();
    let image = qcow2(dir.path());
    let mut build = command("stratus-build-metadata");
    build
        .args(["-q", "--hyper", "xen", "--valid", "2030-01-01"])
        .arg(&image);
    let output = run_with_input(build, b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(stdout(&output).contains("<slterms:hypervisor>xen</slterms:hypervisor>"));
    assert!(stdout(&output).contains("<dcterms:valid>2030-01-01T00:00:00Z</dcterms:valid>"));
}

#[test]
fn output_through_a_dangling_symlink_creates_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let image = qcow2(dir.path());
    let link = dir.path().join("link.xml");
    std::os::unix::fs::symlink("target.xml", &link).unwrap();
    let mut build = command("stratus-build-metadata");
    build.arg("-q").arg("-o").arg(&link).arg(&image);
    let output = run_with_input(build, b"");
    assert_eq!(code(&output), 0, "{}", stderr(&output));
    assert!(link.is_symlink());
    assert!(dir.path().join("target.xml").is_file());
}

#[test]
fn a_closed_stdout_keeps_the_validation_verdict() {
    let valid = fixtures().join("valid-minimal.xml");
    let invalid = fixtures().join("invalid-multiple-os.xml");
    for (files, expected) in [
        (vec![&valid, &valid, &valid], 0),
        (vec![&valid, &invalid, &valid], 1),
    ] {
        let mut validate = command("stratus-validate-metadata");
        validate.arg("--no-signature").args(&files);
        validate.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = validate.spawn().unwrap();
        drop(child.stdout.take()); // the reader is gone before anything is written
        let output = child.wait_with_output().unwrap();
        assert_eq!(code(&output), expected, "{}", stderr(&output));
    }
}
