//! The store: where entries live, behind the [`Store`] trait.
//!
//! The HTTP layer sees only the trait, so a backend can be swapped without
//! touching it. The trait is synchronous and the HTTP layer calls it on
//! tokio's blocking pool (`spawn_blocking`): SQLite is a blocking library,
//! a PostgreSQL backend would use a pool of blocking connections (the
//! `postgres` crate) the same way, and a synchronous trait keeps every
//! backend plain code that `import`, `export` and `check` call directly,
//! with no runtime.
//!
//! The operations are the Marketplace's own (put with the "older than
//! latest" rule, the listing query of §4.2, tags, endorsers), not rows and
//! columns: the embedded backend answers most of them from an in-memory
//! index ([`index`]), while a backend shared by several servers would
//! answer them in SQL. "Latest" is never stored: it is always the entry
//! with the greatest `created` of its (identifier, email).
//!
//! - [`sqlite`]: the embedded backend (one server process per data
//!   directory).
//! - [`query`]: the listing query and its evaluation over entries.
//! - [`layout`]: the legacy file layouts of §5.1, for import, export and
//!   `/sync`.

pub mod index;
pub mod layout;
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
}

/// What a put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// A new key.
    Created,
    /// The same key again: document and fields replaced.
    Replaced,
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

/// A store failure.
#[derive(Debug)]
pub enum StoreError {
    /// The put was refused: an entry of the same (identifier, email) with a
    /// later `created` exists.
    Older,
    /// The data directory is used by another server process.
    Locked(String),
    /// The database failed.
    Database(String),
    /// A file of the data directory could not be read or written.
    Io(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Older => f.write_str("older than latest entry"),
            StoreError::Locked(detail) => write!(f, "the store is in use: {detail}"),
            StoreError::Database(detail) => write!(f, "database error: {detail}"),
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

    /// Finish pending writes and release the store (shutdown).
    fn close(&self) -> Result<()>;
}
