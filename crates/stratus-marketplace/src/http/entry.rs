//! One entry: `GET /metadata/{identifier}/{email}/{created}[/]` (§2.5),
//! and the entry a tag resolves to, `GET /metadata/{email}?tag=…` and
//! `GET /tag/{email}/{tag}[/]` (§2.4).
//!
//! XML is the stored document byte for byte (`application/rdf+xml`, as an
//! attachment); JSON is the document without its signature as RDF/JSON
//! (the Talis format Jena wrote).

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::context::Context;
use super::negotiate::{choose, Variant};
use super::params::{decode_segment, segments};
use super::response::ApiError;
use super::{blocking, AppState};
use crate::entry::Key;

/// The description of a missing entry or tag (Appendix A).
const NOT_FOUND: &str = "metadata entry not found.\n";
/// The base IRI of the RDF view (§2.5).
const BASE_IRI: &str = "http://mp.stratuslab.eu/";

/// Route 6: the entry of a full key.
pub async fn get(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let parts = segments(&uri, 1, 3)?;
    let [identifier, email, created] = parts.as_slice() else {
        return Err(ApiError::not_found(NOT_FOUND));
    };
    let key = Key::new(identifier, email, created)
        .map_err(|e| ApiError::bad_request(format!("invalid entry key: {e}")))?;
    let document = match state.store.document_now(&key) {
        Some(found) => found?,
        None => {
            let store = state.store.clone();
            let lookup = key.clone();
            blocking(move || Ok(store.document(&lookup)?)).await?
        }
    }
    .ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    represent(state, context, key, document).await
}

/// Route 2: `/tag/{email}/{tag}`.
pub async fn by_tag_path(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let mut values = uri.path().split('/').filter(|s| !s.is_empty()).skip(1);
    let (Some(email), Some(tag)) = (values.next(), values.next()) else {
        return Err(ApiError::not_found(NOT_FOUND));
    };
    let email = decode_segment(email)?;
    let tag: String = percent_encoding::percent_decode_str(tag)
        .decode_utf8()
        .map_err(|_| ApiError::bad_request("invalid tag: not UTF-8 once percent-decoded"))?
        .into_owned();
    by_tag(state, context, email, tag).await
}

/// The entry `email`'s tag resolves to (§4.5); one leading and one
/// trailing `"` of the tag are dropped, as the legacy UI's links quote it.
pub async fn by_tag(
    state: AppState,
    context: Context,
    email: String,
    tag: String,
) -> Result<Response, ApiError> {
    let tag = tag.strip_prefix('"').unwrap_or(&tag);
    let tag = tag.strip_suffix('"').unwrap_or(tag).to_string();
    let store = state.store.clone();
    let found = blocking(move || {
        let Some(entry) = store.by_tag(&email, &tag)? else {
            return Ok(None);
        };
        Ok(store.document(&entry.key)?.map(|d| (entry.key.clone(), d)))
    })
    .await?;
    let (key, document) = found.ok_or_else(|| ApiError::not_found(NOT_FOUND))?;
    represent(state, context, key, document).await
}

/// The XML, JSON or HTML representation of a stored document.
async fn represent(
    state: AppState,
    context: Context,
    key: Key,
    document: Vec<u8>,
) -> Result<Response, ApiError> {
    let variant = choose(
        &context.accept,
        &[Variant::Xml, Variant::Json, Variant::Html],
    );
    if variant == Variant::Html {
        return crate::pages::entry::page(state, context, key, document).await;
    }
    let (content_type, extension, body) = match variant {
        Variant::Json => (
            "application/json; charset=UTF-8",
            "json",
            rdf_json(&document)?,
        ),
        _ => ("application/rdf+xml; charset=UTF-8", "xml", document),
    };
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename={}.{extension}",
        key.identifier
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

/// The document without its signature as RDF/JSON:
/// `{subject: {predicate: [{"type", "value"[, "lang" | "datatype"]}]}}`.
fn rdf_json(document: &[u8]) -> Result<Vec<u8>, ApiError> {
    use oxrdf::{NamedOrBlankNode, Term};
    let text = crate::document::without_signature(document)
        .map_err(|e| ApiError::internal(format!("stored document unreadable: {e}")))?;
    let parser = oxrdfxml::RdfXmlParser::new()
        .with_base_iri(BASE_IRI)
        .expect("the base IRI is valid");
    let mut graph: BTreeMap<String, BTreeMap<String, Vec<serde_json::Value>>> = BTreeMap::new();
    for triple in parser.for_slice(text.as_bytes()) {
        let triple =
            triple.map_err(|e| ApiError::internal(format!("stored document is not RDF: {e}")))?;
        let subject = match &triple.subject {
            NamedOrBlankNode::NamedNode(node) => node.as_str().to_string(),
            NamedOrBlankNode::BlankNode(node) => format!("_:{}", node.as_str()),
        };
        let object = match &triple.object {
            Term::NamedNode(node) => serde_json::json!({"type": "uri", "value": node.as_str()}),
            Term::BlankNode(node) => {
                serde_json::json!({"type": "bnode", "value": format!("_:{}", node.as_str())})
            }
            Term::Literal(literal) => {
                let mut value = serde_json::json!({"type": "literal", "value": literal.value()});
                if let Some(language) = literal.language() {
                    value["lang"] = language.into();
                } else if literal.datatype() != oxrdf::vocab::xsd::STRING
                    && literal.datatype() != oxrdf::vocab::rdf::LANG_STRING
                {
                    value["datatype"] = literal.datatype().as_str().into();
                }
                value
            }
            #[allow(unreachable_patterns)]
            _ => continue,
        };
        graph
            .entry(subject)
            .or_default()
            .entry(triple.predicate.as_str().to_string())
            .or_default()
            .push(object);
    }
    Ok(serde_json::to_vec(&graph).expect("a JSON map serializes"))
}
