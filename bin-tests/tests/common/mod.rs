//! Shared helpers for the black-box tests of `stratus-build-metadata` and
//! `stratus-validate-metadata`: running the binaries and the real system
//! tools (gzip, bzip2, xz, qemu-img, xmllint, coreutils), reading values out
//! of the produced XML with `xmllint --xpath`, and an independent
//! implementation of the SHA-1 → identifier encoding.

#![allow(dead_code, unused_imports)]

pub use stratus_bin_tests::{code, command, fixtures, run_with_input, stderr, stdout};

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BUILD: &str = "stratus-build-metadata";
pub const VALIDATE: &str = "stratus-validate-metadata";

pub const DCTERMS: &str = "http://purl.org/dc/terms/";
pub const SLTERMS: &str = "http://mp.stratuslab.eu/slterms#";
pub const SLREQ: &str = "http://mp.stratuslab.eu/slreq#";

/// The instant `command()` pins the clock to (`STRATUS_NOW`).
pub const NOW: &str = "2026-01-15T10:20:30Z";

/// The content `foo` (the legacy CompressorTest vector).
pub const FOO_MD5: &str = "acbd18db4cc2f85cedef654fccc4a4d8";
pub const FOO_SHA1: &str = "0beec7b5ea3f0fdbc95d0dd47f3c5bc275da8a33";
pub const FOO_SHA256: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

/// Whether this is a CI run (`STRATUS_CI=1`), where a missing tool fails
/// the test instead of skipping it.
pub fn in_ci() -> bool {
    std::env::var("STRATUS_CI").as_deref() == Ok("1")
}

/// Whether the tests run as root (permission tests are meaningless then).
pub fn is_root() -> bool {
    let output = Command::new("id").arg("-u").output().expect("`id -u` runs");
    String::from_utf8_lossy(&output.stdout).trim() == "0"
}

/// Run a stratus binary with `args`, empty standard input.
pub fn stratus<S: AsRef<OsStr>>(name: &str, args: &[S]) -> Output {
    let mut c = command(name);
    c.args(args);
    run_with_input(c, b"")
}

/// Run a stratus binary with `args` and `input` on standard input.
pub fn stratus_stdin<S: AsRef<OsStr>>(name: &str, args: &[S], input: &[u8]) -> Output {
    let mut c = command(name);
    c.args(args);
    run_with_input(c, input)
}

/// Run `stratus-build-metadata` with `args`.
pub fn build<S: AsRef<OsStr>>(args: &[S]) -> Output {
    stratus(BUILD, args)
}

/// Run `stratus-build-metadata -q <args>`, require success, return the document.
pub fn build_ok<S: AsRef<OsStr>>(args: &[S]) -> Vec<u8> {
    let mut c = command(BUILD);
    c.arg("-q").args(args);
    let output = run_with_input(c, b"");
    assert_ok(&output, "stratus-build-metadata");
    output.stdout
}

/// Require exit 0, with the output in the failure message.
pub fn assert_ok(output: &Output, what: &str) {
    assert_eq!(
        code(output),
        0,
        "{what} failed\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Require exit `expected`, with the output in the failure message.
pub fn assert_code(output: &Output, expected: i32, what: &str) {
    assert_eq!(
        code(output),
        expected,
        "{what}: unexpected exit code\nstdout:\n{}\nstderr:\n{}",
        stdout(output),
        stderr(output)
    );
}

/// Run an external program; it must succeed; return its standard output.
pub fn tool<S: AsRef<OsStr>>(program: &str, args: &[S]) -> Vec<u8> {
    let output = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    assert!(
        output.status.success(),
        "{program} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// Run an external program with `input` on stdin; return what it did.
pub fn tool_with_input<S: AsRef<OsStr>>(program: &str, args: &[S], input: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} runs: {e}"));
    let mut pipe = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = pipe.write_all(&input);
    });
    let output = child.wait_with_output().expect("the tool runs");
    let _ = writer.join();
    output
}

/// `program -c src > dst` (gzip, bzip2, xz), with the real tool.
pub fn compress(program: &str, src: &Path, dst: &Path) {
    let data = tool(program, &[OsStr::new("-c"), src.as_os_str()]);
    std::fs::write(dst, data).expect("the compressed file is written");
}

/// Compress bytes in memory with the real tool (`gzip -c`, `bzip2 -c`, `xz -c`).
pub fn compress_bytes(program: &str, data: &[u8]) -> Vec<u8> {
    let output = tool_with_input(program, &["-c"], data);
    assert!(output.status.success(), "{program} -c failed");
    output.stdout
}

/// The compression tools and the `dcterms:compression` value each gives.
pub const COMPRESSORS: [(&str, &str); 3] = [("gzip", "gz"), ("bzip2", "bz2"), ("xz", "xz")];

/// Write `data` to `dir/name` and return the path.
pub fn write_file(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, data).expect("the test file is written");
    path
}

/// The digest of a file as the coreutils tool (`md5sum`, `sha1sum`, ...) gives it.
pub fn coreutils_digest(program: &str, path: &Path) -> String {
    let out = String::from_utf8(tool(program, &[path])).expect("hex output");
    out.split_whitespace().next().expect("a digest").to_string()
}

/// Deterministic image-like content: a mix of pseudo-random bytes and
/// repetitive runs, so that it compresses a little but not trivially.
pub fn sample_image(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut data = Vec::with_capacity(len);
    while data.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        if state & 3 == 0 {
            let run = (state >> 8) as usize % 512;
            let byte = (state >> 24) as u8;
            data.extend(std::iter::repeat_n(byte, run));
        } else {
            data.extend_from_slice(&state.to_le_bytes());
        }
    }
    data.truncate(len);
    data
}

/// Evaluate an XPath 1.0 expression on `xml` with `xmllint --xpath`; the
/// document must be well-formed. Returns the string result.
pub fn xpath(xml: &[u8], expr: &str) -> String {
    let output = tool_with_input("xmllint", &["--xpath", expr, "-"], xml);
    assert!(
        output.status.success(),
        "xmllint --xpath {expr} failed: {}\ndocument:\n{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(xml)
    );
    let mut text = String::from_utf8(output.stdout).expect("xmllint prints UTF-8");
    if text.ends_with('\n') {
        text.pop();
    }
    text
}

/// Whether `xmllint --noout` accepts `xml` as well-formed.
pub fn well_formed(xml: &[u8]) -> bool {
    tool_with_input("xmllint", &["--noout", "-"], xml)
        .status
        .success()
}

/// XPath step for element `local` in namespace `ns`.
pub fn el(ns: &str, local: &str) -> String {
    format!("*[namespace-uri()='{ns}' and local-name()='{local}']")
}

/// XPath for the `rdf:Description` of a document.
pub fn description() -> String {
    format!(
        "/{}/{}",
        el("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "RDF"),
        el("http://www.w3.org/1999/02/22-rdf-syntax-ns#", "Description")
    )
}

/// How many direct children `ns:local` the Description has.
pub fn count(xml: &[u8], ns: &str, local: &str) -> usize {
    xpath(xml, &format!("count({}/{})", description(), el(ns, local)))
        .parse()
        .expect("a count")
}

/// The text of the (first) direct child `ns:local` of the Description.
pub fn term(xml: &[u8], ns: &str, local: &str) -> String {
    assert_eq!(
        count(xml, ns, local),
        1,
        "expected exactly one {local} in\n{}",
        String::from_utf8_lossy(xml)
    );
    xpath(xml, &format!("string({}/{})", description(), el(ns, local)))
}

/// The texts of every direct child `ns:local` of the Description, in order.
pub fn terms(xml: &[u8], ns: &str, local: &str) -> Vec<String> {
    (1..=count(xml, ns, local))
        .map(|i| {
            xpath(
                xml,
                &format!("string(({}/{})[{i}])", description(), el(ns, local)),
            )
        })
        .collect()
}

/// The checksum algorithms of the document, in order.
pub fn algorithms(xml: &[u8]) -> Vec<String> {
    let n = count(xml, SLREQ, "checksum");
    (1..=n)
        .map(|i| {
            xpath(
                xml,
                &format!(
                    "string(({}/{})[{i}]/{})",
                    description(),
                    el(SLREQ, "checksum"),
                    el(SLREQ, "algorithm")
                ),
            )
        })
        .collect()
}

/// The value of the checksum with `algorithm` (`MD5`, `SHA-1`, ...), if any.
pub fn checksum(xml: &[u8], algorithm: &str) -> Option<String> {
    let select = format!(
        "{}/{}[{}='{algorithm}']",
        description(),
        el(SLREQ, "checksum"),
        el(SLREQ, "algorithm")
    );
    let n: usize = xpath(xml, &format!("count({select})"))
        .parse()
        .expect("a count");
    assert!(n <= 1, "{algorithm} appears {n} times");
    (n == 1).then(|| xpath(xml, &format!("string({select}/{})", el(SLREQ, "value"))))
}

/// The `rdf:about` of the Description.
pub fn about(xml: &[u8]) -> String {
    xpath(
        xml,
        &format!(
            "string({}/@*[namespace-uri()='http://www.w3.org/1999/02/22-rdf-syntax-ns#' and local-name()='about'])",
            description()
        ),
    )
}

/// The identifier of a SHA-1 (hex), computed here independently of the
/// binaries: the 160-bit number, padded on the left to 162 bits, read as 27
/// six-bit digits over `A-Z a-z 0-9 - _`, most significant first.
pub fn identifier_from_sha1(hex: &str) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    assert_eq!(hex.len(), 40, "a SHA-1 has 40 hex digits: {hex}");
    let mut bits = vec![0u8; 2];
    for c in hex.chars() {
        let nibble = c.to_digit(16).expect("hex digit");
        bits.extend((0..4).rev().map(|shift| ((nibble >> shift) & 1) as u8));
    }
    assert_eq!(bits.len(), 162);
    bits.chunks(6)
        .map(|six| ALPHABET[six.iter().fold(0usize, |acc, &b| acc * 2 + b as usize)] as char)
        .collect()
}

/// Every `*.xml` file of a fixture directory, sorted by name.
pub fn xml_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{} is readable: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|path| path.extension() == Some(OsStr::new("xml")) && path.is_file())
        .collect();
    files.sort();
    files
}

/// The names in a directory, sorted.
pub fn dir_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("the directory is readable")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// Parse `--json` output: one object per line.
pub fn json_lines(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect()
}
