//! `stratus-marketplace serve` under load and abuse: 32 clients uploading
//! 1,000 documents at once, a restart, `kill -9` in the middle of an upload
//! burst, SIGTERM with a request in flight, bad input of every kind, a
//! client sending one byte a second, many connections at once, and path
//! tricks in the key segments. Every wait is bounded.

mod common;
mod market;
mod sigkit;

use market::*;
use std::collections::{BTreeSet, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// 1,000 distinct signed documents, made once per test process.
fn thousand() -> &'static [(String, Vec<u8>)] {
    static DOCS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    DOCS.get_or_init(|| bulk_documents(1000))
}

/// Upload `docs` from `clients` threads at once; the statuses, in order.
fn upload_all(server: &Server, docs: &[(String, Vec<u8>)], clients: usize) -> Vec<u16> {
    let next = Arc::new(Mutex::new(0usize));
    let statuses = Arc::new(Mutex::new(vec![0u16; docs.len()]));
    std::thread::scope(|scope| {
        for _ in 0..clients {
            let next = Arc::clone(&next);
            let statuses = Arc::clone(&statuses);
            scope.spawn(move || loop {
                let i = {
                    let mut next = next.lock().unwrap();
                    let i = *next;
                    *next += 1;
                    i
                };
                if i >= docs.len() {
                    return;
                }
                let status = server.post(&docs[i].1).status;
                statuses.lock().unwrap()[i] = status;
            });
        }
    });
    Arc::try_unwrap(statuses).unwrap().into_inner().unwrap()
}

fn listed(server: &Server) -> Vec<String> {
    let value = server.json("iDisplayStart=0&iDisplayLength=5000");
    value["aaData"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row[7].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn thirty_two_clients_upload_a_thousand_documents_then_a_restart_keeps_them() {
    let docs = thousand();
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::options().data(data.path()).start();
    let started = Instant::now();
    let statuses = upload_all(&server, docs, 32);
    let elapsed = started.elapsed();
    let refused: Vec<_> = statuses
        .iter()
        .enumerate()
        .filter(|(_, s)| **s != 201)
        .collect();
    assert!(refused.is_empty(), "refused: {refused:?}\n{}", server.log());
    eprintln!("1,000 uploads from 32 clients in {elapsed:?}");
    let expected: BTreeSet<String> = docs.iter().map(|(id, _)| id.clone()).collect();
    let check = |server: &Server| {
        let ids = listed(server);
        assert_eq!(ids.len(), 1000, "none lost or doubled");
        assert_eq!(ids.iter().cloned().collect::<BTreeSet<_>>(), expected);
        let value = server.json("");
        assert_eq!(value["iTotalRecords"], 1000);
        let xml = server.get("/metadata");
        assert_eq!(xml.text().matches("<rdf:RDF").count(), 1000);
    };
    check(&server);
    assert!(server.stop().success(), "{}", server.log());
    let server = Server::options().data(data.path()).start();
    check(&server);
    assert!(server.log().contains("1000 entries"), "{}", server.log());
}

#[test]
fn kill_9_during_an_upload_burst_loses_nothing_acknowledged() {
    let docs = &thousand()[..400];
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::options().data(data.path()).start();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(Mutex::new(0usize));
    let addr = server.addr;
    let workers: Vec<_> = (0..8)
        .map(|_| {
            let (acknowledged, stop, next) = (acknowledged.clone(), stop.clone(), next.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let i = {
                        let mut next = next.lock().unwrap();
                        *next += 1;
                        *next - 1
                    };
                    let Some((id, doc)) = docs.get(i) else { return };
                    let request = upload_request(addr, doc);
                    if let Ok(reply) = send_raw(addr, &request) {
                        if reply.status == 201 {
                            acknowledged.lock().unwrap().push(id.clone());
                        }
                    }
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(120);
    while acknowledged.lock().unwrap().len() < 60 {
        assert!(
            Instant::now() < deadline,
            "uploads too slow\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    server.kill9();
    stop.store(true, Ordering::SeqCst);
    for worker in workers {
        worker.join().unwrap();
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() < docs.len(),
        "the kill came after the burst"
    );
    let server = Server::options().data(data.path()).start();
    let listed: HashSet<String> = listed(&server).into_iter().collect();
    for id in &acknowledged {
        assert!(listed.contains(id), "{id} was acknowledged but is lost");
    }
    eprintln!(
        "{} acknowledged before kill -9, {} stored after restart",
        acknowledged.len(),
        listed.len()
    );
    drop(server);
    // The store is whole: every stored signature verifies again.
    let output = market(&["check", "--data", data.path().to_str().unwrap()]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn upload_request(addr: std::net::SocketAddr, doc: &[u8]) -> Vec<u8> {
    let mut request = format!(
        "POST /metadata HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/xml\r\nContent-Length: {}\r\n\r\n",
        doc.len()
    )
    .into_bytes();
    request.extend_from_slice(doc);
    request
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let mut server = Server::start();
    let doc = indate();
    let request = upload_request(server.addr, &doc);
    let (head, tail) = request.split_at(request.len() - 100);
    let mut stream = TcpStream::connect(server.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream.write_all(head).unwrap();
    // A request answered on a later connection shows that the server has
    // accepted this one (connections are accepted in order).
    assert_eq!(server.get("/metadata?status=all").status, 404);
    std::thread::sleep(Duration::from_millis(100));
    let pid = server.pid().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    std::thread::sleep(Duration::from_millis(300));
    stream.write_all(tail).unwrap();
    let reply = read_reply(&mut stream).expect("a reply to the request in flight");
    assert_eq!(reply.status, 201, "{}", reply.text());
    let status = server.wait(Duration::from_secs(30));
    assert!(status.success(), "{status:?}\n{}", server.log());
    assert!(server.log().contains("SIGTERM"));
}

#[test]
fn bad_input_gets_a_clear_4xx_and_the_server_keeps_answering() {
    let server = Server::options()
        .arg("--max-body-bytes")
        .arg("8192")
        .start();
    let post = |body: &[u8]| {
        server.request(
            "POST",
            "/metadata",
            &[
                ("Content-Type", "application/xml"),
                ("Accept", "application/xml"),
            ],
            body,
        )
    };
    let reply = post(b"this is not XML");
    assert_eq!(reply.status, 400);
    assert!(
        reply.error_text().starts_with("unable to parse metadata: "),
        "{}",
        reply.text()
    );
    let bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">\
                <!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\
                <!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>\
                <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">&lol3;</rdf:RDF>";
    let reply = post(bomb.as_bytes());
    assert_eq!(reply.status, 400);
    assert!(reply.error_text().contains("DTD"), "{}", reply.text());
    let reply = post(&server_fixture("valid.xml"));
    assert_eq!(
        (reply.status, reply.error_text().as_str()),
        (400, "invalid metadata: no signature")
    );
    let forged = String::from_utf8(indate()).unwrap().replace(
        "<slterms:os>ttylinux</slterms:os>",
        "<slterms:os>evil</slterms:os>",
    );
    let reply = post(forged.as_bytes());
    assert_eq!(reply.status, 400);
    assert!(
        reply.error_text().starts_with(
            "invalid metadata: signature validation: truecontent (ref='') validity: false"
        ),
        "{}",
        reply.text()
    );
    // Over the body limit, announced or not.
    let big = vec![b' '; 20_000];
    let reply = post(&big);
    assert_eq!(reply.status, 413, "{}", reply.text());
    let mut chunked = format!(
        "POST /metadata HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: application/xml\r\n\
         Accept: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n",
        server.addr
    )
    .into_bytes();
    for _ in 0..10 {
        chunked.extend_from_slice(format!("{:x}\r\n", 2000).as_bytes());
        chunked.extend_from_slice(&[b' '; 2000]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    let reply = send_raw(server.addr, &chunked).unwrap();
    assert_eq!(reply.status, 413, "{}", reply.text());
    // Unknown routes: 404 naming the path, or 405; the home page itself
    // (sending browsers on to the listing) is still 200.
    for path in ["/no/such/page", "/marketplace/no/such", "/metadatax"] {
        let reply = server.request("GET", path, &[("Accept", "application/xml")], b"");
        assert_eq!(reply.status, 404, "{path}");
        assert!(reply.error_text().contains("no such page: "), "{path}");
    }
    assert_eq!(server.request("DELETE", "/no/such", &[], b"").status, 405);
    for path in ["/", "/marketplace/", "/marketplace"] {
        let reply = server.get(path);
        assert_eq!(reply.status, 200, "{path}");
        assert!(reply.text().contains("url=metadata"), "{path}");
    }
    // A request head that is not HTTP.
    let reply = send_raw(server.addr, b"HELLO\r\n\r\n");
    assert!(reply.map(|r| r.status == 400).unwrap_or(true));
    // Still answering, and nothing was stored.
    assert_eq!(server.get("/metadata?status=all").status, 404);
    server.upload(&indate());
}

#[test]
fn a_client_sending_one_byte_a_second_holds_nobody_up() {
    let server = Server::options()
        .env("MARKETPLACE_SERVER_REQUEST_TIMEOUT", "3")
        .start();
    server.upload(&indate());
    let addr = server.addr;
    let slow = |head: &'static str| {
        std::thread::spawn(move || {
            let started = Instant::now();
            let mut stream = TcpStream::connect(addr).unwrap();
            stream
                .set_read_timeout(Some(Duration::from_millis(200)))
                .unwrap();
            let mut sent = 0usize;
            let bytes = head.as_bytes();
            loop {
                let byte = bytes.get(sent).copied().unwrap_or(b' ');
                if stream.write_all(&[byte]).is_err() {
                    break;
                }
                sent += 1;
                let mut buffer = [0u8; 512];
                match stream.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                        return (started.elapsed(), Some(text));
                    }
                    Err(_) => {}
                }
                assert!(started.elapsed() < Duration::from_secs(30), "never cut off");
                std::thread::sleep(Duration::from_millis(800));
            }
            (started.elapsed(), None)
        })
    };
    // One trickles its request head, one its body.
    let slow_head = slow("GET /metadata HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let mut body_stream = TcpStream::connect(addr).unwrap();
    body_stream
        .write_all(
            b"POST /metadata HTTP/1.1\r\nHost: x\r\nContent-Type: application/xml\r\n\
              Accept: application/xml\r\nContent-Length: 100000\r\n\r\n<",
        )
        .unwrap();
    let slow_body = std::thread::spawn(move || {
        let started = Instant::now();
        body_stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        loop {
            let _ = body_stream.write_all(b"a");
            let mut reply = Vec::new();
            let mut buffer = [0u8; 4096];
            match body_stream.read(&mut buffer) {
                Ok(0) => return (started.elapsed(), reply),
                Ok(n) => {
                    reply.extend_from_slice(&buffer[..n]);
                    return (started.elapsed(), reply);
                }
                Err(_) => {}
            }
            assert!(started.elapsed() < Duration::from_secs(30), "never cut off");
            std::thread::sleep(Duration::from_millis(800));
        }
    });
    // Meanwhile everybody else is answered at once.
    for _ in 0..10 {
        let started = Instant::now();
        let reply = server.get(&format!("/metadata/{BEE8}"));
        assert_eq!(reply.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (elapsed, reply) = slow_head.join().unwrap();
    assert!(
        elapsed < Duration::from_secs(10),
        "head cut off after {elapsed:?}"
    );
    if let Some(reply) = reply {
        assert!(
            reply.starts_with("HTTP/1.1 408") || reply.starts_with("HTTP/1.1 400"),
            "{reply}"
        );
    }
    let (elapsed, reply) = slow_body.join().unwrap();
    assert!(
        elapsed < Duration::from_secs(10),
        "body cut off after {elapsed:?}"
    );
    let reply = String::from_utf8_lossy(&reply).into_owned();
    assert!(
        reply.is_empty() || reply.starts_with("HTTP/1.1 408"),
        "{reply}"
    );
}

#[test]
fn many_connections_at_once() {
    let server = Server::options()
        .config("validate.email=false\nserver.max.connections=64\n")
        .env("MARKETPLACE_SERVER_REQUEST_TIMEOUT", "20")
        .start();
    server.upload(&indate());
    // Fill the server with idle connections.
    let mut idle: Vec<TcpStream> = (0..64)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    // Past the cap, a new connection is closed at once. (One of these may
    // still be served if the server has not accepted every idle one yet:
    // it then stays open, keep-alive, and fills the last place.)
    let mut refused = false;
    for _ in 0..10 {
        let mut extra = TcpStream::connect(server.addr).unwrap();
        extra
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let _ = extra.write_all(b"GET /metadata HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut buffer = [0u8; 64];
        if matches!(extra.read(&mut buffer), Ok(0) | Err(_)) {
            refused = true;
            break;
        }
        idle.push(extra);
    }
    assert!(refused, "connections past the cap were served");
    assert!(
        server.log().contains("too many connections"),
        "{}",
        server.log()
    );
    // Freed connections make room again.
    idle.truncate(8);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 200);
    drop(idle);
    // Without a low cap, hundreds of clients at once are all answered.
    let server = Server::start();
    server.upload(&indate());
    let _idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(server.addr).unwrap())
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..50 {
            scope.spawn(|| assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 200));
        }
    });
}

#[test]
fn path_tricks_get_a_clear_4xx_and_never_a_file() {
    let server = Server::start();
    server.upload(&indate());
    let long = "a".repeat(300);
    for target in [
        "/metadata/..%2F..%2F..%2Fetc%2Fpasswd/x/y".to_string(),
        "/metadata/%2E%2E/%2E%2E/passwd".to_string(),
        "/metadata/..".to_string(),
        format!("/metadata/{BEE8}/{JANE}/..%2F..%2Fetc"),
        "/metadata/a%00b/x/y".to_string(),
        format!("/metadata/{long}/x/y"),
        "/metadata/%FF%FE/x/y".to_string(),
        "/tag/..%2Fx/y".to_string(),
        "/endorsers/%00".to_string(),
        "/endorsers/%C3%28/tags".to_string(),
    ] {
        let reply = server.get_as(&target, "application/xml");
        assert_eq!(reply.status, 400, "{target}: {}", reply.text());
        assert!(
            reply.error_text().starts_with("invalid path segment"),
            "{target}"
        );
    }
    // Bytes a URL may not hold: refused by the HTTP parser.
    for raw in [
        &b"GET /metadata/a\0b HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET /metadata/\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        // A closed connection (Err) is a refusal too.
        if let Ok(reply) = send_raw(server.addr, raw) {
            assert_eq!(reply.status, 400);
        }
    }
    // Dot segments in the raw path reach no file: not found (or refused).
    let reply = server.get("/../../../../etc/passwd");
    assert!(!reply.text().contains("root:"));
    assert!(reply.status == 404 || reply.status == 400);
    // Decoded once only: %252E%252E is the text "%2E%2E", a mere miss.
    let reply = server.get(&format!("/metadata/%252E%252E/{JANE}/{INDATE_CREATED}"));
    assert_eq!(reply.status, 404);
    // A filter value is only compared, never a path.
    assert_eq!(
        server.get("/metadata?identifier=../../etc/passwd").status,
        404
    );
    // The store is intact.
    assert_eq!(server.get(&format!("/metadata/{BEE8}")).status, 200);
}
