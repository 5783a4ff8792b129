//! A real SMTP server for the mail tests: Debian's python3-aiosmtpd
//! (`/usr/bin/python3 -m aiosmtpd`, Debian's modules load only in that
//! interpreter) on a free port of 127.0.0.1, storing every mail it gets in
//! a Maildir that the test reads. Started and stopped by the test; every
//! wait is bounded. A test calls [`available`] first: a missing aiosmtpd
//! fails it under `STRATUS_CI=1` and skips it, saying why, otherwise.
//!
//! Test files using it declare `mod smtp;`.

#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The interpreter Debian's modules load in.
const PYTHON: &str = "/usr/bin/python3";

/// A running aiosmtpd.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    maildir: tempfile::TempDir,
}

/// A received mail.
#[derive(Debug, Clone)]
pub struct Mail {
    pub from: String,
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().unwrap().port()
}

/// Whether aiosmtpd can run. When it cannot: with `STRATUS_CI=1` the test
/// fails saying what to install; otherwise it prints why it is skipped and
/// the caller returns.
pub fn available() -> bool {
    let check = Command::new(PYTHON)
        .args(["-c", "import aiosmtpd"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if check.is_ok_and(|s| s.success()) {
        return true;
    }
    let message = format!(
        "the mail tests need Debian's python3-aiosmtpd in {PYTHON} \
         (apt-get install python3-aiosmtpd; .ci/run installs it)"
    );
    assert!(!crate::common::in_ci(), "{message}");
    eprintln!("skipped: {message}");
    false
}

impl SmtpServer {
    /// Start aiosmtpd (the caller checked [`available`]).
    pub fn start() -> SmtpServer {
        let maildir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = Command::new(PYTHON)
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(maildir.path().join("mail"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("aiosmtpd starts");
        let server = SmtpServer {
            child,
            port,
            maildir,
        };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let start = Instant::now();
        while TcpStream::connect(addr).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "aiosmtpd did not listen on {addr} within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The configuration lines that send mail here.
    pub fn config(&self) -> String {
        format!(
            "mail.host=127.0.0.1\nmail.port={}\nadmin.email=admin@example.org\n",
            self.port
        )
    }

    fn files(&self) -> Vec<PathBuf> {
        let dir = self.maildir.path().join("mail/new");
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
        files
    }

    /// Every mail received so far, oldest first.
    pub fn mails(&self) -> Vec<Mail> {
        self.files()
            .iter()
            .map(|p| parse(&std::fs::read(p).unwrap()))
            .collect()
    }

    /// Wait (at most `limit`) until at least `count` mails have arrived.
    pub fn wait_for(&self, count: usize, limit: Duration) -> Vec<Mail> {
        let start = Instant::now();
        loop {
            let mails = self.mails();
            if mails.len() >= count {
                return mails;
            }
            assert!(
                start.elapsed() < limit,
                "{count} mails expected within {limit:?}, {} arrived: {mails:?}",
                mails.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Headers (unfolded) and the decoded body of a mail.
fn parse(raw: &[u8]) -> Mail {
    let text = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n").unwrap_or((&text, ""));
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
            })
            .unwrap_or_default()
    };
    let body = match header("Content-Transfer-Encoding")
        .to_ascii_lowercase()
        .as_str()
    {
        "quoted-printable" => quoted_printable(body),
        "base64" => base64(body),
        _ => body.to_string(),
    };
    Mail {
        from: header("From"),
        to: header("To"),
        subject: header("Subject"),
        body,
    }
}

fn quoted_printable(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' && i + 2 < bytes.len() + 1 {
            if let Ok(v) = u8::from_str_radix(&joined[i + 1..(i + 3).min(joined.len())], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0);
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        buffer = (buffer << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The URL after `label` (e.g. `Confirm:`) in a confirmation mail.
pub fn link(mail: &Mail, label: &str) -> String {
    mail.body
        .lines()
        .find_map(|l| l.trim().strip_prefix(label))
        .map(|rest| rest.trim().to_string())
        .unwrap_or_else(|| panic!("no {label} link in {}", mail.body))
}
