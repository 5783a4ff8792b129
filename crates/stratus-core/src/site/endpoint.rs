//! The Marketplace endpoint and the URLs built from it (client.md §1.7).
//!
//! The endpoint comes from `--marketplace-endpoint`, else the environment
//! variable `STRATUSLAB_MARKETPLACE_ENDPOINT`, else `marketplace_endpoint`
//! in the user configuration, else `https://marketplace.stratuslab.eu`.
//! It is normalised once: trailing `/` removed; a bare host name (legacy
//! `sanitizeEndpoint`) gets `https://`, except that an explicit port 80
//! means plain HTTP. The legacy rule made `localhost` into
//! `https://localhost:80`, TLS on the HTTP port, which never worked
//! (docs/COMPATIBILITY.md).

use super::SiteError;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// The legacy default endpoint.
pub const DEFAULT_ENDPOINT: &str = "https://marketplace.stratuslab.eu";

/// The environment variable naming the endpoint.
pub const ENDPOINT_VARIABLE: &str = "STRATUSLAB_MARKETPLACE_ENDPOINT";

/// The user configuration key naming the endpoint.
pub const ENDPOINT_CONFIG_KEY: &str = "marketplace_endpoint";

/// What must be escaped in one path segment: the characters that end or
/// split a segment (`/`, `?`, `#`), `%` itself, spaces and controls. `@`
/// and `:` stay, as the legacy URLs have them.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// A normalised Marketplace endpoint: `http` or `https`, a host, an
/// optional port and path, no trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint(String);

impl Endpoint {
    /// Normalise `text` (see the module documentation).
    pub fn parse(text: &str) -> Result<Endpoint, SiteError> {
        let bad = |reason: &str| SiteError::BadInput {
            what: "--marketplace-endpoint".into(),
            value: text.to_string(),
            reason: reason.to_string(),
        };
        let trimmed = text.trim();
        if trimmed.trim_end_matches('/').is_empty() {
            return Err(bad(
                "empty; give a URL such as https://marketplace.example.org",
            ));
        }
        if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("a URL has no spaces or control characters"));
        }
        let url = match trimmed.split_once("://") {
            Some((scheme, rest)) => {
                let scheme = scheme.to_ascii_lowercase();
                if scheme != "http" && scheme != "https" {
                    return Err(bad("only http:// and https:// endpoints are supported"));
                }
                format!("{scheme}://{}", rest.trim_end_matches('/'))
            }
            None => bare_host(trimmed.trim_end_matches('/')),
        };
        let authority = url
            .split_once("://")
            .map(|(_, rest)| rest.split('/').next().unwrap_or(""))
            .unwrap_or("");
        let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host.is_empty() || host.starts_with(':') {
            return Err(bad("no host name"));
        }
        Ok(Endpoint(url))
    }

    /// The endpoint from the option, the environment, the configuration,
    /// or the legacy default, in that order (empty values are skipped).
    pub fn choose(option: Option<&str>, config: Option<&str>) -> Result<Endpoint, SiteError> {
        let from_env = std::env::var(ENDPOINT_VARIABLE).ok();
        let text = [option, from_env.as_deref(), config]
            .into_iter()
            .flatten()
            .find(|v| !v.trim().is_empty())
            .unwrap_or(DEFAULT_ENDPOINT);
        Endpoint::parse(text)
    }

    /// The endpoint as a URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<endpoint>/metadata`: the listing and the upload URL.
    pub fn metadata_url(&self) -> String {
        format!("{}/metadata", self.0)
    }

    /// `<endpoint>/metadata/<segment>/...`, each segment escaped.
    pub fn metadata_path(&self, segments: &[&str]) -> String {
        let mut url = self.metadata_url();
        for segment in segments {
            url.push('/');
            url.extend(utf8_percent_encode(segment, SEGMENT));
        }
        url
    }

    /// The legacy entry URL `<endpoint>/metadata/<id>/<email>/<created>`.
    pub fn entry_url(&self, identifier: &str, email: &str, created: &str) -> String {
        self.metadata_path(&[identifier, email, created])
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// `host[:port][/path]` as a URL: HTTPS, except on port 80.
fn bare_host(text: &str) -> String {
    let (authority, path) = match text.find('/') {
        Some(at) => (&text[..at], &text[at..]),
        None => (text, ""),
    };
    match authority.rsplit_once(':') {
        Some((host, "80")) => format!("http://{host}{path}"),
        Some((host, "443")) => format!("https://{host}{path}"),
        _ => format!("https://{authority}{path}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normal(text: &str) -> String {
        Endpoint::parse(text).unwrap().as_str().to_string()
    }

    #[test]
    fn legacy_vectors_with_the_port_80_bug_fixed() {
        assert_eq!(normal("http://localhost"), "http://localhost");
        assert_eq!(normal("http://localhost:555"), "http://localhost:555");
        assert_eq!(normal("http://localhost:555///"), "http://localhost:555");
        assert_eq!(normal("HTTPS://mp.example.org/"), "https://mp.example.org");
        // Legacy: https://localhost:80.
        assert_eq!(normal("localhost"), "https://localhost");
        assert_eq!(normal("localhost:80"), "http://localhost");
        assert_eq!(normal("localhost:888"), "https://localhost:888");
        assert_eq!(
            normal("mp.example.org/marketplace/"),
            "https://mp.example.org/marketplace"
        );
        for bad in ["", "  /", "ftp://x", "http://", "a b", "http://:80"] {
            assert!(Endpoint::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_escape_each_segment() {
        let endpoint = Endpoint::parse("http://127.0.0.1:9/marketplace").unwrap();
        assert_eq!(
            endpoint.metadata_url(),
            "http://127.0.0.1:9/marketplace/metadata"
        );
        assert_eq!(
            endpoint.entry_url("ID", "a+b@x.org", "2014-03-08T14:10:40Z"),
            "http://127.0.0.1:9/marketplace/metadata/ID/a+b@x.org/2014-03-08T14:10:40Z"
        );
        assert_eq!(
            endpoint.metadata_path(&["a/b c%"]),
            "http://127.0.0.1:9/marketplace/metadata/a%2Fb%20c%25"
        );
    }
}
