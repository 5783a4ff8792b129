//! The endorser routes, as SPARQL Query Results XML (marketplace.md
//! §2.6–2.8): `/endorsers` (every distinct email, subject, issuer),
//! `/endorsers/{email}?range=DAYS` (the endorser's history) and
//! `/endorsers/{email}/tags`.

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use super::context::Context;
use super::negotiate::{choose, Variant};

use super::params::{segments, Pairs};
use super::response::{xml_escape, ApiError};
use super::{blocking, AppState};

/// The history's default range, in days.
const DEFAULT_RANGE_DAYS: i64 = 30;

/// A SPARQL results document being written.
struct Results {
    text: String,
}

impl Results {
    fn new(variables: &[&str]) -> Results {
        let mut text = String::from(
            "<?xml version='1.0' encoding='UTF-8'?>\n\
             <sparql xmlns='http://www.w3.org/2005/sparql-results#'>\n\t<head>\n",
        );
        for variable in variables {
            text.push_str(&format!("\t\t<variable name='{variable}'/>\n"));
        }
        text.push_str("\t</head>\n\t<results>\n");
        Results { text }
    }

    /// One result; unbound variables are left out.
    fn row(&mut self, bindings: &[(&str, Option<&str>)]) {
        self.text.push_str("\t\t<result>\n");
        for (name, value) in bindings {
            if let Some(value) = value {
                self.text.push_str(&format!(
                    "\t\t\t<binding name='{name}'><literal>{}</literal></binding>\n",
                    xml_escape(value)
                ));
            }
        }
        self.text.push_str("\t\t</result>\n");
    }

    fn finish(mut self) -> Response {
        self.text.push_str("\t</results>\n</sparql>\n");
        (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/xml; charset=UTF-8")],
            self.text,
        )
            .into_response()
    }
}

fn wants_html(context: &Context) -> bool {
    choose(&context.accept, &[Variant::Xml, Variant::Html]) == Variant::Html
}

/// Route 7: `/endorsers`.
pub async fn list(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
) -> Result<Response, ApiError> {
    let store = state.store.clone();
    let endorsers = blocking(move || Ok(store.endorsers()?)).await?;
    if wants_html(&context) {
        return Ok(crate::pages::endorsers(&context, &endorsers));
    }
    let mut results = Results::new(&["email", "subject", "issuer"]);
    for e in &endorsers {
        results.row(&[
            ("email", Some(&e.email)),
            ("subject", e.subject.as_deref()),
            ("issuer", e.issuer.as_deref()),
        ]);
    }
    Ok(results.finish())
}

/// Route 8: `/endorsers/{email}?range=DAYS`: every version endorsed by
/// `email` newer than the range (one row per location).
pub async fn history(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let email = segments(&uri, 1, 1)?.remove(0);
    let pairs = Pairs::parse(query.unwrap_or_default().as_bytes());
    let days = pairs
        .first("range")
        .and_then(|v| v.trim().parse::<i64>().ok())
        .unwrap_or(DEFAULT_RANGE_DAYS);
    let since = crate::document::days_ago(days);
    let store = state.store.clone();
    let lookup = email.clone();
    let entries = blocking(move || Ok(store.history(&lookup, &since)?)).await?;
    if wants_html(&context) {
        return Ok(crate::pages::history(&context, &email, days, &entries));
    }
    let mut results = Results::new(&[
        "identifier",
        "created",
        "description",
        "location",
        "deprecated",
        "email",
    ]);
    for entry in &entries {
        let f = &entry.fields;
        let locations: Vec<Option<&str>> = if f.locations.is_empty() {
            vec![None]
        } else {
            f.locations.iter().map(|l| Some(l.as_str())).collect()
        };
        for location in locations {
            results.row(&[
                ("identifier", Some(&entry.key.identifier)),
                ("created", Some(&entry.key.created)),
                ("description", f.description.as_deref()),
                ("location", location),
                ("deprecated", f.deprecated.as_deref()),
                ("email", Some(&entry.key.email)),
            ]);
        }
    }
    Ok(results.finish())
}

/// Route 9: `/endorsers/{email}/tags`.
pub async fn tags(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
    uri: Uri,
) -> Result<Response, ApiError> {
    let email = segments(&uri, 1, 1)?.remove(0);
    let store = state.store.clone();
    let lookup = email.clone();
    let tags = blocking(move || Ok(store.tags(&lookup)?)).await?;
    if wants_html(&context) {
        return Ok(crate::pages::tags(&context, &email, &tags));
    }
    let mut results = Results::new(&["tag"]);
    for tag in &tags {
        results.row(&[("tag", Some(tag))]);
    }
    Ok(results.finish())
}
