//! `POST /sync[/]` (marketplace.md §2.12): index documents that a script
//! (the legacy `marketplace-sync`, rsync from a master) put in the data
//! directory in the legacy layout.
//!
//! - Form field `path=<identifier>/<email>/<created>`: that file; 202
//!   `synced metadata entry`, or 500 `unable to sync metadata entry`.
//! - No `path`: every key listed in `<data.dir>/.sync`; 200 `sync list
//!   processed`, 500 `unable to process sync list` when any failed, 202
//!   `no sync list to process` when there is no list.
//!
//! Unlike legacy, every file is checked like an upload (signature,
//! constraints, RDF/XML, trust when configured) and must hold the key it
//! is filed under; the route answers only connections from the loopback
//! interface that did not come through a proxy, and only when
//! `sync.enabled` is not `false`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

use super::context::Context;
use super::params::Pairs;
use super::response::{message, ApiError};
use super::{blocking, AppState};
use crate::entry::Key;
use crate::store::layout;
use crate::store::Order;

/// The largest `.sync` list read.
const MAX_LIST_BYTES: u64 = 16 * 1024 * 1024;

/// The `/sync` handler.
pub async fn post(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    form: Bytes,
) -> Result<Response, ApiError> {
    if !state.options.sync_enabled {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sync is disabled on this server (sync.enabled=false)",
        ));
    }
    if !context.connection.peer.ip().is_loopback() || context.proxied {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "sync is only accepted from the local host",
        ));
    }
    let pairs = Pairs::parse(&form);
    let html = context.html_first();
    match pairs.first("path").map(str::to_string) {
        Some(path) => {
            let done = blocking(move || Ok(sync_one(&state, &path))).await?;
            if done {
                Ok(message(
                    StatusCode::ACCEPTED,
                    html,
                    "Sync",
                    "synced metadata entry",
                ))
            } else {
                Err(ApiError::internal("unable to sync metadata entry"))
            }
        }
        None => {
            let outcome = blocking(move || Ok(sync_list(&state))).await?;
            match outcome {
                None => Ok(message(
                    StatusCode::ACCEPTED,
                    html,
                    "Sync",
                    "no sync list to process",
                )),
                Some(true) => Ok(message(StatusCode::OK, html, "Sync", "sync list processed")),
                Some(false) => Err(ApiError::internal("unable to process sync list")),
            }
        }
    }
}

/// Index the file of one key; whether it worked (failures are logged).
fn sync_one(state: &AppState, path: &str) -> bool {
    let result = (|| -> Result<(), String> {
        let key = Key::parse(path.trim()).map_err(|e| e.to_string())?;
        let file = layout::sync_file(&state.options.data_dir, &key)
            .ok_or_else(|| "no such file in the data directory".to_string())?;
        let bytes = read_limited(&file, state.options.max_body_bytes)?;
        let accepted = state
            .checker
            .check(&bytes, &file.display().to_string())
            .map_err(|r| r.to_string())?;
        if accepted.entry.key != key {
            return Err(format!("the document's key is {}", accepted.entry.key));
        }
        state
            .store
            .put(accepted.entry, accepted.document, Order::Any)
            .map_err(|e| e.to_string())?;
        Ok(())
    })();
    match result {
        Ok(()) => {
            tracing::info!("sync: indexed {path}");
            true
        }
        Err(reason) => {
            tracing::warn!("sync: {path}: {reason}");
            false
        }
    }
}

/// Index every key of `.sync`: `None` without a list, else whether all
/// of them worked.
fn sync_list(state: &AppState) -> Option<bool> {
    let path = state.options.data_dir.join(layout::SYNC_LIST);
    if !path.is_file() {
        return None;
    }
    let text = match read_limited(&path, MAX_LIST_BYTES).map(String::from_utf8) {
        Ok(Ok(text)) => text,
        Ok(Err(_)) | Err(_) => {
            tracing::warn!("sync: {} is unreadable or not UTF-8", path.display());
            return Some(false);
        }
    };
    let mut all = true;
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        all &= sync_one(state, line);
    }
    Some(all)
}

fn read_limited(path: &std::path::Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > limit {
        return Err(format!("{}: larger than {limit} bytes", path.display()));
    }
    Ok(bytes)
}
