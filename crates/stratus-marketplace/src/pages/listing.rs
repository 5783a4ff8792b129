//! The image list: `GET /metadata[/{arg1}[/{arg2}]]` as HTML.
//!
//! The same query as the XML and JSON listings (§4.2, §4.3), from the same
//! parameters (`sSearch`, `sSearch_1`…`sSearch_5`, `status`, `location`,
//! `iSortCol_0`, `sSortDir_0`, `iDisplayStart`, `iDisplayLength`, the
//! filters), so a page's URL with `media=xml` is that page as XML. The
//! page always pages (20 rows by default, 500 at most) and answers 200
//! when nothing matches.

use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;

use super::{location_link, query_string, render, PageInfo};
use crate::http::context::Context;
use crate::http::listing::build_query;
use crate::http::params::Pairs;
use crate::http::response::ApiError;
use crate::http::{blocking, encode_segment, entry_path, AppState};
use crate::store::query::{Column, Paging};

/// Rows per page by default.
const DEFAULT_LENGTH: usize = 20;
/// The most rows on one page.
const MAX_LENGTH: usize = 500;
/// The parameters a page keeps in its links.
const KEPT: &[&str] = &[
    "identifier",
    "email",
    "created",
    "sSearch",
    "sSearch_1",
    "sSearch_2",
    "sSearch_3",
    "sSearch_4",
    "sSearch_5",
    "status",
    "location",
    "iSortCol_0",
    "sSortDir_0",
    "iDisplayLength",
];

/// One row of the table.
pub struct Row {
    href: String,
    title: String,
    os: String,
    os_version: String,
    arch: String,
    email: String,
    kind: String,
    created: String,
    identifier: String,
    location: String,
    location_link: Option<String>,
    description: String,
}

/// A column filter box.
pub struct ColumnFilter {
    name: String,
    label: &'static str,
    value: String,
}

/// A link of the pager.
pub struct PageLink {
    number: usize,
    href: String,
    current: bool,
}

#[derive(Template)]
#[template(path = "list.html")]
struct List {
    page: PageInfo,
    heading: String,
    self_path: String,
    search: String,
    status: String,
    status_options: Vec<(&'static str, &'static str)>,
    location: String,
    location_options: Vec<(&'static str, &'static str)>,
    columns: Vec<ColumnFilter>,
    sort_column: String,
    sort_options: Vec<(String, &'static str)>,
    sort_label: String,
    descending: bool,
    length: usize,
    page_sizes: Vec<usize>,
    total: usize,
    first: usize,
    last: usize,
    rows: Vec<Row>,
    pages: Vec<PageLink>,
    previous: Option<String>,
    next: Option<String>,
    xml_link: String,
    json_link: String,
}

fn label(column: Column) -> &'static str {
    match column {
        Column::Os => "OS",
        Column::OsVersion => "OS version",
        Column::Arch => "Architecture",
        Column::Email => "Endorser",
        Column::Kind => "Kind",
        Column::Created => "Endorsement time",
        Column::Identifier => "Identifier",
        Column::Location => "Location",
        Column::Description => "Description",
        Column::Title => "Title",
    }
}

/// The HTML listing of `args` and `pairs`.
pub async fn page(
    state: AppState,
    context: Context,
    args: Vec<String>,
    pairs: Pairs,
) -> Result<Response, ApiError> {
    let mut query = build_query(&args, &pairs);
    let number = |name: &str| {
        pairs
            .last(name)
            .and_then(|v| v.trim().parse::<usize>().ok())
    };
    let length = number("iDisplayLength")
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_LENGTH)
        .min(MAX_LENGTH);
    let start = number("iDisplayStart").unwrap_or(0);
    let start = start - start % length;
    query.paging = Some(Paging {
        start,
        length: Some(length),
    });
    let sort = query.sort;
    let store = state.store.clone();
    let listing = match store.list_now(&query).transpose()? {
        Some(listing) => listing,
        None => blocking(move || Ok(store.list(&query)?)).await?,
    };
    let self_path = std::iter::once("metadata".to_string())
        .chain(args.iter().map(|a| encode_segment(a)))
        .collect::<Vec<_>>()
        .join("/");
    let kept: Vec<(&str, String)> = KEPT
        .iter()
        .filter_map(|name| pairs.last(name).map(|v| (*name, v.to_string())))
        .filter(|(name, _)| *name != "iDisplayLength")
        .chain(std::iter::once(("iDisplayLength", length.to_string())))
        .collect();
    let link = |extra: &[(&str, String)]| {
        let all = kept
            .iter()
            .chain(extra.iter())
            .map(|(n, v)| (*n, v.as_str()));
        format!("{self_path}?{}", query_string(all))
    };
    let total = listing.display_records;
    let page_count = total.div_ceil(length);
    let current = start / length;
    let page_at = |index: usize| link(&[("iDisplayStart", (index * length).to_string())]);
    let window = current.saturating_sub(4)..(current + 5).min(page_count);
    let pages = window
        .map(|index| PageLink {
            number: index + 1,
            href: page_at(index),
            current: index == current,
        })
        .collect();
    let rows: Vec<Row> = listing.rows.iter().map(|entry| row(entry)).collect();
    let first = if rows.is_empty() { 0 } else { start + 1 };
    let last = start + rows.len();
    let heading = if args.is_empty() {
        "Images".to_string()
    } else {
        format!("Images: {}", args.join(", "))
    };
    let columns = (1..=5)
        .map(|index| {
            let column = Column::from_index(index).expect("columns 1 to 5 exist");
            let name = format!("sSearch_{index}");
            ColumnFilter {
                value: pairs.last(&name).unwrap_or("").to_string(),
                name,
                label: label(column),
            }
        })
        .collect();
    let sort_index = Column::ALL
        .iter()
        .position(|c| *c == sort.column)
        .map_or(6, |i| i + 1);
    let template = List {
        page: PageInfo::new(&context, heading.clone(), "images"),
        heading,
        search: pairs.last("sSearch").unwrap_or("").to_string(),
        status: pairs.last("status").unwrap_or("valid").to_string(),
        status_options: vec![
            ("valid", "valid"),
            ("expired", "expired"),
            ("deprecated", "deprecated"),
            ("all", "any status"),
        ],
        location: pairs.last("location").unwrap_or("all").to_string(),
        location_options: vec![
            ("all", "anywhere"),
            ("web", "on the web"),
            ("pdisk", "on a pdisk"),
        ],
        columns,
        sort_column: sort_index.to_string(),
        sort_options: Column::ALL
            .iter()
            .enumerate()
            .map(|(i, c)| ((i + 1).to_string(), label(*c)))
            .collect(),
        sort_label: format!(
            "by {} ({})",
            label(sort.column).to_lowercase(),
            if sort.descending {
                "descending"
            } else {
                "ascending"
            }
        ),
        descending: sort.descending,
        length,
        page_sizes: vec![10, 20, 50, 100, 500],
        total,
        first,
        last,
        rows,
        previous: (current > 0).then(|| page_at(current - 1)),
        next: (current + 1 < page_count).then(|| page_at(current + 1)),
        pages,
        xml_link: link(&[
            ("iDisplayStart", start.to_string()),
            ("media", "xml".into()),
        ]),
        json_link: link(&[
            ("iDisplayStart", start.to_string()),
            ("media", "json".into()),
        ]),
        self_path,
    };
    Ok(render(StatusCode::OK, &template))
}

/// The header of a row: the title, else "os vVERSION arch", else the
/// endorsement time (as the legacy page did).
pub fn title_of(entry: &crate::entry::Entry) -> String {
    let f = &entry.fields;
    if let Some(title) = f.title.as_deref().filter(|t| !t.trim().is_empty()) {
        return title.to_string();
    }
    let parts: Vec<String> = [
        f.os.clone(),
        f.os_version.as_ref().map(|v| format!("v{v}")),
        f.os_arch.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|p| !p.is_empty())
    .collect();
    if parts.is_empty() {
        entry.key.created.clone()
    } else {
        parts.join(" ")
    }
}

fn row(entry: &crate::entry::Entry) -> Row {
    let f = &entry.fields;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let location = f.locations.first().cloned().unwrap_or_default();
    Row {
        href: entry_path(&entry.key),
        title: title_of(entry),
        os: text(&f.os),
        os_version: text(&f.os_version),
        arch: text(&f.os_arch),
        email: entry.key.email.clone(),
        kind: text(&f.kind),
        created: entry.key.created.clone(),
        identifier: entry.key.identifier.clone(),
        location_link: location_link(&location),
        location,
        description: text(&f.description),
    }
}
