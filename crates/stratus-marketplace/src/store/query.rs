//! The listing query of marketplace.md §4.2 and §4.3, and its evaluation
//! over in-memory entries.
//!
//! The HTTP layer builds a [`ListQuery`] from the request (path and query
//! filters already classified by shape); a backend evaluates it, the
//! embedded one with [`evaluate`].

use std::cmp::Ordering;
use std::sync::{Arc, OnceLock};

use regex::{Regex, RegexBuilder};

use crate::entry::{Entry, Status};

/// The `status=` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusFilter {
    /// `valid` (the default): not deprecated, `valid > now`.
    Valid,
    /// `expired`: not deprecated, `valid < now`.
    Expired,
    /// `deprecated`.
    Deprecated,
    /// Any other value: no restriction.
    Any,
}

impl StatusFilter {
    /// The filter a `status=` value selects.
    pub fn parse(value: Option<&str>) -> StatusFilter {
        match value {
            None | Some("valid") => StatusFilter::Valid,
            Some("expired") => StatusFilter::Expired,
            Some("deprecated") => StatusFilter::Deprecated,
            Some(_) => StatusFilter::Any,
        }
    }

    fn admits(self, entry: &Entry, now: &str) -> bool {
        match self {
            StatusFilter::Any => true,
            StatusFilter::Valid => entry.status(now) == Some(Status::Valid),
            StatusFilter::Expired => entry.status(now) == Some(Status::Expired),
            StatusFilter::Deprecated => entry.status(now) == Some(Status::Deprecated),
        }
    }
}

/// The `location=` filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocationFilter {
    /// `web`: no location at all, or one matching `^(https?|ftp)://`.
    Web,
    /// `pdisk`: a location starting with `pdisk`.
    Pdisk,
    /// `all` (the default) or any other value.
    Any,
}

impl LocationFilter {
    /// The filter a `location=` value selects.
    pub fn parse(value: Option<&str>) -> LocationFilter {
        match value {
            Some("web") => LocationFilter::Web,
            Some("pdisk") => LocationFilter::Pdisk,
            _ => LocationFilter::Any,
        }
    }

    fn admits(self, entry: &Entry) -> bool {
        let locations = &entry.fields.locations;
        match self {
            LocationFilter::Any => true,
            LocationFilter::Web => {
                locations.is_empty()
                    || locations.iter().any(|l| {
                        ["http://", "https://", "ftp://"]
                            .iter()
                            .any(|scheme| l.starts_with(scheme))
                    })
            }
            LocationFilter::Pdisk => locations.iter().any(|l| l.starts_with("pdisk")),
        }
    }
}

/// A column of the DataTables view (§4.2): 1 os … 10 title (0, the
/// details column, is not a column of data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    /// 1: `slterms:os`.
    Os,
    /// 2: `slterms:os-version`.
    OsVersion,
    /// 3: `slterms:os-arch`.
    Arch,
    /// 4: the endorser e-mail.
    Email,
    /// 5: `slterms:kind`.
    Kind,
    /// 6: the endorsement time.
    Created,
    /// 7: the identifier.
    Identifier,
    /// 8: a location.
    Location,
    /// 9: `dcterms:description`.
    Description,
    /// 10: `dcterms:title`.
    Title,
}

impl Column {
    /// Every column, in index order 1 to 10.
    pub const ALL: [Column; 10] = [
        Column::Os,
        Column::OsVersion,
        Column::Arch,
        Column::Email,
        Column::Kind,
        Column::Created,
        Column::Identifier,
        Column::Location,
        Column::Description,
        Column::Title,
    ];

    /// The column of DataTables index `index` (1 to 10).
    pub fn from_index(index: usize) -> Option<Column> {
        index
            .checked_sub(1)
            .and_then(|i| Column::ALL.get(i))
            .copied()
    }

    /// The entry's value in this column (the first location for
    /// [`Column::Location`]).
    pub fn value(self, entry: &Entry) -> Option<&str> {
        let f = &entry.fields;
        match self {
            Column::Os => f.os.as_deref(),
            Column::OsVersion => f.os_version.as_deref(),
            Column::Arch => f.os_arch.as_deref(),
            Column::Email => Some(&entry.key.email),
            Column::Kind => f.kind.as_deref(),
            Column::Created => Some(&entry.key.created),
            Column::Identifier => Some(&entry.key.identifier),
            Column::Location => f.locations.first().map(String::as_str),
            Column::Description => f.description.as_deref(),
            Column::Title => f.title.as_deref(),
        }
    }

    /// Whether `matcher` matches the entry in this column (any location).
    fn matches(self, entry: &Entry, matcher: &Matcher) -> bool {
        match self {
            Column::Location => entry.fields.locations.iter().any(|l| matcher.matches(l)),
            _ => self.value(entry).is_some_and(|v| matcher.matches(v)),
        }
    }
}

/// A search term: a case-insensitive, unanchored regular expression, or,
/// when the text is not a valid expression, a case-insensitive substring
/// (§4.3). The `regex` crate matches in time linear in the input. The
/// expression is compiled at its first use, so a listing answered from a
/// cache compiles nothing.
#[derive(Debug, Clone)]
pub struct Matcher {
    pattern: String,
    compiled: OnceLock<Compiled>,
}

/// A compiled search term.
#[derive(Debug, Clone)]
enum Compiled {
    Regex(Regex),
    /// Lower-cased literal text.
    Literal(String),
}

/// The largest compiled expression a search may build.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Matcher {
    /// The matcher for the search text `pattern`.
    pub fn new(pattern: &str) -> Matcher {
        Matcher {
            pattern: pattern.to_string(),
            compiled: OnceLock::new(),
        }
    }

    /// The search text.
    fn source(&self) -> &str {
        &self.pattern
    }

    fn matches(&self, value: &str) -> bool {
        let compiled = self.compiled.get_or_init(|| {
            match RegexBuilder::new(&self.pattern)
                .case_insensitive(true)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
            {
                Ok(regex) => Compiled::Regex(regex),
                Err(_) => Compiled::Literal(self.pattern.to_lowercase()),
            }
        });
        match compiled {
            Compiled::Regex(regex) => regex.is_match(value),
            Compiled::Literal(text) => value.to_lowercase().contains(text.as_str()),
        }
    }
}

/// The sort order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    /// The column (default: created).
    pub column: Column,
    /// Descending (default) or ascending.
    pub descending: bool,
}

impl Default for Sort {
    fn default() -> Self {
        Sort {
            column: Column::Created,
            descending: true,
        }
    }
}

/// A page of results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// The first row (0-based).
    pub start: usize,
    /// How many rows; `None` for all the rest.
    pub length: Option<usize>,
}

/// A listing query.
#[derive(Debug, Clone)]
pub struct ListQuery {
    /// Identifier filters (all must match).
    pub identifiers: Vec<String>,
    /// Endorser e-mail filters.
    pub emails: Vec<String>,
    /// Endorsement time filters; when there is one, every version is
    /// eligible, not only the latest.
    pub created: Vec<String>,
    /// The status filter.
    pub status: StatusFilter,
    /// The location filter.
    pub location: LocationFilter,
    /// Global search terms (`sSearch` split on spaces): each must match
    /// some column.
    pub search: Vec<Matcher>,
    /// Per-column searches (`sSearch_1` … `sSearch_5`).
    pub column_search: Vec<(Column, Matcher)>,
    /// The order.
    pub sort: Sort,
    /// The page, when `iDisplayStart` and `iDisplayLength` were both given.
    pub paging: Option<Paging>,
    /// "Now", `yyyy-MM-ddTHH:mm:ssZ`.
    pub now: String,
}

impl ListQuery {
    /// A query with no filter but the default status, at `now`.
    pub fn new(now: String) -> ListQuery {
        ListQuery {
            identifiers: Vec::new(),
            emails: Vec::new(),
            created: Vec::new(),
            status: StatusFilter::Valid,
            location: LocationFilter::Any,
            search: Vec::new(),
            column_search: Vec::new(),
            sort: Sort::default(),
            paging: None,
            now,
        }
    }

    /// Whether only the latest version of each (identifier, email) is
    /// eligible: when no created filter is given.
    pub fn latest_only(&self) -> bool {
        self.created.is_empty()
    }

    /// A text naming this query exactly (filters, search, order, page and
    /// "now"): equal texts give equal listings of the same store content.
    pub fn cache_key(&self) -> String {
        let matchers = |list: &[Matcher]| {
            list.iter()
                .map(|m| format!("{:?}", m.source()))
                .collect::<Vec<_>>()
                .join(",")
        };
        let columns: Vec<String> = self
            .column_search
            .iter()
            .map(|(c, m)| format!("{c:?}={:?}", m.source()))
            .collect();
        format!(
            "{:?}|{:?}|{:?}|{:?}|{:?}|{}|{}|{:?}|{:?}|{}",
            self.identifiers,
            self.emails,
            self.created,
            self.status,
            self.location,
            matchers(&self.search),
            columns.join(","),
            self.sort,
            self.paging,
            self.now
        )
    }

    /// Whether `entry` passes every filter (latest-ness aside).
    pub fn admits(&self, entry: &Entry) -> bool {
        let key = &entry.key;
        entry.endorsed
            && entry.fields.valid.is_some()
            && self.identifiers.iter().all(|v| *v == key.identifier)
            && self.emails.iter().all(|v| *v == key.email)
            && self.created.iter().all(|v| *v == key.created)
            && self.status.admits(entry, &self.now)
            && self.location.admits(entry)
            && self.column_search.iter().all(|(c, m)| c.matches(entry, m))
            && self
                .search
                .iter()
                .all(|m| Column::ALL.iter().any(|c| c.matches(entry, m)))
    }

    /// Whether `entry` counts in `iTotalRecords`: a listable latest entry
    /// passing the status filter alone.
    pub fn counts_in_total(&self, entry: &Entry) -> bool {
        entry.endorsed && entry.fields.valid.is_some() && self.status.admits(entry, &self.now)
    }

    /// The order of two rows: the sort column, then the default order
    /// (created descending, identifier, email).
    pub fn compare(&self, a: &Entry, b: &Entry) -> Ordering {
        let by_column = self.sort.column.value(a).cmp(&self.sort.column.value(b));
        let by_column = if self.sort.descending {
            by_column.reverse()
        } else {
            by_column
        };
        by_column
            .then_with(|| b.key.created.cmp(&a.key.created))
            .then_with(|| a.key.identifier.cmp(&b.key.identifier))
            .then_with(|| a.key.email.cmp(&b.key.email))
    }
}

/// A listing: the counts of §2.1 and the rows of the page.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    /// `iTotalRecords`: latest entries passing the status filter.
    pub total_records: usize,
    /// `iTotalDisplayRecords`: entries passing every filter, before paging.
    pub display_records: usize,
    /// The rows of the page, in order.
    pub rows: Vec<Arc<Entry>>,
}

/// [`evaluate`] for candidates already in the default order (created
/// descending, identifier, email) and a query in that order: no sorting,
/// and only the rows of the page are kept.
pub fn evaluate_in_order<'a>(
    candidates: impl Iterator<Item = &'a Arc<Entry>>,
    query: &ListQuery,
    total_records: usize,
) -> Listing {
    debug_assert!(query.sort == Sort::default());
    let (start, end) = match query.paging {
        Some(Paging { start, length }) => (
            start,
            length.map_or(usize::MAX, |l| start.saturating_add(l)),
        ),
        None => (0, usize::MAX),
    };
    let mut rows = Vec::new();
    let mut display_records = 0;
    for entry in candidates.filter(|e| query.admits(e)) {
        if display_records >= start && display_records < end {
            rows.push(Arc::clone(entry));
        }
        display_records += 1;
    }
    Listing {
        total_records,
        display_records,
        rows,
    }
}

/// Filter, count, sort and page `candidates` (the eligible entries: the
/// latest ones, or every version when the query has a created filter).
pub fn evaluate<'a>(
    candidates: impl Iterator<Item = &'a Arc<Entry>>,
    query: &ListQuery,
    total_records: usize,
) -> Listing {
    let mut rows: Vec<&Arc<Entry>> = candidates.filter(|e| query.admits(e)).collect();
    let display_records = rows.len();
    let (start, end) = match query.paging {
        Some(Paging { start, length }) => {
            let end = length.map_or(rows.len(), |l| start.saturating_add(l));
            (start.min(rows.len()), end.min(rows.len()))
        }
        None => (0, rows.len()),
    };
    let compare = |a: &&Arc<Entry>, b: &&Arc<Entry>| query.compare(a, b);
    if end < rows.len() && end > 0 {
        // Only the first `end` rows are needed: select them, sort those.
        rows.select_nth_unstable_by(end - 1, compare);
        rows.truncate(end);
    }
    rows.sort_unstable_by(compare);
    Listing {
        total_records,
        display_records,
        rows: rows[start..end].iter().map(|e| Arc::clone(e)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Fields, Key};

    fn entry(id: &str, created: &str, os: Option<&str>, locations: &[&str]) -> Arc<Entry> {
        Arc::new(Entry {
            key: Key::new(id, "jane@example.org", created).unwrap(),
            endorsed: true,
            fields: Fields {
                valid: Some("2030-01-01T00:00:00Z".into()),
                os: os.map(str::to_string),
                locations: locations.iter().map(|l| l.to_string()).collect(),
                ..Fields::default()
            },
        })
    }

    #[test]
    fn default_order_and_paging() {
        let entries = [
            entry("a", "2014-01-01T00:00:00Z", Some("Ubuntu"), &[]),
            entry("b", "2014-01-03T00:00:00Z", Some("CentOS"), &[]),
            entry("c", "2014-01-02T00:00:00Z", None, &[]),
        ];
        let mut query = ListQuery::new("2015-01-01T00:00:00Z".into());
        let ids = |l: &Listing| {
            l.rows
                .iter()
                .map(|e| e.key.identifier.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(&evaluate(entries.iter(), &query, 3)), ["b", "c", "a"]);
        query.paging = Some(Paging {
            start: 1,
            length: Some(1),
        });
        let page = evaluate(entries.iter(), &query, 3);
        assert_eq!((ids(&page), page.display_records), (vec!["c".into()], 3));
        query.paging = None;
        query.sort = Sort {
            column: Column::Os,
            descending: false,
        };
        // Unbound values sort first in ascending order.
        assert_eq!(ids(&evaluate(entries.iter(), &query, 3)), ["c", "b", "a"]);
    }

    #[test]
    fn search_is_a_case_insensitive_regex_or_else_a_substring() {
        let e = entry("a", "2014-01-01T00:00:00Z", Some("Ubuntu"), &["pdisk:x"]);
        let mut query = ListQuery::new("2015-01-01T00:00:00Z".into());
        query.column_search = vec![(Column::Os, Matcher::new("^ubu"))];
        assert!(query.admits(&e));
        query.column_search = vec![(Column::Os, Matcher::new("(unclosed"))];
        assert!(!query.admits(&e));
        query.column_search = vec![];
        query.search = vec![Matcher::new("PDISK"), Matcher::new("ubuntu")];
        assert!(query.admits(&e));
        query.location = LocationFilter::Web;
        assert!(!query.admits(&e));
        query.location = LocationFilter::Pdisk;
        assert!(query.admits(&e));
    }
}
