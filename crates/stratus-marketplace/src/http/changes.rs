//! `GET /changes?since=N&limit=M`: the change feed other Marketplaces
//! follow (docs/REPLICATION.md).
//!
//! The entries written after revision `since` (default 0), oldest first,
//! at most `limit` of them (default [`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]) and at most about [`MAX_PAGE_BYTES`] of documents (one
//! entry at least), each key once at the revision of its last write; as
//! XML (the default) or JSON, negotiated like the listings. A bad
//! parameter is 400 naming it.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::context::Context;
use super::negotiate::{choose, Variant};
use super::params::Pairs;
use super::response::ApiError;
use super::{blocking, AppState};
use crate::feed::{self, FeedEntry, Page};

/// The entries of a page when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 100;
/// The most entries of a page.
pub const MAX_LIMIT: usize = 1000;
/// The documents of a page stop once they pass this size (so that a page
/// of large documents stays a bounded answer).
pub const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// The `/changes` handler.
pub async fn get(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = Pairs::parse(query.unwrap_or_default().as_bytes());
    let since = parameter(&pairs, "since", 0, u64::MAX)?;
    let limit = parameter(&pairs, "limit", DEFAULT_LIMIT as u64, MAX_LIMIT as u64)?;
    let limit = usize::try_from(limit).unwrap_or(MAX_LIMIT);
    if limit == 0 {
        return Err(ApiError::bad_request(format!(
            "invalid parameter 'limit': expected an integer from 1 to {MAX_LIMIT}, got '0'"
        )));
    }
    let variant = choose(&context.accept, &[Variant::Xml, Variant::Json]);
    let store = state.store.clone();
    let page = blocking(move || page(store.as_ref(), since, limit)).await?;
    let (body, content_type) = match variant {
        Variant::Json => (feed::write_json(&page), "application/json; charset=UTF-8"),
        _ => (feed::write_xml(&page), "application/xml; charset=UTF-8"),
    };
    Ok((StatusCode::OK, [(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// The last value of `name` as an integer up to `max`, else `default`.
fn parameter(pairs: &Pairs, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
    let Some(text) = pairs.last(name) else {
        return Ok(default);
    };
    let expected = if max == u64::MAX {
        "a non-negative integer".to_string()
    } else {
        format!("an integer from 1 to {max}")
    };
    let shown: String = text.chars().take(64).collect();
    let invalid = || {
        ApiError::bad_request(format!(
            "invalid parameter '{name}': expected {expected}, got '{shown}'"
        ))
    };
    let all_digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    if !all_digits {
        return Err(invalid());
    }
    match text.parse::<u64>() {
        Ok(value) if value <= max => Ok(value),
        _ => Err(invalid()),
    }
}

/// The documents of a page are read this many at a time (one round trip
/// on PostgreSQL), so that a page of large documents reads little past
/// its size bound.
const READ_BATCH: usize = 32;

/// One page of the feed from the store.
fn page(store: &dyn crate::store::Store, since: u64, limit: usize) -> Result<Page, ApiError> {
    // One more than asked, to tell whether more follow.
    let mut changes = store.changes_since(since, limit + 1)?;
    let mut more = changes.len() > limit;
    changes.truncate(limit);
    let mut entries: Vec<FeedEntry> = Vec::with_capacity(changes.len());
    let mut bytes = 0usize;
    let mut next = since;
    'batches: for batch in changes.chunks(READ_BATCH) {
        // A document read now may be a later write of the key than the
        // revision says: it is served again at that later revision.
        let documents = read_documents(store, batch)?;
        for (change, document) in batch.iter().zip(documents) {
            if !entries.is_empty() && bytes >= MAX_PAGE_BYTES {
                more = true;
                break 'batches;
            }
            next = change.revision;
            let Some(document) = document else {
                continue;
            };
            bytes += document.len();
            entries.push(FeedEntry {
                sequence: change.revision,
                claimed_key: change.key.to_string(),
                document,
            });
        }
    }
    let revision = store.revision()?.max(next);
    Ok(Page {
        since,
        next,
        more,
        revision,
        entries,
    })
}

/// The documents of `batch`, in order, `None` for a key with none: one
/// [`crate::store::Store::documents`] call, or one call per key when some
/// are missing (that call skips them, so the answer cannot be paired).
fn read_documents(
    store: &dyn crate::store::Store,
    batch: &[crate::store::Change],
) -> Result<Vec<Option<Vec<u8>>>, ApiError> {
    let keys: Vec<crate::entry::Key> = batch.iter().map(|c| c.key.clone()).collect();
    let documents = store.documents(&keys)?;
    if documents.len() == keys.len() {
        return Ok(documents.into_iter().map(Some).collect());
    }
    let mut one_by_one = Vec::with_capacity(keys.len());
    for key in &keys {
        one_by_one.push(store.document(key)?);
    }
    Ok(one_by_one)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Entry, Fields, Key};
    use crate::store::sqlite::SqliteStore;
    use crate::store::{Order, Store};

    fn put(store: &SqliteStore, created: &str, size: usize) {
        let entry = Entry {
            key: Key::new("a", "jane@example.org", created).unwrap(),
            endorsed: true,
            fields: Fields::default(),
        };
        store.put(entry, vec![b'x'; size], Order::Any).unwrap();
    }

    #[test]
    fn a_page_stops_once_its_documents_pass_the_size_bound() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        let big = MAX_PAGE_BYTES / 2 + 1;
        for created in [
            "2014-01-01T00:00:00Z",
            "2014-01-02T00:00:00Z",
            "2014-01-03T00:00:00Z",
        ] {
            put(&store, created, big);
        }
        let first = page(&store, 0, 10).unwrap();
        assert_eq!(first.entries.len(), 2);
        assert_eq!((first.next, first.more, first.revision), (2, true, 3));
        let second = page(&store, first.next, 10).unwrap();
        assert_eq!(second.entries.len(), 1);
        assert_eq!((second.next, second.more), (3, false));
        // Past the end, the cursor stays where it was asked.
        let empty = page(&store, 7, 10).unwrap();
        assert_eq!((empty.entries.len(), empty.next, empty.more), (0, 7, false));
    }
}
