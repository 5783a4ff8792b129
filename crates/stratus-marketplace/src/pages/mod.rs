//! The pages people browse: server-rendered HTML from compiled askama
//! templates (`templates/`), served as the HTML variants of the API's own
//! routes (marketplace.md §1.4), so a browser and a script see the same
//! URLs.
//!
//! - Every value from a document or a request goes through askama's HTML
//!   escaping (the templates never mark a value safe); links are built
//!   from percent-encoded key parts, and a location becomes a link only
//!   when it is `http`, `https` or `ftp`.
//! - Every HTML response carries a Content-Security-Policy that allows
//!   only this server's own style sheet and script (no inline script or
//!   style, no other origin), forbids framing and keeps forms and `<base>`
//!   on this origin ([`secure`]).
//! - The pages work without JavaScript: the list's search, filters,
//!   sorting and paging are GET forms and links; the one script
//!   ([`script`]) only submits a filter form when a select changes.
//!
//! [`listing`] and [`entry`] hold the two pages sites care most about;
//! [`other`] the endorser, upload and query pages.

pub mod entry;
pub mod listing;
pub mod other;

use askama::Template;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::http::context::Context;

pub use other::{endorsers, history, query, tags, upload_form};

/// The policy of every HTML response: nothing but this server's own
/// style sheet, script and images; no plugins, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'self'; \
     script-src 'self'; img-src 'self'; form-action 'self'; base-uri 'self'; \
     frame-ancestors 'none'";

/// What every page's layout needs.
#[derive(Debug, Clone)]
pub struct PageInfo {
    /// The base URL (`<base href>`), ending in `/`.
    pub base: String,
    /// The page title.
    pub title: String,
    /// The navigation entry to mark current.
    pub section: &'static str,
}

impl PageInfo {
    /// The layout of a page titled `title` in `section`.
    pub fn new(context: &Context, title: impl Into<String>, section: &'static str) -> Self {
        PageInfo {
            base: context.base_url.clone(),
            title: title.into(),
            section,
        }
    }
}

/// Add the security headers of an HTML page.
pub fn secure(headers: &mut HeaderMap) {
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
}

/// Render `template` as an HTML response with `status`.
pub fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(body) => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            body,
        )
            .into_response(),
        Err(error) => {
            tracing::error!("a page failed to render: {error}");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
                "a page failed to render",
            )
                .into_response()
        }
    }
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage<'a> {
    page: PageInfo,
    text: &'a str,
    kind: &'static str,
    link: Option<(&'a str, &'a str)>,
}

/// The status page of a success message (upload, confirm, abort, abuse),
/// titled `title`, with an optional link (relative to the base URL).
pub fn status(
    status: StatusCode,
    context: &Context,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let kind = if status.is_success() { "good" } else { "bad" };
    render(
        status,
        &StatusPage {
            page: PageInfo::new(context, title, ""),
            text,
            kind,
            link,
        },
    )
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    base: &'a str,
}

/// The home page (§2.13): sends browsers on to the image list.
pub fn home(context: &Context) -> Response {
    render(
        StatusCode::OK,
        &Home {
            base: &context.base_url,
        },
    )
}

/// `css/stratus.css`.
pub async fn style_sheet() -> Response {
    asset(
        "text/css; charset=UTF-8",
        include_str!("../../assets/stratus.css"),
    )
}

/// `js/stratus.js`.
pub async fn script() -> Response {
    asset(
        "text/javascript; charset=UTF-8",
        include_str!("../../assets/stratus.js"),
    )
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// A link for a location: only `http`, `https` and `ftp` URLs become
/// links (a `javascript:` or `data:` location stays text).
pub fn location_link(location: &str) -> Option<String> {
    let lower = location.trim_start().to_ascii_lowercase();
    ["http://", "https://", "ftp://"]
        .iter()
        .any(|scheme| lower.starts_with(scheme))
        .then(|| location.trim().to_string())
}

/// Form-encode `pairs` as a query string.
pub fn query_string<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        serializer.append_pair(name, value);
    }
    serializer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_web_locations_become_links() {
        assert_eq!(
            location_link("https://example.org/a.img").as_deref(),
            Some("https://example.org/a.img")
        );
        assert_eq!(location_link("javascript:alert(1)"), None);
        assert_eq!(location_link(" JavaScript:alert(1)"), None);
        assert_eq!(location_link("pdisk:host:1234"), None);
    }

    #[test]
    fn templates_escape_what_they_show() {
        let context = Context {
            accept: Vec::new(),
            style: crate::http::negotiate::Style::Html,
            base_url: "http://h/".into(),
            connection: crate::http::context::Connection {
                peer: "127.0.0.1:1".parse().unwrap(),
                local: "127.0.0.1:2".parse().unwrap(),
                tls: false,
            },
            proxied: false,
        };
        let page = StatusPage {
            page: PageInfo::new(&context, "<t>", ""),
            text: "<script>alert(1)</script>",
            kind: "good",
            link: None,
        };
        let html = page.render().unwrap();
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(
            html.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
                || html.contains("&lt;script&gt;"),
            "{html}"
        );
    }
}
