//! Responses shared by every route: the error type of the handlers, the
//! legacy "status service" that gives every error (raised here or by the
//! framework: 405, 413, 408…) a body in the style of the first `Accept`
//! entry (marketplace.md §1.5), the 200-with-empty-body → 204 rule (§1.6),
//! and the plain-text-or-HTML success messages (Appendix A).

use axum::body::Body;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::negotiate::Style;

/// The description of an error, carried from the handler to the status
/// service as a response extension.
#[derive(Debug, Clone)]
pub struct Description(pub String);

/// What the server logs about a failure, with the request, and never
/// sends to the client (a database's message names users and hosts),
/// carried from the handler to the pre-routing middleware as a response
/// extension.
#[derive(Debug, Clone)]
pub struct Detail(pub String);

/// The body of a 503 when the database cannot be reached.
pub const UNAVAILABLE: &str = "the database is unavailable, try again later";

/// The body of a 500 raised by the store.
pub const INTERNAL: &str = "the server could not complete the request (an internal error, logged)";

/// A handler's failure: a status and the legacy description.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The status.
    pub status: StatusCode,
    /// The description (Appendix A wording).
    pub description: String,
    /// What is logged with the request and not sent.
    pub detail: Option<String>,
}

impl ApiError {
    /// An error with `status` and `description`.
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        ApiError {
            status,
            description: description.into(),
            detail: None,
        }
    }

    /// 400.
    pub fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, description)
    }

    /// 404.
    pub fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, description)
    }

    /// 500, logged.
    pub fn internal(description: impl Into<String>) -> Self {
        let description = description.into();
        tracing::error!("{description}");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, description)
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(error: crate::store::StoreError) -> Self {
        // The driver's text (users, hosts, SQL) is logged, not sent.
        let (status, description) = match error {
            // The database is down or restarting: say so, the client may
            // retry; nothing was acknowledged.
            crate::store::StoreError::Unavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE)
            }
            _ => (StatusCode::INTERNAL_SERVER_ERROR, INTERNAL),
        };
        ApiError {
            status,
            description: description.to_string(),
            detail: Some(format!("store error: {error}")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response
            .extensions_mut()
            .insert(Description(self.description));
        if let Some(detail) = self.detail {
            response.extensions_mut().insert(Detail(detail));
        }
        response
    }
}

/// The standard description of a status the framework raised (Restlet's
/// wording, which legacy clients saw).
fn standard_description(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "The request could not be understood by the server due to malformed syntax",
        403 => "The server understood the request, but is refusing to fulfill it",
        404 => "The server has not found anything matching the request URI",
        405 => "The method specified in the request is not allowed for the resource identified by the request URI",
        408 => "The client did not produce a request within the time that the server was prepared to wait",
        411 => "The server refuses to accept the request without a defined content length",
        413 => "The server is refusing to process a request because the request entity is larger than the server is willing or able to process",
        414 => "The server is refusing to service the request because the request URI is longer than the server is willing to interpret",
        415 => "The server is refusing to service the request because the entity of the request is in a format not supported by the requested resource for the requested method",
        500 => "The server encountered an unexpected condition which prevented it from fulfilling the request",
        501 => "The server does not support the functionality required to fulfill the request",
        503 => "The server is currently unable to handle the request due to a temporary overloading or maintenance of the server",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

/// XML-escape text (element content and attribute values).
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// A JSON string literal of `text`.
pub fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// The legacy `status.ftl` page: the title and the description.
pub fn status_page(title: &str, description: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title></head>\
         <body><main><h1>{title}</h1><p>{description}</p></main></body></html>\n",
        title = xml_escape(title),
        description = xml_escape(description)
    )
}

/// The body and content type of an error in `style`.
fn error_body(style: Style, status: StatusCode, description: &str) -> (String, &'static str) {
    match style {
        Style::Xml => (
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><error>{}</error>",
                xml_escape(description)
            ),
            "application/xml",
        ),
        Style::Json => (
            format!("{{\"{}\" : {}}}", status.as_u16(), json_string(description)),
            "application/json",
        ),
        Style::Html => (
            status_page(status.canonical_reason().unwrap_or("Error"), description),
            "text/html; charset=UTF-8",
        ),
    }
}

/// The status service: give an error response its body, and turn a GET's
/// 200 with an empty body into 204.
pub fn finish(response: Response, style: Style, method: &Method) -> Response {
    let status = response.status();
    if status.is_client_error() || status.is_server_error() {
        let (mut parts, _) = response.into_parts();
        let description = parts
            .extensions
            .remove::<Description>()
            .map(|d| d.0)
            .unwrap_or_else(|| standard_description(status).to_string());
        let (body, content_type) = error_body(style, status, &description);
        parts.headers.remove(header::CONTENT_LENGTH);
        parts
            .headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if style == Style::Html {
            crate::pages::secure(&mut parts.headers);
        }
        return Response::from_parts(parts, Body::from(body));
    }
    let html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    let mut response = response;
    if html {
        crate::pages::secure(response.headers_mut());
    }
    let empty = axum::body::HttpBody::size_hint(response.body()).exact() == Some(0);
    if status == StatusCode::OK && empty && method == Method::GET {
        let (mut parts, body) = response.into_parts();
        parts.status = StatusCode::NO_CONTENT;
        parts.headers.remove(header::CONTENT_LENGTH);
        return Response::from_parts(parts, body);
    }
    response
}

/// A success message (upload, sync): `text/plain`, or the HTML status page
/// titled `title` when the first `Accept` entry is `text/html` (Appendix A).
pub fn message(status: StatusCode, html: bool, title: &str, text: &str) -> Response {
    match html {
        true => (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
            status_page(title, text),
        )
            .into_response(),
        false => (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=UTF-8")],
            text.to_string(),
        )
            .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_bodies_escape_the_description() {
        let (xml, _) = error_body(Style::Xml, StatusCode::BAD_REQUEST, "a <b> & c");
        assert_eq!(
            xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?><error>a &lt;b&gt; &amp; c</error>"
        );
        let (json, _) = error_body(
            Style::Json,
            StatusCode::NOT_FOUND,
            "metadata entry not found.\n",
        );
        assert_eq!(json, "{\"404\" : \"metadata entry not found.\\n\"}");
        let (html, _) = error_body(Style::Html, StatusCode::NOT_FOUND, "<script>");
        assert!(html.contains("<title>Not Found</title>") && html.contains("&lt;script&gt;"));
    }

    #[test]
    fn store_errors_reach_the_client_without_the_database_text() {
        use crate::store::StoreError;
        let secret = "password authentication failed for user \"stratus\" at db.internal";
        type Make = fn(String) -> StoreError;
        let cases: [(Make, _, _); 2] = [
            (
                StoreError::Unavailable,
                StatusCode::SERVICE_UNAVAILABLE,
                UNAVAILABLE,
            ),
            (
                StoreError::Database,
                StatusCode::INTERNAL_SERVER_ERROR,
                INTERNAL,
            ),
        ];
        for (error, status, description) in cases {
            let detail = ApiError::from(error(secret.into())).into_response();
            assert!(detail
                .extensions()
                .get::<Detail>()
                .unwrap()
                .0
                .contains(secret));
            for style in [Style::Xml, Style::Json, Style::Html] {
                let response = finish(
                    ApiError::from(error(secret.into())).into_response(),
                    style,
                    &Method::GET,
                );
                assert_eq!(response.status(), status);
                let body = tokio::runtime::Builder::new_current_thread()
                    .build()
                    .unwrap()
                    .block_on(axum::body::to_bytes(response.into_body(), usize::MAX))
                    .unwrap();
                let body = String::from_utf8_lossy(&body);
                assert!(body.contains(description), "{body}");
                assert!(
                    !body.contains("password") && !body.contains("db.internal"),
                    "{body}"
                );
            }
        }
    }
}
