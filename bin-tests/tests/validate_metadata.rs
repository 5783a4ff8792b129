//! `stratus-validate-metadata` on the legacy fixtures and on variants of
//! them: the outcome of metadata.md §5, the stage and the exact constraint
//! messages, several files in one call, and `--json`.

mod common;

use common::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a fixture gives in draft mode (`--no-signature`).
#[derive(Debug, Clone)]
enum Expect {
    Valid,
    /// Invalid at this stage, with this exact message when given.
    Invalid(&'static str, Option<&'static str>),
}

/// The expected draft-mode outcome of a fixture, by its path relative to
/// the fixtures directory. Fixtures not listed follow their name: `valid-*`
/// valid, `invalid-*` invalid at some stage.
fn expectations() -> BTreeMap<&'static str, Expect> {
    use Expect::*;
    BTreeMap::from([
        ("invalid-bad-inbound-port.xml", Invalid("schema", None)),
        ("invalid-email.xml", Invalid("schema", None)),
        (
            "invalid-inconsistent-checksum.xml",
            Invalid(
                "constraint",
                Some(
                    "checksum from identifier (1113827081651840475597112894378558741689028636415) \
                     and SHA-1 checksum (1113827081651840475597112894378558741689028636414) are not consistent",
                ),
            ),
        ),
        (
            "invalid-multiple-os.xml",
            Invalid(
                "constraint",
                Some("description must have at most 1 slterms:os element"),
            ),
        ),
        // The schema runs before the constraints and requires xml:base.
        ("invalid-no-xml-base.xml", Invalid("schema", None)),
        ("invalid-rdf-attribute.xml", Invalid("rdf", None)),
        ("valid-ca-signed.xml", Valid),
        ("valid-full-alt-cimi.xml", Valid),
        ("valid-full-signature.xml", Valid),
        ("valid-full.xml", Valid),
        // An empty endorsement passes in draft mode.
        ("valid-minimal-empty-endorsement.xml", Valid),
        ("valid-minimal-leading-zero-sha1.xml", Valid),
        // An empty <Signature/>: only the signature check would fail.
        ("valid-minimal-signature.xml", Valid),
        ("valid-minimal.xml", Valid),
        // dcterms:alternative before slreq:bytes fails the XSD.
        ("server/valid-alternative.xml", Invalid("schema", None)),
        ("server/valid-alternative-newid.xml", Invalid("schema", None)),
        (
            "server/valid-alternative-deprecated-signed.xml",
            Invalid("schema", None),
        ),
        ("server/valid-expired-signature.xml", Valid),
        ("server/valid-indate-newer-signature.xml", Valid),
        ("server/valid-indate-older-signature.xml", Valid),
        ("server/valid-indate-deprecated-signature.xml", Valid),
        ("server/valid-indate-signature.xml", Valid),
        ("server/valid-two-locations.xml", Valid),
        ("server/invalid-special-characters-signature.xml", Valid),
        // Unsigned template with an empty endorsement: fine as a draft.
        ("server/valid.xml", Valid),
    ])
}

/// Every fixture document with its expected draft-mode outcome.
fn fixture_cases() -> Vec<(PathBuf, Expect)> {
    let table = expectations();
    let mut cases = Vec::new();
    for (dir, prefix) in [(fixtures(), ""), (fixtures().join("server"), "server/")] {
        for path in xml_files(&dir) {
            let name = format!("{prefix}{}", path.file_name().unwrap().to_string_lossy());
            let expect = match table.get(name.as_str()) {
                Some(expect) => expect.clone(),
                None if name.contains("invalid-") => Expect::Invalid("", None),
                None => Expect::Valid,
            };
            cases.push((path, expect));
        }
    }
    assert!(
        cases.len() >= 19,
        "the legacy fixtures are there: {cases:?}"
    );
    cases
}

fn is_signed(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    text.contains("<Signature") && text.contains("SignatureValue")
}

fn check_one(line: &serde_json::Value, path: &Path, expect: &Expect) {
    assert_eq!(line["file"], path.display().to_string());
    match expect {
        Expect::Valid => {
            assert_eq!(line["valid"], true, "{}: {line}", path.display());
            assert!(line.get("stage").is_none(), "{line}");
            assert!(line.get("message").is_none(), "{line}");
        }
        Expect::Invalid(stage, message) => {
            assert_eq!(line["valid"], false, "{}: {line}", path.display());
            if !stage.is_empty() {
                assert_eq!(line["stage"], *stage, "{}: {line}", path.display());
            }
            let text = line["message"].as_str().expect("a message");
            assert!(!text.is_empty());
            if let Some(message) = message {
                assert_eq!(text, *message, "{}", path.display());
            }
        }
    }
}

#[test]
fn each_fixture_gets_its_catalogue_outcome_in_draft_mode() {
    for (path, expect) in fixture_cases() {
        // JSON: the stage and message.
        let output = stratus(
            VALIDATE,
            &[
                "--no-signature".as_ref(),
                "--json".as_ref(),
                path.as_os_str(),
            ],
        );
        let lines = json_lines(&output);
        assert_eq!(lines.len(), 1, "{}", path.display());
        check_one(&lines[0], &path, &expect);

        // Text: the legacy lines and exit codes.
        let output = stratus(VALIDATE, &["--no-signature".as_ref(), path.as_os_str()]);
        match &expect {
            Expect::Valid => {
                assert_ok(&output, &path.display().to_string());
                assert_eq!(stdout(&output), format!("Valid: {}\n", path.display()));
                assert_eq!(stderr(&output), "");
            }
            Expect::Invalid(_, message) => {
                assert_code(&output, 1, &path.display().to_string());
                assert_eq!(stdout(&output), "");
                let err = stderr(&output);
                let head = format!("Invalid: {}\n", path.display());
                assert!(err.starts_with(&head), "{err}");
                if let Some(message) = message {
                    assert_eq!(err, format!("{head}{message}\n"));
                }
            }
        }
    }
}

#[test]
fn schema_messages_keep_the_legacy_prefix() {
    for name in [
        "invalid-email.xml",
        "invalid-bad-inbound-port.xml",
        "invalid-no-xml-base.xml",
    ] {
        let path = fixtures().join(name);
        let output = stratus(
            VALIDATE,
            &[
                "--no-signature".as_ref(),
                "--json".as_ref(),
                path.as_os_str(),
            ],
        );
        let line = &json_lines(&output)[0];
        let message = line["message"].as_str().unwrap();
        assert!(
            message.starts_with("XML schema validation exception: "),
            "{name}: {message}"
        );
    }
    let path = fixtures().join("invalid-email.xml");
    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            "--json".as_ref(),
            path.as_os_str(),
        ],
    );
    assert!(
        stdout(&output).contains("jane.tester_at_example.org"),
        "the bad value is named: {}",
        stdout(&output)
    );
    let path = fixtures().join("invalid-bad-inbound-port.xml");
    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            "--json".as_ref(),
            path.as_os_str(),
        ],
    );
    assert!(stdout(&output).contains("65536"), "{}", stdout(&output));
}

#[test]
fn many_files_in_one_call_split_valid_and_invalid() {
    let cases = fixture_cases();
    let mut args: Vec<&std::ffi::OsStr> = vec!["--no-signature".as_ref()];
    args.extend(cases.iter().map(|(path, _)| path.as_os_str()));
    let output = stratus(VALIDATE, &args);
    assert_code(&output, 1, "all fixtures");
    let expected_stdout: String = cases
        .iter()
        .filter(|(_, expect)| matches!(expect, Expect::Valid))
        .map(|(path, _)| format!("Valid: {}\n", path.display()))
        .collect();
    assert_eq!(stdout(&output), expected_stdout);
    let err = stderr(&output);
    for (path, expect) in &cases {
        let line = format!("Invalid: {}\n", path.display());
        match expect {
            Expect::Valid => assert!(!err.contains(&line), "{err}"),
            Expect::Invalid(_, message) => {
                assert!(err.contains(&line), "{line} missing from\n{err}");
                if let Some(message) = message {
                    assert!(err.contains(&format!("{line}{message}\n")), "{err}");
                }
            }
        }
    }
    assert!(!err.contains("Valid: "), "{err}");

    // Only valid files: exit 0.
    let valid: Vec<&std::ffi::OsStr> = std::iter::once("--no-signature".as_ref())
        .chain(
            cases
                .iter()
                .filter(|(_, expect)| matches!(expect, Expect::Valid))
                .map(|(path, _)| path.as_os_str()),
        )
        .collect();
    let output = stratus(VALIDATE, &valid);
    assert_ok(&output, "only valid fixtures");
    assert_eq!(stdout(&output), expected_stdout);
    assert_eq!(stderr(&output), "");
}

#[test]
fn json_has_one_line_per_document_in_order() {
    let cases = fixture_cases();
    let mut args: Vec<&std::ffi::OsStr> = vec!["--json".as_ref(), "--no-signature".as_ref()];
    args.extend(cases.iter().map(|(path, _)| path.as_os_str()));
    let output = stratus(VALIDATE, &args);
    assert_code(&output, 1, "all fixtures, --json");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), cases.len());
    for (line, (path, expect)) in lines.iter().zip(&cases) {
        check_one(line, path, expect);
    }
}

#[test]
fn without_no_signature_unsigned_documents_are_refused_and_signed_ones_verified() {
    for (path, _) in fixture_cases() {
        let name = path.display().to_string();
        let output = stratus(VALIDATE, &["--json".as_ref(), path.as_os_str()]);
        let line = &json_lines(&output)[0];
        let text = std::fs::read_to_string(&path).unwrap();
        if is_signed(&path) {
            // The legacy signed fixtures verify; the server's alternative*
            // documents then fail the schema (dcterms:alternative too early).
            if name.contains("valid-alternative") {
                assert_code(&output, 1, &name);
                assert_eq!(line["stage"], "schema", "{name}: {line}");
            } else {
                assert_code(&output, 0, &name);
                assert_eq!(line["valid"], true, "{name}: {line}");
                assert!(
                    line["signer"].as_str().unwrap().starts_with("CN="),
                    "{line}"
                );
                assert_eq!(line["trusted"], false, "{name}: {line}");
            }
            continue;
        }
        // No signature is an invalid document (1); a broken one is a
        // signature failure (3), e.g. the empty <Signature/> of a fixture.
        let expected = if text.contains("<Signature") { 3 } else { 1 };
        assert_code(&output, expected, &name);
        assert_eq!(line["valid"], false, "{name}: {line}");
        assert_eq!(line["stage"], "signature", "{name}: {line}");
        if expected == 1 {
            assert_eq!(line["message"], "no signature", "{name}");
        }
        let output = stratus(VALIDATE, &[path.as_os_str()]);
        assert_code(&output, expected, &name);
        assert_eq!(stdout(&output), "", "{name}");
        assert!(stderr(&output).starts_with(&format!("Invalid: {name}\n")));
    }
}

#[test]
fn the_signature_check_comes_first() {
    // Legacy order: an unsigned document that also breaks the schema is
    // reported as unsigned.
    let path = fixtures().join("invalid-email.xml");
    let output = stratus(VALIDATE, &[&path]);
    assert_code(&output, 1, "unsigned and schema-invalid");
    assert_eq!(
        stderr(&output),
        format!("Invalid: {}\nno signature\n", path.display())
    );
}

/// valid-minimal.xml with one text replacement.
fn variant(from: &str, to: &str) -> Vec<u8> {
    let text = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    assert!(text.contains(from), "valid-minimal.xml contains {from}");
    text.replacen(from, to, 1).into_bytes()
}

const TYPE: &str = "<dcterms:type>machine</dcterms:type>";

#[test]
fn constraint_messages_are_the_legacy_ones() {
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (
            variant(
                r#"xml:base="http://mp.stratuslab.eu/""#,
                r#"xml:base="http://mp.stratuslab.eu/BAD""#,
            ),
            "constraint",
            "root element must have xml:base attribute with value http://mp.stratuslab.eu/",
        ),
        (
            variant(
                "<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO7_",
                "<dcterms:identifier>MMZu9WvwKIro-rtBQfDk4PsKO77",
            ),
            "constraint",
            "rdf:about attribute (#MMZu9WvwKIro-rtBQfDk4PsKO7_) and dcterms:identifier \
             (MMZu9WvwKIro-rtBQfDk4PsKO77) are not consistent",
        ),
        (
            variant(TYPE, ""),
            "constraint",
            "description must have exactly 1 dcterms:type element",
        ),
        (
            variant(TYPE, &format!("{TYPE}{TYPE}")),
            "constraint",
            "description must have exactly 1 dcterms:type element",
        ),
        (
            variant(
                ">SHA-1</slreq:algorithm>",
                ">SHA1</slreq:algorithm>",
            ),
            "constraint",
            "description must have exactly 1 slterms:checksum element using SHA-1 algorithm",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<slterms:version>1</slterms:version><slterms:version>2</slterms:version>"),
            ),
            "constraint",
            "description must have at most 1 slterms:version element",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<slterms:os-arch>a</slterms:os-arch><slterms:os-arch>b</slterms:os-arch>"),
            ),
            "constraint",
            "description must have at most 1 slterms:os-arch element",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<slterms:deprecated>a</slterms:deprecated><slterms:deprecated>b</slterms:deprecated>"),
            ),
            "constraint",
            "description must have at most 1 slterms:deprecated element",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<dcterms:valid>2011-01-24X09:59:42Z</dcterms:valid>"),
            ),
            "constraint",
            "dcterms:valid value (2011-01-24X09:59:42Z) is not a valid date",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<dcterms:valid>2011-01-24T99:59:42Z</dcterms:valid>"),
            ),
            "constraint",
            "Unparseable date: \"2011-01-24T99:59:42Z\"",
        ),
        (
            variant(
                TYPE,
                &format!("{TYPE}<dcterms:valid>2011-02-29T10:00:00Z</dcterms:valid>"),
            ),
            "constraint",
            "Unparseable date: \"2011-02-29T10:00:00Z\"",
        ),
        // The legacy message bug: the created check prints dcterms:valid.
        (
            variant("2011-01-24T09:59:42Z", "2011-01-24X09:59:42Z"),
            "constraint",
            "dcterms:created value () is not a valid date",
        ),
        (
            variant(
                "c319bbd5afc0a22ba3eaed0507c39383ec28eeff",
                "c319bbd5afc0a22ba3eaed0507c39383ec28eefe",
            ),
            "constraint",
            "checksum from identifier (1113827081651840475597112894378558741689028636415) \
             and SHA-1 checksum (1113827081651840475597112894378558741689028636414) are not consistent",
        ),
    ];
    for (doc, stage, message) in cases {
        let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], &doc);
        assert_code(&output, 1, message);
        let line = &json_lines(&output)[0];
        assert_eq!(line["stage"], stage, "{line}");
        assert_eq!(line["message"], message, "{line}");
        let output = stratus_stdin(VALIDATE, &["--no-signature"], &doc);
        assert_eq!(stderr(&output), format!("Invalid: -\n{message}\n"));
    }
}

#[test]
fn edge_cases_that_are_valid() {
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "leap day",
            variant(
                TYPE,
                &format!("{TYPE}<dcterms:valid>2012-02-29T23:59:59Z</dcterms:valid>"),
            ),
        ),
        (
            "empty valid",
            variant(TYPE, &format!("{TYPE}<dcterms:valid></dcterms:valid>")),
        ),
        (
            "upper-case SHA-1 value",
            variant(
                "c319bbd5afc0a22ba3eaed0507c39383ec28eeff",
                "C319BBD5AFC0A22BA3EAED0507C39383EC28EEFF",
            ),
        ),
        (
            "empty dcterms:type",
            variant(TYPE, "<dcterms:type></dcterms:type>"),
        ),
        (
            "other prefixes",
            String::from_utf8(variant(TYPE, TYPE))
                .unwrap()
                .replace("dcterms:", "dc:")
                .replace("xmlns:dcterms=", "xmlns:dc=")
                .into_bytes(),
        ),
    ];
    for (what, doc) in cases {
        let output = stratus_stdin(VALIDATE, &["--no-signature"], &doc);
        assert_ok(&output, what);
        assert_eq!(stdout(&output), "Valid: -\n", "{what}");
    }
}

#[test]
fn rdf_and_schema_stages_on_variants() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "element children without parseType",
            variant(
                TYPE,
                &format!(
                    "{TYPE}<ex:d xmlns:ex=\"http://example.org/\"><ex:a>alpha</ex:a><ex:b>beta</ex:b></ex:d>"
                ),
            ),
            "rdf",
        ),
        (
            "bad parseType",
            variant(
                r#"<slreq:checksum rdf:parseType="Resource">"#,
                r#"<slreq:checksum rdf:parseType="BAD">"#,
            ),
            "schema",
        ),
        (
            "short rdf:about",
            variant(
                "rdf:about=\"#MMZu9WvwKIro-rtBQfDk4PsKO7_\"",
                "rdf:about=\"#MMZu9WvwKIro-rtBQ\"",
            ),
            "schema",
        ),
        (
            "non-hex checksum",
            variant("c319bbd5afc0a22ba3eaed0507c39383ec28eeff", "XYZ"),
            "schema",
        ),
        (
            "icmp out of range",
            variant(TYPE, &format!("{TYPE}<slterms:icmp>256</slterms:icmp>")),
            "schema",
        ),
        (
            "dcterms:type before the identifier",
            variant(
                "<dcterms:identifier>",
                &format!("{TYPE}<dcterms:identifier>"),
            ),
            "schema",
        ),
        (
            "unclosed element",
            variant("</rdf:RDF>", ""),
            "xml",
        ),
    ];
    for (what, doc, stage) in cases {
        let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], &doc);
        assert_code(&output, 1, what);
        let line = &json_lines(&output)[0];
        assert_eq!(line["valid"], false, "{what}");
        assert_eq!(line["stage"], stage, "{what}: {line}");
    }
}

#[test]
fn standard_input_is_the_default_and_dash() {
    let doc = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    for args in [&["--no-signature"][..], &["--no-signature", "-"]] {
        let output = stratus_stdin(VALIDATE, args, &doc);
        assert_ok(&output, &format!("{args:?}"));
        assert_eq!(stdout(&output), "Valid: -\n");
    }
    let output = stratus_stdin(VALIDATE, &[] as &[&str], &doc);
    assert_code(&output, 1, "stdin without --no-signature");
    assert_eq!(stderr(&output), "Invalid: -\nno signature\n");
}

#[test]
fn json_file_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let doc = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    let name = "we\"ird \\ näme\t.xml";
    let path = write_file(dir.path(), name, &doc);
    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            "--json".as_ref(),
            path.as_os_str(),
        ],
    );
    assert_ok(&output, "odd file name");
    let lines = json_lines(&output);
    assert_eq!(lines[0]["file"], path.display().to_string());
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(stdout(&output).lines().count(), 1);
}

#[test]
fn validation_does_not_change_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let doc = std::fs::read(fixtures().join("valid-full.xml")).unwrap();
    let path = write_file(dir.path(), "doc.xml", &doc);
    let output = stratus(VALIDATE, &["--no-signature".as_ref(), path.as_os_str()]);
    assert_ok(&output, "valid-full copy");
    assert_eq!(std::fs::read(&path).unwrap(), doc);
    assert_eq!(dir_names(dir.path()), ["doc.xml"]);
}

#[test]
fn utf8_bom_and_crlf_line_ends_are_fine() {
    let doc = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    let mut with_bom = b"\xef\xbb\xbf".to_vec();
    with_bom.extend_from_slice(&doc);
    let crlf = String::from_utf8(doc).unwrap().replace('\n', "\r\n");
    for (what, input) in [("BOM", with_bom), ("CRLF", crlf.into_bytes())] {
        let output = stratus_stdin(VALIDATE, &["--no-signature"], &input);
        assert_ok(&output, what);
        assert_eq!(stdout(&output), "Valid: -\n", "{what}");
    }
}

/// BUG: XML 1.0 (§4.3.3) requires every processor to accept UTF-16; the
/// legacy (Xerces) validator did. stratus refuses it as "not UTF-8 text".
#[test]
fn utf16_documents_are_read() {
    let text = std::fs::read_to_string(fixtures().join("valid-minimal.xml"))
        .unwrap()
        .replace(r#"encoding="UTF-8""#, r#"encoding="UTF-16""#);
    let mut utf16 = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    assert!(
        tool_with_input("xmllint", &["--noout", "-"], &utf16)
            .status
            .success(),
        "xmllint reads the UTF-16 document"
    );
    let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], &utf16);
    assert_ok(&output, "UTF-16 valid-minimal.xml");
    assert_eq!(json_lines(&output)[0]["valid"], true);
}

#[test]
fn documents_with_too_many_nodes_are_refused_at_the_xml_stage() {
    let minimal = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    // 210,000 comments: a valid document apart from its size in nodes.
    let many = minimal.replacen(TYPE, &format!("{TYPE}{}", "<!--c-->".repeat(210_000)), 1);
    let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], many.as_bytes());
    assert_code(&output, 1, "210,000 comments");
    let line = &json_lines(&output)[0];
    assert_eq!(line["stage"], "xml", "{line}");
    assert_eq!(line["valid"], false);

    // A few thousand are fine.
    let some = minimal.replacen(TYPE, &format!("{TYPE}{}", "<!--c-->".repeat(5_000)), 1);
    let output = stratus_stdin(VALIDATE, &["--no-signature"], some.as_bytes());
    assert_ok(&output, "5,000 comments");
}

#[test]
fn deep_nesting_is_refused_at_its_limit_not_crashing() {
    let minimal = std::fs::read_to_string(fixtures().join("valid-minimal.xml")).unwrap();
    let nested = |depth: usize| {
        let text = format!(
            "{TYPE}<ex:x xmlns:ex=\"http://example.org/\" rdf:parseType=\"Resource\">{}{}</ex:x>",
            "<ex:y rdf:parseType=\"Resource\">".repeat(depth),
            "</ex:y>".repeat(depth)
        );
        minimal.replacen(TYPE, &text, 1)
    };
    // rdf:RDF, rdf:Description and ex:x above: 128 levels in all.
    let output = stratus_stdin(VALIDATE, &["--no-signature"], nested(125).as_bytes());
    assert_ok(&output, "125 nested parseType=Resource elements");
    assert_eq!(stdout(&output), "Valid: -\n");
    let output = stratus_stdin(
        VALIDATE,
        &["--no-signature", "--json"],
        nested(100_000).as_bytes(),
    );
    assert_code(&output, 1, "100,000 nested parseType=Resource elements");
    let result = &json_lines(&output)[0];
    assert_eq!(result["stage"], "xml");
    let message = result["message"].as_str().unwrap();
    assert!(
        message.contains("exceeds the limit of 128 levels of nested elements"),
        "{message}"
    );

    // Unbalanced deep nesting is an XML error, not a crash.
    let broken = minimal.replacen(TYPE, &format!("{TYPE}{}", "<ex:y>".repeat(100_000)), 1);
    let output = stratus_stdin(VALIDATE, &["--no-signature", "--json"], broken.as_bytes());
    assert_code(&output, 1, "unclosed deep nesting");
    assert_eq!(json_lines(&output)[0]["stage"], "xml");
}

/// A file name cannot forge a result line: newlines, control characters
/// and bytes that are not UTF-8 are escaped in the text lines, as `ls -b`
/// does; `--json` keeps the name exact.
#[test]
fn file_names_cannot_forge_result_lines() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let valid = std::fs::read(fixtures().join("valid-minimal.xml")).unwrap();
    let invalid = std::fs::read(fixtures().join("invalid-email.xml")).unwrap();
    let forged = dir.path().join("bad.xml\nValid: evil.xml");
    std::fs::write(&forged, &invalid).unwrap();
    let odd = dir
        .path()
        .join(std::ffi::OsStr::from_bytes(b"odd\x1b[1A\xff.xml"));
    std::fs::write(&odd, &valid).unwrap();

    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            forged.as_os_str(),
            odd.as_os_str(),
        ],
    );
    assert_code(&output, 1, "an invalid and a valid document");
    let out = stdout(&output);
    let err = String::from_utf8_lossy(&output.stderr);
    let dir_name = dir.path().display().to_string();
    assert_eq!(out, format!("Valid: {dir_name}/odd\\033[1A\\377.xml\n"));
    assert!(
        err.starts_with(&format!("Invalid: {dir_name}/bad.xml\\nValid: evil.xml\n")),
        "{err}"
    );
    assert!(
        !out.contains("evil") && !err.lines().any(|l| l.starts_with("Valid:")),
        "{err}"
    );

    let output = stratus(
        VALIDATE,
        &[
            "--no-signature".as_ref(),
            "--json".as_ref(),
            forged.as_os_str(),
        ],
    );
    let line = &json_lines(&output)[0];
    assert_eq!(line["file"].as_str().unwrap(), forged.to_str().unwrap());
}
