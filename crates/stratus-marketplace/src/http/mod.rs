//! The HTTP layer: the legacy API of marketplace.md §1 and §2 on axum.
//!
//! [`routes`] is the routing table, in the order of §1.3. Before routing,
//! [`context::prepare`] applies the double-slash filter, the mount point
//! and the `?media=` tunnel; after the handler it gives errors their
//! legacy bodies. [`server`] runs it: connections, TLS, limits, timeouts
//! and graceful shutdown. Handlers get everything through [`AppState`] and
//! the request; there are no globals.

pub mod action;
pub mod changes;
pub mod context;
pub mod endorsers;
pub mod entry;
pub mod listing;
pub mod negotiate;
pub mod params;
pub mod query;
pub mod response;
pub mod server;
pub mod sync;
pub mod upload;

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Extension, Router};

use crate::document::Checker;
use crate::mail::Mailer;
use crate::sparql::Sparql;
use crate::store::Store;
use crate::whitelist::Whitelist;
use context::Context;
use response::ApiError;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The upload checks.
    pub checker: Arc<Checker>,
    /// The server's options.
    pub options: Arc<Options>,
    /// The SMTP client, when mail is sent.
    pub mailer: Option<Arc<Mailer>>,
    /// The endorser whitelist, when enabled.
    pub whitelist: Option<Arc<Whitelist>>,
    /// The SPARQL graph, when `/query` is enabled.
    pub sparql: Option<Arc<Sparql>>,
}

/// The options the handlers read.
#[derive(Debug, Clone)]
pub struct Options {
    /// The second mount point (`/marketplace`), if any.
    pub prefix: Option<String>,
    /// Uploads refused (`marketplace.type=replica`).
    pub replica: bool,
    /// The largest request body.
    pub max_body_bytes: u64,
    /// Whether `/sync` is served.
    pub sync_enabled: bool,
    /// The data directory (`/sync` reads files there).
    pub data_dir: PathBuf,
    /// Uploads wait for e-mail confirmation (`validate.email=true`).
    pub validate_email: bool,
    /// How long an upload may wait for confirmation.
    pub pending_for: std::time::Duration,
}

/// The routing table of marketplace.md §1.3, first match first. The router
/// matches paths only, so route 1 (`/metadata/{email}?tag={tag}`) is
/// route 4 with a `tag` parameter, handled by the listing.
pub fn routes(state: AppState) -> Router {
    let listing_or_upload = || get(listing::get).post(upload::post);
    Router::new()
        // 2. single entry by tag
        .route("/tag/{arg1}/{arg2}", get(entry::by_tag_path))
        .route("/tag/{arg1}/{arg2}/", get(entry::by_tag_path))
        // 3-5. listing and upload (1. by tag, with ?tag=)
        .route("/metadata", listing_or_upload())
        .route("/metadata/", listing_or_upload())
        .route("/metadata/{arg1}", listing_or_upload())
        .route("/metadata/{arg1}/", listing_or_upload())
        .route("/metadata/{arg1}/{arg2}", listing_or_upload())
        .route("/metadata/{arg1}/{arg2}/", listing_or_upload())
        // 6. single entry: identifier, email, created
        .route("/metadata/{arg1}/{arg2}/{arg3}", get(entry::get))
        .route("/metadata/{arg1}/{arg2}/{arg3}/", get(entry::get))
        // 7-9. endorsers, an endorser's history, an endorser's tags
        .route("/endorsers", get(endorsers::list))
        .route("/endorsers/", get(endorsers::list))
        .route("/endorsers/{arg1}", get(endorsers::history))
        .route("/endorsers/{arg1}/", get(endorsers::history))
        .route("/endorsers/{arg1}/tags", get(endorsers::tags))
        .route("/endorsers/{arg1}/tags/", get(endorsers::tags))
        // 10-11. SPARQL query, upload form
        .route("/query", get(query::get))
        .route("/query/", get(query::get))
        .route("/upload", get(crate::pages::upload_form))
        .route("/upload/", get(crate::pages::upload_form))
        // the change feed other Marketplaces follow (not in legacy)
        .route("/changes", get(changes::get))
        .route("/changes/", get(changes::get))
        // 12. index files already on disk
        .route("/sync", post(sync::post))
        .route("/sync/", post(sync::post))
        // 13. e-mail confirmation
        .route("/action", any(action::get))
        .route("/action/", any(action::get))
        .route("/action/{*rest}", any(action::get))
        // 14. the pages' style sheet and script (no other static files)
        .route("/css/stratus.css", get(crate::pages::style_sheet))
        .route("/js/stratus.js", get(crate::pages::script))
        // the home page, at the root of each mount point
        .route("/", get(home))
        // default: not found, with the home page's link to the listing
        .fallback(not_found)
        .with_state(state)
}

/// The home page (§2.13): a page sending browsers to the listing.
async fn home(Extension(context): Extension<Context>) -> Response {
    crate::pages::home(&context)
}

/// Any other path. The legacy server answered every unmatched GET with the
/// home page and 200, which tells a script or a crawler that any URL
/// exists; here it is 404, in the error body the `Accept` header chooses
/// (§1.5), naming the path; other methods get 405.
async fn not_found(request: Request) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = StatusCode::METHOD_NOT_ALLOWED.into_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET,HEAD"));
        return response;
    }
    ApiError::not_found(format!("no such page: {}", request.uri().path())).into_response()
}

/// Run store or checking work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?
}

/// The path of an entry under the base URL: `metadata/<id>/<email>/<created>`.
pub fn entry_path(key: &crate::entry::Key) -> String {
    format!(
        "metadata/{}/{}/{}",
        encode_segment(&key.identifier),
        encode_segment(&key.email),
        encode_segment(&key.created)
    )
}

/// Percent-encode a key component for a URL path.
pub fn encode_segment(text: &str) -> String {
    use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
    /// What a path segment may not hold unescaped (RFC 3986), `@` and `:`
    /// allowed as the legacy URLs had them.
    const SEGMENT: &AsciiSet = &CONTROLS
        .add(b' ')
        .add(b'"')
        .add(b'#')
        .add(b'%')
        .add(b'/')
        .add(b'<')
        .add(b'>')
        .add(b'?')
        .add(b'[')
        .add(b'\\')
        .add(b']')
        .add(b'^')
        .add(b'`')
        .add(b'{')
        .add(b'|')
        .add(b'}');
    utf8_percent_encode(text, SEGMENT).to_string()
}
