//! The one HTTP client of the site side, over ureq with rustls (ring).
//!
//! - **TLS is verified by default**, against the platform's CA store
//!   (rustls-native-certs: `SSL_CERT_FILE`, `SSL_CERT_DIR`, else the
//!   distribution's bundle) or, with a CA bundle file, against that file's
//!   certificates only. `insecure` turns verification off; the commands
//!   say so loudly.
//! - **Proxies** as curl reads them: `HTTPS_PROXY`/`https_proxy` for
//!   `https://` URLs, `HTTP_PROXY`/`http_proxy` for `http://` URLs,
//!   `ALL_PROXY`/`all_proxy` for both, and `NO_PROXY`/`no_proxy` (a comma
//!   list of host names, domain suffixes with or without a leading `.`, IP
//!   addresses, or `*`) to go direct. Each request, redirects included,
//!   chooses its proxy from its own URL.
//! - **Timeouts**: one for connecting (proxy and TLS included), one for
//!   every read, so a server that stalls fails instead of hanging.
//! - **Redirects** are followed here, at most [`MAX_REDIRECTS`], never from
//!   `https` to `http`.
//!
//! Errors name the method and the URL, and carry the server's `<error>`
//! text on an error status (see [`SiteError`]).

use super::SiteError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use ureq::http::{HeaderMap, Response};
use ureq::Body;

/// The proxy variables [`Proxies::from_env`] reads, both spellings.
pub const PROXY_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// The most redirects one request follows.
pub const MAX_REDIRECTS: usize = 10;

/// The default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// The default timeout of each read (a server silent for longer has
/// stalled).
pub const DEFAULT_READ_TIMEOUT: Duration = Duration::from_secs(60);

/// How the client connects.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Trust only the CA certificates of this PEM (or DER) file for HTTPS.
    pub ca_bundle: Option<PathBuf>,
    /// Do not verify servers' certificates at all.
    pub insecure: bool,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// How long any read may wait for data.
    pub read_timeout: Duration,
    /// How long one request may take in all, from connecting to the end
    /// of its body (`None`: only the other timeouts bound it, so a server
    /// sending a byte now and then holds the request open).
    pub overall_timeout: Option<Duration>,
    /// The proxies.
    pub proxies: Proxies,
}

impl Default for HttpOptions {
    /// Verified TLS against the platform's CAs, the default timeouts, the
    /// proxies of the environment.
    fn default() -> Self {
        HttpOptions {
            ca_bundle: None,
            insecure: false,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            read_timeout: DEFAULT_READ_TIMEOUT,
            overall_timeout: None,
            proxies: Proxies::from_env(),
        }
    }
}

/// The proxies to use, by URL scheme, and the hosts to reach directly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    /// For `http://` URLs.
    pub http: Option<String>,
    /// For `https://` URLs.
    pub https: Option<String>,
    /// `NO_PROXY` entries, lower-cased.
    pub no_proxy: Vec<String>,
}

impl Proxies {
    /// No proxy at all.
    pub fn none() -> Self {
        Proxies::default()
    }

    /// The proxies of the environment (see the module documentation).
    /// A value that is not UTF-8 is taken as unset here: the commands
    /// refuse it before they start ([`PROXY_VARIABLES`]).
    pub fn from_env() -> Self {
        let var = |names: &[&str]| {
            names
                .iter()
                .filter_map(|name| std::env::var(name).ok())
                .find(|value| !value.trim().is_empty())
        };
        let all = var(&["ALL_PROXY", "all_proxy"]);
        Proxies {
            http: var(&["HTTP_PROXY", "http_proxy"]).or_else(|| all.clone()),
            https: var(&["HTTPS_PROXY", "https_proxy"]).or(all),
            no_proxy: var(&["NO_PROXY", "no_proxy"])
                .map(|list| parse_no_proxy(&list))
                .unwrap_or_default(),
        }
    }

    /// The proxy for `url`, if one is to be used.
    pub fn for_url(&self, url: &str) -> Option<&str> {
        let (scheme, rest) = url.split_once("://")?;
        let proxy = match scheme.to_ascii_lowercase().as_str() {
            "http" => self.http.as_deref(),
            "https" => self.https.as_deref(),
            _ => None,
        }?;
        let host = host_of(rest);
        if self
            .no_proxy
            .iter()
            .any(|entry| no_proxy_matches(entry, &host))
        {
            return None;
        }
        Some(proxy)
    }
}

fn parse_no_proxy(list: &str) -> Vec<String> {
    list.split(',')
        .map(|entry| entry.trim().to_ascii_lowercase())
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            // A port on an entry does not narrow it here.
            match entry.rsplit_once(':') {
                Some((host, port))
                    if !host.contains(':') && port.bytes().all(|b| b.is_ascii_digit()) =>
                {
                    host.to_string()
                }
                _ => entry,
            }
        })
        .collect()
}

/// The host of the authority that starts `rest` (after `scheme://`),
/// lower-cased, without port, user information or IPv6 brackets.
fn host_of(rest: &str) -> String {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(inner) = authority.strip_prefix('[') {
        inner.split(']').next().unwrap_or("")
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.to_ascii_lowercase()
}

fn no_proxy_matches(entry: &str, host: &str) -> bool {
    if entry == "*" {
        return true;
    }
    let domain = entry.trim_start_matches("*.").trim_start_matches('.');
    host == domain || host.ends_with(&format!(".{domain}"))
}

/// An answer: the final URL (after redirects), the status, the headers
/// and the body, not yet read.
pub struct Reply {
    /// The URL that answered.
    pub url: String,
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
}

impl Reply {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `Content-Length`, when the server sent one.
    pub fn content_length(&self) -> Option<u64> {
        self.header("content-length")?.trim().parse().ok()
    }

    /// The body as bytes, refusing more than `limit`.
    pub fn read_limited(mut self, limit: u64) -> Result<Vec<u8>, SiteError> {
        let url = self.url.clone();
        self.body
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|error| match error {
                ureq::Error::BodyExceedsLimit(_) => SiteError::BadResponse {
                    url,
                    detail: format!("the answer is larger than the limit of {limit} bytes"),
                },
                other => SiteError::Network {
                    method: "GET",
                    url,
                    detail: describe(&other),
                },
            })
    }
}

/// The HTTP client. One per command; it keeps connections for reuse, and
/// clones share them.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    options: HttpOptions,
    have_roots: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("options", &self.options)
            .finish()
    }
}

impl Client {
    /// A client with these options. A CA bundle that cannot be read, or
    /// holds no certificate, is an error naming the file.
    pub fn new(options: HttpOptions) -> crate::error::Result<Client> {
        let roots = match &options.ca_bundle {
            Some(path) => bundle_roots(path)?,
            None => platform_roots(),
        };
        let have_roots = !roots.is_empty();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = ureq::tls::TlsConfig::builder()
            .provider(ureq::tls::TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(provider)
            .root_certs(ureq::tls::RootCerts::from(roots))
            .disable_verification(options.insecure)
            .build();
        let agent = ureq::Agent::config_builder()
            .tls_config(tls)
            .proxy(None)
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .timeout_connect(Some(options.connect_timeout))
            .timeout_recv_response(Some(options.read_timeout))
            .timeout_per_read(Some(options.read_timeout))
            .timeout_global(options.overall_timeout)
            .user_agent(concat!("stratus/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Ok(Client {
            agent,
            options,
            have_roots,
        })
    }

    /// The options the client was made with.
    pub fn options(&self) -> &HttpOptions {
        &self.options
    }

    /// `GET url` with `headers`, redirects followed; any status is
    /// returned (the caller decides), only a failure to get an answer is
    /// an error.
    pub fn get(&self, url: &str, headers: &[(&str, &str)]) -> Result<Reply, SiteError> {
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let reply = self.send("GET", &current, headers, None)?;
            match redirect_target(&reply)? {
                Some(next) => current = next,
                None => return Ok(reply),
            }
        }
        Err(too_many_redirects("GET", url))
    }

    /// `GET url` for a metadata document or listing (`Accept:
    /// application/xml`): the body of a 2xx answer, at most `limit` bytes;
    /// any other status is [`SiteError::Status`] with the server's text.
    pub fn get_xml(&self, url: &str, limit: u64) -> Result<(String, Vec<u8>), SiteError> {
        let reply = self.get(url, &[("Accept", "application/xml")])?;
        if !(200..300).contains(&reply.status) {
            return Err(status_error("GET", reply));
        }
        let final_url = reply.url.clone();
        Ok((final_url, reply.read_limited(limit)?))
    }

    /// `POST url` of an XML document (`Content-Type` and `Accept`
    /// `application/xml`). A redirect is followed with the same body (the
    /// legacy client did so for 302). Returns the status and at most 1 MiB
    /// of the body of a 2xx answer; any other status is
    /// [`SiteError::Status`].
    pub fn post_xml(&self, url: &str, body: &[u8]) -> Result<(u16, Vec<u8>), SiteError> {
        let headers = [
            ("Content-Type", "application/xml"),
            ("Accept", "application/xml"),
        ];
        let mut current = url.to_string();
        for _ in 0..=MAX_REDIRECTS {
            let reply = self.send("POST", &current, &headers, Some(body))?;
            if reply.status == 303 {
                return Err(status_error("POST", reply));
            }
            match redirect_target(&reply)? {
                Some(next) => current = next,
                None if (200..300).contains(&reply.status) => {
                    let status = reply.status;
                    return Ok((status, reply.read_limited(1 << 20)?));
                }
                None => return Err(status_error("POST", reply)),
            }
        }
        Err(too_many_redirects("POST", url))
    }

    /// One request, no redirect followed.
    fn send(
        &self,
        method: &'static str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Reply, SiteError> {
        let network = |detail: String| SiteError::Network {
            method,
            url: url.to_string(),
            detail,
        };
        let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("http") => {}
            Some("https") if self.have_roots || self.options.insecure => {}
            Some("https") => {
                return Err(network(
                    "no trusted CA certificates: the system has none (install ca-certificates) and no CA bundle was given (--ca-bundle)".into(),
                ))
            }
            _ => return Err(network("only http:// and https:// URLs can be fetched".into())),
        }
        let proxy = match self.options.proxies.for_url(url) {
            Some(proxy) => Some(ureq::Proxy::new(proxy).map_err(|e| {
                network(format!(
                    "the proxy '{proxy}' cannot be used: {}",
                    describe(&e)
                ))
            })?),
            None => None,
        };
        let outcome = match body {
            None => {
                let mut request = self.agent.get(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.config().proxy(proxy).build().call()
            }
            Some(body) => {
                let mut request = self.agent.post(url);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                request.config().proxy(proxy).build().send(body)
            }
        };
        let response: Response<Body> = outcome.map_err(|e| network(self.explain(&e)))?;
        let (parts, body) = response.into_parts();
        Ok(Reply {
            url: url.to_string(),
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        })
    }

    /// [`describe`], with the way out for a certificate that is not trusted.
    fn explain(&self, error: &ureq::Error) -> String {
        let text = describe(error);
        let untrusted = matches!(
            error,
            ureq::Error::Rustls(rustls::Error::InvalidCertificate(_))
        );
        if untrusted {
            let cure = if self.options.ca_bundle.is_some() {
                "the server's certificate does not chain to the given CA bundle"
            } else {
                "the server's certificate does not chain to a CA of this system: give its CA with --ca-bundle FILE"
            };
            return format!("{text} ({cure})");
        }
        text
    }
}

/// What went wrong, in words.
pub fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Timeout(kind) => format!("timed out ({kind})"),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::Io(e) => io_detail(e),
        ureq::Error::Rustls(e) => format!("TLS: {e}"),
        ureq::Error::Tls(e) => format!("TLS: {e}"),
        ureq::Error::ConnectProxyFailed(e) => format!("through the proxy: {e}"),
        ureq::Error::Protocol(e) => format!("not a valid HTTP answer: {e}"),
        other => other.to_string(),
    }
}

/// An I/O error in words, without the "os error" noise when the kind says
/// it all.
pub fn io_detail(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::ConnectionRefused => "connection refused".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset by the server".into(),
        std::io::ErrorKind::TimedOut => "timed out".into(),
        std::io::ErrorKind::UnexpectedEof => "the connection closed early".into(),
        _ => error.to_string(),
    }
}

/// The `Location` of a redirect, made absolute; `None` for other statuses.
fn redirect_target(reply: &Reply) -> Result<Option<String>, SiteError> {
    if !matches!(reply.status, 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let location = reply
        .header("location")
        .ok_or_else(|| SiteError::BadResponse {
            url: reply.url.clone(),
            detail: format!("a {} redirect without a Location", reply.status),
        })?;
    let next = join_url(&reply.url, location);
    let downgrade = reply.url.to_ascii_lowercase().starts_with("https://")
        && !next.to_ascii_lowercase().starts_with("https://");
    if downgrade {
        return Err(SiteError::BadResponse {
            url: reply.url.clone(),
            detail: format!("refused a redirect from HTTPS to {next}"),
        });
    }
    Ok(Some(next))
}

/// `reference` resolved against `base` (absolute, scheme-relative,
/// absolute-path and relative references).
pub fn join_url(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(authority_path) = reference.strip_prefix("//") {
        return format!("{scheme}://{authority_path}");
    }
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    if reference.starts_with('/') {
        return format!("{scheme}://{authority}{reference}");
    }
    let path = rest[authority_end..].split(['?', '#']).next().unwrap_or("");
    let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let directory = if directory.is_empty() { "/" } else { directory };
    format!("{scheme}://{authority}{directory}{reference}")
}

fn too_many_redirects(method: &'static str, url: &str) -> SiteError {
    SiteError::Network {
        method,
        url: url.to_string(),
        detail: format!("more than {MAX_REDIRECTS} redirects"),
    }
}

/// An error status as [`SiteError::Status`], with the text of the body:
/// the legacy `<error>` element, or a short plain-text body.
pub fn status_error(method: &'static str, reply: Reply) -> SiteError {
    let url = reply.url.clone();
    let status = reply.status;
    let body = reply.read_limited(64 * 1024).unwrap_or_default();
    SiteError::Status {
        method,
        url,
        status,
        message: error_text(&body),
        hint: None,
    }
}

/// The server's explanation in an error body: the text of a legacy
/// `<error>` element, else a short text body on one line.
pub fn error_text(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    if let Some(start) = text.find("<error>") {
        let inner = &text[start + "<error>".len()..];
        let inner = inner.split("</error>").next().unwrap_or(inner);
        return Some(one_line(&unescape(inner)));
    }
    if text.starts_with('<') || text.len() > 300 {
        return None;
    }
    Some(one_line(text))
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// Text on one line, control characters shown escaped.
fn one_line(text: &str) -> String {
    text.trim()
        .chars()
        .map(|c| {
            if c == '\n' || c == '\r' || c == '\t' {
                ' '
            } else {
                c
            }
        })
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

/// The system's CA certificates (rustls-native-certs); none when it finds
/// none.
fn platform_roots() -> Vec<ureq::tls::Certificate<'static>> {
    rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect()
}

/// The certificates of a CA bundle file (PEM, or one DER certificate).
fn bundle_roots(path: &Path) -> crate::error::Result<Vec<ureq::tls::Certificate<'static>>> {
    use rustls_pki_types::pem::PemObject;
    let bytes = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
    let mut certs: Vec<_> = rustls_pki_types::CertificateDer::pem_slice_iter(&bytes)
        .filter_map(|c| c.ok())
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if certs.is_empty() && bytes.first() == Some(&0x30) {
        certs.push(ureq::tls::Certificate::from_der(&bytes).to_owned());
    }
    if certs.is_empty() {
        return Err(SiteError::BadInput {
            what: "--ca-bundle".into(),
            value: path.display().to_string(),
            reason: "the file holds no certificate (PEM or DER)".into(),
        }
        .into());
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proxies_by_scheme_and_no_proxy() {
        let proxies = Proxies {
            http: Some("http://127.0.0.1:3128".into()),
            https: None,
            no_proxy: parse_no_proxy("localhost, .example.org,10.0.0.1:8080,Mirror.NET"),
        };
        assert_eq!(
            proxies.for_url("http://images.test/a.img"),
            Some("http://127.0.0.1:3128")
        );
        assert_eq!(proxies.for_url("https://images.test/a.img"), None);
        for direct in [
            "http://localhost:8080/x",
            "http://example.org/x",
            "http://a.b.example.org/x",
            "http://10.0.0.1/x",
            "http://user@mirror.net:81/x",
        ] {
            assert_eq!(proxies.for_url(direct), None, "{direct}");
        }
        assert!(proxies.for_url("http://notexample.org/").is_some());
        let all = Proxies {
            no_proxy: vec!["*".into()],
            ..proxies.clone()
        };
        assert_eq!(all.for_url("http://images.test/a.img"), None);
        assert_eq!(host_of("[::1]:80/x"), "::1");
    }

    #[test]
    fn relative_redirects() {
        let base = "http://h:1/metadata/a?x=1";
        assert_eq!(join_url(base, "https://o/p"), "https://o/p");
        assert_eq!(join_url(base, "/root"), "http://h:1/root");
        assert_eq!(join_url(base, "b"), "http://h:1/metadata/b");
        assert_eq!(join_url(base, "//other/x"), "http://other/x");
        assert_eq!(join_url("http://h", "x"), "http://h/x");
    }

    #[test]
    fn error_bodies() {
        let legacy = br#"<?xml version="1.0" encoding="UTF-8" standalone="no"?><error>invalid metadata: a &lt; b</error>"#;
        assert_eq!(
            error_text(legacy).as_deref(),
            Some("invalid metadata: a < b")
        );
        assert_eq!(error_text(b"not found\n").as_deref(), Some("not found"));
        assert_eq!(error_text(b"<html><body>x</body></html>"), None);
        assert_eq!(error_text(b""), None);
    }
}
