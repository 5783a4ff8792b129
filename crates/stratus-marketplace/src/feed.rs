//! The change feed's format (docs/REPLICATION.md): what `GET /changes`
//! writes ([`write_xml`], [`write_json`]) and what a follower reads
//! ([`parse_json`]).
//!
//! A page of the feed is the entries written after a cursor (`since`), in
//! commit order, each with its sequence number (the store's revision of
//! its last write), the key the serving Marketplace claims for it and the
//! stored signed document; then the cursor to resume from (`next`),
//! whether more follow (`more`) and the serving store's revision.
//!
//! The reader checks only the page's shape (cursors and sequence numbers
//! in order, sizes bounded); the documents are checked by the follower as
//! uploads are, and the claimed keys are never used for anything but
//! messages.

use std::io::Write;

use crate::http::response::xml_escape;

/// One entry of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedEntry {
    /// The revision of the entry's last write on the serving Marketplace.
    pub sequence: u64,
    /// The key the serving Marketplace gives (`<id>/<email>/<created>`);
    /// a claim, for messages only.
    pub claimed_key: String,
    /// The stored document, exactly as stored (declaration included).
    pub document: Vec<u8>,
}

/// One page of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The cursor the page was asked for.
    pub since: u64,
    /// The cursor to ask for next: the last entry's sequence number (or
    /// later, past revisions with nothing to serve), `since` when nothing
    /// was written after it.
    pub next: u64,
    /// Whether entries after `next` exist already.
    pub more: bool,
    /// The serving store's revision when the page was made.
    pub revision: u64,
    /// The entries, in commit order.
    pub entries: Vec<FeedEntry>,
}

/// A page that is not a feed page, or breaks its rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadPage(pub String);

impl std::fmt::Display for BadPage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a valid change feed page: {}", self.0)
    }
}

impl std::error::Error for BadPage {}

/// The page as XML: `<changes>` holding one `<change>` per entry, whose
/// content is the stored document without its XML declaration, byte for
/// byte (the document element declares its own namespaces, so it reads
/// the same inside the wrapper).
pub fn write_xml(page: &Page) -> Vec<u8> {
    let size = page
        .entries
        .iter()
        .map(|e| e.document.len() + 256)
        .sum::<usize>()
        + 256;
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(crate::document::DECLARATION.as_bytes());
    let _ = write!(
        out,
        "\n<changes since=\"{}\" next=\"{}\" more=\"{}\" revision=\"{}\">\n",
        page.since, page.next, page.more, page.revision
    );
    for entry in &page.entries {
        let _ = write!(
            out,
            "<change sequence=\"{}\" key=\"{}\">",
            entry.sequence,
            xml_escape(&entry.claimed_key)
        );
        let body = entry
            .document
            .strip_prefix(crate::document::DECLARATION.as_bytes())
            .unwrap_or(&entry.document);
        out.extend_from_slice(body);
        out.extend_from_slice(b"</change>\n");
    }
    out.extend_from_slice(b"</changes>\n");
    out
}

/// The page as JSON: `{"since", "next", "more", "revision", "changes":
/// [{"sequence", "key", "document"}]}`, the document a string holding the
/// stored text exactly. Serialised straight from the page, borrowing its
/// documents.
pub fn write_json(page: &Page) -> Vec<u8> {
    let changes: Vec<OutChange<'_>> = page
        .entries
        .iter()
        .map(|entry| OutChange {
            sequence: entry.sequence,
            key: &entry.claimed_key,
            // Stored documents are UTF-8 (uploads are normalised to it).
            document: String::from_utf8_lossy(&entry.document),
        })
        .collect();
    let size = page
        .entries
        .iter()
        .map(|e| e.document.len() + e.document.len() / 8 + 128)
        .sum::<usize>()
        + 128;
    let mut out = Vec::with_capacity(size);
    let wire = OutPage {
        since: page.since,
        next: page.next,
        more: page.more,
        revision: page.revision,
        changes,
    };
    // Writing into memory fails only on a serialiser bug.
    let _ = serde_json::to_writer(&mut out, &wire);
    out.push(b'\n');
    out
}

/// A page on the wire, as written.
#[derive(serde::Serialize)]
struct OutPage<'a> {
    since: u64,
    next: u64,
    more: bool,
    revision: u64,
    changes: Vec<OutChange<'a>>,
}

/// An entry on the wire, as written.
#[derive(serde::Serialize)]
struct OutChange<'a> {
    sequence: u64,
    key: &'a str,
    document: std::borrow::Cow<'a, str>,
}

/// A page on the wire, as read: typed, so that fields not named here are
/// skipped without being built, and the documents are the only large
/// allocations.
#[derive(serde::Deserialize)]
struct InPage {
    since: u64,
    next: u64,
    more: bool,
    revision: u64,
    changes: Vec<InChange>,
}

/// An entry on the wire, as read.
#[derive(serde::Deserialize)]
struct InChange {
    sequence: u64,
    #[serde(default)]
    key: Option<String>,
    document: String,
}

/// Read a JSON page asked for with `since`, and check its rules: `since`
/// echoed, sequence numbers increasing and after `since`, `next` not
/// before the last of them nor before `since`, `revision` not below the
/// `next`, at most `max_entries` entries. A `revision`
/// below `since` is the serving store saying it is behind the reader's
/// cursor (it was replaced): the reader decides what to do.
pub fn parse_json(body: &[u8], since: u64, max_entries: usize) -> Result<Page, BadPage> {
    let page: InPage = serde_json::from_slice(body).map_err(|e| match e.classify() {
        serde_json::error::Category::Data => BadPage(e.to_string()),
        _ => BadPage(format!("not JSON: {e}")),
    })?;
    if page.since != since {
        return Err(BadPage(format!(
            "asked for the changes since {since}, got those since {}",
            page.since
        )));
    }
    if page.changes.len() > max_entries {
        return Err(BadPage(format!(
            "{} entries, more than the {max_entries} asked for",
            page.changes.len()
        )));
    }
    let (next, revision, more) = (page.next, page.revision, page.more);
    let mut entries = Vec::with_capacity(page.changes.len());
    let mut last = since;
    for (index, change) in page.changes.into_iter().enumerate() {
        if change.sequence <= last {
            return Err(BadPage(format!(
                "change {index}: sequence {} is not after {last}",
                change.sequence
            )));
        }
        last = change.sequence;
        let claimed_key = match change.key {
            Some(key) => key.chars().take(512).collect(),
            None => "(none)".to_string(),
        };
        entries.push(FeedEntry {
            sequence: change.sequence,
            claimed_key,
            document: change.document.into_bytes(),
        });
    }
    if next < last {
        return Err(BadPage(format!(
            "'next' is {next}, before the last sequence of the page, {last}"
        )));
    }
    if next > since && revision < next {
        return Err(BadPage(format!(
            "'revision' {revision} is below 'next' {next}"
        )));
    }
    Ok(Page {
        since,
        next,
        more,
        revision,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page() -> Page {
        Page {
            since: 4,
            next: 9,
            more: true,
            revision: 12,
            entries: vec![
                FeedEntry {
                    sequence: 5,
                    claimed_key: "a/b@c/2014-01-01T00:00:00Z".into(),
                    document: format!("{}<r a=\"&amp;\"/>\n", crate::document::DECLARATION)
                        .into_bytes(),
                },
                FeedEntry {
                    sequence: 9,
                    claimed_key: "x<y".into(),
                    document: b"<s/>\n".to_vec(),
                },
            ],
        }
    }

    #[test]
    fn json_pages_read_back() {
        let page = page();
        assert_eq!(parse_json(&write_json(&page), 4, 10), Ok(page));
    }

    #[test]
    fn xml_pages_hold_the_documents_verbatim() {
        let xml = String::from_utf8(write_xml(&page())).unwrap();
        assert!(xml.contains(
            "<change sequence=\"5\" key=\"a/b@c/2014-01-01T00:00:00Z\"><r a=\"&amp;\"/>\n</change>"
        ));
        assert!(xml.contains("key=\"x&lt;y\""));
        roxmltree::Document::parse(&xml).expect("well-formed");
    }

    #[test]
    fn pages_breaking_the_rules_are_refused() {
        let good = String::from_utf8(write_json(&page())).unwrap();
        let cases = [
            (good.clone(), 3, "asked for the changes since 3"),
            (good.replace("\"next\":9", "\"next\":8"), 4, "'next' is 8"),
            (good.replace("\"next\":9", "\"next\":3"), 4, "'next' is 3"),
            (
                good.replace("\"sequence\":5", "\"sequence\":4"),
                4,
                "not after 4",
            ),
            (
                good.replace("\"sequence\":5", "\"sequence\":10"),
                4,
                "not after 10",
            ),
            (
                good.replace("\"revision\":12", "\"revision\":2"),
                4,
                "below",
            ),
            ("<html/>".to_string(), 4, "not JSON"),
            (
                good.replace("\"more\":true", "\"more\":1"),
                4,
                "invalid type",
            ),
            (good.replace("\"since\":4,", ""), 4, "missing field `since`"),
        ];
        for (text, since, expected) in cases {
            let error = parse_json(text.as_bytes(), since, 10).unwrap_err();
            assert!(error.0.contains(expected), "{error} ({expected})");
        }
        assert!(parse_json(good.as_bytes(), 4, 1).is_err());
    }

    #[test]
    fn unknown_fields_are_skipped() {
        let good = String::from_utf8(write_json(&page())).unwrap();
        let padded = good.replacen("{", "{\"extra\":[[[{\"a\":[1,2,{\"b\":null}]}]]],", 2);
        assert_eq!(parse_json(padded.as_bytes(), 4, 10), Ok(page()));
    }
}
