//! The in-memory index of the embedded backend: every entry's key and
//! fields (not its document), grouped by (identifier, email) with the
//! versions ordered by `created`, so that "latest" is always the last
//! version of its group: recomputed, never flagged.
//!
//! It is rebuilt from the database when the store opens and updated after
//! each commit; it answers every query but the documents themselves.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use super::query::{evaluate, evaluate_in_order, ListQuery, Listing, Sort};
use super::{Endorser, Put};
use crate::entry::{Entry, Key};

/// The versions of one (identifier, email), sorted by `created` (a small
/// vector: most groups hold one version).
type Versions = Vec<Arc<Entry>>;

/// The most listings kept by the listing cache.
const CACHED_LISTINGS: usize = 256;

/// The index.
///
/// Two things are derived from the entries and dropped at every change:
/// the latest versions in the default order (built at the first listing
/// after a change), and the listings already computed, by query (each
/// query names its "now", so an entry that expires is never listed from
/// a stale copy).
#[derive(Debug, Default)]
pub struct Index {
    groups: HashMap<(String, String), Versions>,
    len: usize,
    latest_sorted: OnceLock<Vec<Arc<Entry>>>,
    listings: Mutex<HashMap<String, Listing>>,
}

impl Index {
    /// Add or replace an entry.
    pub fn insert(&mut self, entry: Entry) -> Put {
        self.latest_sorted = OnceLock::new();
        self.listings
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
        let group = (entry.key.identifier.clone(), entry.key.email.clone());
        let versions = self.groups.entry(group).or_default();
        match versions.binary_search_by(|v| v.key.created.cmp(&entry.key.created)) {
            Ok(at) => {
                versions[at] = Arc::new(entry);
                Put::Replaced
            }
            Err(at) => {
                versions.insert(at, Arc::new(entry));
                self.len += 1;
                Put::Created
            }
        }
    }

    /// The greatest `created` of (identifier, email).
    pub fn latest_created(&self, identifier: &str, email: &str) -> Option<&str> {
        // The map is keyed by owned pairs; build one only for the lookup.
        self.groups
            .get(&(identifier.to_string(), email.to_string()))
            .and_then(|v| v.last())
            .map(|e| e.key.created.as_str())
    }

    /// The entry of `key`.
    pub fn get(&self, key: &Key) -> Option<&Arc<Entry>> {
        self.groups
            .get(&(key.identifier.clone(), key.email.clone()))
            .and_then(|v| {
                v.binary_search_by(|e| e.key.created.cmp(&key.created))
                    .ok()
                    .map(|at| &v[at])
            })
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the index is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn latest(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.groups.values().filter_map(|v| v.last())
    }

    fn all(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.groups.values().flat_map(|v| v.iter())
    }

    /// The latest version of each (identifier, email), in the default
    /// order (created descending, identifier, email).
    fn latest_sorted(&self) -> &[Arc<Entry>] {
        self.latest_sorted.get_or_init(|| {
            let mut latest: Vec<Arc<Entry>> = self.latest().cloned().collect();
            let order = ListQuery::new(String::new());
            latest.sort_unstable_by(|a, b| order.compare(a, b));
            latest
        })
    }

    /// The listing of `query`.
    pub fn list(&self, query: &ListQuery) -> Listing {
        let key = query.cache_key();
        if let Some(listing) = self.cached(&key) {
            return listing;
        }
        let latest = self.latest_sorted();
        let total = latest.iter().filter(|e| query.counts_in_total(e)).count();
        let listing = match (query.latest_only(), query.sort == Sort::default()) {
            (true, true) => evaluate_in_order(latest.iter(), query, total),
            (true, false) => evaluate(latest.iter(), query, total),
            (false, _) => evaluate(self.all(), query, total),
        };
        if let Ok(mut listings) = self.listings.lock() {
            if listings.len() >= CACHED_LISTINGS {
                listings.clear();
            }
            listings.insert(key, listing.clone());
        }
        listing
    }

    /// The listing of `query` if it is cached (no computation).
    pub fn list_cached(&self, query: &ListQuery) -> Option<Listing> {
        self.cached(&query.cache_key())
    }

    fn cached(&self, key: &str) -> Option<Listing> {
        self.listings.lock().ok()?.get(key).cloned()
    }

    /// §4.5: among `email`'s entries tagged `tag`, grouped by identifier,
    /// drop every identifier with a deprecated version, then take the
    /// newest version of the identifier whose newest version is newest.
    pub fn by_tag(&self, email: &str, tag: &str) -> Option<Arc<Entry>> {
        let mut newest: HashMap<&str, (&Arc<Entry>, bool)> = HashMap::new();
        for entry in self.all() {
            if entry.key.email != email || entry.fields.alternative.as_deref() != Some(tag) {
                continue;
            }
            let deprecated = entry.fields.deprecated.is_some();
            let slot = newest
                .entry(entry.key.identifier.as_str())
                .or_insert((entry, false));
            if entry.key.created > slot.0.key.created {
                slot.0 = entry;
            }
            slot.1 |= deprecated;
        }
        newest
            .into_values()
            .filter(|(_, deprecated)| !deprecated)
            .map(|(entry, _)| entry)
            .max_by(|a, b| {
                a.key
                    .created
                    .cmp(&b.key.created)
                    .then_with(|| b.key.identifier.cmp(&a.key.identifier))
            })
            .cloned()
    }

    /// Every distinct (email, subject, issuer), sorted.
    pub fn endorsers(&self) -> Vec<Endorser> {
        let set: BTreeSet<Endorser> = self
            .all()
            .filter(|e| !e.key.email.is_empty())
            .map(|e| Endorser {
                email: e.key.email.clone(),
                subject: e.fields.subject.clone(),
                issuer: e.fields.issuer.clone(),
            })
            .collect();
        set.into_iter().collect()
    }

    /// `email`'s entries with `created > since`, newest first.
    pub fn history(&self, email: &str, since: &str) -> Vec<Arc<Entry>> {
        let mut rows: Vec<Arc<Entry>> = self
            .all()
            .filter(|e| e.key.email == email && e.key.created.as_str() > since)
            .cloned()
            .collect();
        rows.sort_by(|a, b| {
            b.key
                .created
                .cmp(&a.key.created)
                .then_with(|| a.key.identifier.cmp(&b.key.identifier))
        });
        rows
    }

    /// The distinct tags of `email`'s entries, sorted.
    pub fn tags(&self, email: &str) -> Vec<String> {
        let set: BTreeSet<&str> = self
            .all()
            .filter(|e| e.key.email == email)
            .filter_map(|e| e.fields.alternative.as_deref())
            .collect();
        set.into_iter().map(str::to_string).collect()
    }

    /// Every key, sorted.
    pub fn keys(&self) -> Vec<Key> {
        let mut keys: Vec<Key> = self.all().map(|e| e.key.clone()).collect();
        keys.sort();
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Fields;

    fn entry(id: &str, created: &str, tag: &str, deprecated: bool) -> Entry {
        Entry {
            key: Key::new(id, "jane@example.org", created).unwrap(),
            endorsed: true,
            fields: Fields {
                valid: Some("2030-01-01T00:00:00Z".into()),
                alternative: Some(tag.into()),
                deprecated: deprecated.then(String::new),
                ..Fields::default()
            },
        }
    }

    #[test]
    fn latest_is_the_greatest_created_whatever_the_order_of_puts() {
        let mut index = Index::default();
        assert_eq!(
            index.insert(entry("a", "2014-02-01T00:00:00Z", "", false)),
            Put::Created
        );
        index.insert(entry("a", "2014-01-01T00:00:00Z", "", false));
        assert_eq!(
            index.latest_created("a", "jane@example.org"),
            Some("2014-02-01T00:00:00Z")
        );
        assert_eq!(
            index.insert(entry("a", "2014-01-01T00:00:00Z", "", false)),
            Put::Replaced
        );
        assert_eq!(index.len(), 2);
        let listing = index.list(&ListQuery::new("2015-01-01T00:00:00Z".into()));
        assert_eq!(listing.rows.len(), 1);
        assert_eq!(listing.rows[0].key.created, "2014-02-01T00:00:00Z");
    }

    #[test]
    fn a_cached_listing_is_dropped_by_a_change_and_by_the_clock() {
        let mut index = Index::default();
        index.insert(entry("a", "2014-01-01T00:00:00Z", "", false));
        let query = ListQuery::new("2015-01-01T00:00:00Z".into());
        assert_eq!(index.list(&query).rows.len(), 1);
        index.insert(entry("b", "2014-01-02T00:00:00Z", "", false));
        let listing = index.list(&query);
        assert_eq!(listing.rows.len(), 2);
        assert_eq!(listing.rows[0].key.identifier, "b");
        // Past dcterms:valid (2030), the same query at a later "now" is empty.
        let later = ListQuery::new("2031-01-01T00:00:00Z".into());
        assert!(index.list(&later).rows.is_empty());
        assert_eq!(index.list(&query).rows.len(), 2);
    }

    #[test]
    fn a_deprecated_version_removes_its_identifier_from_tag_lookups() {
        let mut index = Index::default();
        index.insert(entry("a", "2014-05-04T16:47:11Z", "Alt", false));
        index.insert(entry("b", "2014-05-04T16:49:03Z", "Alt", false));
        let found = index.by_tag("jane@example.org", "Alt").unwrap();
        assert_eq!(found.key.identifier, "b");
        index.insert(entry("a", "2014-08-17T15:16:48Z", "Alt", true));
        assert_eq!(
            index
                .by_tag("jane@example.org", "Alt")
                .unwrap()
                .key
                .identifier,
            "b"
        );
        index.insert(entry("b", "2014-09-01T00:00:00Z", "Alt", true));
        assert!(index.by_tag("jane@example.org", "Alt").is_none());
    }
}
