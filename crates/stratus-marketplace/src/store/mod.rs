//! The store: where entries live, behind the [`Store`] trait.
//!
//! The HTTP layer sees only the trait, so a backend can be swapped without
//! touching it. The trait is synchronous and the HTTP layer calls it on
//! tokio's blocking pool (`spawn_blocking`): SQLite is a blocking library,
//! the PostgreSQL backend uses a pool of blocking connections (the
//! `postgres` crate) the same way, and a synchronous trait keeps every
//! backend plain code that `import`, `export` and `check` call directly,
//! with no runtime.
//!
//! The operations are the Marketplace's own (put with the "older than
//! latest" rule, the listing query of §4.2, tags, endorsers), not rows and
//! columns: the embedded backend answers most of them from an in-memory
//! index ([`index`]); the PostgreSQL backend keeps the same index and
//! brings it up to date from the database before each read. "Latest" is
//! never stored: it is always the entry with the greatest `created` of its
//! (identifier, email).
//!
//! - [`sqlite`]: the embedded backend (one server process per data
//!   directory).
//! - [`postgres`]: the shared backend (several server processes on one
//!   PostgreSQL database, behaving as one Marketplace).
//! - [`query`]: the listing query and its evaluation over entries.
//! - [`migrate`]: moving a store to another backend, verified.
//! - [`layout`]: the legacy file layouts of §5.1, for import, export and
//!   `/sync`.
//!
//! Everything several servers sharing one backend must agree on lives in
//! the store, not in a process: the entries, the uploads awaiting e-mail
//! confirmation ([`Pending`]), the last run of each scheduled job
//! ([`Store::claim_job`]), and a revision counter that lets a process keep
//! a derived view (the SPARQL graph) in step with writes made by others
//! ([`Store::changes_since`]).

pub mod index;
pub mod layout;
pub mod migrate;
pub mod postgres;
pub mod query;
pub mod sqlite;

use std::fmt;
use std::sync::Arc;

use crate::entry::{Entry, Key};
pub use query::{ListQuery, Listing};

/// Whether a put may store an entry older than the latest of its
/// (identifier, email).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Refuse it (`older than latest entry`, §3.2 step 5): uploads.
    NewerOnly,
    /// Store it (latest is recomputed anyway): import and `/sync`.
    Any,
    /// As [`Order::Any`], but a different document under a key already
    /// stored is refused ([`StoreError::Different`]); an identical one is
    /// [`Put::Unchanged`]: followed feeds, where a peer must not be able
    /// to replace what this Marketplace holds (nor two Marketplaces
    /// following each other swap two versions of one key forever).
    NewKeysOnly,
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// A new key.
    Created,
    /// The same key again: document and fields replaced.
    Replaced,
    /// The same key with a byte-identical document: nothing written, no
    /// revision taken. Replication relies on it: an entry that comes back
    /// from a peer (two Marketplaces following each other) is not a change,
    /// so it is not fed back again.
    Unchanged,
}

/// One endorser of §2.6: a distinct (email, subject, issuer).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Endorser {
    /// The endorser's e-mail.
    pub email: String,
    /// The certificate subject, when the document gave one.
    pub subject: Option<String>,
    /// The certificate issuer, when the document gave one.
    pub issuer: Option<String>,
}

/// An upload that passed every check and awaits its endorser's e-mail
/// confirmation (marketplace.md §2.2 step 7, §2.11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The identifier in the confirmation links (a random UUID).
    pub id: String,
    /// The entry it becomes once confirmed.
    pub entry: Entry,
    /// The document, as it will be stored.
    pub document: Vec<u8>,
    /// When it was received (`yyyy-MM-ddTHH:mm:ssZ`).
    pub received: String,
    /// When it stops being confirmable (same form).
    pub expires: String,
}

/// What confirming a pending upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Committed as this key; the pending upload is gone.
    Committed(Key, Put),
    /// No pending upload of that identifier (never, already confirmed or
    /// aborted, or purged after expiry).
    NotFound,
    /// It had expired; it is gone now.
    Expired,
    /// An entry of the same (identifier, email) with a later `created` was
    /// committed meanwhile; the pending upload is gone.
    Older,
}

/// One committed write, for keeping a derived view in step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The store's revision after this write (increasing).
    pub revision: u64,
    /// The key written (a new entry or a replaced one).
    pub key: Key,
}

/// A store failure.
#[derive(Debug)]
pub enum StoreError {
    /// The put was refused: an entry of the same (identifier, email) with a
    /// later `created` exists.
    Older,
    /// The put was refused ([`Order::NewKeysOnly`]): a different document
    /// is stored under the same key.
    Different,
    /// The data directory is used by another server process.
    Locked(String),
    /// The database failed.
    Database(String),
    /// The database cannot be reached now (down, restarting, network
    /// cut): the request may be retried later (HTTP 503).
    Unavailable(String),
    /// A file of the data directory could not be read or written.
    Io(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Older => f.write_str("older than latest entry"),
            StoreError::Different => {
                f.write_str("a different document is stored under this key; the local one is kept")
            }
            StoreError::Locked(detail) => write!(f, "the store is in use: {detail}"),
            StoreError::Database(detail) => write!(f, "database error: {detail}"),
            StoreError::Unavailable(detail) => {
                write!(f, "the database is unavailable, try again later: {detail}")
            }
            StoreError::Io(detail) => f.write_str(detail),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

/// Which backend holds the store, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// SQLite in the data directory.
    Sqlite,
    /// A PostgreSQL database.
    Postgres {
        /// The connection URL or `key=value` string.
        url: String,
        /// The most connections this process opens.
        pool_size: u32,
    },
}

/// Open the store of `backend` (`data_dir` is the SQLite one's directory).
pub fn open(backend: &Backend, data_dir: &std::path::Path) -> Result<Arc<dyn Store>> {
    Ok(match backend {
        Backend::Sqlite => Arc::new(sqlite::SqliteStore::open(data_dir)?),
        Backend::Postgres { url, pool_size } => {
            Arc::new(postgres::PostgresStore::open(url, *pool_size)?)
        }
    })
}

/// The result type of store operations.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A Marketplace store. Every method is safe to call from many threads at
/// once; writes are transactions, acknowledged only once committed.
pub trait Store: Send + Sync + 'static {
    /// Store `entry` with its `document` (the bytes that were verified),
    /// replacing an entry of the same key. With [`Order::NewerOnly`] the
    /// check against the latest entry and the write are one transaction.
    fn put(&self, entry: Entry, document: Vec<u8>, order: Order) -> Result<Put>;

    /// Several puts in one transaction (import): each is checked as
    /// [`Store::put`] would, and the outcome of each is returned in order.
    fn put_many(&self, batch: Vec<(Entry, Vec<u8>)>, order: Order) -> Result<Vec<Result<Put>>>;

    /// The stored document of `key`.
    fn document(&self, key: &Key) -> Result<Option<Vec<u8>>>;

    /// The stored documents of several keys, in order (missing ones
    /// skipped, as legacy did).
    fn documents(&self, keys: &[Key]) -> Result<Vec<Vec<u8>>>;

    /// The listing of §2.1/§4.2.
    fn list(&self, query: &ListQuery) -> Result<Listing>;

    /// [`Store::document`], answered at once when the backend can do it
    /// without blocking (from memory); `None` means "call
    /// [`Store::document`] on the blocking pool". The HTTP layer tries
    /// this first, so that the hot path costs no thread hand-off.
    fn document_now(&self, _key: &Key) -> Option<Result<Option<Vec<u8>>>> {
        None
    }

    /// [`Store::documents`], answered at once when every document is in
    /// memory; `None` otherwise.
    fn documents_now(&self, _keys: &[Key]) -> Option<Result<Vec<Vec<u8>>>> {
        None
    }

    /// [`Store::list`], answered at once when the backend has this very
    /// listing at hand; `None` otherwise.
    fn list_now(&self, _query: &ListQuery) -> Option<Result<Listing>> {
        None
    }

    /// The greatest `created` of (identifier, email): the latest entry's.
    fn latest_created(&self, identifier: &str, email: &str) -> Result<Option<String>>;

    /// The entry a tag resolves to (§4.5).
    fn by_tag(&self, email: &str, tag: &str) -> Result<Option<Arc<Entry>>>;

    /// Every distinct endorser (§2.6), sorted.
    fn endorsers(&self) -> Result<Vec<Endorser>>;

    /// Every entry endorsed by `email` with `created` later than `since`
    /// (§2.7), newest first.
    fn history(&self, email: &str, since: &str) -> Result<Vec<Arc<Entry>>>;

    /// The distinct tags of every entry endorsed by `email` (§2.8), sorted.
    fn tags(&self, email: &str) -> Result<Vec<String>>;

    /// Every key, sorted (export, check).
    fn keys(&self) -> Result<Vec<Key>>;

    /// The number of entries.
    fn len(&self) -> Result<usize>;

    /// Whether the store has no entry.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// The current revision: it grows with every committed entry write.
    fn revision(&self) -> Result<u64>;

    /// The writes committed after `revision`, oldest first, at most
    /// `limit` of them. A key appears once, at the revision of its last
    /// write, so the changes are a feed of the store's current entries in
    /// commit order (the `/changes` route). Revisions become visible in
    /// order: a reader that saw revision N never later sees a new write
    /// with a revision below N.
    fn changes_since(&self, revision: u64, limit: usize) -> Result<Vec<Change>>;

    /// How far the feed of the peer Marketplace `peer` (its base URL) has
    /// been committed here: the last revision of the peer's feed taken,
    /// 0 when none yet (`serve --follow`).
    fn peer_cursor(&self, peer: &str) -> Result<u64>;

    /// Record that the peer's feed is committed up to `cursor`.
    fn set_peer_cursor(&self, peer: &str, cursor: u64) -> Result<()>;

    /// Keep an upload awaiting confirmation.
    fn put_pending(&self, pending: Pending) -> Result<()>;

    /// The pending upload `id`, unless it has expired at `now`.
    fn pending(&self, id: &str, now: &str) -> Result<Option<Pending>>;

    /// Confirm the pending upload `id` at `now`: in one transaction, check
    /// it has not expired, check "older than latest" again, commit the
    /// entry and drop the pending upload. Of two confirmations of the same
    /// upload (on any server), one commits and the other finds nothing.
    fn confirm_pending(&self, id: &str, now: &str) -> Result<Confirmed>;

    /// Drop the pending upload `id`; whether there was one.
    fn abort_pending(&self, id: &str) -> Result<bool>;

    /// Drop every pending upload expired at `now`; how many.
    fn purge_pending(&self, now: &str) -> Result<usize>;

    /// Claim the run of the scheduled job `name` at `now` (seconds since
    /// the epoch): `true`, and the run recorded, when it never ran or last
    /// ran at least `every` seconds before; `false` otherwise. Several
    /// servers sharing a store run each job once.
    fn claim_job(&self, name: &str, now: i64, every: i64) -> Result<bool>;

    /// Finish pending writes and release the store (shutdown).
    fn close(&self) -> Result<()>;
}

#[cfg(test)]
pub(crate) mod conformance {
    //! Behaviour every backend must have, run against each of them.

    use super::*;
    use crate::entry::Fields;

    fn entry(created: &str) -> Entry {
        Entry {
            key: Key::new("a", "jane@example.org", created).unwrap(),
            endorsed: true,
            fields: Fields::default(),
        }
    }

    /// A byte-identical put writes nothing and takes no revision; a
    /// different document under the same key is a change.
    pub fn identical_put_is_no_change(store: &dyn Store) {
        let first = entry("2014-01-01T00:00:00Z");
        assert_eq!(
            store
                .put(first.clone(), b"one".to_vec(), Order::NewerOnly)
                .unwrap(),
            Put::Created
        );
        let revision = store.revision().unwrap();
        assert_eq!(
            store
                .put(first.clone(), b"one".to_vec(), Order::Any)
                .unwrap(),
            Put::Unchanged
        );
        assert_eq!(store.revision().unwrap(), revision);
        assert_eq!(store.changes_since(revision, 10).unwrap(), vec![]);
        assert_eq!(
            store
                .put(first.clone(), b"two".to_vec(), Order::Any)
                .unwrap(),
            Put::Replaced
        );
        let changes = store.changes_since(revision, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key, first.key);
        assert!(changes[0].revision > revision);
    }

    /// [`Order::NewKeysOnly`] stores a new key, takes an identical
    /// document as no change, and refuses a different one under a stored
    /// key, which is kept.
    pub fn new_keys_only_keeps_stored_documents(store: &dyn Store) {
        let first = entry("2014-01-01T00:00:00Z");
        assert_eq!(
            store
                .put(first.clone(), b"one".to_vec(), Order::NewKeysOnly)
                .unwrap(),
            Put::Created
        );
        let revision = store.revision().unwrap();
        assert_eq!(
            store
                .put(first.clone(), b"one".to_vec(), Order::NewKeysOnly)
                .unwrap(),
            Put::Unchanged
        );
        assert!(matches!(
            store.put(first.clone(), b"two".to_vec(), Order::NewKeysOnly),
            Err(StoreError::Different)
        ));
        let results = store
            .put_many(
                vec![
                    (first.clone(), b"three".to_vec()),
                    (entry("2013-01-01T00:00:00Z"), b"old".to_vec()),
                ],
                Order::NewKeysOnly,
            )
            .unwrap();
        assert!(matches!(results[0], Err(StoreError::Different)));
        assert!(matches!(results[1], Ok(Put::Created)));
        assert_eq!(store.document(&first.key).unwrap().unwrap(), b"one");
        let changes = store.changes_since(revision, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].key.created, "2013-01-01T00:00:00Z");
    }

    /// Peer cursors start at 0 and keep what was set.
    pub fn peer_cursors(store: &dyn Store) {
        assert_eq!(store.peer_cursor("https://a.example.org/").unwrap(), 0);
        store.set_peer_cursor("https://a.example.org/", 42).unwrap();
        store.set_peer_cursor("https://b.example.org/", 7).unwrap();
        store.set_peer_cursor("https://a.example.org/", 43).unwrap();
        assert_eq!(store.peer_cursor("https://a.example.org/").unwrap(), 43);
        assert_eq!(store.peer_cursor("https://b.example.org/").unwrap(), 7);
    }
}
