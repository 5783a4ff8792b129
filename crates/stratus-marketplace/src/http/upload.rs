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
//!
//! With `validate.email=true`, a document that passes every check and is
//! not whitelisted ([`crate::whitelist`]) is kept in the store as pending
//! and its endorser is mailed the confirmation links (§2.2 step 7): `202
//! Accepted`. When the mail cannot be sent the upload stays pending, the
//! failure is logged, and the answer (still 202) says so.

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
use crate::document::{Accepted, Refusal};
use crate::store::{Order, Pending, Put, StoreError};
use crate::whitelist::Verdict;

/// The 202 text (Appendix A).
const CONFIRMATION_SENT: &str = "confirmation email sent for new metadata entry\n";

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
    let peer = context.connection.peer;
    let accepted = blocking(move || {
        checker
            .check(&bytes, "uploaded document")
            .map_err(|refusal| {
                tracing::info!(%peer, "upload refused: {refusal}");
                match refusal {
                    Refusal::NotXml(_) | Refusal::Invalid(_) => {
                        ApiError::bad_request(refusal.to_string())
                    }
                }
            })
    })
    .await?;
    if state.options.validate_email {
        let whitelisted = match &state.whitelist {
            Some(whitelist) => {
                let whitelist = whitelist.clone();
                let document = accepted.document.clone();
                match blocking(move || Ok(whitelist.check(&document))).await? {
                    Verdict::Whitelisted => true,
                    Verdict::NotWhitelisted(reason) => {
                        tracing::info!(%peer, "upload not whitelisted: {reason}");
                        false
                    }
                }
            }
            None => false,
        };
        if !whitelisted {
            return hold(state, context, accepted).await;
        }
    }
    let store = state.store.clone();
    let key = blocking(move || {
        let key = accepted.entry.key.clone();
        match store.put(accepted.entry, accepted.document, Order::NewerOnly) {
            Ok(put) => {
                let what = match put {
                    Put::Created => "stored",
                    Put::Replaced => "replaced",
                    Put::Unchanged => "unchanged",
                };
                tracing::info!(%peer, "upload {what}: {key}");
                Ok(key)
            }
            Err(StoreError::Older) => Err(older(&key, peer)),
            Err(other) => Err(other.into()),
        }
    })
    .await?;
    Ok(created(&context, &key, "Upload", "metadata entry created"))
}

fn older(key: &crate::entry::Key, peer: std::net::SocketAddr) -> ApiError {
    tracing::info!(%peer, "upload refused: older than latest entry: {key}");
    ApiError::bad_request("invalid metadata: older than latest entry")
}

/// `201 Created` with the entry's `Location` and `text` (plain, or the
/// HTML status page titled `title` with a link to the entry).
pub fn created(context: &Context, key: &crate::entry::Key, title: &str, text: &str) -> Response {
    let path = super::entry_path(key);
    let location = format!("{}{path}", context.base_url);
    let mut response = if context.html_first() {
        crate::pages::status(
            StatusCode::CREATED,
            context,
            title,
            text,
            Some((&path, "Open the entry")),
        )
    } else {
        message(StatusCode::CREATED, false, title, text)
    };
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

/// Keep a checked upload as pending and mail its endorser (§2.2 step 7).
async fn hold(state: AppState, context: Context, accepted: Accepted) -> Result<Response, ApiError> {
    let Some(mailer) = state.mailer.clone() else {
        return Err(ApiError::internal("error sending confirmation email"));
    };
    let key = accepted.entry.key.clone();
    if mailer.check_address(&key.email).is_err() {
        return Err(ApiError::bad_request(format!(
            "invalid metadata: the endorser e-mail '{}' cannot receive the confirmation mail",
            key.email
        )));
    }
    let received = crate::document::now();
    let now = crate::document::now_seconds();
    let lifetime = i64::try_from(state.options.pending_for.as_secs()).unwrap_or(i64::MAX);
    let pending = Pending {
        id: uuid::Uuid::new_v4().to_string(),
        entry: accepted.entry,
        document: accepted.document,
        received,
        expires: crate::document::format_time(now.saturating_add(lifetime)),
    };
    let id = pending.id.clone();
    let deprecating = pending
        .entry
        .fields
        .deprecated
        .as_deref()
        .is_some_and(|d| !d.is_empty());
    let store = state.store.clone();
    let peer = context.connection.peer;
    let check_key = key.clone();
    blocking(
        move || match store.latest_created(&check_key.identifier, &check_key.email)? {
            Some(latest) if check_key.created < latest => Err(older(&check_key, peer)),
            _ => Ok(store.put_pending(pending)?),
        },
    )
    .await?;
    let body = crate::mail::confirmation(
        &context.base_url,
        &id,
        &key.identifier,
        &key.created,
        deprecating,
    );
    let to = key.email.clone();
    let sent = tokio::task::spawn_blocking(move || mailer.send(&to, body))
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?;
    let text = match sent {
        Ok(()) => {
            tracing::info!(%peer, "upload pending confirmation {id}: {key}, mail sent to {}", key.email);
            CONFIRMATION_SENT.to_string()
        }
        Err(error) => {
            tracing::error!(%peer, "upload pending confirmation {id}: {key}: the confirmation mail to {} could not be sent: {error}", key.email);
            format!(
                "metadata entry awaits confirmation, but the confirmation email could not be sent \
                 (the reason is in the server's log); the upload stays pending until {}\n",
                crate::document::format_time(now.saturating_add(lifetime))
            )
        }
    };
    Ok(if context.html_first() {
        crate::pages::status(StatusCode::ACCEPTED, &context, "Upload", &text, None)
    } else {
        message(StatusCode::ACCEPTED, false, "Upload", &text)
    })
}
