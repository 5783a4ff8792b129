//! Bad input to both commands: each failure has a clear message naming what
//! is wrong, the documented exit code, and leaves no partial output.

mod common;

use common::*;
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::process::Stdio;

/// Require a failure with `exit`, an empty stdout and every `needle` in stderr.
fn assert_fails(output: &std::process::Output, exit: i32, needles: &[&str], what: &str) {
    assert_code(output, exit, what);
    assert!(
        output.stdout.is_empty(),
        "{what}: nothing on stdout, got:\n{}",
        stdout(output)
    );
    let err = stderr(output);
    for needle in needles {
        assert!(
            err.contains(needle),
            "{what}: stderr lacks {needle:?}:\n{err}"
        );
    }
}

// ---------------------------------------------------------------------------
// stratus-build-metadata: the image.

#[test]
fn no_image_is_a_usage_error() {
    let output = build::<&str>(&[]);
    assert_fails(&output, 2, &["Please specify an image"], "no image");
}

#[test]
fn missing_image_and_directory_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such.img");
    let output = build(&["-q".as_ref(), missing.as_os_str()]);
    let expected = format!("Image does not exist: {}", missing.display());
    assert_fails(&output, 2, &[&expected], "missing image");
    let output = build(&["-q".as_ref(), dir.path().as_os_str()]);
    let expected = format!("Image is a directory, not a file: {}", dir.path().display());
    assert_fails(&output, 2, &[&expected], "directory");
}

/// Pipes, FIFOs and devices are read as streams (the format from the
/// header): `/dev/null` is an empty image, a FIFO delivers its content.
#[test]
fn special_files_are_read_as_streams() {
    let output = build(&["-q".as_ref(), Path::new("/dev/null").as_os_str()]);
    assert_code(&output, 0, "/dev/null");
    assert!(stdout(&output).contains("<slreq:bytes>0</slreq:bytes>"));
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("image.fifo");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let writer_path = fifo.clone();
    let writer = std::thread::spawn(move || std::fs::write(writer_path, b"foo").unwrap());
    let output = build(&["-q".as_ref(), fifo.as_os_str()]);
    writer.join().unwrap();
    assert_code(&output, 0, "fifo");
    assert!(stdout(&output)
        .contains("<slreq:value>0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33</slreq:value>"));
}

#[test]
fn two_images_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "foo", b"foo");
    let output = build(&[&image, &image]);
    assert_code(&output, 2, "two images");
    assert!(output.stdout.is_empty());
}

#[test]
fn unreadable_image_is_a_runtime_error() {
    if is_root() {
        eprintln!("skipped: running as root, chmod 000 does not stop reading");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "locked.img", b"foo");
    std::fs::set_permissions(&image, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = dir.path().join("out.xml");
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("-o"),
        out.as_os_str(),
        image.as_os_str(),
    ]);
    assert_fails(&output, 255, &["locked.img"], "unreadable image");
    assert!(!out.exists(), "no output file");
}

/// A compressed sample image and its compressed bytes, per tool.
fn compressed_samples(dir: &Path) -> Vec<(&'static str, std::path::PathBuf, Vec<u8>)> {
    let raw = write_file(dir, "sample.img", &sample_image(400_000, 21));
    COMPRESSORS
        .iter()
        .map(|(program, name)| {
            let path = dir.join(format!("sample.img.{name}"));
            compress(program, &raw, &path);
            let bytes = std::fs::read(&path).unwrap();
            (*program, path, bytes)
        })
        .collect()
}

fn format_word(program: &str) -> &'static str {
    match program {
        "gzip" => "gzip",
        "bzip2" => "bzip2",
        _ => "xz",
    }
}

#[test]
fn truncated_compressed_images_fail_naming_the_file_and_format() {
    let dir = tempfile::tempdir().unwrap();
    for (program, _, bytes) in compressed_samples(dir.path()) {
        let name = format!("truncated-{program}.img");
        let path = write_file(dir.path(), &name, &bytes[..bytes.len() / 2]);
        let out = dir.path().join(format!("{name}.xml"));
        let output = build(&[
            OsStr::new("-q"),
            OsStr::new("-o"),
            out.as_os_str(),
            path.as_os_str(),
        ]);
        assert_fails(
            &output,
            255,
            &[&name, format_word(program)],
            &format!("half a {program} file"),
        );
        assert!(!out.exists(), "no output file for {name}");

        // The same through standard input.
        let output = stratus_stdin(BUILD, &["-q", "-"], &bytes[..bytes.len() / 2]);
        assert_fails(
            &output,
            255,
            &["standard input", format_word(program)],
            &format!("half a {program} stream on stdin"),
        );
    }
}

#[test]
fn a_compressed_header_alone_fails() {
    let dir = tempfile::tempdir().unwrap();
    for (program, _, bytes) in compressed_samples(dir.path()) {
        let name = format!("header-only-{program}.img");
        let path = write_file(dir.path(), &name, &bytes[..8]);
        let output = build(&["-q".as_ref(), path.as_os_str()]);
        assert_fails(&output, 255, &[&name], &format!("{program} header only"));
    }
}

#[test]
fn corrupted_compressed_images_fail_naming_the_file_and_format() {
    let dir = tempfile::tempdir().unwrap();
    for (program, _, mut bytes) in compressed_samples(dir.path()) {
        let middle = bytes.len() / 2;
        for byte in &mut bytes[middle..middle + 32] {
            *byte ^= 0xa5;
        }
        let name = format!("corrupt-{program}.img");
        let path = write_file(dir.path(), &name, &bytes);
        let out = dir.path().join(format!("{name}.xml"));
        let output = build(&[
            OsStr::new("-q"),
            OsStr::new("-o"),
            out.as_os_str(),
            path.as_os_str(),
        ]);
        assert_fails(
            &output,
            255,
            &[&name, format_word(program)],
            &format!("corrupt {program} file"),
        );
        assert!(!out.exists(), "no output file for {name}");
    }
}

#[test]
fn corrupt_image_leaves_an_existing_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, mut bytes) = compressed_samples(dir.path()).remove(0);
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    bytes[middle + 1] ^= 0xff;
    let work = tempfile::tempdir().unwrap();
    let image = write_file(work.path(), "bad.img.gz", &bytes);
    let out = write_file(work.path(), "keep.xml", b"precious\n");
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("-o"),
        out.as_os_str(),
        image.as_os_str(),
    ]);
    assert_fails(
        &output,
        255,
        &["bad.img.gz", "gzip"],
        "corrupt image with -o",
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious\n");
    assert_eq!(
        dir_names(work.path()),
        ["bad.img.gz", "keep.xml"],
        "no temporary left"
    );

    // The same with --legacy-output in the current directory.
    let legacy = write_file(work.path(), "---base-.xml", b"older\n");
    let mut c = command(BUILD);
    c.current_dir(work.path())
        .args(["-q", "--legacy-output", "bad.img.gz"]);
    let output = run_with_input(c, b"");
    assert_fails(
        &output,
        255,
        &["bad.img.gz"],
        "corrupt image with --legacy-output",
    );
    assert_eq!(std::fs::read(&legacy).unwrap(), b"older\n");
    assert_eq!(
        dir_names(work.path()),
        ["---base-.xml", "bad.img.gz", "keep.xml"]
    );
}

#[test]
fn output_into_a_missing_directory_fails_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "foo", b"foo");
    let out = dir.path().join("no-such-dir").join("out.xml");
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("-o"),
        out.as_os_str(),
        image.as_os_str(),
    ]);
    assert_fails(
        &output,
        255,
        &["no-such-dir"],
        "-o into a missing directory",
    );
    assert!(!dir.path().join("no-such-dir").exists());
    assert_eq!(dir_names(dir.path()), ["foo"]);
}

#[test]
fn output_onto_a_directory_fails_and_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "foo", b"foo");
    let target = dir.path().join("subdir");
    std::fs::create_dir(&target).unwrap();
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("-o"),
        target.as_os_str(),
        image.as_os_str(),
    ]);
    assert_fails(&output, 255, &["subdir"], "-o onto a directory");
    assert!(target.is_dir());
    assert_eq!(dir_names(&target), Vec::<String>::new());
    assert_eq!(dir_names(dir.path()), ["foo", "subdir"]);
}

#[test]
fn unwritable_output_directory_is_a_runtime_error() {
    if is_root() {
        eprintln!("skipped: running as root, a read-only directory is writable");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "foo", b"foo");
    let locked = dir.path().join("locked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o555)).unwrap();
    let out = locked.join("out.xml");
    let output = build(&[
        OsStr::new("-q"),
        OsStr::new("-o"),
        out.as_os_str(),
        image.as_os_str(),
    ]);
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_fails(&output, 255, &["locked"], "-o into a read-only directory");
    assert_eq!(dir_names(&locked), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// stratus-build-metadata: option values.

#[test]
fn bad_option_values_are_usage_errors_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let image = write_file(dir.path(), "foo", b"foo");
    let image = image.to_str().unwrap();
    let hex64_bad = format!("{}g", "a".repeat(63));
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--disks-bus", "floppy"],
            vec!["Unknown disks bus type floppy. Available types: ide, scsi, virtio"],
        ),
        (vec!["--valid", "2030-13-01"], vec!["--valid", "2030-13-01"]),
        (vec!["--valid", "2030-02-30"], vec!["--valid"]),
        (vec!["--valid", "tomorrow"], vec!["--valid", "tomorrow"]),
        (vec!["--valid", "2030-01-01T25:00:00Z"], vec!["--valid"]),
        (vec!["--valid-days", "abc"], vec!["--valid-days", "abc"]),
        (vec!["--valid-days=-1"], vec!["--valid-days"]),
        (vec!["--valid-days", "1.5"], vec!["--valid-days"]),
        (vec!["--sha256", "nonhex"], vec!["--sha256", "nonhex"]),
        (vec!["--sha256", &hex64_bad], vec!["--sha256"]),
        (vec!["--md5", "abcdef"], vec!["--md5"]),
        (
            vec!["--sha1", "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a3"],
            vec!["--sha1"],
        ),
        (
            vec!["--sha1", "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a333"],
            vec!["--sha1"],
        ),
        (vec!["--sha512", "zz"], vec!["--sha512"]),
        (vec!["--email", "bad"], vec!["--email", "bad"]),
        (vec!["--email", "jane@"], vec!["--email"]),
        (vec!["--email", "a@b@c"], vec!["--email"]),
        (vec!["--email", " jane@example.org"], vec!["--email"]),
        (vec!["--compression", "zip"], vec!["--compression", "zip"]),
        (
            vec!["--valid", "2030-01-01", "--valid-days", "3"],
            vec!["--valid", "--valid-days"],
        ),
        (vec!["--bogus"], vec!["--bogus"]),
    ];
    for (args, needles) in cases {
        let mut all = args.clone();
        all.push(image);
        let output = build(&all);
        assert_fails(&output, 2, &needles, &format!("{args:?}"));
    }
    // An option missing its value at the end of the line.
    let output = build(&[image, "--author"]);
    assert_fails(&output, 2, &["--author"], "--author without a value");
}

#[test]
fn usage_errors_come_before_reading_the_image() {
    // A bad value is reported even when the image is also bad: it is
    // checked first, without reading (or hanging on) the image.
    let dir = tempfile::tempdir().unwrap();
    let garbage = write_file(dir.path(), "garbage.gz", b"\x1f\x8b\x08\x00garbage");
    let output = build(&[
        "--disks-bus".as_ref(),
        "floppy".as_ref(),
        garbage.as_os_str(),
    ]);
    assert_fails(
        &output,
        2,
        &["Unknown disks bus type floppy"],
        "bad bus first",
    );
}

// ---------------------------------------------------------------------------
// stratus-validate-metadata: unreadable and hostile input.

#[test]
fn missing_file_and_directory_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.xml");
    for path in [missing.as_path(), dir.path()] {
        let output = stratus(VALIDATE, &["--no-signature".as_ref(), path.as_os_str()]);
        assert_fails(
            &output,
            255,
            &[&format!("Cannot read {}", path.display())],
            &path.display().to_string(),
        );
        let output = stratus(
            VALIDATE,
            &[
                "--no-signature".as_ref(),
                "--json".as_ref(),
                path.as_os_str(),
            ],
        );
        assert_code(&output, 255, "--json unreadable");
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["file"], path.display().to_string());
        assert_eq!(lines[0]["valid"], false);
        assert_eq!(lines[0]["stage"], "read");
        assert!(lines[0]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[test]
fn unreadable_file_cannot_be_read() {
    if is_root() {
        eprintln!("skipped: running as root, chmod 000 does not stop reading");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let doc = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    let path = write_file(dir.path(), "locked.xml", &doc);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o000)).unwrap();
    let output = stratus(VALIDATE, &["--no-signature".as_ref(), path.as_os_str()]);
    assert_fails(
        &output,
        255,
        &[&format!("Cannot read {}", path.display())],
        "chmod 000",
    );
}

#[test]
fn unreadable_wins_over_invalid_and_valid_lines_still_print() {
    let dir = tempfile::tempdir().unwrap();
    let valid = fixtures().join("valid-minimal.xml");
    let invalid = fixtures().join("invalid-multiple-os.xml");
    let missing = dir.path().join("missing.xml");
    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            valid.as_os_str(),
            missing.as_os_str(),
            invalid.as_os_str(),
        ],
    );
    assert_code(&output, 255, "valid + missing + invalid");
    assert_eq!(stdout(&output), format!("Valid: {}\n", valid.display()));
    let err = stderr(&output);
    assert!(
        err.contains(&format!("Cannot read {}", missing.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!("Invalid: {}\n", invalid.display())),
        "{err}"
    );
}

#[test]
fn not_xml_is_invalid_at_the_xml_stage() {
    let cases: [&[u8]; 5] = [
        b"hello world\n",
        b"",
        b"<rdf:RDF",
        b"\x00\x01\x02\xff\xfe",
        b"<a></b>",
    ];
    for input in cases {
        let output = stratus_stdin(VALIDATE, &["--no-signature"], input);
        assert_code(&output, 1, &format!("{input:?}"));
        assert!(output.stdout.is_empty());
        assert!(
            stderr(&output).starts_with("Invalid: -\n"),
            "{}",
            stderr(&output)
        );
        let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], input);
        assert_code(&output, 1, &format!("--json {input:?}"));
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["stage"], "xml", "{input:?}");
        assert_eq!(lines[0]["valid"], false);
        assert_eq!(lines[0]["file"], "-");
    }
}

const BILLION_LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
"#;

#[test]
fn entity_bomb_on_stdin_is_refused_at_the_xml_stage() {
    for extra in [&["--no-signature"][..], &[]] {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let output = stratus_stdin(VALIDATE, &args, BILLION_LAUGHS.as_bytes());
        assert_code(&output, 1, "billion laughs");
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0]["valid"], false);
        assert_eq!(lines[0]["stage"], "xml", "{:?}", lines[0]);
        assert!(
            !stdout(&output).contains("lollol"),
            "entities were expanded"
        );
    }
    let output = stratus_stdin(VALIDATE, &["--no-signature"], BILLION_LAUGHS.as_bytes());
    assert_code(&output, 1, "billion laughs, text");
    assert!(stderr(&output).starts_with("Invalid: -\n"));
    assert!(stderr(&output).contains("DTD"), "{}", stderr(&output));
}

#[test]
fn external_entities_are_never_resolved() {
    let dir = tempfile::tempdir().unwrap();
    let secret = write_file(dir.path(), "secret.txt", b"TOP-SECRET-MARKER");
    let minimal = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    let body = minimal
        .trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#)
        .replace(
            "<dcterms:type>machine</dcterms:type>",
            "<dcterms:type>&xxe;</dcterms:type>",
        );
    let doc = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF [ <!ENTITY xxe SYSTEM \"file://{}\"> ]>{body}",
        secret.display()
    );
    let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], doc.as_bytes());
    assert_code(&output, 1, "external entity");
    let lines = json_lines(&output);
    assert_eq!(lines[0]["stage"], "xml");
    assert!(!stdout(&output).contains("TOP-SECRET"));
    assert!(!stderr(&output).contains("TOP-SECRET"));

    // Even a harmless DTD without entities is refused.
    let doc = format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE rdf:RDF>{}",
        minimal.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>"#)
    );
    let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], doc.as_bytes());
    assert_code(&output, 1, "plain DOCTYPE");
    assert_eq!(json_lines(&output)[0]["stage"], "xml");
}

#[test]
fn a_gibibyte_of_garbage_on_stdin_is_refused_without_reading_it_all() {
    let mut child = command(VALIDATE)
        .arg("--no-signature")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the validator starts");
    let mut pipe = child.stdin.take().unwrap();
    const CHUNK: usize = 1 << 20;
    let writer = std::thread::spawn(move || {
        let chunk: Vec<u8> = (0..CHUNK).map(|i| b"garbage!"[i % 8]).collect();
        let mut written = 0usize;
        for _ in 0..1024 {
            if pipe.write_all(&chunk).is_err() {
                break; // EPIPE: the reader stopped, as it should.
            }
            written += CHUNK;
        }
        written
    });
    let output = child.wait_with_output().unwrap();
    let written = writer.join().unwrap();
    assert_fails(&output, 255, &["Cannot read -", "limit"], "1 GiB on stdin");
    assert!(
        written < 64 * CHUNK,
        "the validator read {} MiB before giving up",
        written / CHUNK
    );
}

#[test]
fn the_document_size_limit_is_16_mib() {
    let dir = tempfile::tempdir().unwrap();
    let minimal = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    let limit = 16 * 1024 * 1024;
    let mut at_limit = minimal.clone();
    at_limit.resize(limit, b' ');
    let at = write_file(dir.path(), "at-limit.xml", &at_limit);
    at_limit.push(b' ');
    let over = write_file(dir.path(), "over-limit.xml", &at_limit);
    drop(at_limit);

    let output = stratus(VALIDATE, &["--no-signature".as_ref(), at.as_os_str()]);
    assert_ok(&output, "exactly 16 MiB");
    assert_eq!(stdout(&output), format!("Valid: {}\n", at.display()));

    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            "--json".as_ref(),
            over.as_os_str(),
        ],
    );
    assert_code(&output, 255, "16 MiB + 1");
    let lines = json_lines(&output);
    assert_eq!(lines[0]["stage"], "read");
    assert_eq!(lines[0]["valid"], false);
}

#[test]
fn unknown_option_is_a_usage_error() {
    for name in [BUILD, VALIDATE] {
        let output = stratus(name, &["--no-such-option"]);
        assert_fails(&output, 2, &["--no-such-option"], name);
    }
}

#[test]
fn an_unreadable_pinned_clock_is_a_usage_error() {
    let mut validate = command("stratus-validate-metadata");
    validate.env("STRATUS_NOW", "yesterday");
    let output = run_with_input(validate, b"");
    assert_eq!(code(&output), 2, "{}", stderr(&output));
    assert!(
        stderr(&output).contains("STRATUS_NOW: invalid value 'yesterday'"),
        "{}",
        stderr(&output)
    );
}
