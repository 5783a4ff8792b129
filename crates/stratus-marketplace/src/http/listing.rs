//! `GET /metadata[/{arg1}[/{arg2}]][/]`: the listing (marketplace.md §2.1,
//! §4.2, §4.3), as the XML of the stored documents or as the DataTables
//! JSON, and the same listing for a POSTed DataTables form (§2.3).
//!
//! Path segments and the `identifier`, `email` and `created` query values
//! are filters classified by their shape, not by their name or position.

use std::io::Write;

use axum::extract::{RawQuery, State};
use axum::http::Uri;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Serialize;

use super::context::Context;
use super::negotiate::{choose, Variant};
use super::params::{segments, shape, Pairs, Shape};
use super::response::ApiError;
use super::{blocking, entry, AppState};
use crate::document::DECLARATION;
use crate::store::query::{Column, LocationFilter, Matcher, Paging, Sort, StatusFilter};
use crate::store::{ListQuery, Listing};

/// The legacy `rMsg` (sic: also on success) and the 404 description.
const NO_MATCH: &str = "no metadata matching query found";
/// The most terms of a global search.
const MAX_SEARCH_TERMS: usize = 32;

/// `GET` on routes 3 to 5 (and route 1: `/metadata/{email}?tag=…`).
pub async fn get(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let args = segments(&uri, 1, 2)?;
    let pairs = Pairs::parse(query.unwrap_or_default().as_bytes());
    if let ([email], Some(tag)) = (args.as_slice(), pairs.last("tag")) {
        return entry::by_tag(state, context, email.clone(), tag.to_string()).await;
    }
    let variant = choose(
        &context.accept,
        &[Variant::Xml, Variant::Json, Variant::Html],
    );
    if variant == Variant::Html {
        return crate::pages::listing::page(state, context, args, pairs).await;
    }
    respond(state, args, pairs, variant).await
}

/// The listing of `args` and `pairs` as `variant`.
pub async fn respond(
    state: AppState,
    args: Vec<String>,
    pairs: Pairs,
    variant: Variant,
) -> Result<Response, ApiError> {
    let query = build_query(&args, &pairs);
    let store = state.store.clone();
    // A listing already at hand, with its documents in memory, costs no
    // thread hand-off; anything else runs on the blocking pool.
    let ready = store.list_now(&query).transpose()?;
    if variant == Variant::Json {
        let echo = pairs
            .last("sEcho")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let listing = match ready {
            Some(listing) => listing,
            None => blocking(move || Ok(store.list(&query)?)).await?,
        };
        return Ok(json_response(&listing, echo));
    }
    let keys_of = |listing: &crate::store::Listing| -> Vec<_> {
        listing.rows.iter().map(|e| e.key.clone()).collect()
    };
    let in_memory = ready
        .as_ref()
        .and_then(|listing| store.documents_now(&keys_of(listing)))
        .transpose()?;
    let documents = match in_memory {
        Some(documents) => documents,
        None => {
            blocking(move || {
                let listing = store.list(&query)?;
                Ok(store.documents(&keys_of(&listing))?)
            })
            .await?
        }
    };
    if documents.is_empty() {
        return Err(ApiError::not_found(NO_MATCH));
    }
    Ok(xml_response(&documents))
}

/// The query of §4.2 from the route variables and the parameters.
pub fn build_query(args: &[String], pairs: &Pairs) -> ListQuery {
    let mut query = ListQuery::new(crate::document::now());
    let values = args.iter().map(String::as_str).chain(
        ["identifier", "email", "created"]
            .iter()
            .filter_map(|n| pairs.last(n)),
    );
    for value in values {
        if value.is_empty() || value == "null" {
            continue;
        }
        let list = match shape(value) {
            Shape::Email => &mut query.emails,
            Shape::Date => &mut query.created,
            Shape::Identifier => &mut query.identifiers,
        };
        list.push(value.to_string());
    }
    query.status = StatusFilter::parse(pairs.last("status"));
    query.location = LocationFilter::parse(pairs.last("location"));
    if let Some(search) = pairs.last("sSearch") {
        query.search = search
            .split(' ')
            .filter(|t| !t.is_empty())
            .take(MAX_SEARCH_TERMS)
            .map(Matcher::new)
            .collect();
    }
    for index in 1..=5 {
        if let Some(text) = pairs
            .last(&format!("sSearch_{index}"))
            .filter(|t| !t.is_empty())
        {
            let column = Column::from_index(index).expect("columns 1 to 5 exist");
            query.column_search.push((column, Matcher::new(text)));
        }
    }
    let number = |name: &str| pairs.last(name).and_then(|v| v.trim().parse::<i64>().ok());
    if let Some(column) = number("iSortCol_0")
        .and_then(|i| usize::try_from(i).ok())
        .and_then(Column::from_index)
    {
        query.sort = Sort {
            column,
            descending: pairs.last("sSortDir_0").map(str::trim) != Some("asc"),
        };
    }
    if let (Some(start), Some(length)) = (number("iDisplayStart"), number("iDisplayLength")) {
        query.paging = Some(Paging {
            start: usize::try_from(start.max(0)).unwrap_or(usize::MAX),
            length: usize::try_from(length).ok(),
        });
    }
    query
}

/// `<metadata>` holding each stored document without its declaration.
fn xml_response(documents: &[Vec<u8>]) -> Response {
    let size = documents.iter().map(Vec::len).sum::<usize>() + 128;
    let mut body = Vec::with_capacity(size);
    body.extend_from_slice(DECLARATION.as_bytes());
    body.extend_from_slice(b"<metadata>");
    for document in documents {
        let content = document
            .strip_prefix(DECLARATION.as_bytes())
            .unwrap_or(document);
        body.extend_from_slice(content);
        if !content.ends_with(b"\n") {
            body.push(b'\n');
        }
    }
    body.extend_from_slice(b"</metadata>");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
        body,
    )
        .into_response()
}

/// The DataTables object of §2.1, written directly (a few rows, every
/// string through the legacy escaping).
fn json_response(listing: &Listing, echo: i64) -> Response {
    let (total, display) = if listing.rows.is_empty() && listing.display_records == 0 {
        (0, 0)
    } else {
        (listing.total_records, listing.display_records)
    };
    let mut out = Vec::with_capacity(256 + listing.rows.len() * 256);
    let _ = write!(out, "{{\"iTotalDisplayRecords\":{display},\"rMsg\":");
    write_json_string(&mut out, NO_MATCH);
    let _ = write!(out, ",\"iTotalRecords\":{total},\"aaData\":[");
    for (i, entry) in listing.rows.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"[\"\"");
        for column in Column::ALL {
            out.push(b',');
            write_json_string(&mut out, column.value(entry).unwrap_or("null"));
        }
        out.push(b']');
    }
    let _ = write!(out, "],\"sEcho\":{echo}}}");
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json; charset=UTF-8")],
        out,
    )
        .into_response()
}

/// A JSON string literal with `/` written `\/`.
fn write_json_string(out: &mut Vec<u8>, text: &str) {
    let mut serializer = serde_json::Serializer::with_formatter(out, SlashEscaping);
    text.serialize(&mut serializer)
        .expect("a string serializes into memory");
}

/// JSON text with `/` written `\/`, as the legacy json-simple did.
pub fn to_json(value: &serde_json::Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, SlashEscaping);
    value
        .serialize(&mut serializer)
        .expect("a JSON value serializes into memory");
    out
}

/// serde_json's compact formatter, escaping `/` as well.
struct SlashEscaping;

impl serde_json::ser::Formatter for SlashEscaping {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut parts = fragment.split('/');
        if let Some(first) = parts.next() {
            writer.write_all(first.as_bytes())?;
        }
        for part in parts {
            writer.write_all(b"\\/")?;
            writer.write_all(part.as_bytes())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slashes_are_escaped() {
        let value = serde_json::json!(["http://x/y", "a\"b"]);
        assert_eq!(to_json(&value), br#"["http:\/\/x\/y","a\"b"]"#);
    }

    #[test]
    fn filters_are_classified_by_shape() {
        let pairs = Pairs::parse(b"identifier=jane@example.org&created=null&status=all");
        let query = build_query(&["BEE8".into(), "2014-03-08T14:10:40Z".into()], &pairs);
        assert_eq!(query.identifiers, ["BEE8"]);
        assert_eq!(query.emails, ["jane@example.org"]);
        assert_eq!(query.created, ["2014-03-08T14:10:40Z"]);
        assert_eq!(query.status, StatusFilter::Any);
    }

    #[test]
    fn bad_paging_and_sorting_values_are_ignored() {
        let pairs = Pairs::parse(b"iDisplayStart=x&iDisplayLength=10&iSortCol_0=0");
        let query = build_query(&[], &pairs);
        assert_eq!(query.paging, None);
        assert_eq!(query.sort, Sort::default());
        let pairs = Pairs::parse(b"iDisplayStart=5&iDisplayLength=-1&iSortCol_0=1&sSortDir_0=asc");
        let query = build_query(&[], &pairs);
        assert_eq!(
            query.paging,
            Some(Paging {
                start: 5,
                length: None
            })
        );
        assert_eq!(
            query.sort,
            Sort {
                column: Column::Os,
                descending: false
            }
        );
    }
}
