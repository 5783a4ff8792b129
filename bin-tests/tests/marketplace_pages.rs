//! The Marketplace's web pages in a real headless browser (Debian's
//! chromium through chromedriver): a signed document uploaded through the
//! form, found in the list by a search term, its detail page read
//! (checksum, location), its XML button followed, a list of 100 entries
//! paged through, every page checked with axe-core (no serious or
//! critical violation) and at phone width, and a document whose every
//! user-supplied field is an XSS attempt shown as text.
//!
//! Screenshots: `target/debug/test-output/marketplace_pages-*/`.

mod browser;
mod common;
mod market;
mod sigkit;
mod smtp;

use browser::Browser;
use fantoccini::Locator;
use market::*;
use sigkit::*;

/// The uploaded document: the legacy in-date fixture with a location.
const LOCATION: &str = "http://images.example.org/bee8.img";

fn located() -> Vec<u8> {
    variant(
        "valid-indate-signature.xml",
        &[(
            "<dcterms:valid>",
            &format!("<slterms:location>{LOCATION}</slterms:location><dcterms:valid>"),
        )],
        "2014-06-03T10:00:00Z",
    )
}

async fn assert_accessible(browser: &Browser, page: &str) {
    let violations = browser.accessibility_violations().await;
    assert!(
        violations.is_empty(),
        "{page}: serious accessibility violations:\n{}",
        violations.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_search_detail_xml_and_paging_in_a_browser() {
    if !browser::available() {
        return;
    }
    let server = Server::start();
    for (_, document) in bulk_documents(100) {
        server.upload(&document);
    }
    let document = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(document.path(), located()).unwrap();
    let browser = Browser::start("marketplace_pages-flow", 1280, 900).await;
    let c = &browser.client;

    // The upload form: a signed file, and the verdict.
    c.goto(&format!("{}/upload", server.base)).await.unwrap();
    assert_accessible(&browser, "upload form").await;
    let input = c.find(Locator::Css("input[type=file]")).await.unwrap();
    input
        .send_keys(document.path().to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Css("form.upload button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("p.message"))
        .await
        .unwrap();
    assert_eq!(browser.text("h1").await, "Upload");
    assert_eq!(browser.text("p.message").await, "metadata entry created");

    // The list: found by a search term.
    c.goto(&format!("{}/metadata", server.base)).await.unwrap();
    let search = c.find(Locator::Id("q")).await.unwrap();
    search.send_keys(BEE8).await.unwrap();
    c.find(Locator::Css("p.search button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("p.summary"))
        .await
        .unwrap();
    assert_eq!(
        browser
            .text("p.summary")
            .await
            .lines()
            .next()
            .unwrap()
            .split(" This")
            .next()
            .unwrap(),
        "Entries 1 to 1 of 1."
    );
    let identifiers = browser
        .texts("table.entries td[data-label=Identifier]")
        .await;
    assert_eq!(identifiers, [BEE8]);
    assert_accessible(&browser, "image list").await;
    browser.screenshot("list-search").await;

    // Its detail page: the checksum and the location.
    c.find(Locator::Css("table.entries th a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    c.wait()
        .for_element(Locator::Css("code.checksum"))
        .await
        .unwrap();
    let checksums = browser.texts("code.checksum").await;
    assert!(checksums.iter().any(|c| c == BEE8_SHA1), "{checksums:?}");
    let location = c.find(Locator::Css("a.location")).await.unwrap();
    assert_eq!(
        location.attr("href").await.unwrap().as_deref(),
        Some(LOCATION)
    );
    assert_eq!(location.text().await.unwrap(), LOCATION);
    let command = browser.text("pre.command").await;
    assert!(
        command.starts_with("stratus-download-image -o ")
            && command.contains(&format!("/metadata/{BEE8}/{JANE}/2014-06-03T10:00:00Z'")),
        "{command}"
    );
    assert!(browser.text("dd.good").await.starts_with("verifies"));
    assert_accessible(&browser, "detail page").await;
    browser.screenshot("detail").await;

    // The XML button: the signed document itself.
    let xml = c.find(Locator::LinkText("XML")).await.unwrap();
    let href = xml
        .prop("href")
        .await
        .unwrap()
        .expect("the XML button links");
    let path = href
        .strip_prefix(&server.base)
        .expect("a link to this server");
    let reply = server.get(path);
    assert_eq!(reply.status, 200);
    assert_eq!(reply.media_type(), "application/rdf+xml");
    // The stored text is the uploaded one, normalised to end in a newline.
    assert_eq!(
        reply.body.strip_suffix(b"\n").unwrap_or(&reply.body),
        located().as_slice(),
        "the stored document, byte for byte"
    );

    // 101 entries, 20 a page: follow "Next" to the end.
    c.goto(&format!("{}/metadata", server.base)).await.unwrap();
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        pages += 1;
        seen.extend(
            browser
                .texts("table.entries td[data-label=Identifier]")
                .await,
        );
        if pages == 1 {
            assert_accessible(&browser, "full list").await;
            browser.screenshot("list").await;
        }
        match c.find(Locator::Css("a[rel=next]")).await {
            Ok(next) => next.click().await.unwrap(),
            Err(_) => break,
        }
        assert!(pages < 20, "the pager does not end");
    }
    assert_eq!(pages, 6);
    let mut distinct = seen.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!((seen.len(), distinct.len()), (101, 101));

    // The other pages pass the accessibility check too.
    for path in [
        "/endorsers",
        &format!("/endorsers/{JANE}?range=36500"),
        &format!("/endorsers/{JANE}/tags"),
        "/query",
        "/",
    ] {
        c.goto(&format!("{}{path}", server.base)).await.unwrap();
        assert_accessible(&browser, path).await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_fit_a_phone() {
    if !browser::available() {
        return;
    }
    let server = Server::start();
    server.upload(&located());
    let browser = Browser::start("marketplace_pages-phone", 390, 844).await;
    let c = &browser.client;
    for (path, shot) in [
        ("/metadata".to_string(), "list"),
        (
            format!("/metadata/{BEE8}/{JANE}/2014-06-03T10:00:00Z"),
            "detail",
        ),
    ] {
        c.goto(&format!("{}{path}", server.base)).await.unwrap();
        let fits = c
            .execute(
                "return document.documentElement.scrollWidth <= window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        browser.screenshot(shot).await;
        assert_eq!(
            fits,
            serde_json::Value::Bool(true),
            "{path} scrolls sideways at 390 px"
        );
        assert_accessible(&browser, &path).await;
    }
    browser.close().await;
}

/// Each field an XSS attempt that would set `window.__xss`.
const TITLE: &str = "<script>window.__xss='title'</script>Title";
const DESCRIPTION: &str = "<img src=x onerror=\"window.__xss='description'\">";
const TAG: &str = "\"><svg onload=window.__xss='tag'>";
const SCRIPT_LOCATION: &str = "javascript:window.__xss='location'";
const QUOTED_LOCATION: &str = "http://x.example.org/\"><script>window.__xss='location2'</script>";
/// The e-mail rule (letters, digits, `._%+-`) keeps markup out of an
/// e-mail; percent-encoded markup is what gets through, and must show as
/// written, never decoded into a tag.
const EMAIL: &str = "%3Cimg%20src%3Dx%20onerror%3Dwindow.__xss%3D1%3E@example.org";
const SUBJECT: &str = "/O=Test/CN=<b onmouseover=window.__xss=1>Mallory";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_supplied_fields_render_as_text() {
    if !browser::available() {
        return;
    }
    let lab = Lab::new();
    let pem = self_signed(&new_rsa_key(2048), SUBJECT, &user_extensions(None));
    let (key, cert) = pem.write(&lab, "mallory");
    let image = lab.write("disk.img", common::sample_image(4096, 3));
    let draft = build_in(
        &lab,
        &[
            "--format",
            "raw",
            "--os",
            "ubuntu",
            "--title",
            TITLE,
            "--comment",
            DESCRIPTION,
            "--tag",
            TAG,
            "--location",
            SCRIPT_LOCATION,
            "--location",
            QUOTED_LOCATION,
            arg(&image),
        ],
    );
    let signed = lab.sign_ok(
        &[
            "--pem-cert",
            arg(&cert),
            "--pem-key",
            arg(&key),
            "--email",
            EMAIL,
        ],
        &draft,
    );
    // The document was made at the tests' pinned time: the server's clock
    // must not be before it (an endorsement from the future is refused).
    let server = Server::options().now(common::NOW).start();
    let reply = server.upload(&signed);
    let location = reply.header("location").unwrap().to_string();
    let entry = location.strip_prefix(&server.base).unwrap().to_string();
    let browser = Browser::start("marketplace_pages-xss", 1280, 900).await;
    let c = &browser.client;
    let tags = format!("/endorsers/{}/tags", market_encode(EMAIL));
    let history = format!("/endorsers/{}?range=36500", market_encode(EMAIL));
    let list = "/metadata?status=all".to_string();
    for path in [entry.clone(), list, "/endorsers".into(), history, tags] {
        c.goto(&format!("{}{path}", server.base)).await.unwrap();
        // Give event handlers (onerror, onload) a moment to run, were they
        // elements.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let hit = c
            .execute(
                "return window.__xss === undefined ? null : String(window.__xss);",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(
            hit,
            serde_json::Value::Null,
            "{path}: a field ran as script"
        );
        let injected = c
            .execute("return document.querySelectorAll('main script, main svg, main img, main b').length;", vec![])
            .await
            .unwrap();
        assert_eq!(
            injected,
            serde_json::json!(0),
            "{path}: a field became markup"
        );
    }
    c.goto(&format!("{}{entry}", server.base)).await.unwrap();
    assert_eq!(browser.text("h1").await, format!("{TITLE} ({TAG})"));
    assert_eq!(browser.text("p.description").await, DESCRIPTION);
    let texts = browser.texts("code.location").await;
    assert!(texts.contains(&SCRIPT_LOCATION.to_string()), "{texts:?}");
    let links = browser.texts("a.location").await;
    assert_eq!(links, [QUOTED_LOCATION], "only the http location is a link");
    let body = browser.text("main").await;
    assert!(body.contains(EMAIL), "the e-mail shows as text");
    assert!(
        // In RFC 2253 form, where `<`, `>` and `=` are escaped.
        body.contains(r"CN=\<b onmouseover\=window.__xss\=1\>Mallory,O=Test"),
        "the subject shows as text: {body}"
    );
    browser.screenshot("detail").await;
    browser.close().await;
}

/// A key part as the server's links encode it.
fn market_encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z'
            | b'a'..=b'z'
            | b'0'..=b'9'
            | b'-'
            | b'.'
            | b'_'
            | b'~'
            | b'@'
            | b':'
            | b'='
            | b'\''
            | b'!'
            | b'$'
            | b'&'
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
