//! `GET /action/{uuid}/{command}[/…]`: the links of the confirmation mail
//! (marketplace.md §2.11), with its recommendations: confirm checks
//! "older than latest" again and commits in one store transaction, the
//! `Location` is the entry's real URL, and a pending upload past its
//! lifetime (`upload.pending.hours`, 48 by default) cannot be confirmed.
//!
//! - `confirm`: 201 `metadata entry created\n`; a second click: 404.
//! - `abort`: 200 `aborted addition of metadata entry <uuid>\n`.
//! - `abuse`: the administrator is mailed; 200; the upload stays pending.
//! - any other command: 204.
//! - on a replica (`marketplace.type=replica`), confirm and abort: 403
//!   (a replica takes no uploads, so it has none pending).
//! - fewer than two segments: 404 `invalid action: <URL>`.
//!
//! GET and HEAD only (the links are clicked in a mail client).

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::context::Context;
use super::params::decode_segment;
use super::response::{message, ApiError};
use super::{blocking, upload, AppState};
use crate::store::Confirmed;

/// The `/action` handler.
pub async fn get(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    request: Request,
) -> Result<Response, ApiError> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "The method specified in the request is not allowed for the resource identified by the request URI",
        )
        .into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return Ok(response);
    }
    let path = request.uri().path().to_string();
    let mut parts = path.split('/').filter(|s| !s.is_empty()).skip(1);
    let (Some(id), Some(command)) = (parts.next(), parts.next()) else {
        return Err(ApiError::not_found(format!(
            "invalid action: {}{}",
            context.base_url,
            path.trim_start_matches('/')
        )));
    };
    let id = decode_segment(id)?;
    let command = decode_segment(command)?;
    let html = context.html_first();
    let gone = |id: &str| {
        ApiError::not_found(format!(
            "no upload {id} awaits confirmation (it was confirmed or aborted already, or has expired)"
        ))
    };
    if state.options.replica && matches!(command.as_str(), "confirm" | "abort") {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "read-only repository: this Marketplace is a replica (marketplace.type=replica) and takes no uploads",
        ));
    }
    let now = crate::document::now();
    let store = state.store.clone();
    match command.as_str() {
        "confirm" => {
            let lookup = id.clone();
            let outcome = blocking(move || Ok(store.confirm_pending(&lookup, &now)?)).await?;
            match outcome {
                Confirmed::Committed(key, _) => {
                    tracing::info!("confirmed upload {id}: {key}");
                    Ok(upload::created(
                        &context,
                        &key,
                        "Confirm",
                        "metadata entry created\n",
                    ))
                }
                Confirmed::NotFound => Err(gone(&id)),
                Confirmed::Expired => Err(ApiError::not_found(format!(
                    "upload {id} has expired before it was confirmed; upload the document again"
                ))),
                Confirmed::Older => Err(ApiError::bad_request(
                    "invalid metadata: older than latest entry",
                )),
            }
        }
        "abort" => {
            let lookup = id.clone();
            if !blocking(move || Ok(store.abort_pending(&lookup)?)).await? {
                return Err(gone(&id));
            }
            tracing::info!("aborted upload {id}");
            let text = format!("aborted addition of metadata entry {id}\n");
            Ok(respond(StatusCode::OK, &context, html, "Abort", &text))
        }
        "abuse" => {
            let lookup = id.clone();
            let pending = blocking(move || Ok(store.pending(&lookup, &now)?))
                .await?
                .ok_or_else(|| gone(&id))?;
            let Some(mailer) = state.mailer.clone() else {
                return Err(ApiError::internal("no mail server is configured"));
            };
            let body = crate::mail::abuse(
                &id,
                &pending.entry.key.to_string(),
                &context.connection.peer.ip().to_string(),
            );
            let admin = mailer.admin().to_string();
            let admin_address = admin.clone();
            let sent = tokio::task::spawn_blocking(move || mailer.send(&admin, body))
                .await
                .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?;
            if let Err(error) = sent {
                // The mail server's answer stays in the log: it names hosts
                // and accounts the reporter has no business knowing.
                tracing::error!("abuse report for upload {id}: the mail to {admin_address} could not be sent: {error}");
                return Err(ApiError::internal(
                    "the administrators could not be notified (the reason is in the server's log)",
                ));
            }
            tracing::warn!("abuse reported for upload {id}: {}", pending.entry.key);
            let text = "administrators have been notified of the problem and may contact you during the investigation\n";
            Ok(respond(StatusCode::OK, &context, html, "Abuse", text))
        }
        _ => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}

fn respond(status: StatusCode, context: &Context, html: bool, title: &str, text: &str) -> Response {
    if html {
        crate::pages::status(status, context, title, text, None)
    } else {
        message(status, false, title, text)
    }
}
