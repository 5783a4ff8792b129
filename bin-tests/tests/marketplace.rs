//! `stratus-marketplace serve` against the legacy server test catalogue
//! (marketplace.md §7.3), case by case, with "now" pinned to 2015-01-01;
//! then the API rows of §1 and §2: both mount points, the negotiation
//! table, the error bodies, uploads of every kind, the listing's filters,
//! paging, sorting and search, tags, endorsers and `/sync`.
//!
//! Each test starts its own server on 127.0.0.1 (a free port) and stops it.

mod common;
mod market;
mod sigkit;

use market::*;

fn get_entry(server: &Server, id: &str, email: &str, created: &str, extra: &str) -> Reply {
    server.get(&format!(
        "/metadata?identifier={id}&email={email}&created={created}{extra}"
    ))
}

// ---------------------------------------------------------------------------
// MDataResourceTest

#[test]
fn legacy_invalid_post_no_signature() {
    let server = Server::start();
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/rdf+xml"),
            ("Accept", "application/xml"),
        ],
        &server_fixture("valid.xml"),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_text(), "invalid metadata: no signature");
}

#[test]
fn legacy_valid_post_signature() {
    let server = Server::start();
    let reply = server.upload(&indate());
    assert_eq!(
        reply.header("location"),
        Some(format!("{}/metadata/{BEE8}/{JANE}/{INDATE_CREATED}", server.base).as_str())
    );
    assert_eq!(reply.media_type(), "text/plain");
    assert_eq!(reply.text(), "metadata entry created");
}

#[test]
fn legacy_get_metadata_entry_and_by_identifier() {
    let server = Server::start();
    server.upload(&indate());
    let reply = get_entry(&server, BEE8, JANE, INDATE_CREATED, "");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(listed_identifiers(&reply), [BEE8]);
    let reply = server.get(&format!("/metadata/{BEE8}"));
    assert_eq!(reply.status, 200);
    assert_eq!(listed_identifiers(&reply), [BEE8]);
}

#[test]
fn legacy_identifier_query_strings() {
    let server = Server::start();
    server.upload(&indate());
    let reply = server.get(&format!("/metadata?identifier={BEE8}"));
    assert_eq!(listed_identifiers(&reply)[0], BEE8);
    let reply = server.get(&format!("/metadata?identifier={BEE8}&email={JANE}"));
    assert_eq!(listed_identifiers(&reply)[0], BEE8);
    let reply = server.get(&format!(
        "/metadata?identifier={BEE8}&email=j.tester@example.org"
    ));
    assert_eq!(reply.status, 404);
    let reply = server.get(&format!("/metadata?created={INDATE_CREATED}"));
    assert_eq!(listed_identifiers(&reply)[0], BEE8);
}

#[test]
fn legacy_identifier_returns_latest_and_older_uploads_fail() {
    let server = Server::start();
    server.upload(&indate());
    server.upload(&newer());
    let reply = server.get(&format!("/metadata/{BEE8}"));
    assert_eq!(listed_created(&reply), [NEWER_CREATED]);
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/rdf+xml"),
            ("Accept", "text/xml"),
        ],
        &indate(),
    );
    assert_eq!(reply.status, 400);
    assert_eq!(
        reply.error_text(),
        "invalid metadata: older than latest entry"
    );
}

#[test]
fn legacy_uploading_older_metadata_fails_from_scratch() {
    let server = Server::start();
    server.upload(&newer());
    let reply = server.post(&indate());
    assert_eq!(reply.status, 400);
    // The same key again is not older: it replaces.
    server.upload(&newer());
}

#[test]
fn legacy_deprecated_not_in_list_but_flagged() {
    let server = Server::start();
    server.upload(deprecated());
    assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 404);
    let reply = get_entry(
        &server,
        BEE8,
        JANE,
        "2014-03-08T14:10:17Z",
        "&status=deprecated",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert!(reply.text().contains("This is a test of deprecation"));
}

#[test]
fn legacy_expired_not_in_list_but_still_available() {
    let server = Server::start();
    let reply = server.post(&server_fixture("valid-expired-signature.xml"));
    assert_eq!(reply.status, 201, "{}", reply.text());
    assert_eq!(server.get(&format!("/metadata/{CE3U}")).status, 404);
    let reply = get_entry(
        &server,
        CE3U,
        JANE,
        "2011-09-12T11:23:44Z",
        "&status=expired",
    );
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(listed_identifiers(&reply), [CE3U]);
}

#[test]
fn legacy_creates_valid_json() {
    let server = Server::start();
    server.upload(special_characters());
    let form = "sEcho=1&iColumns=6&sColumns=&iDisplayStart=0&iDisplayLength=10&mDataProp_0=0\
                &sSearch_0=&bRegex_0=false&bSearchable_0=true&sSearch=&bRegex=false\
                &iSortingCols=1&iSortCol_0=5&sSortDir_0=desc&bSortable_0=true";
    let reply = server.request(
        "POST",
        "/metadata",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Accept", "application/json"),
        ],
        form.as_bytes(),
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.media_type(), "application/json");
    let value = reply.json();
    assert_eq!(value["sEcho"], 1);
    assert_eq!(value["aaData"][0][9], SPECIAL_DESCRIPTION);
    // json-simple wrote '/' as '\/'.
    assert!(
        reply.text().contains(r"with slashes \\ "),
        "{}",
        reply.text()
    );
    assert!(reply.text().contains(r" \/ "), "{}", reply.text());
}

#[test]
fn legacy_duplicate_metadata_fields() {
    let server = Server::start();
    server.upload(two_locations());
    let reply = server.get(&format!("/metadata/{BEE8}"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.text().matches("<rdf:RDF").count(), 1);
    let value = server.json(&format!("identifier={BEE8}"));
    assert_eq!(value["aaData"].as_array().unwrap().len(), 1);
}

// ---------------------------------------------------------------------------
// MDatumResourceTest

#[test]
fn legacy_get_entry_by_media_type() {
    let server = Server::start();
    server.upload(&indate());
    let path = format!("/metadata/{BEE8}/{JANE}/{INDATE_CREATED}");
    let xml = server.get_as(&path, "text/xml");
    assert_eq!(xml.status, 200);
    assert_eq!(xml.media_type(), "application/rdf+xml");
    assert_eq!(
        xml.header("content-disposition"),
        Some(format!("attachment; filename={BEE8}.xml").as_str())
    );
    let json = server.get_as(&path, "application/json");
    assert_eq!(json.media_type(), "application/json");
    assert_eq!(
        json.header("content-disposition"),
        Some(format!("attachment; filename={BEE8}.json").as_str())
    );
    // A browser gets the entry's page.
    let html = server.get_as(&path, "text/html");
    assert_eq!(html.media_type(), "text/html");
    assert!(html.text().contains(BEE8), "{}", html.text());
}

#[test]
fn legacy_get_tag_on_both_routes() {
    let server = Server::start();
    server.upload(&server_fixture("valid-alternative.xml"));
    for path in [
        format!("/metadata/{JANE}?tag=Alternative"),
        format!("/tag/{JANE}/Alternative"),
        format!("/tag/{JANE}/Alternative/"),
        format!("/metadata/{JANE}?tag=%22Alternative%22"),
    ] {
        let reply = server.get(&path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.media_type(), "application/rdf+xml");
        let text = reply.text();
        assert!(
            text.contains(&format!("<dcterms:identifier>{BEE8}<")),
            "{path}"
        );
        assert!(text.contains("<dcterms:alternative>Alternative<"), "{path}");
    }
    let reply = server.get_as(&format!("/tag/{JANE}/Other"), "application/json");
    assert_eq!(reply.status, 404);
    assert_eq!(
        reply.json(),
        serde_json::json!({"404": "metadata entry not found.\n"})
    );
}

#[test]
fn legacy_get_tag_returns_latest_even_with_a_deprecated_entry() {
    let server = Server::start();
    server.upload(&server_fixture("valid-alternative.xml"));
    server.upload(alternative_newid());
    let check = |server: &Server| {
        let reply = server.get(&format!("/tag/{JANE}/Alternative"));
        assert_eq!(reply.status, 200);
        let text = reply.text();
        assert!(
            text.contains(&format!("<dcterms:identifier>{NEWID}<")),
            "{text}"
        );
        assert!(text.contains(">2014-05-04T16:49:03Z<"), "{text}");
        assert!(text.contains("A new image with the same tag"), "{text}");
    };
    check(&server);
    server.upload(alternative_deprecated());
    check(&server);
}

// ---------------------------------------------------------------------------
// EndorsersResourceTest, EndorserResourceTest, TagsResourceTest

#[test]
fn legacy_endorsers_history_and_tags() {
    let server = Server::start();
    server.upload(&indate());
    server.upload(&server_fixture("valid-alternative.xml"));
    let reply = server.get("/endorsers");
    assert_eq!(
        (reply.status, reply.media_type().as_str()),
        (200, "application/xml")
    );
    let text = reply.text();
    assert!(text.contains(JANE));
    assert!(text.contains("http://www.w3.org/2005/sparql-results#"));
    // Two certificates (TestCA-issued, self-signed): two endorsers.
    assert_eq!(text.matches("<result>").count(), 2, "{text}");
    let reply = server.get(&format!("/endorsers/{JANE}?range=1460"));
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains(BEE8));
    // Thirty days by default: nothing from 2014 at 2015-01-01.
    let reply = server.get(&format!("/endorsers/{JANE}"));
    assert_eq!(reply.status, 200);
    assert!(!reply.text().contains(BEE8));
    let reply = server.get(&format!("/endorsers/{JANE}/tags"));
    assert_eq!(reply.status, 200);
    assert!(reply.text().contains("<literal>Alternative</literal>"));
}

// ---------------------------------------------------------------------------
// ProcessorTest: an entry indexed from the files on disk (here: /sync)

#[test]
fn legacy_process_entry_through_sync() {
    let server = Server::start();
    let key_path = format!("{BEE8}/{JANE}/{INDATE_CREATED}");
    let file = server.data.join("metadata").join(format!("{key_path}.xml"));
    std::fs::create_dir_all(file.parent().unwrap()).unwrap();
    std::fs::write(&file, indate()).unwrap();
    let reply = server.request(
        "POST",
        "/sync",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("path={key_path}").as_bytes(),
    );
    assert_eq!(reply.status, 202, "{}", reply.text());
    assert_eq!(reply.text(), "synced metadata entry");
    assert_eq!(
        get_entry(&server, BEE8, JANE, INDATE_CREATED, "").status,
        200
    );
}

// ---------------------------------------------------------------------------
// QueryResourceTest: case by case in marketplace_sparql.rs; here, the
// endpoint is off by default.

#[test]
fn the_sparql_route_is_off_unless_asked_for() {
    let server = Server::start();
    let reply = server.get_as("/query?query=", "application/xml");
    assert_eq!(reply.status, 501);
    assert!(reply.error_text().contains("--sparql"), "{}", reply.text());
}
