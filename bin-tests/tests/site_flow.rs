//! The site side end to end, through the built binaries: an image is
//! built, signed under a test CA, uploaded to a real `stratus-marketplace`
//! on 127.0.0.1, resolved with a site policy and downloaded from a real
//! HTTP image server (see `webkit`), verified. Then the refusals (each
//! with its exit code and no file left), the locations that fail in every
//! way, the cache, the proxy and the deprecation round trip, and an
//! upload awaiting e-mail confirmation (a real SMTP server, see `smtp`).

mod common;
mod market;
mod sigkit;
mod smtp;
mod webkit;

use common::*;
use market::Server;
use sigkit::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use webkit::{Behaviour, Proxy, WebServer};

const AUTHOR: &str = "jane.site@example.org";
const UPLOAD: &str = "stratus-upload-metadata";
const POLICY: &str = "stratus-policy-image";
const DOWNLOAD: &str = "stratus-download-image";
const DEPRECATE: &str = "stratus-deprecate-metadata";

/// A CA, an author certified by it (with an e-mail), and one without any
/// e-mail, as PEM files in the lab.
struct Authors {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    bare_cert: PathBuf,
    bare_key: PathBuf,
    _ca: MiniCa,
}

fn authors(lab: &Lab) -> Authors {
    let ca = MiniCa::new("/O=Site Test/CN=Site Test CA");
    let key = new_rsa_key(2048);
    let cert = ca.issue(
        &key,
        "/O=Site Test/CN=Jane Site",
        &user_extensions(Some(&format!("email:{AUTHOR}"))),
        START,
        END,
    );
    let bare_key = new_rsa_key(2048);
    let bare = ca.issue(
        &bare_key,
        "/O=Site Test/CN=Nobody Mailed",
        &user_extensions(None),
        START,
        END,
    );
    Authors {
        ca: lab.write("ca.pem", &ca.cert),
        cert: lab.write("author.pem", cert),
        key: lab.write("author.key", key),
        bare_cert: lab.write("bare.pem", bare),
        bare_key: lab.write("bare.key", bare_key),
        _ca: ca,
    }
}

/// A site command in the lab: no proxy inherited, short timeouts.
fn site(lab: &Lab, name: &str) -> Command {
    let mut c = lab.command(name);
    for key in [
        "HTTP_PROXY",
        "http_proxy",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "NO_PROXY",
        "no_proxy",
    ] {
        c.env_remove(key);
    }
    c
}

fn run(mut c: Command, args: &[&str]) -> Output {
    c.args(args);
    run_with_input(c, b"")
}

/// Build the metadata of `image` (served at `locations`), signed with
/// `cert`/`key`; extra build options in `extra`.
fn signed(
    lab: &Lab,
    image: &Path,
    locations: &[String],
    cert: &Path,
    key: &Path,
    extra: &[&str],
) -> Vec<u8> {
    let mut args: Vec<&str> = vec![
        "--format",
        "raw",
        "--os",
        "ttylinux",
        "--title",
        "site test",
    ];
    for location in locations {
        args.extend(["--location", location.as_str()]);
    }
    args.extend_from_slice(extra);
    args.push(arg(image));
    let draft = build_in(lab, &args);
    let mut sign = vec!["--pem-cert", arg(cert), "--pem-key", arg(key)];
    // A certificate without an e-mail: the endorsement claims the author's.
    if extra.contains(&"--email") {
        sign.extend(["--email", AUTHOR]);
    }
    lab.sign_ok(&sign, &draft)
}

fn identifier(doc: &[u8]) -> String {
    first_text(doc, DCTERMS, "identifier")
}

fn upload(lab: &Lab, market: &Server, doc: &[u8]) -> String {
    let mut c = site(lab, UPLOAD);
    c.args(["--marketplace-endpoint", &market.base]);
    let output = run_with_input(c, doc);
    assert_ok(&output, "stratus-upload-metadata");
    stdout(&output).trim().to_string()
}

fn policy_file(lab: &Lab, name: &str, text: &str) -> PathBuf {
    lab.write(name, text)
}

/// The files in the lab's `out/` directory (to prove nothing is left).
fn leftovers(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

fn download(lab: &Lab, market: &Server, args: &[&str]) -> Output {
    let mut c = site(lab, DOWNLOAD);
    c.args([
        "--marketplace-endpoint",
        &market.base,
        "--read-timeout",
        "2",
    ]);
    run(c, args)
}

#[test]
fn build_sign_upload_policy_download_for_every_compression() {
    let lab = Lab::new();
    let who = authors(&lab);
    let market = Server::options().now(NOW).start();
    let web = WebServer::start();
    let raw = sample_image(300_000, 42);
    let image = lab.write("disk.img", &raw);
    let policy = policy_file(
        &lab,
        "policy.cfg",
        &format!("[whitelistendorsers]\nemail = {AUTHOR}\n[trust]\nca = ca.pem\n"),
    );
    for (name, published) in [
        ("raw", raw.clone()),
        ("gz", compress_bytes("gzip", &raw)),
        ("bz2", compress_bytes("bzip2", &raw)),
        ("xz", compress_bytes("xz", &raw)),
    ] {
        let file = lab.write(&format!("disk.{name}"), &published);
        let url = web.route(&format!("/images/disk.{name}"), Behaviour::Serve(published));
        // build | sign | upload, through pipes.
        let mut build = lab.command(BUILD);
        build.args([
            "-q",
            "--format",
            "raw",
            "--os",
            "ttylinux",
            "--location",
            &url,
            arg(&file),
        ]);
        let sign = lab.sign_command(&[
            "-q",
            "--pem-cert",
            arg(&who.cert),
            "--pem-key",
            arg(&who.key),
        ]);
        let mut up = site(&lab, UPLOAD);
        up.args(["--marketplace-endpoint", &market.base]);
        let outputs = pipeline(vec![build, sign, up]);
        for (i, output) in outputs.iter().enumerate() {
            assert_ok(output, &format!("{name}: pipeline stage {i}"));
        }
        let entry = stdout(&outputs[2]).trim().to_string();
        assert!(
            entry.starts_with(&format!("{}/metadata/", market.base)),
            "{entry}"
        );
        let id = entry.split('/').rev().nth(2).unwrap().to_string();

        let mut c = site(&lab, POLICY);
        c.args([
            "--marketplace-endpoint",
            &market.base,
            "--policy",
            arg(&policy),
            &id,
        ]);
        let output = run_with_input(c, b"");
        assert_ok(&output, &format!("{name}: stratus-policy-image"));
        assert_eq!(stdout(&output).trim(), entry);

        std::fs::create_dir_all(lab.path("out")).unwrap();
        let target = lab.path(&format!("out/{name}.img"));
        let output = download(
            &lab,
            &market,
            &["--policy", arg(&policy), "-o", arg(&target), &id],
        );
        assert_ok(&output, &format!("{name}: stratus-download-image"));
        assert_eq!(std::fs::read(&target).unwrap(), raw, "{name}: the image");
        assert!(
            stderr(&output).contains(&url),
            "{name}: says which location: {}",
            stderr(&output)
        );
    }
    assert_eq!(
        leftovers(&lab.path("out")),
        ["bz2.img", "gz.img", "raw.img", "xz.img"],
        "no temporary file left"
    );
    drop(image);
}

#[test]
fn offline_from_a_metadata_file_and_from_stdin() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let raw = sample_image(100_000, 3);
    let gz = compress_bytes("gzip", &raw);
    let url = web.route("/d.gz", Behaviour::Serve(gz.clone()));
    let file = lab.write("d.gz", &gz);
    let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
    let meta = lab.write("d.xml", &doc);
    let target = lab.path("d.img");
    let mut c = site(&lab, DOWNLOAD);
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "download from a file");
    assert_eq!(std::fs::read(&target).unwrap(), raw);

    std::fs::remove_file(&target).unwrap();
    let mut c = site(&lab, DOWNLOAD);
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), "-"]);
    let output = run_with_input(c, &doc);
    assert_ok(&output, "download from stdin");
    assert_eq!(std::fs::read(&target).unwrap(), raw);
}

/// One published image, for the refusal tests.
struct Published {
    lab: Lab,
    who: Authors,
    market: Server,
    web: WebServer,
    id: String,
    doc: Vec<u8>,
    raw: Vec<u8>,
}

fn publish(extra: &[&str], bare: bool) -> Published {
    let lab = Lab::new();
    let who = authors(&lab);
    let market = Server::options().now(NOW).start();
    let web = WebServer::start();
    let raw = sample_image(65_536, 9);
    let url = web.route("/img", Behaviour::Serve(raw.clone()));
    let file = lab.write("img", &raw);
    let (cert, key) = if bare {
        (&who.bare_cert, &who.bare_key)
    } else {
        (&who.cert, &who.key)
    };
    let doc = signed(&lab, &file, &[url], cert, key, extra);
    upload(&lab, &market, &doc);
    let id = identifier(&doc);
    Published {
        lab,
        who,
        market,
        web,
        id,
        doc,
        raw,
    }
}

/// Download with `policy_text` (a `[trust]` on the test CA added unless
/// `trust` says otherwise); assert the exit code and that no file is left.
fn refused(p: &Published, policy_text: &str, extra: &[&str], expected: i32, what: &str) -> String {
    let policy = p.lab.write("refuse.cfg", policy_text);
    let out = p.lab.path("refused");
    std::fs::create_dir_all(&out).unwrap();
    let target = out.join("image.img");
    let mut args = vec!["--policy", arg(&policy), "-o", arg(&target)];
    args.extend_from_slice(extra);
    args.push(&p.id);
    let output = download(&p.lab, &p.market, &args);
    assert_code(&output, expected, what);
    assert!(
        leftovers(&out).is_empty(),
        "{what}: files left: {:?}",
        leftovers(&out)
    );
    assert_eq!(
        p.web.hits("/img"),
        0,
        "{what}: no image byte fetched before the decision"
    );
    stderr(&output)
}

#[test]
fn the_policy_refuses_before_any_image_byte() {
    let p = publish(&[], false);
    let trust = "[trust]\nca = ca.pem\n";
    let err = refused(
        &p,
        &format!(
            "[blacklistendorsers]\ne = {}\n{trust}",
            AUTHOR.to_uppercase()
        ),
        &[],
        5,
        "blacklisted endorser (case-insensitive)",
    );
    assert!(err.contains("blacklist"), "{err}");
    refused(
        &p,
        &format!("[whitelistimages]\ni = MMZu9WvwKIro-rtBQfDk4PsKO7_\n{trust}"),
        &[],
        5,
        "not on the image whitelist",
    );
    for algorithm in ["MD5", "SHA-1", "SHA-256", "SHA-512"] {
        let sum = checksum(&p.doc, algorithm).expect("every digest is present");
        refused(
            &p,
            &format!("[blacklistchecksums]\nc = {}\n{trust}", sum.to_uppercase()),
            &[],
            5,
            &format!("blacklisted {algorithm}"),
        );
    }
    // Signed under another CA: the signer is not trusted.
    let other = MiniCa::new("/CN=Other CA");
    p.lab.write("other.pem", &other.cert);
    refused(&p, "[trust]\nca = other.pem\n", &[], 4, "untrusted signer");
    // The legacy dialect, one item per line.
    refused(
        &p,
        &format!("[endorsers]\nblacklistendorsers=\n nobody@example.org\n {AUTHOR}\n{trust}"),
        &[],
        5,
        "legacy dialect blacklist",
    );
    // And the same site accepts it when nothing refuses it.
    let policy = p.lab.write(
        "ok.cfg",
        format!("[whitelistendorsers]\ne = {AUTHOR}\n{trust}"),
    );
    let target = p.lab.path("ok.img");
    let output = download(
        &p.lab,
        &p.market,
        &["--policy", arg(&policy), "-o", arg(&target), &p.id],
    );
    assert_ok(&output, "accepted");
    assert_eq!(std::fs::read(&target).unwrap(), p.raw);
}

#[test]
fn a_whitelisted_email_needs_a_certificate_that_carries_it() {
    // Signed by a trusted certificate with no e-mail, the endorsement
    // claiming the whitelisted address.
    let p = publish(&["--email", AUTHOR], true);
    let err = refused(
        &p,
        &format!("[whitelistendorsers]\ne = {AUTHOR}\n[trust]\nca = ca.pem\n"),
        &[],
        5,
        "e-mail not vouched for by the certificate",
    );
    assert!(!err.is_empty());
}

#[test]
fn expired_entries_are_refused_unless_allowed() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let raw = sample_image(10_000, 5);
    let url = web.route("/e", Behaviour::Serve(raw.clone()));
    let file = lab.write("e", &raw);
    let doc = signed(
        &lab,
        &file,
        &[url],
        &who.cert,
        &who.key,
        &["--valid", "2026-01-10"],
    );
    let meta = lab.write("e.xml", &doc);
    let target = lab.path("e.img");
    let mut c = site(&lab, DOWNLOAD);
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    let output = run_with_input(c, b"");
    assert_code(&output, 5, "expired");
    assert!(!target.exists());
    assert_eq!(web.hits("/e"), 0);
    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--allow-expired",
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    assert_ok(&run_with_input(c, b""), "expired, allowed");
    assert_eq!(std::fs::read(&target).unwrap(), raw);
}

#[test]
fn a_forged_document_from_a_hostile_marketplace() {
    let p = publish(&[], false);
    let forged = String::from_utf8(p.doc.clone()).unwrap().replace(
        "<slterms:os>ttylinux</slterms:os>",
        "<slterms:os>evil</slterms:os>",
    );
    assert!(forged.contains("evil"));
    let root = match forged.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or(rest, |(_, r)| r),
        None => forged.as_str(),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><metadata>{}</metadata>",
        root.trim()
    );
    p.web.route(
        &format!("/hostile/metadata/{}", p.id),
        Behaviour::Serve(body.into_bytes()),
    );
    let target = p.lab.path("forged.img");
    let mut c = site(&p.lab, DOWNLOAD);
    c.args([
        "--marketplace-endpoint",
        &p.web.url("/hostile"),
        "--ca",
        arg(&p.who.ca),
        "-o",
        arg(&target),
        &p.id,
    ]);
    let output = run_with_input(c, b"");
    assert_code(&output, 3, "forged document");
    assert!(!target.exists());
    assert_eq!(p.web.hits("/img"), 0);
}

#[test]
fn locations_are_tried_in_order_until_one_serves_the_image() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let raw = sample_image(200_000, 77);
    let mut corrupt = raw.clone();
    corrupt[1234] ^= 0xff;
    let urls = vec![
        web.route("/missing", Behaviour::Missing),
        web.route("/corrupt", Behaviour::Serve(corrupt)),
        web.route("/good", Behaviour::Serve(raw.clone())),
    ];
    let file = lab.write("img", &raw);
    let doc = signed(&lab, &file, &urls, &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    std::fs::create_dir_all(lab.path("out")).unwrap();
    let target = lab.path("out/img");
    let mut c = site(&lab, DOWNLOAD);
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "third location");
    assert_eq!(std::fs::read(&target).unwrap(), raw);
    let err = stderr(&output);
    assert!(
        err.contains("/missing") && err.contains("/corrupt"),
        "{err}"
    );
    assert!(err.contains(&urls[2]), "served by the third: {err}");
    assert_eq!(
        (
            web.hits("/missing"),
            web.hits("/corrupt"),
            web.hits("/good")
        ),
        (1, 1, 1)
    );
    assert_eq!(leftovers(&lab.path("out")), ["img"]);
}

fn one_location(
    behaviour: Behaviour,
    raw: &[u8],
    extra: &[&str],
) -> (Output, Vec<u8>, Option<Vec<u8>>, usize) {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let url = web.route("/only", behaviour);
    let file = lab.write("img", raw);
    let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    std::fs::create_dir_all(lab.path("out")).unwrap();
    let target = lab.path("out/img");
    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--read-timeout",
        "1",
        "-o",
        arg(&target),
    ]);
    c.args(extra).arg(arg(&meta));
    let output = run_with_input(c, b"");
    let left = leftovers(&lab.path("out"));
    assert!(
        left.is_empty() || left == ["img"],
        "temporary files left: {left:?}"
    );
    (
        output,
        raw.to_vec(),
        std::fs::read(&target).ok(),
        web.hits("/only"),
    )
}

#[test]
fn a_dropped_connection_is_resumed_with_a_range() {
    let raw = sample_image(500_000, 8);
    let (output, raw, got, hits) = one_location(Behaviour::DropHalfway(raw.clone()), &raw, &[]);
    assert_ok(&output, "resumed");
    assert_eq!(got.as_deref(), Some(&raw[..]));
    assert_eq!(hits, 2, "one request, one range request");
    assert!(
        stderr(&output).contains("resumed at byte"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_server_without_ranges_is_read_again() {
    let raw = sample_image(100_000, 18);
    let (output, raw, got, _) = one_location(Behaviour::ServeNoRanges(raw.clone()), &raw, &[]);
    assert_ok(&output, "no ranges needed");
    assert_eq!(got.as_deref(), Some(&raw[..]));
}

#[test]
fn a_stalled_server_times_out_and_leaves_nothing() {
    let raw = sample_image(100_000, 28);
    let (output, _, got, _) = one_location(Behaviour::Stall(raw.clone()), &raw, &[]);
    assert_code(&output, 7, "stalled");
    assert!(got.is_none());
}

#[test]
fn more_bytes_than_the_metadata_says_is_a_mismatch() {
    let raw = sample_image(50_000, 38);
    let mut more = raw.clone();
    more.extend_from_slice(&[0u8; 4096]);
    let (output, _, got, _) = one_location(Behaviour::Serve(more), &raw, &[]);
    assert_code(&output, 6, "oversized");
    assert!(got.is_none());
}

#[test]
fn all_locations_dead() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let raw = sample_image(1000, 1);
    let file = lab.write("img", &raw);
    // Port 9 on 127.0.0.1: nothing listens (connection refused).
    let urls = vec!["http://127.0.0.1:9/x".to_string(), web.url("/nothing")];
    let doc = signed(&lab, &file, &urls, &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    let target = lab.path("dead.img");
    let mut c = site(&lab, DOWNLOAD);
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    let output = run_with_input(c, b"");
    assert_code(&output, 7, "all dead");
    assert!(!target.exists());
    assert!(
        stderr(&output).contains("127.0.0.1:9"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_second_download_is_a_verified_cache_hit_without_network() {
    let p = publish(&[], false);
    let policy = p.lab.write("p.cfg", "[trust]\nca = ca.pem\n");
    let cache = p.lab.path("cache");
    let first = p.lab.path("first.img");
    let output = download(
        &p.lab,
        &p.market,
        &[
            "--policy",
            arg(&policy),
            "--cache",
            arg(&cache),
            "-o",
            arg(&first),
            &p.id,
        ],
    );
    assert_ok(&output, "first download");
    assert_eq!(p.web.hits("/img"), 1);
    let second = p.lab.path("second.img");
    let output = download(
        &p.lab,
        &p.market,
        &[
            "--policy",
            arg(&policy),
            "--cache",
            arg(&cache),
            "-o",
            arg(&second),
            &p.id,
        ],
    );
    assert_ok(&output, "cache hit");
    assert_eq!(p.web.hits("/img"), 1, "no image request on a cache hit");
    assert_eq!(std::fs::read(&second).unwrap(), p.raw);
    assert!(stderr(&output).contains("cache"), "{}", stderr(&output));
}

#[test]
fn http_proxy_is_used_and_no_proxy_bypasses_it() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let proxy = Proxy::start();
    let raw = sample_image(20_000, 2);
    let url = web.route("/p", Behaviour::Serve(raw.clone()));
    let file = lab.write("img", &raw);
    let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    let target = lab.path("p.img");
    let mut c = site(&lab, DOWNLOAD);
    c.env("HTTP_PROXY", proxy.url());
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    assert_ok(&run_with_input(c, b""), "through the proxy");
    assert_eq!(std::fs::read(&target).unwrap(), raw);
    let through = proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(through, 1, "the image request went through the proxy");
    std::fs::remove_file(&target).unwrap();
    let mut c = site(&lab, DOWNLOAD);
    c.env("HTTP_PROXY", proxy.url())
        .env("NO_PROXY", "127.0.0.1");
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    assert_ok(&run_with_input(c, b""), "bypassing the proxy");
    assert_eq!(
        proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst),
        through
    );
    assert_eq!(web.hits("/p"), 2);
}

#[test]
fn deprecation_round_trip() {
    let p = publish(&[], false);
    let policy = p.lab.write("p.cfg", "[trust]\nca = ca.pem\n");
    let mut c = site(&p.lab, DEPRECATE);
    // An hour after the entry was signed (the clock is pinned).
    c.env("STRATUS_NOW", "2026-01-15T11:20:30Z");
    c.args([
        "--marketplace-endpoint",
        &p.market.base,
        "--pem-cert",
        arg(&p.who.cert),
        "--pem-key",
        arg(&p.who.key),
        "--email",
        AUTHOR,
        "--reason",
        "superseded",
        &p.id,
    ]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "deprecate");
    assert!(
        stdout(&output).contains(&p.id),
        "the new entry URL: {}",
        stdout(&output)
    );

    let mut c = site(&p.lab, POLICY);
    c.args([
        "--marketplace-endpoint",
        &p.market.base,
        "--policy",
        arg(&policy),
        &p.id,
    ]);
    assert_code(&run_with_input(c, b""), 5, "deprecated: policy refuses");
    refused(
        &p,
        "[trust]\nca = ca.pem\n",
        &[],
        5,
        "deprecated: download refuses",
    );

    let mut c = site(&p.lab, POLICY);
    c.args([
        "--marketplace-endpoint",
        &p.market.base,
        "--policy",
        arg(&policy),
        "--allow-deprecated",
        &p.id,
    ]);
    assert_ok(&run_with_input(c, b""), "deprecated, allowed");

    // Someone else's entry: Mallory's certificate, Jane's e-mail, refused
    // before anything is uploaded.
    let mallory = self_signed(
        &new_rsa_key(2048),
        "/CN=Mallory",
        &user_extensions(Some("email:mallory@example.org")),
    );
    let (key, cert) = mallory.write(&p.lab, "mallory");
    let entries_before = p.market.get(&format!("/metadata/{}", p.id)).text();
    let mut c = site(&p.lab, DEPRECATE);
    c.args([
        "--marketplace-endpoint",
        &p.market.base,
        "--pem-cert",
        arg(&cert),
        "--pem-key",
        arg(&key),
        "--email",
        AUTHOR,
        &p.id,
    ]);
    let output = run_with_input(c, b"");
    assert!(code(&output) != 0, "deprecating another's entry must fail");
    assert!(
        stderr(&output).contains("mallory@example.org"),
        "{}",
        stderr(&output)
    );
    assert_eq!(
        p.market.get(&format!("/metadata/{}", p.id)).text(),
        entries_before
    );

    // A certificate without any e-mail claiming Jane's: its subject did
    // not sign the entry, refused before anything is uploaded.
    let mut c = site(&p.lab, DEPRECATE);
    c.args([
        "--marketplace-endpoint",
        &p.market.base,
        "--pem-cert",
        arg(&p.who.bare_cert),
        "--pem-key",
        arg(&p.who.bare_key),
        "--email",
        AUTHOR,
        "--created",
        "2026-01-15T10:20:30Z",
        &p.id,
    ]);
    let output = run_with_input(c, b"");
    assert_code(&output, 2, "a subject that did not sign the entry");
    assert!(stderr(&output).contains("subject"), "{}", stderr(&output));
    assert_eq!(
        p.market.get(&format!("/metadata/{}", p.id)).text(),
        entries_before
    );
}

#[test]
fn unsigned_documents_are_refused_before_upload() {
    let lab = Lab::new();
    let market = Server::options().now(NOW).start();
    let mut c = site(&lab, UPLOAD);
    c.args(["--marketplace-endpoint", &market.base]);
    let output = run_with_input(c, unsigned_doc());
    assert_code(&output, 1, "unsigned");
    assert!(
        stderr(&output).contains("refused before upload"),
        "{}",
        stderr(&output)
    );
    let id = first_text(unsigned_doc(), DCTERMS, "identifier");
    assert_eq!(
        market.get(&format!("/metadata/{id}")).status,
        404,
        "nothing was stored"
    );
}

#[test]
fn an_upload_awaiting_confirmation_says_so_and_is_published_once_confirmed() {
    if !smtp::available() {
        return;
    }
    let lab = Lab::new();
    let who = authors(&lab);
    let mail_server = smtp::SmtpServer::start();
    let market = Server::options()
        .now(NOW)
        .config(&format!("validate.email=true\n{}", mail_server.config()))
        .start();
    let file = lab.write("img", sample_image(4096, 3));
    let doc = signed(
        &lab,
        &file,
        &["http://127.0.0.1:9/img".to_string()],
        &who.cert,
        &who.key,
        &[],
    );
    let id = identifier(&doc);
    let mut c = site(&lab, UPLOAD);
    c.args(["--marketplace-endpoint", &market.base]);
    let output = run_with_input(c, &doc);
    assert_ok(&output, "an upload awaiting confirmation succeeds");
    let said = format!("{}{}", stdout(&output), stderr(&output));
    assert!(
        said.contains("202 Accepted") && said.contains(AUTHOR),
        "{said}"
    );
    assert_eq!(
        market.get(&format!("/metadata/{id}")).status,
        404,
        "pending"
    );
    let mail = mail_server
        .wait_for(1, std::time::Duration::from_secs(20))
        .remove(0);
    assert_eq!(mail.to, AUTHOR);
    let confirm = smtp::link(&mail, "Confirm:");
    let path = confirm
        .strip_prefix(&market.base)
        .unwrap_or_else(|| panic!("{confirm} is not under {}", market.base));
    assert_eq!(market.get(path).status, 201);
    assert_eq!(market.get(&format!("/metadata/{id}")).status, 200);
}

/// `openssl s_server -WWW` serving the lab directory over HTTPS on a free
/// port of 127.0.0.1, with a certificate for that address from `ca`;
/// stopped (killed) when dropped.
struct TlsServer {
    child: std::process::Child,
    port: u16,
}

impl TlsServer {
    fn start(lab: &Lab, ca: &MiniCa) -> TlsServer {
        let key = new_rsa_key(2048);
        let cert = ca.issue(
            &key,
            "/CN=127.0.0.1",
            "basicConstraints = CA:FALSE\nkeyUsage = critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1\n",
            START,
            END,
        );
        let (key, cert) = (lab.write("tls.key", key), lab.write("tls.pem", cert));
        // A free port: bound, read, released for openssl to take.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-WWW", "-accept"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-cert", arg(&cert), "-key", arg(&key)])
            .current_dir(lab.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("openssl s_server starts");
        let server = TlsServer { child, port };
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed().as_secs() < 30,
                "openssl s_server did not listen"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        server
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn https_locations_are_verified_and_a_ca_bundle_admits_a_private_ca() {
    let lab = Lab::new();
    let who = authors(&lab);
    let server_ca = MiniCa::new("/CN=Image Server CA");
    let bundle = lab.write("server-ca.pem", &server_ca.cert);
    let tls = TlsServer::start(&lab, &server_ca);
    let raw = sample_image(40_000, 12);
    let file = lab.write("served.img", &raw);
    let url = format!("https://127.0.0.1:{}/served.img", tls.port);
    let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    let target = lab.path("tls.img");

    let mut c = site(&lab, DOWNLOAD);
    c.env("SSL_CERT_FILE", arg(&who.ca))
        .env_remove("SSL_CERT_DIR");
    c.args(["--ca", arg(&who.ca), "-o", arg(&target), arg(&meta)]);
    let output = run_with_input(c, b"");
    assert_code(&output, 7, "a certificate from an unknown CA");
    assert!(!target.exists());

    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--ca-bundle",
        arg(&bundle),
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    assert_ok(&run_with_input(c, b""), "with --ca-bundle");
    assert_eq!(std::fs::read(&target).unwrap(), raw);

    // Through a proxy: HTTPS_PROXY, a CONNECT tunnel, TLS still verified.
    std::fs::remove_file(&target).unwrap();
    let proxy = Proxy::start();
    let mut c = site(&lab, DOWNLOAD);
    c.env("HTTPS_PROXY", proxy.url());
    c.args([
        "--ca",
        arg(&who.ca),
        "--ca-bundle",
        arg(&bundle),
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    assert_ok(&run_with_input(c, b""), "through HTTPS_PROXY");
    assert_eq!(proxy.forwarded.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert_eq!(std::fs::read(&target).unwrap(), raw);
    std::fs::remove_file(&target).unwrap();
    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--insecure",
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "with --insecure");
    assert!(
        stderr(&output).contains("--insecure"),
        "said loudly: {}",
        stderr(&output)
    );
}

#[test]
fn a_legacy_marketplace_refusing_rsa_sha256_is_explained() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    web.route(
        "/legacy/metadata",
        Behaviour::Status(
            400,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\
             <error>invalid metadata: cannot find validation key</error>"
                .into(),
        ),
    );
    let file = lab.write("img", sample_image(1000, 4));
    let doc = signed(&lab, &file, &[], &who.cert, &who.key, &[]);
    let mut c = site(&lab, UPLOAD);
    c.args(["--marketplace-endpoint", &web.url("/legacy")]);
    let output = run_with_input(c, &doc);
    assert_code(&output, 7, "refused by the server");
    let err = stderr(&output);
    assert!(
        err.contains("cannot find validation key"),
        "the server's text: {err}"
    );
    assert!(err.contains("--legacy-sha1"), "the cure: {err}");
    assert!(err.contains("/legacy/metadata"), "the URL: {err}");
}

#[test]
fn upload_image_adds_the_location_signs_and_publishes() {
    let lab = Lab::new();
    let who = authors(&lab);
    let market = Server::options().now(NOW).start();
    let image = lab.write("disk.img", sample_image(5000, 6));
    let draft = build_in(&lab, &["--format", "raw", "--os", "ttylinux", arg(&image)]);
    let metadata = lab.write("disk.xml", &draft);
    let url = "https://images.example.org/disk.img";
    let mut c = site(&lab, "stratus-upload-image");
    c.args([
        "--marketplace-endpoint",
        &market.base,
        "--location",
        url,
        "--pem-cert",
        arg(&who.cert),
        "--pem-key",
        arg(&who.key),
        arg(&image),
    ]);
    let output = run_with_input(c, b"");
    assert_ok(&output, "stratus-upload-image");
    let entry = stdout(&output).trim().to_string();
    assert!(
        entry.starts_with(&format!("{}/metadata/", market.base)),
        "{entry}"
    );
    assert!(lab.path("disk.xml.orig").is_file(), "the original is kept");
    let signed = std::fs::read(&metadata).unwrap();
    assert_eq!(first_text(&signed, SLTERMS, "location"), url);
    let path = entry.strip_prefix(&market.base).unwrap();
    let stored = market.get(path);
    assert_eq!(stored.status, 200, "{}", stored.text());
    assert_eq!(first_text(&stored.body, SLTERMS, "location"), url);
    // The persistent-disk half is refused, saying why.
    let mut c = site(&lab, "stratus-upload-image");
    c.args([
        "--marketplace-endpoint",
        &market.base,
        "--image-only",
        arg(&image),
    ]);
    let output = run_with_input(c, b"");
    assert_code(&output, 2, "--image-only");
    assert!(
        stderr(&output).contains("persistent"),
        "{}",
        stderr(&output)
    );
}

/// A signed qcow2 whose header names an external data file on this host:
/// verified (the header's bytes are what was signed), but not converted,
/// since qemu-img would copy the host file into the output.
#[test]
fn format_refuses_an_image_whose_header_names_a_host_file() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let host = lab.write("host-secret.raw", sample_image(1 << 20, 15));
    let evil = lab.path("evil.qcow2");
    let option = format!("data_file={},data_file_raw=on", arg(&host));
    tool(
        "qemu-img",
        &[
            "create",
            "-q",
            "-f",
            "qcow2",
            "-o",
            &option,
            arg(&evil),
            "1M",
        ],
    );
    let url = web.route(
        "/evil.qcow2",
        Behaviour::Serve(std::fs::read(&evil).unwrap()),
    );
    let draft = build_in(
        &lab,
        &[
            "--format",
            "qcow2",
            "--os",
            "ttylinux",
            "--title",
            "t",
            "--location",
            &url,
            arg(&evil),
        ],
    );
    let doc = lab.sign_ok(
        &["--pem-cert", arg(&who.cert), "--pem-key", arg(&who.key)],
        &draft,
    );
    let meta = lab.write("m.xml", &doc);
    let target = lab.path("out.raw");
    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--format",
        "raw",
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    let out = run_with_input(c, b"");
    assert_code(&out, 2, "--format raw of an image naming a host file");
    assert!(
        stderr(&out).contains("an external data file"),
        "{}",
        stderr(&out)
    );
    assert!(!target.exists(), "a converted image was left");
}

#[test]
fn format_converts_the_verified_image_with_qemu_img() {
    let lab = Lab::new();
    let who = authors(&lab);
    let web = WebServer::start();
    let raw = sample_image(1 << 20, 14);
    let url = web.route("/raw.img", Behaviour::Serve(raw.clone()));
    let file = lab.write("raw.img", &raw);
    let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
    let meta = lab.write("m.xml", &doc);
    let target = lab.path("out.qcow2");
    let mut c = site(&lab, DOWNLOAD);
    c.args([
        "--ca",
        arg(&who.ca),
        "--format",
        "qcow2",
        "-o",
        arg(&target),
        arg(&meta),
    ]);
    assert_ok(&run_with_input(c, b""), "--format qcow2");
    let info =
        String::from_utf8(tool("qemu-img", &["info", "--output=json", arg(&target)])).unwrap();
    assert!(info.contains("\"format\": \"qcow2\""), "{info}");
    // Its content is the verified image.
    let back = lab.path("back.raw");
    tool(
        "qemu-img",
        &[
            "convert",
            "-f",
            "qcow2",
            "-O",
            "raw",
            arg(&target),
            arg(&back),
        ],
    );
    assert_eq!(std::fs::read(&back).unwrap(), raw);
}

#[test]
fn signature_profile_in_the_user_configuration_chooses_rsa_sha1() {
    let lab = Lab::new();
    let who = authors(&lab);
    std::fs::create_dir_all(lab.home().join(".stratuslab")).unwrap();
    std::fs::write(
        lab.home().join(".stratuslab/stratuslab-user.cfg"),
        "[default]\nsignature_profile = legacy-sha1\n",
    )
    .unwrap();
    let draft = build_in(
        &lab,
        &[
            "--format",
            "raw",
            "--os",
            "ttylinux",
            arg(&lab.write("i", b"x")),
        ],
    );
    let doc = lab.sign_ok(
        &["--pem-cert", arg(&who.cert), "--pem-key", arg(&who.key)],
        &draft,
    );
    assert_eq!(
        dsig_algorithm(&doc, "SignatureMethod"),
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    );
    std::fs::write(
        lab.home().join(".stratuslab/stratuslab-user.cfg"),
        "[default]\nsignature_profile = sha3-for-fun\n",
    )
    .unwrap();
    let output = lab.sign(
        &["--pem-cert", arg(&who.cert), "--pem-key", arg(&who.key)],
        &draft,
    );
    assert_code(&output, 2, "an unknown profile");
    assert!(
        stderr(&output).contains("signature_profile"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn several_uploads_in_one_call_and_every_form_of_input() {
    let lab = Lab::new();
    let who = authors(&lab);
    let market = Server::options().now(NOW).start();
    let web = WebServer::start();
    let mut files = Vec::new();
    let mut raws = Vec::new();
    for n in 0..2u64 {
        let raw = sample_image(4096, 100 + n);
        let url = web.route(&format!("/i{n}"), Behaviour::Serve(raw.clone()));
        let file = lab.write(&format!("i{n}"), &raw);
        let doc = signed(&lab, &file, &[url], &who.cert, &who.key, &[]);
        files.push(lab.write(&format!("i{n}.xml"), &doc));
        raws.push(raw);
    }
    let mut c = site(&lab, UPLOAD);
    c.args(["--marketplace-endpoint", &market.base]);
    c.args(files.iter().map(|f| arg(f)));
    let output = run_with_input(c, b"");
    assert_ok(&output, "two uploads");
    let entries: Vec<String> = stdout(&output).lines().map(str::to_string).collect();
    assert_eq!(entries.len(), 2, "one entry URL each: {entries:?}");

    let entry = &entries[1];
    let key = entry
        .strip_prefix(&format!("{}/metadata/", market.base))
        .unwrap()
        .to_string();
    let (id, email) = {
        let mut parts = key.split('/');
        (
            parts.next().unwrap().to_string(),
            parts.next().unwrap().to_string(),
        )
    };
    let id_email = format!("{id}/{email}");
    let policy = lab.write("p.cfg", "[trust]\nca = ca.pem\n");
    for input in [id.as_str(), id_email.as_str(), key.as_str(), entry.as_str()] {
        let mut c = site(&lab, POLICY);
        c.args([
            "--marketplace-endpoint",
            &market.base,
            "--policy",
            arg(&policy),
            input,
        ]);
        let output = run_with_input(c, b"");
        assert_ok(&output, &format!("policy-image {input}"));
        assert_eq!(stdout(&output).trim(), entry, "{input}");
    }
    let target = lab.path("by-url.img");
    let output = download(
        &lab,
        &market,
        &["--policy", arg(&policy), "-o", arg(&target), entry],
    );
    assert_ok(&output, "download by entry URL");
    assert_eq!(std::fs::read(&target).unwrap(), raws[1]);
}
