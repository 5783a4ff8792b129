//! What happens to every request before routing (marketplace.md §1.2) and
//! what the handlers learn from it:
//!
//! 1. the double-slash filter (`//` becomes `/`, non-overlapping);
//! 2. the mount point: `/marketplace/…` (configurable) is served like `/…`;
//! 3. the `?media=` tunnel: the parameter replaces the `Accept` header and
//!    leaves the query, as do the unused `method`, `charset`, `encoding`
//!    and `language` tunnels;
//! 4. a [`Context`] for the handlers: the negotiated `Accept` list, the
//!    error-body style, the base URL (§1.1) and the peer.
//!
//! After the handler, the status service ([`super::response::finish`])
//! completes the response.

use std::net::SocketAddr;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::negotiate::{self, MediaRange, Style};
use super::response::{finish, ApiError};
use super::AppState;

/// The connection a request came on (inserted per connection).
#[derive(Debug, Clone, Copy)]
pub struct Connection {
    /// The client's address.
    pub peer: SocketAddr,
    /// The server's address the client reached.
    pub local: SocketAddr,
    /// Whether the connection is TLS.
    pub tls: bool,
}

/// What the handlers know about a request beyond its path and body.
#[derive(Debug, Clone)]
pub struct Context {
    /// The `Accept` entries (after the `?media=` tunnel), in header order.
    pub accept: Vec<MediaRange>,
    /// The style of error and status bodies (first `Accept` entry).
    pub style: Style,
    /// The base URL: scheme, host, mount point, ending in `/`.
    pub base_url: String,
    /// The connection.
    pub connection: Connection,
    /// Whether the request came through a proxy (`X-Forwarded-For` or
    /// `X-Real-IP` present).
    pub proxied: bool,
}

impl Context {
    /// Whether the first `Accept` entry is `text/html`: success messages
    /// are then HTML pages, else plain text.
    pub fn html_first(&self) -> bool {
        self.accept
            .first()
            .is_some_and(|r| r.main == "text" && r.sub == "html")
    }
}

/// The longest request target accepted (path and query).
const MAX_TARGET_BYTES: usize = 16 * 1024;

/// The pre-routing middleware: rewrite the request, run it, finish the
/// response.
pub async fn prepare(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let connection = request
        .extensions()
        .get::<Connection>()
        .copied()
        .unwrap_or(Connection {
            peer: SocketAddr::from(([127, 0, 0, 1], 0)),
            local: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: false,
        });
    let (path, query, media) = match rewrite(request.uri(), state.options.prefix.as_deref()) {
        Ok(parts) => parts,
        Err(error) => {
            let accept = accept_of(request.headers(), None);
            return finish(error.into_response(), negotiate::style(&accept), &method);
        }
    };
    let accept = accept_of(request.headers(), media);
    let style = negotiate::style(&accept);
    let target = match &query {
        Some(query) => format!("{}?{query}", path.rewritten),
        None => path.rewritten.clone(),
    };
    // Most requests come through unchanged: keep their URI as it is.
    let unchanged = request
        .uri()
        .path_and_query()
        .is_some_and(|pq| pq.as_str() == target);
    if !unchanged {
        match target.parse::<Uri>() {
            Ok(uri) => *request.uri_mut() = uri,
            Err(_) => {
                let error = ApiError::bad_request("invalid request target");
                return finish(error.into_response(), style, &method);
            }
        }
    }
    if let Some(media) = media {
        request
            .headers_mut()
            .insert(header::ACCEPT, HeaderValue::from_static(media));
    }
    let headers = request.headers();
    let context = Context {
        base_url: base_url(headers, &connection, &path.mount),
        proxied: headers.contains_key("x-forwarded-for") || headers.contains_key("x-real-ip"),
        accept,
        style,
        connection,
    };
    request.extensions_mut().insert(context);
    let uri = request.uri().clone();
    let response = next.run(request).await;
    if let Some(super::response::Detail(detail)) = response.extensions().get() {
        let (status, peer) = (response.status(), connection.peer);
        match status == axum::http::StatusCode::SERVICE_UNAVAILABLE {
            false => tracing::error!(%peer, "{method} {uri}: {status}: {detail}"),
            true => tracing::warn!(%peer, "{method} {uri}: {status}: {detail}"),
        }
    }
    finish(response, style, &method)
}

/// The path after the filters, and the mount point it was reached under.
struct Path {
    rewritten: String,
    mount: String,
}

/// Apply the double-slash filter, the mount point and the query tunnels.
fn rewrite(
    uri: &Uri,
    prefix: Option<&str>,
) -> Result<(Path, Option<String>, Option<&'static str>), ApiError> {
    let raw_path = uri.path();
    let raw_query = uri.query();
    if raw_path.len() + raw_query.map_or(0, str::len) > MAX_TARGET_BYTES {
        return Err(ApiError::new(
            axum::http::StatusCode::URI_TOO_LONG,
            "the request target is longer than 16 KiB",
        ));
    }
    let filtered = raw_path.replace("//", "/");
    let (mount, rest) = match prefix {
        Some(prefix) if filtered == prefix || filtered.starts_with(&format!("{prefix}/")) => {
            let rest = &filtered[prefix.len()..];
            (prefix.to_string(), if rest.is_empty() { "/" } else { rest })
        }
        _ => (String::new(), filtered.as_str()),
    };
    let rewritten = if rest.starts_with('/') {
        rest.to_string()
    } else {
        format!("/{rest}")
    };
    let mut media = None;
    let tunnels = ["media", "method", "charset", "encoding", "language"];
    let query = raw_query.and_then(|query| {
        let pairs: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
        if !pairs
            .iter()
            .any(|(name, _)| tunnels.contains(&name.as_ref()))
        {
            // Nothing to take out: the query goes on as it came.
            return Some(query.to_string());
        }
        let mut kept = form_urlencoded::Serializer::new(String::new());
        let mut any = false;
        for (name, value) in &pairs {
            match name.as_ref() {
                "media" => media = negotiate::tunnelled(value).or(media),
                other if tunnels.contains(&other) => {}
                _ => {
                    kept.append_pair(name, value);
                    any = true;
                }
            }
        }
        any.then(|| kept.finish())
    });
    Ok((Path { rewritten, mount }, query, media))
}

/// The `Accept` list: the tunnelled media type, else the header.
fn accept_of(headers: &HeaderMap, media: Option<&'static str>) -> Vec<MediaRange> {
    if let Some(media) = media {
        return negotiate::parse_accept(media);
    }
    let joined: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    negotiate::parse_accept(&joined.join(","))
}

/// The base URL of §1.1: the scheme (`X-Forwarded-Proto` when it is
/// `http` or `https`, else the connection's), the host (`Host` when it is
/// a well-formed host and port, else the address the client reached), the
/// mount point, `/`.
fn base_url(headers: &HeaderMap, connection: &Connection, mount: &str) -> String {
    let scheme = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .filter(|v| v == "http" || v == "https")
        .unwrap_or_else(|| if connection.tls { "https" } else { "http" }.to_string());
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| is_host(h))
        .map(str::to_string)
        .unwrap_or_else(|| connection.local.to_string());
    format!("{scheme}://{host}{mount}/")
}

/// A host name or address, with an optional port: letters, digits, `.`,
/// `-`, `:` and brackets only, at most 255 bytes.
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(target: &str) -> (String, String, Option<String>, Option<&'static str>) {
        let uri: Uri = target.parse().unwrap();
        let (path, query, media) = rewrite(&uri, Some("/marketplace")).unwrap();
        (path.rewritten, path.mount, query, media)
    }

    #[test]
    fn double_slashes_mount_points_and_tunnels() {
        assert_eq!(run("//metadata").0, "/metadata");
        assert_eq!(run("/metadata///x").0, "/metadata//x");
        let (path, mount, ..) = run("/marketplace//metadata/x");
        assert_eq!(
            (path.as_str(), mount.as_str()),
            ("/metadata/x", "/marketplace")
        );
        assert_eq!(run("/marketplace").0, "/");
        assert_eq!(run("/marketplacex/metadata").1, "");
        let (_, _, query, media) = run("/metadata?media=json&status=all&charset=x");
        assert_eq!(query.as_deref(), Some("status=all"));
        assert_eq!(media, Some("application/json"));
        assert_eq!(run("/metadata?media=json").2, None);
    }

    #[test]
    fn only_well_formed_hosts_make_the_base_url() {
        let connection = Connection {
            peer: "127.0.0.1:1".parse().unwrap(),
            local: "127.0.0.1:9204".parse().unwrap(),
            tls: false,
        };
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "mp.example.org".parse().unwrap());
        headers.insert("x-forwarded-proto", "HTTPS".parse().unwrap());
        assert_eq!(
            base_url(&headers, &connection, "/marketplace"),
            "https://mp.example.org/marketplace/"
        );
        headers.insert(header::HOST, "evil/x?y".parse().unwrap());
        headers.insert("x-forwarded-proto", "javascript".parse().unwrap());
        assert_eq!(
            base_url(&headers, &connection, ""),
            "http://127.0.0.1:9204/"
        );
    }
}
