//! `stratus-run-instance` and `stratus-create-image` on a Marketplace
//! image: a prepared tiny image is published (signed metadata on a real
//! `stratus-marketplace` on 127.0.0.1, the image on a real HTTP server),
//! then started by its identifier, resolved with the site policy and
//! verified on the way. The refusals (policy, tampered image, Marketplace
//! unreachable) come before any VM starts and leave no instance.

mod common;
mod market;
mod sigkit;
mod vmkit;
mod webkit;

use common::*;
use market::Server;
use sigkit::*;
use std::path::Path;
use std::process::{Command, Output};
use vmkit::{guest, one_boot, s, strings, tiny_image_args, vm_args, wait_for_console};
use webkit::{Behaviour, WebServer};

const CREATE: &str = "stratus-create-image";
const RUN: &str = "stratus-run-instance";
const DESCRIBE: &str = "stratus-describe-instance";
const KILL: &str = "stratus-kill-instance";
const UPLOAD: &str = "stratus-upload-metadata";

/// A command of the lab, with the state directory `state` and no proxy.
fn lab_command(lab: &Lab, name: &str, state: &Path) -> Command {
    let mut c = lab.command(name);
    c.env("STRATUS_STATE_DIR", state);
    for key in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"] {
        c.env_remove(key);
    }
    for key in ["ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"] {
        c.env_remove(key);
    }
    c
}

fn run(lab: &Lab, name: &str, state: &Path, args: &[String]) -> Output {
    let mut c = lab_command(lab, name, state);
    c.args(args);
    run_with_input(c, b"")
}

/// The instance records `stratus-describe-instance --json` lists.
fn instances(lab: &Lab, state: &Path) -> Vec<serde_json::Value> {
    let out = run(lab, DESCRIBE, state, &["--json".into()]);
    assert_ok(&out, "describe-instance --json");
    serde_json::from_slice::<serde_json::Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Sign `draft` with Jane's legacy P12 and upload it; its identifier.
fn publish(lab: &Lab, market: &Server, draft: &[u8]) -> (Vec<u8>, String) {
    let doc = lab.sign_as_jane(&["-q"], draft);
    let mut c = lab.command(UPLOAD);
    c.args(["--marketplace-endpoint", &market.base]);
    let out = run_with_input(c, &doc);
    assert_ok(&out, "stratus-upload-metadata");
    let id = first_text(&doc, DCTERMS, "identifier");
    (doc, id)
}

/// The site options of every command here.
fn site_args(market: &str, policy: &Path) -> Vec<String> {
    strings(&[
        "--marketplace-endpoint",
        market,
        "--policy",
        &s(policy),
        "--read-timeout",
        "5",
    ])
}

#[test]
fn a_marketplace_image_boots_by_its_identifier_and_refusals_start_nothing() {
    let Some(_one) = one_boot() else {
        return;
    };
    let lab = Lab::new();
    let state = lab.path("state");
    let market = Server::options().now(NOW).start();
    let web = WebServer::start();
    let guest = guest();

    // The prepared tiny image, its draft naming the web server as location.
    let image = lab.path("tiny.img");
    let location = web.url("/images/tiny.img");
    let out = run(&lab, CREATE, &state, &tiny_image_args(&image, &location));
    assert_ok(&out, "create-image --from-dir --prepare");
    let bytes = std::fs::read(&image).unwrap();
    web.route("/images/tiny.img", Behaviour::Serve(bytes.clone()));
    let (doc, id) = publish(&lab, &market, &out.stdout);
    let policy = lab.write("policy.cfg", "");
    let mut vm = vm_args(&guest);
    vm.push("--no-context".into());

    // Refused by the policy: exit 5, before any byte of the image.
    let blacklist = lab.write(
        "blacklist.cfg",
        format!(
            "[blacklistchecksums]\nc = {}\n",
            checksum(&doc, "SHA-1").expect("a SHA-1 checksum")
        ),
    );
    let mut args = vec![id.clone()];
    args.extend(site_args(&market.base, &blacklist));
    args.extend(vm.clone());
    let out = run(&lab, RUN, &state, &args);
    assert_code(&out, 5, "run-instance of a blacklisted image");
    assert!(stderr(&out).contains("blacklist"), "{}", stderr(&out));
    assert_eq!(web.hits("/images/tiny.img"), 0, "no image byte fetched");
    assert!(instances(&lab, &state).is_empty());

    // The Marketplace unreachable: exit 7.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    let mut args = vec![id.clone()];
    args.extend(site_args(&closed, &policy));
    args.extend(vm.clone());
    let out = run(&lab, RUN, &state, &args);
    assert_code(&out, 7, "run-instance with the Marketplace unreachable");
    assert!(instances(&lab, &state).is_empty());

    // A tampered image: another document whose location serves other
    // bytes than it describes (exit 6, no instance).
    let sample = lab.write("sample.img", sample_image(200_000, 7));
    let tampered_url = web.route(
        "/images/tampered.img",
        Behaviour::Serve(sample_image(200_000, 8)),
    );
    let draft = build_in(
        &lab,
        &[
            "--format",
            "raw",
            "--os",
            "busybox",
            "--location",
            &tampered_url,
            arg(&sample),
        ],
    );
    let (_, tampered) = publish(&lab, &market, &draft);
    let mut args = vec![tampered];
    args.extend(site_args(&market.base, &policy));
    args.extend(vm.clone());
    let out = run(&lab, RUN, &state, &args);
    assert_code(&out, 6, "run-instance of a tampered image");
    assert!(web.hits("/images/tampered.img") > 0);
    assert!(instances(&lab, &state).is_empty());

    // create-image from the identifier: a copy of the verified image.
    let copy = lab.path("copy.qcow2");
    let mut args = strings(&[&id, "-o", &s(&copy), "--title", "Copy"]);
    args.extend(site_args(&market.base, &policy));
    let out = run(&lab, CREATE, &state, &args);
    assert_ok(&out, "create-image from a Marketplace identifier");
    assert_eq!(term(&out.stdout, DCTERMS, "title"), "Copy");
    let compare = Command::new("qemu-img")
        .args(["compare", &s(&image), &s(&copy)])
        .output()
        .expect("qemu-img runs");
    assert!(
        compare.status.success(),
        "the copy differs: {}",
        String::from_utf8_lossy(&compare.stdout)
    );
    let served = web.hits("/images/tiny.img");
    assert!(served > 0, "the image came from its location");

    // And it boots, by its identifier, from the verified image.
    let mut args = vec![id.clone()];
    args.extend(site_args(&market.base, &policy));
    args.extend(vm);
    let out = run(&lab, RUN, &state, &args);
    assert_ok(&out, "run-instance of a Marketplace identifier");
    assert!(
        stdout(&out).starts_with("Machine 1 (vm ID: 1)\n"),
        "{}",
        stdout(&out)
    );
    let log = wait_for_console(&state.join("1/console.log"), "tiny: ready");
    assert!(log.contains("stratus-context: no context CD"), "{log}");
    let out = run(&lab, KILL, &state, &["1".into()]);
    assert_ok(&out, "kill-instance 1");
    assert!(instances(&lab, &state).is_empty());
    assert_eq!(
        std::fs::read(&image).unwrap(),
        bytes,
        "the image is unchanged"
    );
}
