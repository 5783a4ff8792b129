//! The smaller pages: endorsers (§2.6), an endorser's history (§2.7) and
//! tags (§2.8), the upload form (§2.10) and the SPARQL query page (§2.9).

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;

use super::{query_string, render, PageInfo};
use crate::entry::Entry;
use crate::http::context::Context;
use crate::http::{encode_segment, entry_path, AppState};
use crate::store::Endorser;

/// An endorser's row.
pub struct EndorserRow {
    name: String,
    email: String,
    subject: String,
    issuer: String,
    current: String,
    history: String,
    tags: String,
}

#[derive(Template)]
#[template(path = "endorsers.html")]
struct Endorsers {
    page: PageInfo,
    rows: Vec<EndorserRow>,
}

/// The first CN of a subject, else the whole subject, else the e-mail.
fn display_name(endorser: &Endorser) -> String {
    let subject = endorser.subject.as_deref().unwrap_or("");
    subject
        .split(',')
        .find_map(|rdn| {
            rdn.trim()
                .strip_prefix("CN=")
                .or_else(|| rdn.trim().strip_prefix("cn="))
        })
        .map(str::to_string)
        .or_else(|| (!subject.is_empty()).then(|| subject.to_string()))
        .unwrap_or_else(|| endorser.email.clone())
}

/// `/endorsers` as HTML.
pub fn endorsers(context: &Context, endorsers: &[Endorser]) -> Response {
    let rows = endorsers
        .iter()
        .map(|e| {
            let email = encode_segment(&e.email);
            EndorserRow {
                name: display_name(e),
                email: e.email.clone(),
                subject: e.subject.clone().unwrap_or_default(),
                issuer: e.issuer.clone().unwrap_or_default(),
                current: format!("metadata/{email}"),
                history: format!("endorsers/{email}"),
                tags: format!("endorsers/{email}/tags"),
            }
        })
        .collect();
    render(
        StatusCode::OK,
        &Endorsers {
            page: PageInfo::new(context, "Endorsers", "endorsers"),
            rows,
        },
    )
}

/// A row of the history.
pub struct HistoryRow {
    href: String,
    identifier: String,
    created: String,
    description: String,
    locations: String,
    deprecated: String,
}

#[derive(Template)]
#[template(path = "history.html")]
struct History {
    page: PageInfo,
    email: String,
    self_path: String,
    range: i64,
    ranges: Vec<(i64, String)>,
    rows: Vec<HistoryRow>,
    tags_href: String,
    current_href: String,
}

/// `/endorsers/{email}?range=DAYS` as HTML.
pub fn history(context: &Context, email: &str, range: i64, entries: &[Arc<Entry>]) -> Response {
    let mut ranges: Vec<(i64, String)> = [30, 60, 90, 365, 1460, 36500]
        .iter()
        .map(|d| {
            let label = match d {
                365 => "year".to_string(),
                1460 => "four years".to_string(),
                36500 => "hundred years".to_string(),
                d => format!("{d} days"),
            };
            (*d, label)
        })
        .collect();
    if !ranges.iter().any(|(d, _)| *d == range) {
        ranges.push((range, format!("{range} days")));
    }
    let rows = entries
        .iter()
        .map(|e| HistoryRow {
            href: entry_path(&e.key),
            identifier: e.key.identifier.clone(),
            created: e.key.created.clone(),
            description: e.fields.description.clone().unwrap_or_default(),
            locations: e.fields.locations.join(" "),
            deprecated: e.fields.deprecated.clone().unwrap_or_default(),
        })
        .collect();
    let encoded = encode_segment(email);
    render(
        StatusCode::OK,
        &History {
            page: PageInfo::new(context, format!("History for {email}"), "endorsers"),
            email: email.to_string(),
            self_path: format!("endorsers/{encoded}"),
            range,
            ranges,
            rows,
            tags_href: format!("endorsers/{encoded}/tags"),
            current_href: format!("metadata/{encoded}"),
        },
    )
}

#[derive(Template)]
#[template(path = "tags.html")]
struct Tags {
    page: PageInfo,
    email: String,
    tags: Vec<(String, String)>,
    history_href: String,
}

/// `/endorsers/{email}/tags` as HTML: each tag links to the entry it
/// resolves to (`metadata/<email>?tag="<tag>"`, the legacy link).
pub fn tags(context: &Context, email: &str, tags: &[String]) -> Response {
    let encoded = encode_segment(email);
    let tags = tags
        .iter()
        .map(|t| {
            let quoted = format!("\"{t}\"");
            (
                t.clone(),
                format!(
                    "metadata/{encoded}?{}",
                    query_string([("tag", quoted.as_str())])
                ),
            )
        })
        .collect();
    render(
        StatusCode::OK,
        &Tags {
            page: PageInfo::new(context, format!("Tags of {email}"), "endorsers"),
            email: email.to_string(),
            tags,
            history_href: format!("endorsers/{encoded}"),
        },
    )
}

#[derive(Template)]
#[template(path = "upload.html")]
struct Upload {
    page: PageInfo,
    trust_checked: bool,
    validate_email: bool,
    pending_hours: u64,
}

/// `GET /upload`: the form (HTML only, as in legacy).
pub async fn upload_form(
    State(state): State<AppState>,
    Extension(context): Extension<Context>,
) -> Response {
    render(
        StatusCode::OK,
        &Upload {
            page: PageInfo::new(&context, "Upload", "upload"),
            trust_checked: state.checker.checks_trust(),
            validate_email: state.options.validate_email,
            pending_hours: state.options.pending_for.as_secs() / 3600,
        },
    )
}

/// The results of a query, as text cells.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// The variables, in order.
    pub variables: Vec<String>,
    /// One row of cells per solution (empty for unbound).
    pub rows: Vec<Vec<String>>,
}

#[derive(Template)]
#[template(path = "query.html")]
struct Query<'a> {
    page: PageInfo,
    enabled: bool,
    disabled_reason: &'a str,
    query: &'a str,
    ran: bool,
    error: Option<&'a str>,
    variables: Vec<String>,
    rows: Vec<Vec<String>>,
    max_results: usize,
    timeout: u64,
}

/// What the query page shows.
pub enum QueryOutcome<'a> {
    /// SPARQL is off, for this reason.
    Disabled(&'a str),
    /// No query yet: the form.
    Form,
    /// The results.
    Results(Table),
    /// The query was refused or failed.
    Failed(&'a str),
}

/// `/query` as HTML.
pub fn query(
    status: StatusCode,
    context: &Context,
    text: &str,
    outcome: QueryOutcome<'_>,
    max_results: usize,
    timeout: u64,
) -> Response {
    let mut page = Query {
        page: PageInfo::new(context, "SPARQL query", "query"),
        enabled: true,
        disabled_reason: "",
        query: text,
        ran: false,
        error: None,
        variables: Vec::new(),
        rows: Vec::new(),
        max_results,
        timeout,
    };
    match outcome {
        QueryOutcome::Disabled(reason) => {
            page.enabled = false;
            page.disabled_reason = reason;
        }
        QueryOutcome::Form => {}
        QueryOutcome::Results(table) => {
            page.ran = true;
            page.variables = table.variables;
            page.rows = table.rows;
        }
        QueryOutcome::Failed(error) => page.error = Some(error),
    }
    render(status, &page)
}
