//! `/query` (marketplace.md §2.9, §4.1): QueryResourceTest of §7.3 case
//! by case, the graph's shape (renamed subjects, `slterms:tag "latest"`,
//! one graph per entry) kept in step with uploads and restarts, a query
//! that would run for ever and one with a huge result, both stopped by the
//! limits, and the 501 when the endpoint is off.

mod common;
mod market;
mod sigkit;

use market::*;

const IDENTIFIERS: &str =
    "select ?identifier where { ?x <http://purl.org/dc/terms/identifier> ?identifier }";

fn sparql() -> Server {
    let server = Server::options().arg("--sparql").start();
    server.upload(&indate());
    server
}

fn query(server: &Server, text: &str, accept: &str) -> Reply {
    let encoded: String = form_urlencoded(text);
    server.get_as(&format!("/query?query={encoded}"), accept)
}

fn form_urlencoded(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[test]
fn legacy_empty_query() {
    let server = sparql();
    let reply = server.get("/query?query=");
    assert_eq!(reply.status, 204);
}

#[test]
fn legacy_valid_sparql() {
    let server = sparql();
    let reply = query(&server, IDENTIFIERS, "application/xml");
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(reply.media_type(), "application/sparql-results+xml");
    assert!(reply.text().contains(BEE8));
    assert!(reply
        .text()
        .contains("http://www.w3.org/2005/sparql-results#"));
}

#[test]
fn legacy_invalid_sparql() {
    let server = sparql();
    let reply = query(
        &server,
        "seect ?identifier where { ?x ?p ?identifier }",
        "application/xml",
    );
    assert_eq!(reply.status, 400);
    assert!(!reply.error_text().is_empty());
}

#[test]
fn legacy_from_from_named_and_graph_not_allowed() {
    let server = sparql();
    for text in [
        "select ?i from <http://mp.stratuslab.eu/x> where { ?x <http://purl.org/dc/terms/identifier> ?i }",
        "select ?i from named <http://mp.stratuslab.eu/x> where { ?x <http://purl.org/dc/terms/identifier> ?i }",
        "select ?i where { graph <http://mp.stratuslab.eu/x> { ?x <http://purl.org/dc/terms/identifier> ?i } . }",
        "ask { ?x ?p ?o }",
        "select ?o where { service <http://127.0.0.1:1/sparql> { ?x ?p ?o } }",
    ] {
        let reply = query(&server, text, "text/xml");
        assert_eq!(reply.status, 400, "{text}");
        assert_eq!(reply.error_text(), "query not allowed.", "{text}");
    }
}

#[test]
fn legacy_media_types_without_a_query() {
    let server = sparql();
    let html = server.get_as("/query", "text/html");
    assert_eq!(
        (html.status, html.media_type().as_str()),
        (200, "text/html")
    );
    assert!(html.text().contains("<textarea"));
    let xml = server.get_as("/query", "text/xml");
    assert_eq!(
        (xml.status, xml.media_type().as_str()),
        (204, "application/sparql-results+xml")
    );
    let json = server.get_as("/query", "application/json");
    assert_eq!(
        (json.status, json.media_type().as_str()),
        (204, "application/sparql-results+json")
    );
}

#[test]
fn results_as_json_and_as_an_html_table() {
    let server = sparql();
    let json = query(&server, IDENTIFIERS, "application/json");
    assert_eq!(json.media_type(), "application/sparql-results+json");
    let value = json.json();
    assert_eq!(value["head"]["vars"], serde_json::json!(["identifier"]));
    assert_eq!(value["results"]["bindings"][0]["identifier"]["value"], BEE8);
    let html = query(&server, IDENTIFIERS, "text/html");
    assert_eq!(html.status, 200);
    assert!(
        html.text().contains(&format!("<td>{BEE8}</td>")),
        "{}",
        html.text()
    );
}

#[test]
fn the_graph_has_the_legacy_shape_and_follows_uploads_and_restarts() {
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::options().arg("--sparql").data(data.path()).start();
    server.upload(&indate());
    server.upload(&newer());
    // The renamed subject and the latest tag on the newer version only.
    let latest = "select ?s where { ?s <http://mp.stratuslab.eu/slterms#tag> \"latest\" }";
    let reply = query(&server, latest, "application/json").json();
    let subjects: Vec<&str> = reply["results"]["bindings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["s"]["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        subjects,
        [format!(
            "http://mp.stratuslab.eu/#{BEE8}/{JANE}/{NEWER_CREATED}"
        )]
    );
    // One graph per entry, both endorsement times present.
    let graphs = "select ?g (count(*) as ?n) where { graph ?g { ?s ?p ?o } } group by ?g";
    let reply = query(
        &server,
        &format!("select ?g where {{ {{ {graphs} }} }}"),
        "application/json",
    )
    .json();
    assert_eq!(
        reply["results"]["bindings"].as_array().unwrap().len(),
        2,
        "{reply}"
    );
    server.stop();
    // After a restart, and a third upload: in step.
    let server = Server::options().arg("--sparql").data(data.path()).start();
    server.upload(&server_fixture("valid-alternative.xml"));
    let count = "select (count(?x) as ?n) where { ?x <http://purl.org/dc/terms/identifier> ?i }";
    let reply = query(&server, count, "application/json").json();
    assert_eq!(reply["results"]["bindings"][0]["n"]["value"], "3");
    let reply = query(&server, latest, "application/json").json();
    assert_eq!(reply["results"]["bindings"].as_array().unwrap().len(), 1);
    assert!(
        reply.to_string().contains("2014-05-04T16:47:11Z"),
        "{reply}"
    );
}

#[test]
fn a_query_that_would_run_for_ever_is_stopped() {
    let server = Server::options()
        .arg("--sparql")
        .config("validate.email=false\nsparql.timeout=2\n")
        .start();
    for (_, document) in bulk_documents(20) {
        server.upload(&document);
    }
    // Eight-fold cross product of every triple, sorted: far beyond 2 s.
    let text = "select * where { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n ?o . ?p ?q ?r . ?s ?t ?u . ?v ?w ?x } order by ?a ?d ?g ?j ?m ?p ?s ?v";
    let started = std::time::Instant::now();
    let reply = query(&server, text, "text/xml");
    let took = started.elapsed();
    assert_eq!(reply.status, 400, "{}", reply.text());
    assert!(
        reply.error_text().contains("ran longer than 2 s"),
        "{}",
        reply.text()
    );
    assert!(
        took < std::time::Duration::from_secs(15),
        "stopped after {took:?}"
    );
    // The server still answers.
    assert_eq!(query(&server, IDENTIFIERS, "text/xml").status, 200);
}

#[test]
fn a_query_with_a_huge_result_is_stopped() {
    let server = Server::options()
        .arg("--sparql")
        .config("validate.email=false\nsparql.max.results=1000\n")
        .start();
    server.upload(&indate());
    let text = "select * where { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }";
    let reply = query(&server, text, "text/xml");
    assert_eq!(reply.status, 400);
    assert!(
        reply.error_text().contains("more than 1000 results"),
        "{}",
        reply.text()
    );
    let limited = format!("{text} limit 1000");
    assert_eq!(query(&server, &limited, "text/xml").status, 200);
}

#[test]
fn the_endpoint_is_off_unless_asked_for() {
    let server = Server::start();
    let reply = server.get_as(
        "/query?query=select+*+where+%7B%3Fs+%3Fp+%3Fo%7D",
        "text/xml",
    );
    assert_eq!(reply.status, 501);
    assert!(reply.error_text().contains("--sparql"), "{}", reply.text());
    let page = server.get_as("/query", "text/html");
    assert_eq!(
        (page.status, page.media_type().as_str()),
        (501, "text/html")
    );
}
