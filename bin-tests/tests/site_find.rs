//! The finding commands through the built binaries, against a real
//! `stratus-marketplace` on 127.0.0.1: `stratus-list-images`,
//! `stratus-search-image`, `stratus-show-image` (legacy text, `--json`,
//! `--table`) and `stratus-manifest`; and the `--help` of every client
//! command.

mod common;
mod market;
mod sigkit;

use common::*;
use market::Server;
use sigkit::*;
use std::process::Output;

const CLIENTS: [&str; 9] = [
    "stratus-upload-metadata",
    "stratus-deprecate-metadata",
    "stratus-upload-image",
    "stratus-search-image",
    "stratus-show-image",
    "stratus-list-images",
    "stratus-manifest",
    "stratus-policy-image",
    "stratus-download-image",
];

/// Two images by Jane (legacy P12), uploaded: an ubuntu x86_64 one and a
/// centos i686 one; the server, and their identifiers.
fn two_images(lab: &Lab) -> (Server, String, String) {
    let market = Server::options().now(NOW).start();
    let mut ids = Vec::new();
    for (seed, os, arch, title) in [
        (21, "ubuntu", "x86_64", "Ubuntu for the finder"),
        (22, "centos", "i686", "CentOS | with a pipe"),
    ] {
        let image = lab.write(&format!("{os}.img"), sample_image(8192, seed));
        let draft = build_in(
            lab,
            &[
                "--format",
                "raw",
                "--os",
                os,
                "--os-arch",
                arch,
                "--title",
                title,
                "--comment",
                &format!("the {os} test image"),
                "--location",
                &format!("http://images.example.org/{os}.img"),
                arg(&image),
            ],
        );
        let doc = lab.sign_as_jane(&["--legacy-sha1"], &draft);
        market.upload(&doc);
        ids.push(first_text(&doc, DCTERMS, "identifier"));
    }
    let centos = ids.pop().unwrap();
    let ubuntu = ids.pop().unwrap();
    (market, ubuntu, centos)
}

fn client(lab: &Lab, market: &Server, name: &str, args: &[&str]) -> Output {
    let mut c = lab.command(name);
    c.args(["--marketplace-endpoint", &market.base]).args(args);
    run_with_input(c, b"")
}

#[test]
fn list_show_and_search_on_the_configured_endpoint() {
    let lab = Lab::new();
    let (market, ubuntu, centos) = two_images(&lab);

    let output = client(&lab, &market, "stratus-list-images", &[]);
    assert_ok(&output, "list-images");
    let text = stdout(&output);
    assert!(text.contains(&ubuntu) && text.contains(&centos), "{text}");

    let output = client(&lab, &market, "stratus-list-images", &["--json"]);
    assert_ok(&output, "list-images --json");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 2, "{}", stdout(&output));
    let mut oses: Vec<&str> = lines.iter().map(|l| l["os"].as_str().unwrap()).collect();
    oses.sort();
    assert_eq!(oses, ["centos", "ubuntu"]);

    let output = client(&lab, &market, "stratus-list-images", &["--table"]);
    assert_ok(&output, "list-images --table");
    let table = stdout(&output);
    let header = table.lines().next().unwrap();
    assert!(header.starts_with("IDENTIFIER"), "{table}");
    // Aligned: the OS column starts at the same offset on every line.
    let column = header.find("OS").unwrap();
    for line in table.lines().skip(1) {
        assert!(
            line[column..].starts_with("ubuntu") || line[column..].starts_with("centos"),
            "misaligned: {table}"
        );
    }

    let output = client(&lab, &market, "stratus-show-image", &["--json", &centos]);
    assert_ok(&output, "show-image");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["identifier"], centos.as_str());
    assert_eq!(lines[0]["os_arch"], "i686");

    let output = client(&lab, &market, "stratus-search-image", &["--os", "ubuntu"]);
    assert_ok(&output, "search-image --os");
    let text = stdout(&output);
    assert!(
        text.contains("OS FOUND") && text.contains(&ubuntu),
        "{text}"
    );
    assert!(!text.contains(&centos), "{text}");

    let output = client(
        &lab,
        &market,
        "stratus-search-image",
        &["--json", "-a", "i686"],
    );
    assert_ok(&output, "search-image -a");
    let lines = json_lines(&output);
    assert_eq!(lines.len(), 1, "{}", stdout(&output));
    assert_eq!(lines[0]["identifier"], centos.as_str());

    // The endpoint from the environment, as the option's stand-in.
    let mut c = lab.command("stratus-list-images");
    c.args(["--json"])
        .env("STRATUSLAB_MARKETPLACE_ENDPOINT", &market.base);
    assert_eq!(json_lines(&run_with_input(c, b"")).len(), 2);
}

#[test]
fn manifest_prints_the_selected_element() {
    let lab = Lab::new();
    let (market, ubuntu, _) = two_images(&lab);
    let output = client(&lab, &market, "stratus-manifest", &["-e", "os", &ubuntu]);
    assert_ok(&output, "manifest -e os");
    assert_eq!(stdout(&output).trim(), "ubuntu");
    let output = client(
        &lab,
        &market,
        "stratus-manifest",
        &["-e", "locations", &ubuntu],
    );
    assert_ok(&output, "manifest -e locations");
    assert_eq!(
        stdout(&output).trim(),
        "http://images.example.org/ubuntu.img"
    );
}

#[test]
fn unreachable_marketplace_is_exit_7_with_the_url() {
    let lab = Lab::new();
    let mut c = lab.command("stratus-list-images");
    c.args(["--marketplace-endpoint", "http://127.0.0.1:9"]);
    let output = run_with_input(c, b"");
    assert_code(&output, 7, "nothing listens on port 9");
    assert!(
        stderr(&output).contains("http://127.0.0.1:9/metadata"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn every_client_command_documents_its_exit_codes() {
    for name in CLIENTS {
        let output = stratus(name, &["--help"]);
        assert_ok(&output, &format!("{name} --help"));
        let text = stdout(&output);
        for exit in ["0", "2", "5", "6", "7", "255"] {
            assert!(
                text.lines().any(|line| line.trim_start().starts_with(exit)),
                "{name}: exit code {exit} not described:\n{text}"
            );
        }
    }
    let help = stdout(&stratus("stratus-upload-image", &["--help"]));
    assert!(help.to_lowercase().contains("persistent"), "{help}");
}
