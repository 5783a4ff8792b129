//! The shared backend: PostgreSQL, for several server processes that
//! behave as one Marketplace (`store.type=postgres`).
//!
//! - The database is the only source of truth. The schema is created and
//!   brought up to date by the server itself ([`MIGRATIONS`], applied in
//!   order and recorded in `stratus_schema`), under a session advisory
//!   lock, so that servers starting at once on an empty database do not
//!   race.
//! - Each process keeps the same in-memory [`Index`] as the embedded
//!   backend (so that the listing query of §4.2 and "latest" are computed
//!   by one piece of code for both backends), but *brings it up to date
//!   before every read*: one query fetches the entries written since the
//!   last revision the index has seen (usually none). So an upload
//!   acknowledged by any server is listed by every other at once, with one
//!   round trip on the read path. LISTEN/NOTIFY was not used: a
//!   notification arrives asynchronously, so a read that follows an
//!   acknowledged write on another server could still miss it, and after
//!   a lost connection the notifications in between are gone; the
//!   revision check has neither gap. No document cache is kept (a
//!   document is one indexed read), so nothing else can go stale. The
//!   same query reads the counter and the database's oid: a database that
//!   went back in time (restored from a backup, or dropped and created
//!   again) is noticed and the index is read again from scratch.
//! - Every write is one transaction, acknowledged once committed. Puts go
//!   through one writer thread per process that commits in groups, as the
//!   embedded backend does: the puts waiting at that moment share one
//!   transaction, so one flush of the database's log serves many uploads.
//!   A put first takes a transaction-level advisory lock on its
//!   (identifier, email), so that two servers putting versions of one
//!   image at once are serialised and "older than latest" is checked
//!   against what the other committed (READ COMMITTED takes a new
//!   snapshot per statement, after the lock is held).
//! - Revisions come from a one-row counter (`revision`) updated inside the
//!   writing transaction, just before the entry row is written. The row
//!   lock is held until commit, so writes commit in revision order and a
//!   reader that sees revision N has seen every write below N: the change
//!   feed ([`Store::changes_since`]) and the index refresh never skip a
//!   write that commits late. (A sequence would hand out numbers in
//!   allocation order, not commit order.) The price is that entry writes
//!   commit one at a time across every server.
//! - Locks are always taken in one order (pending row, then the
//!   (identifier, email) locks sorted, then the counter), so transactions
//!   cannot deadlock one another; a serialisation failure or deadlock
//!   reported anyway is retried.
//! - Connections come from an r2d2 pool. When a connection broke (the
//!   database restarted), the operation runs again on another one, so
//!   connections are not checked by a round trip before each use; when the
//!   database cannot be reached, an operation fails with
//!   [`StoreError::Unavailable`] (the HTTP layer answers 503); the pool
//!   reconnects by itself when the database is back. A put retried after
//!   a commit whose answer was lost finds its own document
//!   ([`Put::Unchanged`]) unless a newer version of the image was committed
//!   in between: then the retry is refused as older although the first
//!   attempt is stored; a retried confirmation is answered "not found"
//!   after it committed. Both err towards a failure the client can retry;
//!   nothing acknowledged is lost (docs/POSTGRESQL.md).

use std::collections::BTreeSet;
use std::sync::{mpsc, Arc, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use postgres::types::ToSql;
use postgres::{GenericClient, NoTls, Row};
use r2d2_postgres::PostgresConnectionManager;

use super::index::Index;
use super::query::{ListQuery, Listing};
use super::{Change, Confirmed, Endorser, Order, Pending, Put, Result, Store, StoreError};
use crate::entry::{Entry, Fields, Key};

/// The advisory lock key held while migrating ("stratus" in ASCII).
const MIGRATION_LOCK: i64 = 0x0073_7472_6174_7573;
/// How long a request waits for a connection before the database is
/// declared unavailable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How many times an operation runs when the database reports a
/// serialisation failure or a deadlock.
const ATTEMPTS: usize = 3;
/// The default number of connections per server process.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// The schema migrations, in order: version `i + 1` is `MIGRATIONS[i]`.
/// A released migration is never edited; a change is a new one.
pub const MIGRATIONS: &[&str] = &[
    // 1: entries, the revision counter, pending uploads, jobs, peers.
    r#"
CREATE TABLE entries (
    identifier  TEXT COLLATE "C" NOT NULL,
    email       TEXT COLLATE "C" NOT NULL,
    created     TEXT COLLATE "C" NOT NULL,
    endorsed    BOOLEAN NOT NULL,
    valid       TEXT COLLATE "C",
    deprecated  TEXT,
    alternative TEXT COLLATE "C",
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
    document    BYTEA NOT NULL,
    revision    BIGINT NOT NULL,
    PRIMARY KEY (identifier, email, created)
);
CREATE UNIQUE INDEX entries_revision ON entries (revision);
CREATE TABLE revision (
    only_row BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (only_row),
    value    BIGINT NOT NULL
);
INSERT INTO revision (only_row, value) VALUES (TRUE, 0);
CREATE TABLE pending (
    id          TEXT COLLATE "C" PRIMARY KEY,
    identifier  TEXT COLLATE "C" NOT NULL,
    email       TEXT COLLATE "C" NOT NULL,
    created     TEXT COLLATE "C" NOT NULL,
    endorsed    BOOLEAN NOT NULL,
    valid       TEXT COLLATE "C",
    deprecated  TEXT,
    alternative TEXT COLLATE "C",
    os          TEXT,
    os_version  TEXT,
    os_arch     TEXT,
    kind        TEXT,
    locations   TEXT NOT NULL,
    description TEXT,
    title       TEXT,
    subject     TEXT,
    issuer      TEXT,
    document    BYTEA NOT NULL,
    received    TEXT COLLATE "C" NOT NULL,
    expires     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX pending_expires ON pending (expires);
CREATE TABLE jobs (
    name     TEXT COLLATE "C" PRIMARY KEY,
    last_run BIGINT NOT NULL
);
CREATE TABLE peers (
    peer   TEXT COLLATE "C" PRIMARY KEY,
    cursor BIGINT NOT NULL
);
"#,
];

/// The columns of an entry without its document, in [`entry_from_row`] order.
const ENTRY_COLUMNS: &str =
    "identifier, email, created, endorsed, valid, deprecated, alternative, \
     os, os_version, os_arch, kind, locations, description, title, subject, issuer";

/// The pool of connections.
type Pool = r2d2::Pool<PostgresConnectionManager<NoTls>>;

/// What a process derives from the database, and the revision it has seen.
#[derive(Default)]
struct View {
    index: Index,
    revision: u64,
    /// The oid of the database the index was read from: a database
    /// dropped and created again (a restore) has another one.
    database: Option<u32>,
}

/// The refresh query: the entries written after revision `$1` (none: one
/// row of NULLs), each with the counter and the database's oid, read in
/// one snapshot.
fn refresh_query() -> String {
    format!(
        "SELECT {ENTRY_COLUMNS}, e.revision, r.value, d.oid FROM revision r \
         CROSS JOIN (SELECT oid FROM pg_database WHERE datname = current_database()) d \
         LEFT JOIN entries e ON e.revision > $1 ORDER BY e.revision"
    )
}

/// The PostgreSQL store.
pub struct PostgresStore {
    db: Arc<Connections>,
    view: RwLock<View>,
    writer: Mutex<Option<(mpsc::Sender<WriteRequest>, JoinHandle<()>)>>,
}

/// The pool, shared by the store and its writer thread.
struct Connections {
    pool: Pool,
    /// Why the pool last failed to connect (with the driver's causes,
    /// which the pool's own timeout error drops).
    last_connect_error: Arc<Mutex<Option<String>>>,
}

/// Puts waiting for the writer thread.
struct WriteRequest {
    batch: Vec<(Entry, Vec<u8>)>,
    order: Order,
    reply: mpsc::SyncSender<Result<Vec<Result<Put>>>>,
}

/// The most puts one transaction of the writer takes.
const MAX_GROUP: usize = 256;

/// Keeps the pool's last connection error for the 503 message.
#[derive(Debug)]
struct LastError(Arc<Mutex<Option<String>>>);

impl r2d2::HandleError<postgres::Error> for LastError {
    fn handle_error(&self, error: postgres::Error) {
        let message = with_causes(&error);
        tracing::debug!("store: cannot connect: {message}");
        if let Ok(mut last) = self.0.lock() {
            *last = Some(message);
        }
    }
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Whether a failure means "the database cannot be reached now" (or the
/// connection broke), as opposed to a refused statement.
fn is_unavailable(error: &postgres::Error) -> bool {
    if error.is_closed() {
        return true;
    }
    match error.as_db_error() {
        // No reply from the server: connecting or the socket failed.
        None => error.code().is_none(),
        Some(db) => {
            let code = db.code().code();
            // 08: connection exception; 57P01-03: shutdown, crash,
            // cannot connect now; 53: out of connections or resources.
            code.starts_with("08") || code.starts_with("57P") || code.starts_with("53")
        }
    }
}

/// Whether the transaction should simply run again.
fn is_retryable(error: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    is_unavailable(error)
        || error.code() == Some(&SqlState::T_R_SERIALIZATION_FAILURE)
        || error.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

fn store_error(error: postgres::Error) -> StoreError {
    let message = with_causes(&error);
    if is_unavailable(&error) {
        StoreError::Unavailable(message)
    } else {
        StoreError::Database(message)
    }
}

/// An error and its causes ("error connecting to server: Connection
/// refused"), as the driver's message alone hides the cause.
fn with_causes(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        cause = inner.source();
    }
    message
}

/// Why a closure given to [`PostgresStore::with_client`] failed.
enum Failure {
    /// The database failed (retried when [`is_retryable`]).
    Sql(postgres::Error),
    /// Anything else (a bad row): not retried.
    Store(StoreError),
}

impl From<postgres::Error> for Failure {
    fn from(error: postgres::Error) -> Self {
        Failure::Sql(error)
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::Store(error)
    }
}

impl PostgresStore {
    /// Connect to the database of `url` (a `postgres://` URL or a
    /// `key=value` connection string), migrate its schema, and load the
    /// index. `pool_size` connections at most are opened.
    pub fn open(url: &str, pool_size: u32) -> Result<PostgresStore> {
        let config: postgres::Config = url.parse().map_err(|e| {
            StoreError::Database(format!(
                "the database URL '{}' is invalid: {e}",
                redact(url)
            ))
        })?;
        let mut config = config;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("stratus-marketplace");
        }
        let manager = PostgresConnectionManager::new(config, NoTls);
        let last_connect_error = Arc::new(Mutex::new(None));
        let pool = r2d2::Pool::builder()
            .max_size(pool_size.max(1))
            .min_idle(Some(0))
            .connection_timeout(CONNECT_TIMEOUT)
            // Not checked by a round trip before each use: a connection
            // that broke while idle fails at once and is replaced below.
            .test_on_check_out(false)
            .error_handler(Box::new(LastError(Arc::clone(&last_connect_error))))
            .build_unchecked(manager);
        let db = Arc::new(Connections {
            pool,
            last_connect_error,
        });
        let (sender, receiver) = mpsc::channel();
        let writer_db = Arc::clone(&db);
        let handle = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(&writer_db, &receiver))
            .map_err(|e| StoreError::Io(format!("cannot start the writer thread: {e}")))?;
        let store = PostgresStore {
            db,
            view: RwLock::new(View::default()),
            writer: Mutex::new(Some((sender, handle))),
        };
        store.migrate()?;
        store.refresh()?;
        tracing::info!("store: PostgreSQL database {}", describe(url));
        Ok(store)
    }

    /// [`Connections::with_client`].
    fn with_client<T>(
        &self,
        work: impl FnMut(&mut postgres::Client) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        self.db.with_client(work)
    }
}

impl Connections {
    /// Run `work` on a pooled connection, again on a fresh one when the
    /// connection broke or the transaction must be retried.
    fn with_client<T>(
        &self,
        mut work: impl FnMut(&mut postgres::Client) -> std::result::Result<T, Failure>,
    ) -> Result<T> {
        let mut attempt = 0;
        // After a database restart every idle connection is broken: each
        // fails at once and is dropped; a new one is then made.
        let mut broken = 0;
        let most_broken = self.pool.max_size() as usize + 1;
        loop {
            let mut client = self.pool.get().map_err(|e| {
                let why = self
                    .last_connect_error
                    .lock()
                    .ok()
                    .and_then(|last| last.clone())
                    .unwrap_or_else(|| e.to_string());
                StoreError::Unavailable(format!("cannot reach the database: {why}"))
            })?;
            match work(&mut client) {
                Ok(value) => return Ok(value),
                Err(Failure::Store(error)) => return Err(error),
                Err(Failure::Sql(error)) if is_unavailable(&error) && broken < most_broken => {
                    tracing::debug!("store: a broken connection, retrying: {error}");
                    broken += 1;
                }
                Err(Failure::Sql(error)) if attempt + 1 < ATTEMPTS && is_retryable(&error) => {
                    attempt += 1;
                    tracing::debug!("store: retrying after: {error}");
                    std::thread::sleep(Duration::from_millis(20 * attempt as u64));
                }
                Err(Failure::Sql(error)) => return Err(store_error(error)),
            }
        }
    }
}

impl PostgresStore {
    /// Apply the migrations this database lacks, one transaction each,
    /// under the migration lock.
    fn migrate(&self) -> Result<()> {
        self.with_client(|client| {
            client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])?;
            let outcome = apply_migrations(client);
            let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]);
            let outcome = outcome?;
            unlocked?;
            Ok(outcome)
        })?
    }

    /// Bring the index up to the database's latest revision. When the
    /// database went back in time (its counter is below what this process
    /// has seen, or it is another database under the same name: a restore
    /// from a backup), the index is rebuilt from scratch.
    fn refresh(&self) -> Result<()> {
        let (seen, known) = {
            let view = self.view.read().map_err(poisoned)?;
            (view.revision, view.database)
        };
        let rows =
            self.with_client(|client| Ok(client.query(&refresh_query(), &[&to_i64(seen)])?))?;
        let (counter, database) = counter_and_database(&rows)?;
        if counter < seen || known.is_some_and(|known| known != database) {
            tracing::warn!(
                "store: the database went back in time (its revision is {counter}, this \
                 server had seen {seen}; database oid {database}, was {}): rebuilding the \
                 index from the database",
                known.map_or_else(|| "unknown".to_string(), |k| k.to_string())
            );
            return self.rebuild();
        }
        if known.is_some() && rows.iter().all(|row| revision_of(row).is_none()) {
            return Ok(());
        }
        let mut view = self.view.write().map_err(poisoned)?;
        view.database = Some(database);
        // Another thread may have applied a later refresh meanwhile: each
        // refresh is a prefix of the feed, so skip what it already holds.
        for row in &rows {
            let Some(revision) = revision_of(row) else {
                continue;
            };
            if revision > view.revision {
                view.index.insert(entry_from_row(row)?);
                view.revision = revision;
            }
        }
        Ok(())
    }

    /// Read every entry again into a new index, and put it in place of
    /// the old one.
    fn rebuild(&self) -> Result<()> {
        let rows = self.with_client(|client| Ok(client.query(&refresh_query(), &[&0i64])?))?;
        let (_, database) = counter_and_database(&rows)?;
        let mut fresh = View {
            database: Some(database),
            ..View::default()
        };
        for row in &rows {
            if let Some(revision) = revision_of(row) {
                fresh.index.insert(entry_from_row(row)?);
                fresh.revision = revision;
            }
        }
        tracing::warn!(
            "store: index rebuilt: {} entries, revision {}",
            fresh.index.len(),
            fresh.revision
        );
        *self.view.write().map_err(poisoned)? = fresh;
        Ok(())
    }

    /// Refresh the index, then read it.
    fn read_index<T>(&self, work: impl FnOnce(&Index) -> T) -> Result<T> {
        self.refresh()?;
        let view = self.view.read().map_err(poisoned)?;
        Ok(work(&view.index))
    }
}

/// Where a connection string points, without its password: the
/// database, user and hosts.
fn describe(url: &str) -> String {
    let Ok(config) = url.parse::<postgres::Config>() else {
        return "(unparsable URL)".into();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .zip(config.get_ports().iter().chain(std::iter::repeat(&5432)))
        .map(|(host, port)| match host {
            postgres::config::Host::Tcp(name) => format!("{name}:{port}"),
            postgres::config::Host::Unix(path) => format!("{}:{port}", path.display()),
        })
        .collect();
    format!(
        "'{}' as '{}' on {}",
        config.get_dbname().unwrap_or("(default)"),
        config.get_user().unwrap_or("(default)"),
        if hosts.is_empty() {
            "the default host".to_string()
        } else {
            hosts.join(", ")
        }
    )
}

/// `text` with every password of a connection string in it replaced by
/// `***`: the `user:PASSWORD@` of a URL (`postgres://`, or any
/// `scheme://`, so that a misspelt scheme is covered too) and the value
/// of a `password=` parameter (of a URL's query or a `key=value` string,
/// quoted or not). For error messages that must name what was given.
pub fn redact(text: &str) -> String {
    redact_parameters(&redact_userinfo(text))
}

/// The password of each `scheme://user:PASSWORD@host` in `text`, hidden.
fn redact_userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        // Up to the last `@` of the word: a password with an unescaped
        // `/` or `@` is hidden too (at worst, more than the password is).
        let word = tail.find(char::is_whitespace).unwrap_or(tail.len());
        let (authority, after) = tail.split_at(word);
        match authority.rfind('@') {
            Some(end) => {
                let userinfo = &authority[..end];
                match userinfo.split_once(':') {
                    Some((user, _)) => {
                        out.push_str(user);
                        out.push_str(":***");
                    }
                    None => out.push_str(userinfo),
                }
                out.push_str(&authority[end..]);
            }
            None => out.push_str(authority),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The value of each `password=VALUE` in `text` (quoted with `'` and `\`
/// escapes, or up to a space or `&`), hidden.
fn redact_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("password") {
        let (head, tail) = rest.split_at(at + "password".len());
        out.push_str(head);
        let spaced = tail.trim_start();
        let Some(value) = spaced.strip_prefix('=') else {
            rest = tail;
            continue;
        };
        let value = value.trim_start();
        out.push_str("=***");
        rest = match value.strip_prefix('\'') {
            Some(quoted) => {
                let mut escaped = false;
                let end = quoted
                    .char_indices()
                    .find(|&(_, c)| {
                        let close = c == '\'' && !escaped;
                        escaped = c == '\\' && !escaped;
                        close
                    })
                    .map_or(quoted.len(), |(i, _)| i + 1);
                &quoted[end..]
            }
            None => {
                let end = value.find([' ', '&', '\t']).unwrap_or(value.len());
                &value[end..]
            }
        };
    }
    out.push_str(rest);
    out
}

/// Apply what `stratus_schema` says is missing.
fn apply_migrations(client: &mut postgres::Client) -> std::result::Result<Result<()>, Failure> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS stratus_schema (
             version INTEGER PRIMARY KEY,
             applied TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )?;
    let current: i32 = client
        .query_one("SELECT COALESCE(MAX(version), 0) FROM stratus_schema", &[])?
        .get(0);
    let known = MIGRATIONS.len() as i32;
    if current > known {
        return Ok(Err(StoreError::Database(format!(
            "the database's schema version {current} is newer than this server's ({known})"
        ))));
    }
    for (at, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = at as i32 + 1;
        let mut transaction = client.transaction()?;
        transaction.batch_execute(migration)?;
        transaction.execute(
            "INSERT INTO stratus_schema (version) VALUES ($1)",
            &[&version],
        )?;
        transaction.commit()?;
        tracing::info!("store: database schema migrated to version {version}");
    }
    Ok(Ok(()))
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> StoreError {
    StoreError::Database("a thread panicked while holding the store".into())
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The revision of a row of [`refresh_query`] (`None`: no entry on that row).
fn revision_of(row: &Row) -> Option<u64> {
    row.get::<_, Option<i64>>(16).map(to_u64)
}

/// The counter and the database's oid, as [`refresh_query`] gives them.
fn counter_and_database(rows: &[Row]) -> Result<(u64, u32)> {
    let row = rows
        .first()
        .ok_or_else(|| StoreError::Database("the revision counter is missing".into()))?;
    Ok((to_u64(row.get(17)), row.get(18)))
}

fn entry_from_row(row: &Row) -> Result<Entry> {
    let locations: String = row.get(11);
    let locations: Vec<String> = serde_json::from_str(&locations)
        .map_err(|e| StoreError::Database(format!("bad locations column: {e}")))?;
    Ok(Entry {
        key: Key {
            identifier: row.get(0),
            email: row.get(1),
            created: row.get(2),
        },
        endorsed: row.get(3),
        fields: Fields {
            valid: row.get(4),
            deprecated: row.get(5),
            alternative: row.get(6),
            os: row.get(7),
            os_version: row.get(8),
            os_arch: row.get(9),
            kind: row.get(10),
            locations,
            description: row.get(12),
            title: row.get(13),
            subject: row.get(14),
            issuer: row.get(15),
        },
    })
}

fn encode_locations(fields: &Fields) -> Result<String> {
    serde_json::to_string(&fields.locations)
        .map_err(|e| StoreError::Database(format!("cannot encode locations: {e}")))
}

/// The name of the (identifier, email) lock.
fn group_name(key: &Key) -> String {
    format!("{}\n{}", key.identifier, key.email)
}

/// Take the transaction-level locks of these (identifier, email) groups,
/// sorted, so that two transactions always take them in one order.
fn lock_groups<'k>(
    transaction: &mut impl GenericClient,
    keys: impl Iterator<Item = &'k Key>,
) -> std::result::Result<(), postgres::Error> {
    let groups: BTreeSet<String> = keys.map(group_name).collect();
    for group in groups {
        transaction.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&group],
        )?;
    }
    Ok(())
}

/// One put inside a transaction that holds its group's lock;
/// `Ok(Err(Older | Different))` refuses only this put.
fn write_one(
    transaction: &mut impl GenericClient,
    entry: &Entry,
    document: &[u8],
    order: Order,
) -> std::result::Result<Result<Put>, Failure> {
    let key = &entry.key;
    let row = transaction.query_one(
        "SELECT (SELECT MAX(created) FROM entries WHERE identifier = $1 AND email = $2), \
                (SELECT document FROM entries \
                 WHERE identifier = $1 AND email = $2 AND created = $3)",
        &[&key.identifier, &key.email, &key.created],
    )?;
    let latest: Option<String> = row.get(0);
    let stored: Option<Vec<u8>> = row.get(1);
    if order == Order::NewerOnly && latest.is_some_and(|latest| key.created < latest) {
        return Ok(Err(StoreError::Older));
    }
    if stored.as_deref() == Some(document) {
        return Ok(Ok(Put::Unchanged));
    }
    if order == Order::NewKeysOnly && stored.is_some() {
        return Ok(Err(StoreError::Different));
    }
    let f = &entry.fields;
    let locations = encode_locations(f)?;
    let stored_at = crate::document::now();
    let params: [&(dyn ToSql + Sync); 18] = [
        &key.identifier,
        &key.email,
        &key.created,
        &entry.endorsed,
        &f.valid,
        &f.deprecated,
        &f.alternative,
        &f.os,
        &f.os_version,
        &f.os_arch,
        &f.kind,
        &locations,
        &f.description,
        &f.title,
        &f.subject,
        &f.issuer,
        &stored_at,
        &document,
    ];
    // The counter is taken last, just before the write, so that its lock
    // (which orders every commit) is held as briefly as possible.
    transaction.execute(
        "WITH next AS (UPDATE revision SET value = value + 1 RETURNING value) \
         INSERT INTO entries (identifier, email, created, endorsed, valid, deprecated, \
             alternative, os, os_version, os_arch, kind, locations, description, title, \
             subject, issuer, stored, document, revision) \
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
             $18, next.value FROM next \
         ON CONFLICT (identifier, email, created) DO UPDATE SET \
             endorsed = EXCLUDED.endorsed, valid = EXCLUDED.valid, \
             deprecated = EXCLUDED.deprecated, alternative = EXCLUDED.alternative, \
             os = EXCLUDED.os, os_version = EXCLUDED.os_version, os_arch = EXCLUDED.os_arch, \
             kind = EXCLUDED.kind, locations = EXCLUDED.locations, \
             description = EXCLUDED.description, title = EXCLUDED.title, \
             subject = EXCLUDED.subject, issuer = EXCLUDED.issuer, stored = EXCLUDED.stored, \
             document = EXCLUDED.document, revision = EXCLUDED.revision",
        &params,
    )?;
    Ok(Ok(if stored.is_some() {
        Put::Replaced
    } else {
        Put::Created
    }))
}

/// The writer thread: the puts waiting together are committed in one
/// transaction (one commit, so one flush of the database's log, for many
/// uploads), until every sender is gone.
fn write_loop(db: &Connections, requests: &mpsc::Receiver<WriteRequest>) {
    while let Ok(first) = requests.recv() {
        let mut size = first.batch.len();
        let mut group = vec![first];
        while size < MAX_GROUP {
            match requests.try_recv() {
                Ok(request) => {
                    size += request.batch.len();
                    group.push(request);
                }
                Err(_) => break,
            }
        }
        commit_group(db, group);
    }
}

/// One transaction for a group of puts: every (identifier, email) lock
/// first (sorted), then each put with its own "older than latest" check,
/// which sees the puts before it.
fn commit_group(db: &Connections, group: Vec<WriteRequest>) {
    let outcome = db.with_client(|client| {
        let mut transaction = client.transaction()?;
        lock_groups(
            &mut transaction,
            group
                .iter()
                .flat_map(|r| r.batch.iter().map(|(e, _)| &e.key)),
        )?;
        let mut outcomes = Vec::with_capacity(group.len());
        for request in &group {
            let mut results = Vec::with_capacity(request.batch.len());
            for (entry, document) in &request.batch {
                results.push(write_one(&mut transaction, entry, document, request.order)?);
            }
            outcomes.push(results);
        }
        transaction.commit()?;
        Ok(outcomes)
    });
    match outcome {
        Ok(outcomes) => {
            for (request, results) in group.into_iter().zip(outcomes) {
                let _ = request.reply.send(Ok(results));
            }
        }
        Err(error) => {
            tracing::error!("store: transaction failed: {error}");
            for request in group {
                let _ = request.reply.send(Err(match &error {
                    StoreError::Unavailable(detail) => StoreError::Unavailable(detail.clone()),
                    other => StoreError::Database(other.to_string()),
                }));
            }
        }
    }
}

fn pending_from_row(id: &str, row: &Row) -> Result<Pending> {
    Ok(Pending {
        id: id.to_string(),
        entry: entry_from_row(row)?,
        document: row.get(16),
        received: row.get(17),
        expires: row.get(18),
    })
}

impl Store for PostgresStore {
    fn put(&self, entry: Entry, document: Vec<u8>, order: Order) -> Result<Put> {
        self.put_many(vec![(entry, document)], order)?
            .pop()
            .unwrap_or_else(|| Err(StoreError::Database("the put gave no answer".into())))
    }

    fn put_many(&self, batch: Vec<(Entry, Vec<u8>)>, order: Order) -> Result<Vec<Result<Put>>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::sync_channel(1);
        {
            let writer = self.writer.lock().map_err(poisoned)?;
            let (sender, _) = writer
                .as_ref()
                .ok_or_else(|| StoreError::Database("the store is closed".into()))?;
            sender
                .send(WriteRequest {
                    batch,
                    order,
                    reply,
                })
                .map_err(|_| StoreError::Database("the writer thread stopped".into()))?;
        }
        answer
            .recv()
            .map_err(|_| StoreError::Database("the writer thread stopped".into()))?
    }

    fn document(&self, key: &Key) -> Result<Option<Vec<u8>>> {
        self.with_client(|client| {
            Ok(client
                .query_opt(
                    "SELECT document FROM entries \
                     WHERE identifier = $1 AND email = $2 AND created = $3",
                    &[&key.identifier, &key.email, &key.created],
                )?
                .map(|row| row.get(0)))
        })
    }

    fn documents(&self, keys: &[Key]) -> Result<Vec<Vec<u8>>> {
        self.with_client(|client| {
            let mut transaction = client.build_transaction().read_only(true).start()?;
            let statement = transaction.prepare(
                "SELECT document FROM entries \
                 WHERE identifier = $1 AND email = $2 AND created = $3",
            )?;
            let mut documents = Vec::with_capacity(keys.len());
            for key in keys {
                if let Some(row) = transaction
                    .query_opt(&statement, &[&key.identifier, &key.email, &key.created])?
                {
                    documents.push(row.get(0));
                }
            }
            transaction.commit()?;
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
        self.with_client(|client| {
            let value: i64 = client.query_one("SELECT value FROM revision", &[])?.get(0);
            Ok(to_u64(value))
        })
    }

    fn changes_since(&self, revision: u64, limit: usize) -> Result<Vec<Change>> {
        self.with_client(|client| {
            let rows = client.query(
                "SELECT identifier, email, created, revision FROM entries \
                 WHERE revision > $1 ORDER BY revision LIMIT $2",
                &[&to_i64(revision), &to_i64(limit as u64)],
            )?;
            Ok(rows
                .iter()
                .map(|r| Change {
                    key: Key {
                        identifier: r.get(0),
                        email: r.get(1),
                        created: r.get(2),
                    },
                    revision: to_u64(r.get(3)),
                })
                .collect())
        })
    }

    fn peer_cursor(&self, peer: &str) -> Result<u64> {
        self.with_client(|client| {
            let row = client.query_opt("SELECT cursor FROM peers WHERE peer = $1", &[&peer])?;
            Ok(row.map_or(0, |r| to_u64(r.get(0))))
        })
    }

    fn set_peer_cursor(&self, peer: &str, cursor: u64) -> Result<()> {
        self.with_client(|client| {
            client.execute(
                "INSERT INTO peers (peer, cursor) VALUES ($1, $2) \
                 ON CONFLICT (peer) DO UPDATE SET cursor = EXCLUDED.cursor",
                &[&peer, &to_i64(cursor)],
            )?;
            Ok(())
        })
    }

    fn put_pending(&self, pending: Pending) -> Result<()> {
        let key = &pending.entry.key;
        let f = &pending.entry.fields;
        let locations = encode_locations(f)?;
        let params: [&(dyn ToSql + Sync); 20] = [
            &pending.id,
            &key.identifier,
            &key.email,
            &key.created,
            &pending.entry.endorsed,
            &f.valid,
            &f.deprecated,
            &f.alternative,
            &f.os,
            &f.os_version,
            &f.os_arch,
            &f.kind,
            &locations,
            &f.description,
            &f.title,
            &f.subject,
            &f.issuer,
            &pending.document,
            &pending.received,
            &pending.expires,
        ];
        self.with_client(|client| {
            client.execute(
                &format!(
                    "INSERT INTO pending (id, {ENTRY_COLUMNS}, document, received, expires) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
                     $16, $17, $18, $19, $20) \
                     ON CONFLICT (id) DO UPDATE SET document = EXCLUDED.document, \
                     received = EXCLUDED.received, expires = EXCLUDED.expires"
                ),
                &params,
            )?;
            Ok(())
        })
    }

    fn pending(&self, id: &str, now: &str) -> Result<Option<Pending>> {
        self.with_client(|client| {
            let row = client.query_opt(
                &format!(
                    "SELECT {ENTRY_COLUMNS}, document, received, expires FROM pending \
                     WHERE id = $1 AND expires > $2"
                ),
                &[&id, &now],
            )?;
            Ok(row.map(|r| pending_from_row(id, &r)).transpose()?)
        })
    }

    fn confirm_pending(&self, id: &str, now: &str) -> Result<Confirmed> {
        self.with_client(|client| {
            let mut transaction = client.transaction()?;
            // The delete locks the row: of two confirmations, the second
            // waits, then finds it gone.
            let row = transaction.query_opt(
                &format!(
                    "DELETE FROM pending WHERE id = $1 \
                     RETURNING {ENTRY_COLUMNS}, document, received, expires"
                ),
                &[&id],
            )?;
            let Some(row) = row else {
                return Ok(Confirmed::NotFound);
            };
            let pending = pending_from_row(id, &row)?;
            let outcome = if pending.expires.as_str() <= now {
                Confirmed::Expired
            } else {
                lock_groups(&mut transaction, std::iter::once(&pending.entry.key))?;
                match write_one(
                    &mut transaction,
                    &pending.entry,
                    &pending.document,
                    Order::NewerOnly,
                )? {
                    Ok(put) => Confirmed::Committed(pending.entry.key.clone(), put),
                    Err(_) => Confirmed::Older,
                }
            };
            transaction.commit()?;
            Ok(outcome)
        })
    }

    fn abort_pending(&self, id: &str) -> Result<bool> {
        self.with_client(|client| {
            Ok(client.execute("DELETE FROM pending WHERE id = $1", &[&id])? > 0)
        })
    }

    fn purge_pending(&self, now: &str) -> Result<usize> {
        self.with_client(|client| {
            let deleted = client.execute("DELETE FROM pending WHERE expires <= $1", &[&now])?;
            Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
        })
    }

    fn claim_job(&self, name: &str, now: i64, every: i64) -> Result<bool> {
        // One statement: a concurrent claim waits on the row and then sees
        // the run just recorded, so the job is claimed once.
        self.with_client(|client| {
            let claimed = client.query_opt(
                "INSERT INTO jobs (name, last_run) VALUES ($1, $2) \
                 ON CONFLICT (name) DO UPDATE SET last_run = EXCLUDED.last_run \
                 WHERE jobs.last_run <= $2 - $3 \
                 RETURNING last_run",
                &[&name, &now, &every],
            )?;
            Ok(claimed.is_some())
        })
    }

    fn close(&self) -> Result<()> {
        // Finish the puts waiting; the pool closes its connections when
        // dropped.
        let writer = self.writer.lock().map_err(poisoned)?.take();
        if let Some((sender, handle)) = writer {
            drop(sender);
            handle
                .join()
                .map_err(|_| StoreError::Database("the writer thread panicked".into()))?;
        }
        Ok(())
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        let _ = self.close();
    }
}

/// The tests' PostgreSQL cluster, shared with the black-box tests.
#[cfg(test)]
#[path = "../../../../bin-tests/tests/pgkit/mod.rs"]
mod pgkit;

#[cfg(test)]
mod tests {
    //! Against a real PostgreSQL cluster started for the tests (skipped,
    //! saying why, when PostgreSQL is not installed; failed under
    //! `STRATUS_CI=1`).

    use super::*;
    use crate::store::conformance;

    use super::pgkit;

    /// A fresh database of the shared test cluster; `None` (skipped) when
    /// PostgreSQL is missing.
    fn database(name: &str) -> Option<String> {
        pgkit::available().then(|| pgkit::shared().create_database(name))
    }

    fn entry(identifier: &str, created: &str) -> Entry {
        Entry {
            key: Key::new(identifier, "jane@example.org", created).unwrap(),
            endorsed: true,
            fields: Fields::default(),
        }
    }

    #[test]
    fn identical_put_is_no_change() {
        let Some(url) = database("conformance_identical") else {
            return;
        };
        conformance::identical_put_is_no_change(&PostgresStore::open(&url, 4).unwrap());
    }

    #[test]
    fn new_keys_only_keeps_stored_documents() {
        let Some(url) = database("conformance_new_keys_only") else {
            return;
        };
        conformance::new_keys_only_keeps_stored_documents(&PostgresStore::open(&url, 4).unwrap());
    }

    #[test]
    fn peer_cursors_are_shared_and_survive_a_reopen() {
        let Some(url) = database("conformance_peers") else {
            return;
        };
        conformance::peer_cursors(&PostgresStore::open(&url, 4).unwrap());
        let other = PostgresStore::open(&url, 4).unwrap();
        assert_eq!(other.peer_cursor("https://a.example.org/").unwrap(), 43);
    }

    #[test]
    fn servers_starting_at_once_on_an_empty_database_migrate_it_once() {
        let Some(url) = database("migrate_race") else {
            return;
        };
        let opened: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || PostgresStore::open(&url, 2).map(|_| ()))
            })
            .collect();
        for thread in opened {
            thread.join().unwrap().unwrap();
        }
        let versions = pgkit::shared().psql("migrate_race", "SELECT count(*) FROM stratus_schema");
        assert_eq!(versions, MIGRATIONS.len().to_string());
    }

    #[test]
    fn passwords_of_connection_strings_are_redacted() {
        for (given, shown) in [
            (
                "postgresql:postgres://stratus:s3cret@db.example.org:5432/market",
                "postgresql:postgres://stratus:***@db.example.org:5432/market",
            ),
            ("postgres://u:p@ss:w@h/db?x=1", "postgres://u:***@h/db?x=1"),
            ("postgres://u:pa/ss@h/db", "postgres://u:***@h/db"),
            (
                "see postgres://u:pw@h/db and x",
                "see postgres://u:***@h/db and x",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            (
                "postgres://h/db?password=s3cret&x=1",
                "postgres://h/db?password=***&x=1",
            ),
            (
                "host=db user=u password = 'it\\'s s3cret' dbname=m",
                "host=db user=u password=*** dbname=m",
            ),
            ("host=db password=s3cret", "host=db password=***"),
            ("no password here", "no password here"),
        ] {
            assert_eq!(redact(given), shown, "{given}");
        }
        // An invalid store.url is named, without its password.
        let error = PostgresStore::open("postgres://u:s3cret@h:port/db", 1)
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.contains("'postgres://u:***@h:port/db' is invalid") && !error.contains("s3cret"),
            "{error}"
        );
    }

    #[test]
    fn a_database_restored_under_a_running_server_is_read_again() {
        let Some(url) = database("went_back") else {
            return;
        };
        let running = PostgresStore::open(&url, 4).unwrap();
        for created in ["2014-01-01T00:00:01Z", "2014-01-01T00:00:02Z"] {
            let document = created.as_bytes().to_vec();
            running
                .put(entry("a", created), document, Order::NewerOnly)
                .unwrap();
        }
        assert_eq!(running.len().unwrap(), 2);
        // The database is replaced by an older one (here: an empty one,
        // as a restore of a backup taken before those writes would be).
        let cluster = pgkit::shared();
        cluster.psql("postgres", "DROP DATABASE went_back WITH (FORCE)");
        cluster.psql("postgres", "CREATE DATABASE went_back");
        let other = PostgresStore::open(&url, 4).unwrap();
        let created = "2014-01-01T00:00:00Z";
        other
            .put(entry("a", created), created.into(), Order::NewerOnly)
            .unwrap();
        // The running server lists what the database holds now: the old
        // "latest" is gone and the new write (revision 1) is seen.
        assert_eq!(running.len().unwrap(), 1);
        assert_eq!(
            running
                .latest_created("a", "jane@example.org")
                .unwrap()
                .as_deref(),
            Some(created)
        );
        // Same database again, its counter put back below what was seen.
        let created = "2014-01-01T00:00:03Z";
        running
            .put(entry("b", created), created.into(), Order::NewerOnly)
            .unwrap();
        assert_eq!(running.len().unwrap(), 2);
        cluster.psql(
            "went_back",
            "DELETE FROM entries WHERE identifier = 'b'; UPDATE revision SET value = 1",
        );
        assert_eq!(running.len().unwrap(), 1);
        assert_eq!(
            running.latest_created("b", "jane@example.org").unwrap(),
            None
        );
    }

    #[test]
    fn a_write_on_one_store_is_read_at_once_on_another() {
        let Some(url) = database("visibility") else {
            return;
        };
        let (a, b) = (
            PostgresStore::open(&url, 4).unwrap(),
            PostgresStore::open(&url, 4).unwrap(),
        );
        for n in 0..50 {
            let created = format!("2014-01-01T00:00:{n:02}Z");
            a.put(
                entry("a", &created),
                created.clone().into_bytes(),
                Order::NewerOnly,
            )
            .unwrap();
            assert_eq!(
                b.latest_created("a", "jane@example.org")
                    .unwrap()
                    .as_deref(),
                Some(created.as_str())
            );
            assert_eq!(b.len().unwrap(), n + 1);
            let key = Key::new("a", "jane@example.org", &created).unwrap();
            assert_eq!(b.document(&key).unwrap(), Some(created.into_bytes()));
        }
        assert_eq!(a.revision().unwrap(), 50);
        assert_eq!(b.changes_since(40, 100).unwrap().len(), 10);
    }

    #[test]
    fn concurrent_versions_on_two_stores_keep_older_than_latest_right() {
        let Some(url) = database("older_than_latest") else {
            return;
        };
        let stores: Vec<Arc<PostgresStore>> = (0..2)
            .map(|_| Arc::new(PostgresStore::open(&url, 8).unwrap()))
            .collect();
        for round in 0..20 {
            let identifier = format!("img{round}");
            // 16 writers, each putting one version; shuffled starts.
            let threads: Vec<_> = (0..16)
                .map(|n| {
                    let store = Arc::clone(&stores[n % 2]);
                    let identifier = identifier.clone();
                    std::thread::spawn(move || {
                        let created = format!("2014-01-01T00:00:{:02}Z", (n * 7) % 16);
                        let result = store.put(
                            entry(&identifier, &created),
                            created.clone().into_bytes(),
                            Order::NewerOnly,
                        );
                        (created, result)
                    })
                })
                .collect();
            let mut accepted = Vec::new();
            for thread in threads {
                let (created, result) = thread.join().unwrap();
                match result {
                    Ok(_) => accepted.push(created),
                    Err(StoreError::Older) => {}
                    Err(other) => panic!("{other}"),
                }
            }
            // The newest version is never refused, and latest is it.
            assert!(accepted.contains(&"2014-01-01T00:00:15Z".to_string()));
            for store in &stores {
                assert_eq!(
                    store
                        .latest_created(&identifier, "jane@example.org")
                        .unwrap()
                        .as_deref(),
                    Some("2014-01-01T00:00:15Z")
                );
            }
            // Every accepted version was the newest when it committed:
            // in revision order, each is later than the one before.
            let changes = stores[0].changes_since(0, 100_000).unwrap();
            let mine: Vec<&str> = changes
                .iter()
                .filter(|c| c.key.identifier == identifier)
                .map(|c| c.key.created.as_str())
                .collect();
            assert_eq!(mine.len(), accepted.len());
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        }
    }

    #[test]
    fn a_pending_upload_is_confirmed_once_and_a_job_claimed_once_across_stores() {
        let Some(url) = database("pending_jobs") else {
            return;
        };
        let stores: Vec<Arc<PostgresStore>> = (0..2)
            .map(|_| Arc::new(PostgresStore::open(&url, 8).unwrap()))
            .collect();
        for n in 0..10 {
            let id = format!("pending-{n}");
            stores[0]
                .put_pending(Pending {
                    id: id.clone(),
                    entry: entry("p", &format!("2014-02-01T00:00:{n:02}Z")),
                    document: b"doc".to_vec(),
                    received: "2014-02-01T00:00:00Z".into(),
                    expires: "2014-02-03T00:00:00Z".into(),
                })
                .unwrap();
            assert!(stores[1]
                .pending(&id, "2014-02-02T00:00:00Z")
                .unwrap()
                .is_some());
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let store = Arc::clone(&stores[t % 2]);
                    let id = id.clone();
                    std::thread::spawn(move || {
                        store.confirm_pending(&id, "2014-02-02T00:00:00Z").unwrap()
                    })
                })
                .collect();
            let outcomes: Vec<Confirmed> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let committed = outcomes
                .iter()
                .filter(|o| matches!(o, Confirmed::Committed(_, Put::Created)))
                .count();
            let not_found = outcomes
                .iter()
                .filter(|o| **o == Confirmed::NotFound)
                .count();
            assert_eq!((committed, not_found), (1, 3), "{outcomes:?}");
        }
        let claims: Vec<_> = (0..8)
            .map(|t| {
                let store = Arc::clone(&stores[t % 2]);
                std::thread::spawn(move || store.claim_job("reminders", 1_000_000, 3600).unwrap())
            })
            .collect();
        let claimed = claims
            .into_iter()
            .map(|t| t.join().unwrap())
            .filter(|c| *c)
            .count();
        assert_eq!(claimed, 1);
        assert!(!stores[1].claim_job("reminders", 1_003_599, 3600).unwrap());
        assert!(stores[0].claim_job("reminders", 1_003_600, 3600).unwrap());
    }
}
