//! The rows of marketplace.md §1 and §2 beyond the legacy catalogue: both
//! mount points, every row of the negotiation table (§1.4) and of the
//! error-body table (§1.5), the request filters (§1.2), 405 and HEAD
//! (§1.6), every kind of upload (§2.2), the listing's filters, paging,
//! sorting and search (§2.1, §4.2, §4.3), RDF/JSON (§2.5), replicas.

mod common;
mod market;
mod sigkit;

use common::*;
use market::*;

/// A server holding the in-date and the alternative documents.
fn loaded() -> Server {
    let server = Server::start();
    server.upload(&indate());
    server.upload(&server_fixture("valid-alternative.xml"));
    server
}

#[test]
fn both_mount_points_serve_the_same_routes() {
    let server = loaded();
    let entry = format!("metadata/{BEE8}/{JANE}/{INDATE_CREATED}");
    for path in [
        "metadata".to_string(),
        format!("metadata/{BEE8}"),
        entry.clone(),
        "endorsers".into(),
        format!("tag/{JANE}/Alternative"),
    ] {
        let root = server.get(&format!("/{path}"));
        let mounted = server.get(&format!("/marketplace/{path}"));
        assert_eq!(root.status, 200, "/{path}");
        assert_eq!(
            (mounted.status, &mounted.body),
            (200, &root.body),
            "/marketplace/{path}"
        );
    }
    // An upload under the mount point answers with a Location under it.
    let server = Server::start();
    let reply = server.post_to("/marketplace/metadata", &indate());
    assert_eq!(reply.status, 201);
    let location = reply.header("location").unwrap();
    assert_eq!(location, format!("{}/marketplace/{entry}", server.base));
    // The mount point is configurable, and can be switched off.
    let server = Server::options().arg("--prefix").arg("/mp").start();
    server.upload(&indate());
    assert_eq!(server.get(&format!("/mp/{entry}")).status, 200);
    assert_eq!(server.get(&format!("/marketplace/{entry}")).status, 404);
    let server = Server::options().arg("--prefix").arg("/").start();
    server.upload(&indate());
    assert_eq!(server.get(&format!("/marketplace/{entry}")).status, 404);
}

#[test]
fn the_base_url_honours_host_and_forwarded_proto() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/marketplace/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Host", "mp.example.org"),
            ("X-Forwarded-Proto", "https"),
        ],
        &indate(),
    );
    assert_eq!(reply.status, 201);
    assert_eq!(
        reply.header("location").unwrap(),
        format!("https://mp.example.org/marketplace/metadata/{BEE8}/{JANE}/{INDATE_CREATED}")
    );
    // A Host that is not a host name is not trusted.
    let reply = server.request(
        "GET",
        "/",
        &[
            ("Host", "evil.example.org/<script>"),
            ("X-Forwarded-Proto", "gopher"),
        ],
        b"",
    );
    assert!(reply
        .text()
        .contains(&format!("<base href=\"http://{}/\">", server.addr)));
}

#[test]
fn every_negotiation_row() {
    let server = loaded();
    let listing = format!("/metadata/{BEE8}");
    let entry = format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}");
    let xml_rows = [
        None,
        Some("*/*"),
        Some("application/xml"),
        Some("text/xml"),
        Some("application/rdf+xml"),
        Some("image/png"),
        Some("application/json;q=0.5, application/xml"),
    ];
    for accept in xml_rows {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let reply = server.request("GET", &listing, &headers, b"");
        assert_eq!(
            reply.media_type(),
            "application/xml",
            "listing, Accept {accept:?}"
        );
        assert!(reply
            .text()
            .starts_with(&format!("{DECLARATION}<metadata>")));
        let reply = server.request("GET", &entry, &headers, b"");
        assert_eq!(
            reply.media_type(),
            "application/rdf+xml",
            "entry, Accept {accept:?}"
        );
    }
    // A browser's Accept: the pages, at the same URLs.
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for path in [&listing, &entry] {
        let reply = server.get_as(path, browser);
        assert_eq!(reply.media_type(), "text/html", "{path}");
        assert!(reply.text().contains(BEE8), "{path}");
    }
    for accept in [
        "application/json",
        "application/json, application/xml",
        "application/json, text/html",
    ] {
        let reply = server.get_as(&listing, accept);
        assert_eq!(reply.media_type(), "application/json", "{accept}");
        assert!(reply.json().get("aaData").is_some());
        let reply = server.get_as(&entry, accept);
        assert_eq!(reply.media_type(), "application/json", "{accept}");
    }
    // A resource with one variant serves it whatever is asked.
    let reply = server.get_as("/endorsers", "application/json");
    assert_eq!(reply.media_type(), "application/xml");
    // ?media= replaces the Accept header and leaves the query.
    let reply = server.get_as(&format!("{listing}?media=json"), "application/xml");
    assert_eq!(reply.media_type(), "application/json");
    let reply = server.get_as(&format!("{entry}?media=xml"), "application/json");
    assert_eq!(reply.media_type(), "application/rdf+xml");
    let reply = server.get(&format!("/metadata/{JANE}?media=xml&tag=Alternative"));
    assert_eq!(
        (reply.status, reply.media_type().as_str()),
        (200, "application/rdf+xml")
    );
}

#[test]
fn every_error_body_row() {
    let server = Server::start();
    let xml = |accept: &str| {
        let reply = server.get_as("/metadata", accept);
        assert_eq!(reply.status, 404, "{accept}");
        assert_eq!(reply.media_type(), "application/xml", "{accept}");
        assert_eq!(reply.error_text(), "no metadata matching query found");
    };
    xml("text/xml");
    xml("application/xml");
    xml("application/rdf+xml, application/json");
    let missing = format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}");
    let reply = server.get_as(&missing, "application/json, application/xml");
    assert_eq!(reply.status, 404);
    assert_eq!(reply.media_type(), "application/json");
    assert_eq!(reply.text(), "{\"404\" : \"metadata entry not found.\\n\"}");
    // A browser gets the list page, saying nothing matches.
    let reply = server.get_as("/metadata", "text/html");
    assert_eq!(
        (reply.status, reply.media_type().as_str()),
        (200, "text/html")
    );
    assert!(
        reply.text().contains("No entry matches."),
        "{}",
        reply.text()
    );
    for accept in [Some("*/*"), None] {
        let headers: Vec<(&str, &str)> = accept.iter().map(|a| ("Accept", *a)).collect();
        let reply = server.request("GET", "/metadata", &headers, b"");
        assert_eq!(reply.status, 404);
        assert_eq!(reply.media_type(), "text/html", "{accept:?}");
        let text = reply.text();
        assert!(text.contains("<title>Not Found</title>"), "{text}");
        assert!(text.contains("no metadata matching query found"), "{text}");
    }
    // Framework errors get the same treatment, with Restlet's wording.
    let reply = server.request("DELETE", "/metadata", &[("Accept", "application/xml")], b"");
    assert_eq!(reply.status, 405);
    assert_eq!(reply.header("allow"), Some("GET,HEAD,POST"));
    assert_eq!(
        reply.error_text(),
        "The method specified in the request is not allowed for the resource identified by the request URI"
    );
    let reply = server.request("PUT", "/endorsers", &[("Accept", "application/json")], b"x");
    assert_eq!(reply.status, 405);
    assert!(reply.json().get("405").is_some());
    // A description with markup is escaped.
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        b"<a><b></a>",
    );
    assert_eq!(reply.status, 400);
    assert!(reply.text().contains("&apos;b&apos;"), "{}", reply.text());
    assert!(reply.error_text().contains("'b'"));
    assert!(reply.error_text().starts_with("unable to parse metadata: "));
}

#[test]
fn request_filters_and_methods() {
    let server = loaded();
    // Double slashes are one.
    let reply = server.get(&format!("//metadata//{BEE8}"));
    assert_eq!(
        (reply.status, listed_identifiers(&reply)),
        (200, vec![BEE8.to_string()])
    );
    // Percent-encoded path segments are decoded (a superset of legacy).
    let reply = server.get(&format!(
        "/metadata/{BEE8}/jane.tester%40example.org/2014-03-08T14%3A10%3A40Z"
    ));
    assert_eq!(reply.status, 200);
    // The trailing-slash entry URL works (legacy: always 404).
    let reply = server.get(&format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}/"));
    assert_eq!(reply.status, 200);
    // HEAD: the headers of GET, no body.
    let head = server.request(
        "HEAD",
        &format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}"),
        &[],
        b"",
    );
    assert_eq!(head.status, 200);
    assert_eq!(head.media_type(), "application/rdf+xml");
    assert!(head.body.is_empty());
    // The home page sends browsers to the listing; any other path is 404
    // (legacy: the home page with 200), four segments too; other methods
    // 405 everywhere.
    let reply = server.get("/");
    assert_eq!(
        (reply.status, reply.media_type().as_str()),
        (200, "text/html")
    );
    assert!(reply.text().contains("content=\"0;url=metadata\""));
    for path in ["/nothing/here", "/metadata/a/b/c/d"] {
        let reply = server.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.text().contains(path), "{path}");
    }
    for path in ["/", "/nothing/here", "/metadata/a/b/c/d"] {
        let reply = server.request("POST", path, &[], b"x");
        assert_eq!(reply.status, 405, "{path}");
    }
    let reply = server.get("/sync");
    assert_eq!(reply.status, 405);
}

#[test]
fn uploads_of_every_kind() {
    let server = Server::start();
    // text/xml is a synonym; any /metadata[/x[/y]] path takes uploads.
    for (path, content_type) in [
        ("/metadata/", "text/xml; charset=UTF-8"),
        ("/metadata/x", "application/xml"),
        ("/metadata/x/", "application/rdf+xml"),
        ("/metadata/metadata/y", "application/xml"),
        ("/metadata/x/y/", "application/xml"),
    ] {
        let reply = server.request("POST", path, &[("Content-Type", content_type)], &indate());
        assert_eq!(reply.status, 201, "{path}: {}", reply.text());
    }
    // The success message is an HTML page when the first Accept entry is HTML.
    let reply = server.request(
        "POST",
        "/metadata",
        &[("Content-Type", "application/xml"), ("Accept", "text/html")],
        &newer(),
    );
    assert_eq!(
        (reply.status, reply.media_type().as_str()),
        (201, "text/html")
    );
    assert!(reply.text().contains("<h1>Upload</h1>"), "{}", reply.text());
    // No entity; other content types.
    let reply = server.request("POST", "/metadata", &[("Accept", "application/xml")], b"");
    assert_eq!(
        (reply.status, reply.error_text().as_str()),
        (400, "post with null entity")
    );
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/octet-stream"),
            ("Accept", "application/xml"),
        ],
        &indate(),
    );
    assert_eq!(reply.status, 415);
}

#[test]
fn multipart_uploads_from_a_form() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("upload.xml");
    std::fs::write(&file, indate()).unwrap();
    let curl = |args: &[&str]| {
        let output = std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                "-H",
                "Accept: application/xml",
            ])
            .args(args)
            .arg(format!("{}/metadata", server.base))
            .output()
            .expect("curl runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        (code.to_string(), body.to_string())
    };
    // The legacy form's field name; a text field before the file is skipped.
    let (code, body) = curl(&[
        "-F",
        "comment=first",
        "-F",
        &format!("Metadata File=@{}", file.display()),
    ]);
    assert_eq!(code, "201", "{body}");
    let (code, body) = curl(&["-F", "comment=no file here"]);
    assert_eq!(code, "400");
    assert!(body.contains("no valid file uploaded"), "{body}");
    let reply = server.get(&format!("/metadata/{BEE8}"));
    assert_eq!(listed_identifiers(&reply), [BEE8]);
}

#[test]
fn the_same_key_again_replaces() {
    let server = Server::start();
    server.upload(&indate());
    // The same document re-serialised (other line ends, no declaration):
    // still the same key, the stored copy replaced.
    let text = String::from_utf8(indate()).unwrap();
    let again = text
        .strip_prefix(DECLARATION)
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(server.post(again.as_bytes()).status, 201);
    let listing = server.json("status=all");
    assert_eq!(listing["iTotalDisplayRecords"], 1);
    let stored = server.get(&format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}"));
    assert!(stored.text().starts_with(DECLARATION));
    assert!(!stored.text().contains('\r'));
    assert!(stored.text().ends_with("</rdf:RDF>\n"));
}

#[test]
fn stored_documents_still_verify_byte_for_byte() {
    let server = Server::start();
    // A UTF-16 upload is stored as UTF-8 with the legacy declaration.
    let text = String::from_utf8(newer()).unwrap();
    let utf16_text = text.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
    let mut utf16 = vec![0xFF, 0xFE];
    for unit in utf16_text.encode_utf16() {
        utf16.extend_from_slice(&unit.to_le_bytes());
    }
    server.upload(&utf16);
    let stored = server.get(&format!("/metadata/{BEE8}/{JANE}/{NEWER_CREATED}"));
    assert_eq!(stored.status, 200);
    assert_eq!(stored.text(), format!("{}\n", text.trim_end()));
    let mut c = command(VALIDATE);
    c.env("STRATUS_NOW", NOW_2015).arg("-q");
    let output = run_with_input(c, &stored.body);
    assert_code(
        &output,
        0,
        "stratus-validate-metadata on the served document",
    );
}

#[test]
fn rdf_json_of_an_entry() {
    let server = Server::start();
    server.upload(&indate());
    let reply = server.get(&format!(
        "/metadata/{BEE8}/{JANE}/{INDATE_CREATED}?media=json"
    ));
    let value = reply.json();
    let subject = &value[format!("http://mp.stratuslab.eu/#{BEE8}")];
    let identifier = &subject["http://purl.org/dc/terms/identifier"][0];
    assert_eq!(identifier["type"], "literal");
    assert_eq!(identifier["value"], BEE8);
    let checksum = &subject["http://mp.stratuslab.eu/slreq#checksum"][0];
    assert_eq!(checksum["type"], "bnode");
    assert!(checksum["value"].as_str().unwrap().starts_with("_:"));
    // No trace of the signature.
    assert!(!reply.text().contains("xmldsig"));
}

#[test]
fn listing_filters_status_location_and_counts() {
    let server = Server::start();
    server.upload(&indate());
    server.upload(&server_fixture("valid-expired-signature.xml"));
    server.upload(alternative_newid());
    server.upload(pdisk_location());
    server.upload(two_locations());
    // Latest: BEE8 with two http locations, CE3U (expired, no location),
    // MMZu (an empty location); the older BEE8 had a pdisk location.
    let count = |query: &str| server.json(query)["iTotalDisplayRecords"].as_u64().unwrap();
    assert_eq!(count(""), 2);
    assert_eq!(count("status=valid"), 2);
    assert_eq!(count("status=expired"), 1);
    assert_eq!(count("status=deprecated"), 0);
    assert_eq!(count("status=all"), 3);
    assert_eq!(count("status=all&location=all"), 3);
    assert_eq!(count("status=all&location=web"), 2);
    assert_eq!(count("status=all&location=pdisk"), 0);
    assert_eq!(
        count("status=all&location=pdisk&created=2014-03-08T14:20:00Z"),
        1
    );
    assert_eq!(
        count("status=all&location=web&created=2014-03-08T14:20:00Z"),
        0
    );
    // iTotalRecords counts the status filter alone; the filters AND.
    let value = server.json(&format!("identifier={BEE8}"));
    assert_eq!(
        (
            value["iTotalRecords"].as_u64(),
            value["iTotalDisplayRecords"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let value = server.json(&format!("/{JANE}&identifier={BEE8}&email={JANE}"));
    assert_eq!(value["iTotalDisplayRecords"], 1);
    // Values are classified by shape: an e-mail in "identifier" filters e-mails.
    assert_eq!(count(&format!("identifier={JANE}")), 2);
    // Path and query combine; "null" is no filter.
    let value: serde_json::Value = server
        .get(&format!("/metadata/{JANE}/null?media=json&status=all"))
        .json();
    assert_eq!(value["iTotalDisplayRecords"], 3);
    // Nothing matching: XML 404, JSON 200 with zeros.
    let value = server.json("identifier=none");
    assert_eq!(value["aaData"], serde_json::json!([]));
    assert_eq!(
        (
            value["iTotalRecords"].as_u64(),
            value["iTotalDisplayRecords"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(value["rMsg"], "no metadata matching query found");
    assert_eq!(server.get("/metadata?identifier=none").status, 404);
    // Absent values are "null" strings; the first column is "".
    let value = server.json(&format!("identifier={CE3U}&status=expired"));
    let row = value["aaData"][0].as_array().unwrap();
    assert_eq!(row.len(), 11);
    assert_eq!(row[0], "");
    assert_eq!(row[7], CE3U);
    assert!(row.iter().any(|v| v == "null"), "{row:?}");
}

#[test]
fn listing_paging_sorting_and_search() {
    let server = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (paths, _) = many_signed(dir.path(), 12);
    for path in &paths {
        server.upload(&std::fs::read(path).unwrap());
    }
    server.upload(&indate());
    let rows = |query: &str| -> Vec<Vec<String>> {
        server.json(query)["aaData"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_string())
                    .collect()
            })
            .collect()
    };
    // Default order: created descending; pages of the same order.
    let all = rows("");
    assert_eq!(all.len(), 13);
    let created: Vec<&String> = all.iter().map(|r| &r[6]).collect();
    let mut sorted = created.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(created, sorted);
    let page = rows("iDisplayStart=10&iDisplayLength=5");
    assert_eq!(page, all[10..].to_vec());
    let value = server.json("iDisplayStart=10&iDisplayLength=5");
    assert_eq!(value["iTotalDisplayRecords"], 13);
    // Paging without both parameters is ignored; bad values too.
    assert_eq!(rows("iDisplayLength=2").len(), 13);
    assert_eq!(rows("iDisplayStart=x&iDisplayLength=2").len(), 13);
    assert_eq!(rows("iDisplayStart=50&iDisplayLength=5").len(), 0);
    // Sorting by a column, either way; bad columns are ignored.
    let by_os = rows("iDisplayStart=0&iDisplayLength=20&iSortCol_0=1&sSortDir_0=asc");
    assert_eq!(by_os[0][1], "ttylinux");
    assert_eq!(by_os.last().unwrap()[1], "ubuntu");
    let by_os_desc = rows("iDisplayStart=0&iDisplayLength=20&iSortCol_0=1&sSortDir_0=desc");
    assert_eq!(by_os_desc[0][1], "ubuntu");
    assert_eq!(by_os_desc.last().unwrap()[1], "ttylinux");
    assert_eq!(rows("iDisplayStart=0&iDisplayLength=20&iSortCol_0=99"), all);
    // Search: regular expressions, case-insensitive; per column; AND.
    assert_eq!(rows("sSearch=TTY").len(), 1);
    assert_eq!(rows("sSearch=^ubu").len(), 12);
    assert_eq!(rows("sSearch=ubuntu%20ttylinux").len(), 0);
    assert_eq!(rows("sSearch_1=ttylinux").len(), 1);
    assert_eq!(rows("sSearch_2=14%5C.04").len(), 12);
    assert_eq!(rows(&format!("sSearch_4={JANE}")).len(), 13);
    // An invalid expression is a literal text.
    assert_eq!(rows("sSearch=(unclosed").len(), 0);
    // The XML listing pages too.
    let reply = server.get("/metadata?iDisplayStart=0&iDisplayLength=3");
    assert_eq!(reply.text().matches("<rdf:RDF").count(), 3);
}

#[test]
fn a_replica_refuses_uploads() {
    let server = Server::options()
        .config("validate.email=false\nmarketplace.type=REPLICA\n")
        .start();
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        &indate(),
    );
    assert_eq!(reply.status, 403);
    assert_eq!(reply.error_text(), "read-only repository");
}

#[test]
fn sync_lists_and_refusals() {
    let server = Server::start();
    let post = |body: &str, headers: &[(&str, &str)]| {
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        all.extend_from_slice(headers);
        server.request("POST", "/sync", &all, body.as_bytes())
    };
    let reply = post("", &[]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (202, "no sync list to process")
    );
    // The older layout, and a .sync list naming two keys.
    for (doc, created) in [(indate(), INDATE_CREATED), (newer(), NEWER_CREATED)] {
        let file = server.data.join(format!("{BEE8}/{JANE}/{created}.xml"));
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, doc).unwrap();
    }
    std::fs::write(
        server.data.join(".sync"),
        format!("{BEE8}/{JANE}/{INDATE_CREATED}\n{BEE8}/{JANE}/{NEWER_CREATED}\n"),
    )
    .unwrap();
    let reply = post("", &[]);
    assert_eq!(
        (reply.status, reply.text().as_str()),
        (200, "sync list processed")
    );
    assert_eq!(server.json("status=all")["iTotalDisplayRecords"], 1);
    assert_eq!(
        server.json("status=all&created=2014-03-08T14:10:40Z")["iTotalDisplayRecords"],
        1
    );
    // A key naming a file outside the data directory, or no file.
    let reply = post("path=../../etc/passwd", &[("Accept", "application/xml")]);
    assert_eq!(
        (reply.status, reply.error_text().as_str()),
        (500, "unable to sync metadata entry")
    );
    let reply = post(&format!("path={BEE8}/{JANE}/2000-01-01T00:00:00Z"), &[]);
    assert_eq!(reply.status, 500);
    // Through a proxy, it is refused.
    let reply = post("", &[("X-Forwarded-For", "192.0.2.1")]);
    assert_eq!(reply.status, 403);
    // A document filed under another key is refused.
    let wrong = server
        .data
        .join(format!("{BEE8}/{JANE}/2014-01-01T00:00:00Z.xml"));
    std::fs::write(&wrong, indate()).unwrap();
    let reply = post(&format!("path={BEE8}/{JANE}/2014-01-01T00:00:00Z"), &[]);
    assert_eq!(reply.status, 500);
    assert!(
        server.log().contains("the document's key is"),
        "{}",
        server.log()
    );
    let server = Server::options().config("sync.enabled=false\n").start();
    assert_eq!(server.request("POST", "/sync", &[], b"").status, 403);
}

#[test]
fn an_endorsement_more_than_a_day_ahead_of_the_servers_clock_is_refused() {
    // The server's "now" is 2015-01-01T00:00:00Z.
    let server = Server::start();
    let ahead = variant("valid-indate-signature.xml", &[], "2015-01-02T00:00:01Z");
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ],
        &ahead,
    );
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.error_text().starts_with(
            "invalid metadata: slreq:endorsement/dcterms:created '2015-01-02T00:00:01Z' is later than"
        ),
        "{}",
        reply.error_text()
    );
    // A day of clock skew is allowed.
    let skewed = variant("valid-indate-signature.xml", &[], "2015-01-01T23:00:00Z");
    assert_eq!(server.post(&skewed).status, 201);
}
