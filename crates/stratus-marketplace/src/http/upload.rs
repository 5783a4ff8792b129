//! `POST /metadata[/{arg1}[/{arg2}]][/]` (marketplace.md §2.2, §2.3).
//!
//! By content type:
//! - `application/xml`, `application/rdf+xml`, `text/xml`: the signed
//!   document itself;
//! - `multipart/form-data`: the first part with a file name;
//! - `application/x-www-form-urlencoded`: not an upload but a DataTables
//!   query (the form replaces the query string; the JSON listing answers);
//! - anything else: 415.
//!
//! The legacy order is kept: no entity (400), replica (403), then the
//! checks of [`crate::document::Checker`], then "older than latest" and
//! the commit in one store transaction; `201 Created` with `Location` only
//! once the entry is committed. Nothing is staged on disk: the body is
//! held in memory, within the body limit.

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Extension;

use super::context::Context;
use super::negotiate::Variant;
use super::params::{segments, Pairs};
use super::response::{message, ApiError};
use super::{blocking, listing, AppState};
use crate::document::Refusal;
use crate::store::{Order, Put, StoreError};

/// What kind of body a POST carries.
enum Body {
    Document,
    Multipart,
    Form,
    Other(String),
}

fn body_kind(request: &Request) -> Body {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match essence.as_str() {
        "application/xml" | "application/rdf+xml" | "text/xml" => Body::Document,
        "multipart/form-data" => Body::Multipart,
        "application/x-www-form-urlencoded" => Body::Form,
        _ => Body::Other(essence),
    }
}

/// The POST handler of routes 3 to 5.
pub async fn post(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    request: Request,
) -> Result<Response, ApiError> {
    match body_kind(&request) {
        Body::Form => {
            let args = segments(request.uri(), 1, 2)?;
            let form = Bytes::from_request(request, &state)
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
            listing::respond(state, args, Pairs::parse(&form), Variant::Json).await
        }
        Body::Document => {
            let bytes = Bytes::from_request(request, &state)
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
            accept(state, context, bytes.to_vec()).await
        }
        Body::Multipart => {
            let multipart = Multipart::from_request(request, &state)
                .await
                .map_err(|e| ApiError::bad_request(e.body_text()))?;
            let file = first_file(multipart).await?;
            accept(state, context, file).await
        }
        Body::Other(essence) => {
            let bytes = Bytes::from_request(request, &state)
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
            if bytes.is_empty() {
                return Err(ApiError::bad_request("post with null entity"));
            }
            let shown = if essence.is_empty() {
                "no Content-Type".to_string()
            } else {
                format!("Content-Type {essence}")
            };
            Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "{shown} is not accepted: upload the document as application/xml, \
                     application/rdf+xml, text/xml or multipart/form-data"
                ),
            ))
        }
    }
}

/// The first part of a multipart form that has a file name.
async fn first_file(mut multipart: Multipart) -> Result<Vec<u8>, ApiError> {
    loop {
        let field = multipart
            .next_field()
            .await
            .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
        let Some(field) = field else {
            return Err(ApiError::bad_request("no valid file uploaded"));
        };
        if field.file_name().is_some() {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::new(e.status(), e.body_text()))?;
            return Ok(bytes.to_vec());
        }
    }
}

/// Check and commit an uploaded document.
async fn accept(state: AppState, context: Context, bytes: Vec<u8>) -> Result<Response, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("post with null entity"));
    }
    if state.options.replica {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "read-only repository"));
    }
    let checker = state.checker.clone();
    let store = state.store.clone();
    let peer = context.connection.peer;
    let key = blocking(move || {
        let accepted = checker
            .check(&bytes, "uploaded document")
            .map_err(|refusal| {
                tracing::info!(%peer, "upload refused: {refusal}");
                match refusal {
                    Refusal::NotXml(_) | Refusal::Invalid(_) => {
                        ApiError::bad_request(refusal.to_string())
                    }
                }
            })?;
        let key = accepted.entry.key.clone();
        match store.put(accepted.entry, accepted.document, Order::NewerOnly) {
            Ok(put) => {
                let what = if put == Put::Created {
                    "stored"
                } else {
                    "replaced"
                };
                tracing::info!(%peer, "upload {what}: {key}");
                Ok(key)
            }
            Err(StoreError::Older) => {
                tracing::info!(%peer, "upload refused: older than latest entry: {key}");
                Err(ApiError::bad_request(
                    "invalid metadata: older than latest entry",
                ))
            }
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    let location = format!(
        "{}metadata/{}/{}/{}",
        context.base_url,
        super::encode_segment(&key.identifier),
        super::encode_segment(&key.email),
        super::encode_segment(&key.created)
    );
    let mut response = message(
        StatusCode::CREATED,
        context.html_first(),
        "Upload",
        "metadata entry created",
    );
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}
