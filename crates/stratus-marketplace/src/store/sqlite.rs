//! The embedded backend: SQLite (bundled, WAL journal) in the data
//! directory, plus the in-memory [`Index`].
//!
//! - One table holds every entry: its key, its indexed fields and its
//!   document. The database is the source of truth; the index is rebuilt
//!   from it at open.
//! - Writes go through one writer thread that commits in groups: it takes
//!   every put waiting at that moment, runs them in one transaction (each
//!   with its "older than latest" check, which sees the earlier ones), and
//!   commits with `synchronous=FULL`, so a write is on disk before any of
//!   the puts returns. The index is updated after the commit and before
//!   the reply: what a client was told is stored is listed at once.
//! - Documents are read through a small pool of read-only connections;
//!   WAL lets them read while the writer writes. The most recently read
//!   ones are kept in memory (up to [`DOCUMENT_CACHE_BYTES`]), so a popular
//!   entry is served without a database read or a thread hand-off.
//! - A lock file (`marketplace.lock`, an advisory lock the kernel drops
//!   when the process dies) keeps a second server off the same directory,
//!   since its index would go stale.
//! - Uploads awaiting e-mail confirmation live in their own table
//!   (`pending`), so they survive restarts; confirming one is a single
//!   transaction of the writer (check, commit, drop). Each entry write
//!   takes the next revision number (`entries.revision`), which
//!   [`Store::changes_since`] reads; scheduled jobs record their last run
//!   in `jobs`, and the cursor of each followed peer's feed in `peers`.
//!   A put of a byte-identical document writes nothing ([`Put::Unchanged`]).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

use super::index::Index;
use super::query::{ListQuery, Listing};
use super::{Change, Confirmed, Endorser, Order, Pending, Put, Result, Store, StoreError};
use crate::entry::{Entry, Fields, Key};

/// The database file in the data directory.
pub const DATABASE_FILE: &str = "marketplace.sqlite";
/// The lock file in the data directory.
pub const LOCK_FILE: &str = "marketplace.lock";
/// The schema version this code writes (`PRAGMA user_version`).
const SCHEMA_VERSION: i64 = 3;
/// The most puts one transaction takes.
const MAX_GROUP: usize = 512;
/// Read connections kept open between reads.
const MAX_IDLE_READERS: usize = 8;
/// The most document bytes kept in memory.
pub const DOCUMENT_CACHE_BYTES: usize = 32 * 1024 * 1024;

/// Recently read documents, least recently used dropped first.
struct DocumentCache {
    documents: lru::LruCache<Key, Arc<[u8]>>,
    bytes: usize,
}

impl DocumentCache {
    fn get(&mut self, key: &Key) -> Option<Arc<[u8]>> {
        self.documents.get(key).cloned()
    }

    fn put(&mut self, key: Key, document: Arc<[u8]>) {
        if document.len() > DOCUMENT_CACHE_BYTES / 16 {
            return;
        }
        self.bytes += document.len();
        if let Some(old) = self.documents.put(key, document) {
            self.bytes -= old.len();
        }
        while self.bytes > DOCUMENT_CACHE_BYTES {
            match self.documents.pop_lru() {
                Some((_, old)) => self.bytes -= old.len(),
                None => break,
            }
        }
    }

    fn forget(&mut self, key: &Key) {
        if let Some(old) = self.documents.pop(key) {
            self.bytes -= old.len();
        }
    }
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS entries (
    identifier  TEXT NOT NULL,
    email       TEXT NOT NULL,
    created     TEXT NOT NULL,
    endorsed    INTEGER NOT NULL,
    valid       TEXT,
    deprecated  TEXT,
    alternative TEXT,
    os          TEXT,
    os_version  TEXT,
    os_arch     TEXT,
    kind        TEXT,
    locations   TEXT NOT NULL,
    description TEXT,
    title       TEXT,
    subject     TEXT,
    issuer      TEXT,
    stored      TEXT NOT NULL,
    document    BLOB NOT NULL,
    PRIMARY KEY (identifier, email, created)
);";

/// What version 2 adds: the revision of each entry write, the uploads
/// awaiting confirmation and the scheduled jobs' last runs.
const SCHEMA_2: &str = "
CREATE INDEX IF NOT EXISTS entries_revision ON entries (revision);
CREATE TABLE IF NOT EXISTS pending (
    id          TEXT PRIMARY KEY,
    identifier  TEXT NOT NULL,
    email       TEXT NOT NULL,
    created     TEXT NOT NULL,
    endorsed    INTEGER NOT NULL,
    valid       TEXT,
    deprecated  TEXT,
    alternative TEXT,
    os          TEXT,
    os_version  TEXT,
    os_arch     TEXT,
    kind        TEXT,
    locations   TEXT NOT NULL,
    description TEXT,
    title       TEXT,
    subject     TEXT,
    issuer      TEXT,
    document    BLOB NOT NULL,
    received    TEXT NOT NULL,
    expires     TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pending_expires ON pending (expires);
CREATE TABLE IF NOT EXISTS jobs (
    name     TEXT PRIMARY KEY,
    last_run INTEGER NOT NULL
);";

/// What version 3 adds: how far each followed peer's feed is committed.
const SCHEMA_3: &str = "
CREATE TABLE IF NOT EXISTS peers (
    peer   TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL
);";

/// The columns of an entry without its document, in [`entry_from_row`] order.
const ENTRY_COLUMNS: &str =
    "identifier, email, created, endorsed, valid, deprecated, alternative, \
     os, os_version, os_arch, kind, locations, description, title, subject, issuer";

/// One request to the writer thread.
struct WriteRequest {
    batch: Vec<(Entry, Vec<u8>)>,
    order: Order,
    reply: mpsc::SyncSender<Result<Vec<Result<Put>>>>,
}

/// What the writer thread owns and every write needs.
struct Writer {
    connection: Connection,
    index: Arc<RwLock<Index>>,
    cache: Arc<Mutex<DocumentCache>>,
    /// The last revision given to a committed write.
    revision: Arc<AtomicU64>,
}

/// A write that is not a put: run alone, in its own transaction.
type Task = Box<dyn FnOnce(&mut Writer) + Send>;

/// What the writer thread is asked to do.
enum Request {
    Put(WriteRequest),
    Task(Task),
}

/// The SQLite store.
pub struct SqliteStore {
    database: PathBuf,
    index: Arc<RwLock<Index>>,
    writer: Mutex<Option<(mpsc::Sender<Request>, JoinHandle<()>)>>,
    readers: Mutex<Vec<Connection>>,
    cache: Arc<Mutex<DocumentCache>>,
    revision: Arc<AtomicU64>,
    _lock: File,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Open (creating it if needed) the store in the data directory `dir`.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        let lock = lock_directory(dir)?;
        let database = dir.join(DATABASE_FILE);
        let connection = Connection::open(&database)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "{}: schema version {version} is newer than this server's ({SCHEMA_VERSION})",
                database.display()
            )));
        }
        migrate(&connection)?;
        let index = Arc::new(RwLock::new(load_index(&connection)?));
        let cache = Arc::new(Mutex::new(DocumentCache {
            documents: lru::LruCache::unbounded(),
            bytes: 0,
        }));
        let latest: i64 =
            connection.query_row("SELECT COALESCE(MAX(revision), 0) FROM entries", [], |r| {
                r.get(0)
            })?;
        let revision = Arc::new(AtomicU64::new(u64::try_from(latest).unwrap_or(0)));
        let (sender, receiver) = mpsc::channel();
        let writer = Writer {
            connection,
            index: Arc::clone(&index),
            cache: Arc::clone(&cache),
            revision: Arc::clone(&revision),
        };
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(writer, receiver))
            .map_err(|e| StoreError::Io(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteStore {
            database,
            index,
            writer: Mutex::new(Some((sender, handle))),
            readers: Mutex::new(Vec::new()),
            cache,
            revision,
            _lock: lock,
        })
    }

    /// Run `work` on the writer thread, in order with the other writes.
    fn run_task<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Writer) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = mpsc::sync_channel(1);
        let task: Task = Box::new(move |writer| {
            let _ = reply.send(work(writer));
        });
        {
            let writer = self.writer.lock().map_err(poisoned)?;
            let (sender, _) = writer
                .as_ref()
                .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
            sender
                .send(Request::Task(task))
                .map_err(|_| StoreError::Database("the writer thread stopped".into()))?;
        }
        answer
            .recv()
            .map_err(|_| StoreError::Database("the writer thread stopped".into()))?
    }

    fn cached(&self, key: &Key) -> Option<Arc<[u8]>> {
        self.cache.lock().ok()?.get(key)
    }

    fn remember(&self, key: &Key, document: &[u8]) {
        if let Ok(mut cache) = self.cache.lock() {
            cache.put(key.clone(), Arc::from(document));
        }
    }

    /// Run `PRAGMA integrity_check`; the problems found, if any.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.with_reader(|c| {
            let mut statement = c.prepare("PRAGMA integrity_check")?;
            let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
            let problems: Vec<String> = rows
                .collect::<std::result::Result<Vec<_>, _>>()?
                .into_iter()
                .filter(|line| line != "ok")
                .collect();
            Ok(problems)
        })
    }

    fn with_reader<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let taken = self.readers.lock().map_err(poisoned)?.pop();
        let connection = match taken {
            Some(c) => c,
            None => {
                let c = Connection::open_with_flags(
                    &self.database,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                c.busy_timeout(std::time::Duration::from_secs(10))?;
                c
            }
        };
        let result = work(&connection);
        let mut idle = self.readers.lock().map_err(poisoned)?;
        if idle.len() < MAX_IDLE_READERS {
            idle.push(connection);
        }
        result
    }

    fn read_index<T>(&self, work: impl FnOnce(&Index) -> T) -> Result<T> {
        let index = self.index.read().map_err(poisoned)?;
        Ok(work(&index))
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Database("a thread panicked while holding the store".into())
}

fn lock_directory(dir: &Path) -> Result<File> {
    let path = dir.join(LOCK_FILE);
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Io(format!("{}: {e}", path.display())))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
            "{} is held by another stratus-marketplace process",
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(StoreError::Io(format!("{}: {e}", path.display())))
        }
    }
}

fn load_index(connection: &Connection) -> Result<Index> {
    let mut index = Index::default();
    let mut statement = connection.prepare(&format!("SELECT {ENTRY_COLUMNS} FROM entries"))?;
    let mut rows = statement.query([])?;
    while let Some(row) = rows.next()? {
        index.insert(entry_from_row(row)?);
    }
    Ok(index)
}

fn entry_from_row(row: &rusqlite::Row) -> Result<Entry> {
    let locations: String = row.get(11)?;
    let locations: Vec<String> = serde_json::from_str(&locations)
        .map_err(|e| StoreError::Database(format!("bad locations column: {e}")))?;
    Ok(Entry {
        key: Key {
            identifier: row.get(0)?,
            email: row.get(1)?,
            created: row.get(2)?,
        },
        endorsed: row.get(3)?,
        fields: Fields {
            valid: row.get(4)?,
            deprecated: row.get(5)?,
            alternative: row.get(6)?,
            os: row.get(7)?,
            os_version: row.get(8)?,
            os_arch: row.get(9)?,
            kind: row.get(10)?,
            locations,
            description: row.get(12)?,
            title: row.get(13)?,
            subject: row.get(14)?,
            issuer: row.get(15)?,
        },
    })
}

/// The writer thread: group commits until every sender is gone. Puts
/// waiting together are committed in one transaction; any other write runs
/// alone, in order.
fn write_loop(mut writer: Writer, requests: mpsc::Receiver<Request>) {
    let mut next = requests.recv().ok();
    while let Some(request) = next.take() {
        match request {
            Request::Task(task) => task(&mut writer),
            Request::Put(first) => {
                let mut group = vec![first];
                let mut size = group[0].batch.len();
                while size < MAX_GROUP {
                    match requests.try_recv() {
                        Ok(Request::Put(put)) => {
                            size += put.batch.len();
                            group.push(put);
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                commit_group(&mut writer, group);
            }
        }
        if next.is_none() {
            next = requests.recv().ok();
        }
    }
    // Leave a small WAL behind: fold it into the database.
    let _ = writer
        .connection
        .pragma_update(None, "wal_checkpoint", "TRUNCATE");
}

/// Bring a database of an older schema up to this one.
fn migrate(connection: &Connection) -> Result<()> {
    connection.execute_batch(SCHEMA)?;
    let has_revision = connection
        .prepare("SELECT 1 FROM pragma_table_info('entries') WHERE name = 'revision'")?
        .exists([])?;
    if !has_revision {
        connection.execute_batch(
            "ALTER TABLE entries ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
             UPDATE entries SET revision = rowid;",
        )?;
    }
    connection.execute_batch(SCHEMA_2)?;
    connection.execute_batch(SCHEMA_3)?;
    connection.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

fn commit_group(writer: &mut Writer, group: Vec<WriteRequest>) {
    let start = writer.revision.load(Ordering::SeqCst);
    let mut revision = start;
    let outcome = (|| -> Result<Vec<Vec<Result<Put>>>> {
        let transaction = writer.connection.transaction()?;
        let mut outcomes = Vec::with_capacity(group.len());
        for request in &group {
            let mut results = Vec::with_capacity(request.batch.len());
            for (entry, document) in &request.batch {
                let result = write_one(&transaction, entry, document, request.order, revision + 1)?;
                if matches!(result, Ok(Put::Created | Put::Replaced)) {
                    revision += 1;
                }
                results.push(result);
            }
            outcomes.push(results);
        }
        transaction.commit()?;
        Ok(outcomes)
    })();
    match outcome {
        Ok(outcomes) => {
            let entries: Vec<&Entry> = group
                .iter()
                .zip(&outcomes)
                .flat_map(|(request, results)| {
                    request
                        .batch
                        .iter()
                        .zip(results)
                        .filter(|(_, r)| matches!(r, Ok(Put::Created | Put::Replaced)))
                        .map(|((entry, _), _)| entry)
                })
                .collect();
            writer.committed(&entries, revision);
            for (request, results) in group.into_iter().zip(outcomes) {
                let _ = request.reply.send(Ok(results));
            }
        }
        Err(error) => {
            tracing::error!("store: transaction failed: {error}");
            for request in group {
                let _ = request
                    .reply
                    .send(Err(StoreError::Database(error.to_string())));
            }
        }
    }
}

impl Writer {
    /// After a commit: forget replaced documents, index the entries, and
    /// publish the revision (in that order: what a reader is told is
    /// committed is listed).
    fn committed(&self, entries: &[&Entry], revision: u64) {
        if let Ok(mut cache) = self.cache.lock() {
            for entry in entries {
                cache.forget(&entry.key);
            }
        }
        if let Ok(mut index) = self.index.write() {
            for entry in entries {
                index.insert((*entry).clone());
            }
        }
        self.revision.store(revision, Ordering::SeqCst);
    }

    /// Confirm a pending upload (see [`Store::confirm_pending`]).
    fn confirm(&mut self, id: &str, now: &str) -> Result<Confirmed> {
        let revision = self.revision.load(Ordering::SeqCst) + 1;
        let transaction = self.connection.transaction()?;
        let row = transaction
            .prepare_cached(&format!(
                "SELECT {ENTRY_COLUMNS}, document, received, expires FROM pending WHERE id = ?1"
            ))?
            .query_row(params![id], |row| {
                Ok((
                    entry_from_row(row),
                    row.get::<_, Vec<u8>>(16)?,
                    row.get::<_, String>(18)?,
                ))
            })
            .optional()?;
        let Some((entry, document, expires)) = row else {
            return Ok(Confirmed::NotFound);
        };
        let entry = entry.map_err(|e| StoreError::Database(e.to_string()))?;
        transaction
            .prepare_cached("DELETE FROM pending WHERE id = ?1")?
            .execute(params![id])?;
        let outcome = if expires.as_str() <= now {
            Confirmed::Expired
        } else {
            match write_one(&transaction, &entry, &document, Order::NewerOnly, revision)? {
                Ok(put) => Confirmed::Committed(entry.key.clone(), put),
                Err(_) => Confirmed::Older,
            }
        };
        transaction.commit()?;
        if matches!(
            outcome,
            Confirmed::Committed(_, Put::Created | Put::Replaced)
        ) {
            self.committed(&[&entry], revision);
        }
        Ok(outcome)
    }
}

/// One put inside the group's transaction; `Ok(Err(Older | Different))` refuses only
/// this put, an `Err` aborts the whole transaction.
fn write_one(
    transaction: &rusqlite::Transaction,
    entry: &Entry,
    document: &[u8],
    order: Order,
    revision: u64,
) -> Result<Result<Put>> {
    let key = &entry.key;
    if order == Order::NewerOnly {
        let latest: Option<String> = transaction
            .prepare_cached(
                "SELECT MAX(created) FROM entries WHERE identifier = ?1 AND email = ?2",
            )?
            .query_row(params![key.identifier, key.email], |r| r.get(0))?;
        if latest.is_some_and(|latest| key.created < latest) {
            return Ok(Err(StoreError::Older));
        }
    }
    let stored: Option<Vec<u8>> = transaction
        .prepare_cached(
            "SELECT document FROM entries WHERE identifier = ?1 AND email = ?2 AND created = ?3",
        )?
        .query_row(params![key.identifier, key.email, key.created], |r| {
            r.get(0)
        })
        .optional()?;
    if stored.as_deref() == Some(document) {
        return Ok(Ok(Put::Unchanged));
    }
    if order == Order::NewKeysOnly && stored.is_some() {
        return Ok(Err(StoreError::Different));
    }
    let f = &entry.fields;
    let locations = serde_json::to_string(&f.locations)
        .map_err(|e| StoreError::Database(format!("cannot encode locations: {e}")))?;
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO entries (identifier, email, created, endorsed, valid, \
             deprecated, alternative, os, os_version, os_arch, kind, locations, description, \
             title, subject, issuer, stored, document, revision) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
        )?
        .execute(params![
            key.identifier,
            key.email,
            key.created,
            entry.endorsed,
            f.valid,
            f.deprecated,
            f.alternative,
            f.os,
            f.os_version,
            f.os_arch,
            f.kind,
            locations,
            f.description,
            f.title,
            f.subject,
            f.issuer,
            crate::document::now(),
            document,
            i64::try_from(revision).unwrap_or(i64::MAX),
        ])?;
    Ok(Ok(if stored.is_some() {
        Put::Replaced
    } else {
        Put::Created
    }))
}

impl Store for SqliteStore {
    fn put(&self, entry: Entry, document: Vec<u8>, order: Order) -> Result<Put> {
        self.put_many(vec![(entry, document)], order)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Database("the writer gave no answer".into())))
    }

    fn put_many(&self, batch: Vec<(Entry, Vec<u8>)>, order: Order) -> Result<Vec<Result<Put>>> {
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let writer = self.writer.lock().map_err(poisoned)?;
            let (sender, _) = writer
                .as_ref()
                .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
            sender
                .send(Request::Put(WriteRequest {
                    batch,
                    order,
                    reply,
                }))
                .map_err(|_| StoreError::Database("the writer thread stopped".into()))?;
        }
        answer
            .recv()
            .map_err(|_| StoreError::Database("the writer thread stopped".into()))?
    }

    fn document(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        if let Some(document) = self.cached(key) {
            return Ok(Some(document.to_vec()));
        }
        let document: Option<Vec<u8>> = self.with_reader(|c| {
            Ok(c.prepare_cached(
                "SELECT document FROM entries WHERE identifier = ?1 AND email = ?2 AND created = ?3",
            )?
            .query_row(params![key.identifier, key.email, key.created], |r| {
                r.get(0)
            })
            .optional()?)
        })?;
        if let Some(document) = &document {
            self.remember(key, document);
        }
        Ok(document)
    }

    fn document_now(&self, key: &Key) -> Option<Result<Option<Vec<u8>>>> {
        self.cached(key).map(|d| Ok(Some(d.to_vec())))
    }

    fn documents_now(&self, keys: &[Key]) -> Option<Result<Vec<Vec<u8>>>> {
        let mut cache = self.cache.lock().ok()?;
        let documents: Option<Vec<Vec<u8>>> = keys
            .iter()
            .map(|k| cache.get(k).map(|d| d.to_vec()))
            .collect();
        documents.map(Ok)
    }

    fn list_now(&self, query: &ListQuery) -> Option<Result<Listing>> {
        self.index.read().ok()?.list_cached(query).map(Ok)
    }

    fn documents(&self, keys: &[Key]) -> Result<Vec<Vec<u8>>> {
        self.with_reader(|c| {
            let transaction = c.unchecked_transaction()?;
            let mut statement = transaction.prepare_cached(
                "SELECT document FROM entries WHERE identifier = ?1 AND email = ?2 AND created = ?3",
            )?;
            let mut documents = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(document) = self.cached(key) {
                    documents.push(document.to_vec());
                    continue;
                }
                let document: Option<Vec<u8>> = statement
                    .query_row(params![key.identifier, key.email, key.created], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if let Some(document) = &document {
                    self.remember(key, document);
                }
                documents.extend(document);
            }
            drop(statement);
            transaction.finish()?;
            Ok(documents)
        })
    }

    fn list(&self, query: &ListQuery) -> Result<Listing> {
        self.read_index(|index| index.list(query))
    }

    fn latest_created(&self, identifier: &str, email: &str) -> Result<Option<String>> {
        self.read_index(|index| index.latest_created(identifier, email).map(str::to_string))
    }

    fn by_tag(&self, email: &str, tag: &str) -> Result<Option<Arc<Entry>>> {
        self.read_index(|index| index.by_tag(email, tag))
    }

    fn endorsers(&self) -> Result<Vec<Endorser>> {
        self.read_index(Index::endorsers)
    }

    fn history(&self, email: &str, since: &str) -> Result<Vec<Arc<Entry>>> {
        self.read_index(|index| index.history(email, since))
    }

    fn tags(&self, email: &str) -> Result<Vec<String>> {
        self.read_index(|index| index.tags(email))
    }

    fn keys(&self) -> Result<Vec<Key>> {
        self.read_index(Index::keys)
    }

    fn len(&self) -> Result<usize> {
        self.read_index(Index::len)
    }

    fn revision(&self) -> Result<u64> {
        Ok(self.revision.load(Ordering::SeqCst))
    }

    fn changes_since(&self, revision: u64, limit: usize) -> Result<Vec<Change>> {
        self.with_reader(|c| {
            let mut statement = c.prepare_cached(
                "SELECT identifier, email, created, revision FROM entries \
                 WHERE revision > ?1 ORDER BY revision LIMIT ?2",
            )?;
            let rows = statement.query_map(
                params![
                    i64::try_from(revision).unwrap_or(i64::MAX),
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| {
                    Ok(Change {
                        key: Key {
                            identifier: r.get(0)?,
                            email: r.get(1)?,
                            created: r.get(2)?,
                        },
                        revision: u64::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                    })
                },
            )?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        })
    }

    fn peer_cursor(&self, peer: &str) -> Result<u64> {
        self.with_reader(|c| {
            let cursor: Option<i64> = c
                .prepare_cached("SELECT cursor FROM peers WHERE peer = ?1")?
                .query_row(params![peer], |r| r.get(0))
                .optional()?;
            Ok(cursor.map_or(0, |n| u64::try_from(n).unwrap_or(0)))
        })
    }

    fn set_peer_cursor(&self, peer: &str, cursor: u64) -> Result<()> {
        let peer = peer.to_string();
        self.run_task(move |writer| {
            writer
                .connection
                .prepare_cached("INSERT OR REPLACE INTO peers (peer, cursor) VALUES (?1, ?2)")?
                .execute(params![peer, i64::try_from(cursor).unwrap_or(i64::MAX)])?;
            Ok(())
        })
    }

    fn put_pending(&self, pending: Pending) -> Result<()> {
        self.run_task(move |writer| {
            let transaction = writer.connection.transaction()?;
            insert_pending(&transaction, &pending)?;
            transaction.commit()?;
            Ok(())
        })
    }

    fn pending(&self, id: &str, now: &str) -> Result<Option<Pending>> {
        self.with_reader(|c| {
            let found = c
                .prepare_cached(&format!(
                    "SELECT {ENTRY_COLUMNS}, document, received, expires FROM pending \
                     WHERE id = ?1 AND expires > ?2"
                ))?
                .query_row(params![id, now], |row| {
                    Ok((
                        entry_from_row(row),
                        row.get::<_, Vec<u8>>(16)?,
                        row.get::<_, String>(17)?,
                        row.get::<_, String>(18)?,
                    ))
                })
                .optional()?;
            match found {
                None => Ok(None),
                Some((entry, document, received, expires)) => Ok(Some(Pending {
                    id: id.to_string(),
                    entry: entry?,
                    document,
                    received,
                    expires,
                })),
            }
        })
    }

    fn confirm_pending(&self, id: &str, now: &str) -> Result<Confirmed> {
        let (id, now) = (id.to_string(), now.to_string());
        self.run_task(move |writer| writer.confirm(&id, &now))
    }

    fn abort_pending(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.run_task(move |writer| {
            let deleted = writer
                .connection
                .prepare_cached("DELETE FROM pending WHERE id = ?1")?
                .execute(params![id])?;
            Ok(deleted > 0)
        })
    }

    fn purge_pending(&self, now: &str) -> Result<usize> {
        let now = now.to_string();
        self.run_task(move |writer| {
            Ok(writer
                .connection
                .prepare_cached("DELETE FROM pending WHERE expires <= ?1")?
                .execute(params![now])?)
        })
    }

    fn claim_job(&self, name: &str, now: i64, every: i64) -> Result<bool> {
        let name = name.to_string();
        self.run_task(move |writer| {
            let transaction = writer.connection.transaction()?;
            let last: Option<i64> = transaction
                .prepare_cached("SELECT last_run FROM jobs WHERE name = ?1")?
                .query_row(params![name], |r| r.get(0))
                .optional()?;
            let due = last.is_none_or(|last| now.saturating_sub(last) >= every);
            if due {
                transaction
                    .prepare_cached("INSERT OR REPLACE INTO jobs (name, last_run) VALUES (?1, ?2)")?
                    .execute(params![name, now])?;
            }
            transaction.commit()?;
            Ok(due)
        })
    }

    fn close(&self) -> Result<()> {
        let writer = self.writer.lock().map_err(poisoned)?.take();
        if let Some((sender, handle)) = writer {
            drop(sender);
            handle
                .join()
                .map_err(|_| StoreError::Database("the writer thread panicked".into()))?;
        }
        self.readers.lock().map_err(poisoned)?.clear();
        Ok(())
    }
}

/// Write a pending upload's row.
fn insert_pending(transaction: &rusqlite::Transaction, pending: &Pending) -> Result<()> {
    let key = &pending.entry.key;
    let f = &pending.entry.fields;
    let locations = serde_json::to_string(&f.locations)
        .map_err(|e| StoreError::Database(format!("cannot encode locations: {e}")))?;
    transaction
        .prepare_cached(
            "INSERT OR REPLACE INTO pending (id, identifier, email, created, endorsed, valid, \
             deprecated, alternative, os, os_version, os_arch, kind, locations, description, \
             title, subject, issuer, document, received, expires) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        )?
        .execute(params![
            pending.id,
            key.identifier,
            key.email,
            key.created,
            pending.entry.endorsed,
            f.valid,
            f.deprecated,
            f.alternative,
            f.os,
            f.os_version,
            f.os_arch,
            f.kind,
            locations,
            f.description,
            f.title,
            f.subject,
            f.issuer,
            pending.document,
            pending.received,
            pending.expires,
        ])?;
    Ok(())
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    #[test]
    fn identical_put_is_no_change() {
        let dir = tempfile::tempdir().unwrap();
        conformance::identical_put_is_no_change(&SqliteStore::open(dir.path()).unwrap());
    }

    #[test]
    fn new_keys_only_keeps_stored_documents() {
        let dir = tempfile::tempdir().unwrap();
        conformance::new_keys_only_keeps_stored_documents(&SqliteStore::open(dir.path()).unwrap());
    }

    #[test]
    fn peer_cursors_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path()).unwrap();
        conformance::peer_cursors(&store);
        store.close().unwrap();
        drop(store);
        let store = SqliteStore::open(dir.path()).unwrap();
        assert_eq!(store.peer_cursor("https://a.example.org/").unwrap(), 43);
    }
}
