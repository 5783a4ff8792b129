//! `GET /query[/]?query=<SPARQL>` (marketplace.md §2.9): the W3C SPARQL
//! results as XML (`application/sparql-results+xml`, the default) or JSON
//! (`application/sparql-results+json`), or an HTML form and table.
//!
//! - No or an empty query: 204 (XML, JSON), the form (HTML).
//! - A syntax error: 400 with the parser's message; a form that is not
//!   allowed: 400 `query not allowed.`; past the time or row limit: 400
//!   saying which limit stopped it.
//! - An evaluation error: logged, 204 (legacy).
//! - SPARQL off (no `--sparql`, `sparql.enabled=false`): 501 saying how
//!   to turn it on.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use oxigraph::sparql::results::QueryResultsFormat;
use oxigraph::sparql::CancellationToken;

use super::context::Context;
use super::negotiate::{choose, Variant};
use super::params::Pairs;
use super::response::ApiError;
use super::AppState;
use crate::pages::other::{QueryOutcome, Table};
use crate::sparql::QueryError;

/// Why `/query` answers 501.
const DISABLED: &str = "the SPARQL endpoint is off on this server: start it with --sparql \
                        (or sparql.enabled=true); it keeps every entry's triples in memory";

/// The `/query` handler.
pub async fn get(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let pairs = Pairs::parse(raw.unwrap_or_default().as_bytes());
    let text = pairs.first("query").unwrap_or("").to_string();
    let variant = choose(
        &context.accept,
        &[Variant::Xml, Variant::Json, Variant::Html],
    );
    let (max_results, timeout) = state
        .sparql
        .as_ref()
        .map(|s| (s.settings().max_results, s.settings().timeout.as_secs()))
        .unwrap_or((0, 0));
    let html = |status, outcome| {
        crate::pages::query(status, &context, &text, outcome, max_results, timeout)
    };
    let Some(sparql) = state.sparql.clone() else {
        if variant == Variant::Html {
            return Ok(html(
                StatusCode::NOT_IMPLEMENTED,
                QueryOutcome::Disabled(DISABLED),
            ));
        }
        return Err(ApiError::new(StatusCode::NOT_IMPLEMENTED, DISABLED));
    };
    let content_type = match variant {
        Variant::Json => "application/sparql-results+json",
        _ => "application/sparql-results+xml",
    };
    if text.trim().is_empty() {
        if variant == Variant::Html {
            return Ok(html(StatusCode::OK, QueryOutcome::Form));
        }
        return Ok(([(header::CONTENT_TYPE, content_type)], "").into_response());
    }
    let outcome = run(&state, sparql, text.clone()).await?;
    let solutions = match outcome {
        Ok(solutions) => solutions,
        Err(QueryError::Failed(message)) => {
            tracing::warn!("SPARQL query failed: {message}");
            if variant == Variant::Html {
                return Ok(html(
                    StatusCode::OK,
                    QueryOutcome::Results(Table::default()),
                ));
            }
            return Ok(([(header::CONTENT_TYPE, content_type)], "").into_response());
        }
        Err(refused) => {
            let message = refused.to_string();
            if variant == Variant::Html {
                return Ok(html(
                    StatusCode::BAD_REQUEST,
                    QueryOutcome::Failed(&message),
                ));
            }
            return Err(ApiError::bad_request(message));
        }
    };
    Ok(match variant {
        Variant::Html => html(
            StatusCode::OK,
            QueryOutcome::Results(Table {
                variables: solutions
                    .variables
                    .iter()
                    .map(|v| v.as_str().to_string())
                    .collect(),
                rows: solutions.cells(),
            }),
        ),
        Variant::Json => (
            [(header::CONTENT_TYPE, content_type)],
            solutions.serialize(QueryResultsFormat::Json),
        )
            .into_response(),
        Variant::Xml => (
            [(header::CONTENT_TYPE, content_type)],
            solutions.serialize(QueryResultsFormat::Xml),
        )
            .into_response(),
    })
}

/// Bring the graph up to date, then run the query on the blocking pool,
/// cancelling it when the time limit passes.
async fn run(
    state: &AppState,
    sparql: std::sync::Arc<crate::sparql::Sparql>,
    text: String,
) -> Result<Result<crate::sparql::Solutions, QueryError>, ApiError> {
    let timeout = sparql.settings().timeout;
    let Some(permit) = sparql.permit() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many SPARQL queries are running: try again later",
        ));
    };
    // Bringing the graph up to date (all of it while the server fills it
    // at start) is not the query's time: the limit starts after it.
    let store = state.store.clone();
    let graph = sparql.clone();
    let caught_up = tokio::task::spawn_blocking(move || graph.catch_up(store.as_ref()))
        .await
        .map_err(|e| ApiError::internal(format!("a worker failed: {e}")))?;
    if let Err(e) = caught_up {
        return Ok(Err(QueryError::Failed(format!(
            "the graph could not be brought up to date: {e}"
        ))));
    }
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    let mut work = tokio::task::spawn_blocking(move || {
        let result = sparql.run(&text, &token);
        drop(permit);
        result
    });
    tokio::select! {
        done = &mut work => done.map_err(|e| ApiError::internal(format!("a worker failed: {e}"))),
        () = tokio::time::sleep(timeout) => {
            // The evaluation stops at its next look into the graph; the
            // answer does not wait for it (its permit is held until then).
            cancel.cancel();
            Ok(Err(QueryError::Timeout(timeout)))
        }
    }
}
