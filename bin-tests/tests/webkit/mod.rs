//! A small image server for the site-side tests: HTTP/1.1 on 127.0.0.1
//! (a free port), one thread per connection, every wait bounded. Each
//! route has a behaviour, so that one server plays every kind of image
//! location: a good one (ranges supported or not), a missing one, one that
//! serves other bytes, one that drops the connection half way, one that
//! stalls, one that sends too much, and a hostile Marketplace serving a
//! forged document. It counts the requests it receives, so that a test
//! can tell a cache hit (no request) from a download.
//!
//! Test files using it declare `mod webkit;`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a route does.
#[derive(Clone)]
pub enum Behaviour {
    /// Serve the bytes, honouring `Range: bytes=N-`.
    Serve(Vec<u8>),
    /// Serve the bytes, ignoring ranges (always 200 and everything).
    ServeNoRanges(Vec<u8>),
    /// Answer 404.
    Missing,
    /// Announce the full length, send half of the bytes, close; later
    /// range requests are served (a dropped connection, resumable).
    DropHalfway(Vec<u8>),
    /// Send the headers and the first bytes, then stay silent (bounded).
    Stall(Vec<u8>),
    /// Answer with this status and an XML body, whatever the method.
    Status(u16, String),
}

/// A running image server.
pub struct WebServer {
    pub addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, Behaviour>>>,
    hits: Arc<Mutex<HashMap<String, usize>>>,
    total: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

/// How long a stalled route stays silent before closing.
const STALL: Duration = Duration::from_secs(20);

impl WebServer {
    pub fn start() -> WebServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().unwrap();
        let server = WebServer {
            addr,
            routes: Arc::default(),
            hits: Arc::default(),
            total: Arc::default(),
            stop: Arc::default(),
        };
        let (routes, hits, total, stop) = (
            Arc::clone(&server.routes),
            Arc::clone(&server.hits),
            Arc::clone(&server.total),
            Arc::clone(&server.stop),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (routes, hits, total) =
                    (Arc::clone(&routes), Arc::clone(&hits), Arc::clone(&total));
                std::thread::spawn(move || {
                    let _ = serve(stream, &routes, &hits, &total);
                });
            }
        });
        server
    }

    /// Add (or replace) the route `path`; its URL.
    pub fn route(&self, path: &str, behaviour: Behaviour) -> String {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_string(), behaviour);
        self.url(path)
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests received for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    /// Requests received in all.
    pub fn total(&self) -> usize {
        self.total.load(Ordering::SeqCst)
    }
}

impl Drop for WebServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

/// One connection, one request (`Connection: close`).
fn serve(
    stream: TcpStream,
    routes: &Mutex<HashMap<String, Behaviour>>,
    hits: &Mutex<HashMap<String, usize>>,
    total: &AtomicUsize,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let target = line.split(' ').nth(1).unwrap_or("/").to_string();
    let mut range_start: Option<usize> = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range_start = value
                    .trim()
                    .strip_prefix("bytes=")
                    .and_then(|r| r.split('-').next())
                    .and_then(|n| n.parse().ok());
            }
        }
    }
    // A proxy's request carries the absolute URL: keep the path.
    let path = match target.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/".into(), |i| rest[i..].to_string()),
        None => target,
    };
    let path = path.split('?').next().unwrap_or("/").to_string();
    total.fetch_add(1, Ordering::SeqCst);
    *hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let behaviour = routes.lock().unwrap().get(&path).cloned();
    let mut out = stream;
    match behaviour {
        None | Some(Behaviour::Missing) => out.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found",
        ),
        Some(Behaviour::Status(status, body)) => {
            let head = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            out.write_all(head.as_bytes())?;
            out.write_all(body.as_bytes())?;
            out.flush()
        }
        Some(Behaviour::Serve(bytes)) => send(&mut out, &bytes, range_start),
        Some(Behaviour::ServeNoRanges(bytes)) => send(&mut out, &bytes, None),
        Some(Behaviour::DropHalfway(bytes)) => match range_start {
            Some(_) => send(&mut out, &bytes, range_start),
            None => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
                    bytes.len()
                );
                out.write_all(head.as_bytes())?;
                out.write_all(&bytes[..bytes.len() / 2])?;
                out.flush()?;
                out.shutdown(std::net::Shutdown::Both)
            }
        },
        Some(Behaviour::Stall(bytes)) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                bytes.len()
            );
            out.write_all(head.as_bytes())?;
            out.write_all(&bytes[..bytes.len().min(1024)])?;
            out.flush()?;
            // Silent until the client gives up (it closes) or STALL ends.
            let _ = out.set_read_timeout(Some(STALL));
            let mut sink = [0u8; 1];
            let _ = (&out).read(&mut sink);
            Ok(())
        }
    }
}

fn send(out: &mut TcpStream, bytes: &[u8], range_start: Option<usize>) -> std::io::Result<()> {
    let head = match range_start {
        Some(start) if start < bytes.len() => format!(
            "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {start}-{}/{}\r\nConnection: close\r\n\r\n",
            bytes.len() - start,
            bytes.len() - 1,
            bytes.len()
        ),
        _ => format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n\r\n",
            bytes.len()
        ),
    };
    out.write_all(head.as_bytes())?;
    let body = match range_start {
        Some(start) if start < bytes.len() => &bytes[start..],
        _ => bytes,
    };
    out.write_all(body)?;
    out.flush()
}

/// A forwarding HTTP proxy on 127.0.0.1 (absolute-form requests only),
/// counting what it forwarded.
pub struct Proxy {
    pub addr: SocketAddr,
    pub forwarded: Arc<AtomicUsize>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let addr = listener.local_addr().unwrap();
        let forwarded = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&forwarded);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let count = Arc::clone(&count);
                std::thread::spawn(move || {
                    let _ = forward(stream, &count);
                });
            }
        });
        Proxy { addr, forwarded }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Read the request head; `CONNECT host:port` opens a tunnel, an
/// absolute-form request is rewritten in origin form; then relay both ways.
fn forward(client: TcpStream, count: &AtomicUsize) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.trim_end().splitn(3, ' ');
    let (method, target, version) = (
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("").to_string(),
        parts.next().unwrap_or("HTTP/1.1").to_string(),
    );
    let mut headers = String::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if !header.to_ascii_lowercase().starts_with("proxy-") {
            headers.push_str(&header);
        }
    }
    let mut client_out = client;
    let mut upstream;
    if method.eq_ignore_ascii_case("CONNECT") {
        upstream = TcpStream::connect(target.as_str())?;
        client_out.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
    } else {
        let rest = target.strip_prefix("http://").unwrap_or(&target);
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        upstream = TcpStream::connect(host)?;
        upstream.write_all(format!("{method} {path} {version}\r\n{headers}\r\n").as_bytes())?;
    }
    count.fetch_add(1, Ordering::SeqCst);
    // Client to upstream on a thread of its own (what the reader buffered
    // first), upstream to client here.
    let mut up_in = upstream.try_clone()?;
    let pending = reader.buffer().to_vec();
    let mut client_in = reader.into_inner();
    std::thread::spawn(move || {
        let _ = up_in.write_all(&pending);
        let _ = std::io::copy(&mut client_in, &mut up_in);
        let _ = up_in.shutdown(std::net::Shutdown::Write);
    });
    std::io::copy(&mut upstream, &mut client_out)?;
    let _ = client_out.shutdown(std::net::Shutdown::Both);
    Ok(())
}
