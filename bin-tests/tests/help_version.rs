//! `--help` and `--version` of both commands.

mod common;

use common::*;

#[test]
fn help_exits_0_and_lists_the_exit_codes() {
    for name in [BUILD, VALIDATE] {
        for flag in ["--help", "-h"] {
            let output = stratus(name, &[flag]);
            assert_ok(&output, &format!("{name} {flag}"));
            assert_eq!(stderr(&output), "", "{name} {flag}");
            let text = stdout(&output);
            assert!(text.contains("Usage"), "{name} {flag}:\n{text}");
            assert!(text.contains("Exit codes"), "{name} {flag}:\n{text}");
            for exit in ["0", "1", "2", "255"] {
                assert!(
                    text.lines().any(|line| line.trim_start().starts_with(exit)),
                    "{name} {flag}: exit code {exit} not described:\n{text}"
                );
            }
        }
    }
}

#[test]
fn build_help_lists_every_option() {
    let text = stdout(&stratus(BUILD, &["--help"]));
    for option in [
        "--author",
        "--type",
        "--kind",
        "--os",
        "--os-version",
        "--os-arch",
        "--image-version",
        "--format",
        "--hypervisor",
        "--location",
        "--compression",
        "--title",
        "--tag",
        "--comment",
        "--disks-bus",
        "--md5",
        "--sha1",
        "--sha256",
        "--sha512",
        "--no-md5",
        "--no-sha256",
        "--no-sha512",
        "--valid-days",
        "--valid",
        "--email",
        "--output",
        "--legacy-output",
        "--verbose",
        "--quiet",
        "IMAGE",
    ] {
        assert!(
            text.contains(option),
            "{option} missing from --help:\n{text}"
        );
    }
}

#[test]
fn validate_help_lists_its_options() {
    let text = stdout(&stratus(VALIDATE, &["--help"]));
    for option in ["--no-signature", "--json", "FILE"] {
        assert!(
            text.contains(option),
            "{option} missing from --help:\n{text}"
        );
    }
}

#[test]
fn version_exits_0_and_names_the_program() {
    for name in [BUILD, VALIDATE] {
        let output = stratus(name, &["--version"]);
        assert_ok(&output, &format!("{name} --version"));
        let text = stdout(&output);
        assert!(text.starts_with(name), "{text}");
        assert!(
            text.trim_end()
                .rsplit(' ')
                .next()
                .is_some_and(|v| v.split('.').all(|part| !part.is_empty())
                    && v.chars().next().is_some_and(|c| c.is_ascii_digit())),
            "a version number: {text}"
        );
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}

#[test]
fn help_does_not_need_an_image_or_read_stdin() {
    // `--help` wins over a missing or bad image and bad values.
    let output = stratus(BUILD, &["--help", "/no/such/image", "--disks-bus", "x"]);
    assert_ok(&output, "--help with other arguments");
    let output = stratus_stdin(VALIDATE, &["--help"], b"<not-read/>");
    assert_ok(&output, "validate --help with stdin");
    assert!(!stdout(&output).contains("Valid: -"));
}
