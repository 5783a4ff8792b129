//! The `stratus-marketplace` command: `serve`, `import`, `export`, `check`, `migrate`.
//! Its clap definition also makes the man pages (`xtask man`).

use std::io::Write;
use std::net::TcpListener as StdListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Overrides, Settings};
use crate::document::Checker;
use crate::http::server::{self, Limits};
use crate::http::{AppState, Options};
use crate::store::layout;
use crate::store::sqlite::SqliteStore;
use crate::store::{Order, Store, StoreError};

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: `import` or `check` found documents that do not verify.
pub const EXIT_INVALID: i32 = 1;
/// Exit code: usage or configuration error.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the address cannot be listened on.
pub const EXIT_NETWORK: i32 = 7;
/// Exit code: any other error (store, files, TLS material).
pub const EXIT_RUNTIME: i32 = 255;

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (serve: stopped by SIGTERM or SIGINT)
  1    import or check found documents that do not verify
  2    usage or configuration error (bad option, unknown key, bad value)
  7    the address cannot be listened on (in use, not permitted)
  255  other error (data directory unusable or in use, database unreachable,
       trust or TLS files)

Configuration: --config FILE, else the first of ./marketplace.cfg,
$HOME/marketplace.cfg, /etc/stratuslab/marketplace.cfg (Java properties,
the legacy keys); MARKETPLACE_<KEY> variables override it (data.dir:
MARKETPLACE_DATA_DIR); options override both.

Store: SQLite in the data directory, one server per directory; with
store.type=postgres and store.url=postgres://USER@HOST/DB (or the rdbms.*
keys), a PostgreSQL database that several servers share as one Marketplace
(503 while it cannot be reached; `migrate` moves a store there).";

/// The StratusLab Marketplace server: a registry of signed image metadata
/// with the legacy HTTP API, on an embedded store.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-marketplace",
    version,
    infer_long_args = true,
    disable_help_subcommand = true,
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the Marketplace API (default: 127.0.0.1:9204, at / and /marketplace/)
    ///
    /// The legacy HTTP API: GET /metadata lists entries (XML, or DataTables JSON), POST
    /// /metadata uploads a signed document, GET /metadata/ID/EMAIL/CREATED returns one, plus
    /// /tag, /endorsers, /upload, /action (e-mail confirmation), /query (SPARQL, with
    /// --sparql), /changes (the change feed other Marketplaces follow) and /sync. A browser
    /// gets the same URLs as web pages. Every upload is
    /// verified as stratus-validate-metadata does (signature, constraints, RDF/XML; the
    /// signer's chain with --ca or --trust-dir) and is acknowledged (201) once committed; with
    /// validate.email=true it awaits its endorser's confirmation by e-mail (202) unless the
    /// endorser whitelist admits its signer. With --follow URL it also pulls that Marketplace's
    /// change feed and commits every entry that passes the same checks (no e-mail confirmation);
    /// marketplace.type=replica refuses uploads (403). When ready, one line goes to standard output:
    /// "stratus-marketplace: listening on http://ADDR/". SIGTERM or SIGINT stops it after
    /// the requests in flight.
    #[command(after_help = EXIT_CODES_HELP)]
    Serve(Serve),
    /// Import a legacy data directory (both layouts), re-verifying every document
    ///
    /// Reads DIR/metadata/ID/EMAIL/CREATED.xml (the layout since 2014-10) or
    /// DIR/ID/EMAIL/CREATED.xml (release 14.06.0 and earlier). Each document is verified as an
    /// upload is and must be filed under its own key; the others are reported by name and
    /// skipped (exit 1). Stop the server first: the data directory is locked while it runs.
    #[command(after_help = EXIT_CODES_HELP)]
    Import(Import),
    /// Export every entry as a legacy data directory (metadata/<id>/<email>/<created>.xml)
    ///
    /// Each file is written as stored (and as served), atomically, so that an old server,
    /// rsync or `stratus-marketplace import` can take the directory.
    #[command(after_help = EXIT_CODES_HELP)]
    Export(Export),
    /// Verify every stored document again and report those that fail
    ///
    /// Runs SQLite's integrity check, then the upload checks on every stored document (with
    /// --ca or --trust-dir, against those anchors), and reports each failure by key (exit 1).
    #[command(after_help = EXIT_CODES_HELP)]
    Check(Check),
    /// Move the store to another backend (SQLite to PostgreSQL), verifying every entry
    ///
    /// Reads every entry of --from, verifies its document as an upload is (with --ca or
    /// --trust-dir, against those anchors), writes it to --to and reads it back to compare.
    /// Documents that do not verify are reported by key and not moved (exit 1). Entries the
    /// target already holds are left as they are, so an interrupted migration is run again.
    /// Uploads awaiting e-mail confirmation are not moved. Stop the servers of --from first.
    ///
    /// Other users see the command line (ps): keep a password out of it by configuring the
    /// PostgreSQL store (store.type=postgres and store.url or rdbms.*, in a file only its owner
    /// reads, or MARKETPLACE_STORE_TYPE and MARKETPLACE_STORE_URL in the environment) and naming
    /// it `postgres:` alone. The driver does not read PGPASSWORD or ~/.pgpass. Error messages
    /// show a connection string with its password replaced by ***.
    #[command(after_help = EXIT_CODES_HELP)]
    Migrate(Migrate),
}

/// Options every subcommand takes.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Read the configuration from FILE (default: the legacy search path)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data directory (data.dir; default: $XDG_DATA_HOME/stratus-marketplace)
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Log more (repeatable: -v for each request, -vv for debugging)
    #[arg(short = 'v', long = "verbose", action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Log only errors
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

/// Trust options: accept only signers that chain to these anchors.
#[derive(Debug, Clone, Default, Args)]
pub struct Trust {
    /// Accept only signers certified by the CA certificates in FILE (repeatable; trust.ca)
    #[arg(long = "ca", value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Accept only signers certified by an IGTF-style CA directory (repeatable; trust.dir)
    #[arg(long = "trust-dir", value_name = "DIR")]
    pub trust_dir: Vec<PathBuf>,
    /// Refuse signers revoked by the CRLs in FILE (repeatable; trust.crl)
    #[arg(long = "crl", value_name = "FILE")]
    pub crl: Vec<PathBuf>,
}

/// `serve`.
#[derive(Debug, Args)]
pub struct Serve {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    /// Listen on ADDR (server.listen; port 0 picks a free port)
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Also serve the API under PATH (server.prefix; default /marketplace; / for none)
    #[arg(long, value_name = "PATH")]
    pub prefix: Option<String>,
    /// Speak HTTPS with the certificate chain in FILE (PEM; server.tls.cert)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM; server.tls.key)
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Refuse request bodies over N bytes (metadata.max.bytes; default 1048576)
    #[arg(long, value_name = "N")]
    pub max_body_bytes: Option<u64>,
    /// Refuse documents without an endorser e-mail or endorsement time (upload.require.endorsement)
    #[arg(long)]
    pub require_endorsement: bool,
    /// Serve the SPARQL endpoint /query (sparql.enabled): every entry's triples kept in memory
    #[arg(long)]
    pub sparql: bool,
    /// Follow the Marketplace at URL (repeatable; follow.peers): pull its change feed and commit
    /// every entry that verifies here as an upload would
    #[arg(long, value_name = "URL")]
    pub follow: Vec<String>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: Trust,
}

/// `import DIR`.
#[derive(Debug, Args)]
pub struct Import {
    /// The legacy data directory (with or without metadata/)
    #[arg(value_name = "DIR")]
    pub source: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: Trust,
}

/// `export DIR`.
#[derive(Debug, Args)]
pub struct Export {
    /// Where to write metadata/<identifier>/<email>/<created>.xml
    #[arg(value_name = "DIR")]
    pub target: PathBuf,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
}

/// `check`.
#[derive(Debug, Args)]
pub struct Check {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: Trust,
}

/// A failure of the command, with its exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: i32,
    /// The message.
    pub message: String,
}

impl Failure {
    fn new(code: i32, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
        }
    }
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Self {
        Failure::new(EXIT_RUNTIME, error.to_string())
    }
}

/// Run the command line; the exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let common = match &cli.command {
        Command::Serve(c) => &c.common,
        Command::Import(c) => &c.common,
        Command::Export(c) => &c.common,
        Command::Check(c) => &c.common,
        Command::Migrate(c) => &c.common,
    };
    init_logging(common);
    let result = match cli.command {
        Command::Serve(serve) => run_serve(serve),
        Command::Import(import) => run_import(import),
        Command::Export(export) => run_export(export),
        Command::Check(check) => run_check(check),
        Command::Migrate(migrate) => run_migrate(migrate),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("stratus-marketplace: error: {}", failure.message);
            failure.code
        }
    }
}

fn init_logging(common: &Common) {
    use tracing_subscriber::EnvFilter;
    let level = match (common.quiet, common.verbose) {
        (true, _) => "error",
        (false, 0) => "info",
        (false, 1) => "info,tower_http=debug",
        (false, _) => "debug",
    };
    let filter = EnvFilter::try_from_env("STRATUS_LOG").unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// The settings from the configuration, the environment and `overrides`.
fn settings(mut overrides: Overrides, common: &Common) -> Result<Settings, Failure> {
    crate::document::check_pinned_clock().map_err(|m| Failure::new(EXIT_USAGE, m))?;
    overrides.config = common.config.clone();
    overrides.data = common.data.clone();
    if let Some(path) = &overrides.config {
        if !path.is_file() {
            return Err(Failure::new(
                EXIT_USAGE,
                format!("--config: {}: no such file", path.display()),
            ));
        }
    }
    let env: Vec<(String, String)> = std::env::vars().collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let settings = config::load(&overrides, &env, &cwd, home.as_deref())
        .map_err(|e| Failure::new(EXIT_USAGE, format!("configuration: {e}")))?;
    for warning in &settings.warnings {
        tracing::warn!("{warning}");
    }
    Ok(settings)
}

fn trust_overrides(trust: &Trust) -> Overrides {
    Overrides {
        ca: trust.ca.clone(),
        trust_dir: trust.trust_dir.clone(),
        crl: trust.crl.clone(),
        ..Overrides::default()
    }
}

fn checker(settings: &Settings) -> Result<Checker, Failure> {
    Checker::new(&settings.trust, settings.require_endorsement)
        .map_err(|e| Failure::new(EXIT_RUNTIME, format!("trust: {e}")))
}

fn run_serve(args: Serve) -> Result<i32, Failure> {
    let overrides = Overrides {
        listen: args.listen.clone(),
        prefix: args.prefix.clone(),
        tls_cert: args.tls_cert.clone(),
        tls_key: args.tls_key.clone(),
        max_body_bytes: args.max_body_bytes,
        require_endorsement: args.require_endorsement,
        sparql: args.sparql,
        follow: args.follow.clone(),
        ..trust_overrides(&args.trust)
    };
    let settings = settings(overrides, &args.common)?;
    let checker = checker(&settings)?;
    let tls = match &settings.tls {
        Some((cert, key)) => Some(
            server::tls_acceptor(cert, key)
                .map_err(|e| Failure::new(EXIT_RUNTIME, format!("TLS: {e}")))?,
        ),
        None => None,
    };
    let store = crate::store::open(&settings.store, &settings.data_dir)?;
    let listener = StdListener::bind(settings.listen).map_err(|e| {
        Failure::new(
            EXIT_NETWORK,
            format!("cannot listen on {}: {e}", settings.listen),
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::new(EXIT_NETWORK, e.to_string()))?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::new(EXIT_NETWORK, e.to_string()))?;
    let mailer = match &settings.mail {
        Some(mail) => Some(Arc::new(
            crate::mail::Mailer::new(mail.clone())
                .map_err(|e| Failure::new(EXIT_USAGE, format!("configuration: {e}")))?,
        )),
        None => None,
    };
    let whitelist = match &settings.whitelist {
        Some(whitelist) => {
            let loaded = crate::whitelist::Whitelist::load(whitelist)
                .map_err(|e| Failure::new(EXIT_RUNTIME, e.to_string()))?;
            tracing::info!("endorser whitelist: {} names", loaded.len());
            Some(Arc::new(loaded))
        }
        None => None,
    };
    let sparql = match settings.sparql.enabled {
        true => Some(Arc::new(
            crate::sparql::Sparql::new(settings.sparql)
                .map_err(|e| Failure::new(EXIT_RUNTIME, format!("SPARQL: {e}")))?,
        )),
        false => None,
    };
    let jobs = Arc::new(crate::reminders::Jobs {
        store: store.clone(),
        mailer: mailer.clone(),
        reminders: settings.reminders,
        endpoint: settings.endpoint.clone(),
    });
    let checker = Arc::new(checker);
    let followers = followers(&settings, &store, &checker)?;
    let state = AppState {
        store: store.clone(),
        checker: checker.clone(),
        options: Arc::new(Options {
            prefix: settings.prefix.clone(),
            replica: settings.replica,
            max_body_bytes: settings.max_body_bytes,
            sync_enabled: settings.sync_enabled,
            data_dir: settings.data_dir.clone(),
            validate_email: settings.validate_email,
            pending_for: settings.pending_for,
        }),
        mailer,
        whitelist,
        sparql: sparql.clone(),
    };
    let limits = Limits {
        request_timeout: settings.request_timeout,
        header_timeout: settings.request_timeout.min(Duration::from_secs(10)),
        max_connections: settings.max_connections,
        shutdown_grace: Duration::from_secs(30),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(64)
        .thread_name("marketplace")
        .build()
        .map_err(|e| Failure::new(EXIT_RUNTIME, format!("cannot start the runtime: {e}")))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let entries = store.len()?;
    let sparql_store: Arc<dyn Store> = store.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(listener)
            .map_err(|e| Failure::new(EXIT_NETWORK, e.to_string()))?;
        tracing::info!(
            "data directory {}, {entries} entries{}{}",
            settings.data_dir.display(),
            if state.checker.checks_trust() {
                ", signers trust-checked"
            } else {
                ""
            },
            settings
                .file
                .as_ref()
                .map(|f| format!(", configuration {}", f.display()))
                .unwrap_or_default()
        );
        tokio::spawn(crate::reminders::run(jobs));
        if let Some(sparql) = sparql {
            // Fill the graph now, so that the first query does not wait.
            let store = sparql_store;
            tokio::task::spawn_blocking(move || {
                let started = std::time::Instant::now();
                match sparql.catch_up(store.as_ref()) {
                    Ok(()) => tracing::info!(
                        "SPARQL graph: {} quads in {:.1} s",
                        sparql.len(),
                        started.elapsed().as_secs_f64()
                    ),
                    Err(error) => tracing::error!("SPARQL graph: {error}"),
                }
            });
        }
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let follow = &settings.follow;
        let tasks: Vec<_> = followers
            .into_iter()
            .map(|f| {
                tokio::spawn(crate::follow::run(
                    f,
                    follow.interval,
                    follow.max_backoff,
                    stopped.clone(),
                ))
            })
            .collect();
        // The line scripts and tests wait for: the server answers now.
        println!("stratus-marketplace: listening on {scheme}://{address}/");
        let _ = std::io::stdout().flush();
        server::serve(listener, state, tls, limits, server::shutdown_signal()).await;
        // A page being committed is finished; then the store closes.
        let _ = stop.send(true);
        let all = async {
            for task in tasks {
                let _ = task.await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(10), all)
            .await
            .is_err()
        {
            tracing::warn!("a follower did not stop within 10 s");
        }
        Ok::<(), Failure>(())
    })?;
    runtime.shutdown_timeout(Duration::from_secs(5));
    store.close()?;
    tracing::info!("stopped");
    Ok(EXIT_OK)
}

/// A follower for each peer of the settings.
fn followers(
    settings: &Settings,
    store: &Arc<dyn Store>,
    checker: &Arc<Checker>,
) -> Result<Vec<Arc<crate::follow::Follower>>, Failure> {
    if settings.follow.peers.is_empty() {
        return Ok(Vec::new());
    }
    if !checker.checks_trust() {
        // Followed entries skip e-mail confirmation, which is all that
        // stands against a self-signed forgery when no anchor is given.
        if settings.validate_email {
            return Err(Failure::new(
                EXIT_USAGE,
                "following other Marketplaces (--follow, follow.peers) with validate.email=true needs trust anchors (--ca or --trust-dir, trust.ca or trust.dir): followed entries are not confirmed by e-mail, so without anchors anyone could publish in any endorser's name through a peer".to_string(),
            ));
        }
        tracing::warn!(
            "no trust anchors (--ca, --trust-dir, trust.ca, trust.dir): followed entries are authenticated only by the certificate they embed, as direct uploads are"
        );
    }
    let client = crate::follow::Follower::client(settings.follow.ca.clone())
        .map_err(|e| Failure::new(EXIT_RUNTIME, format!("follow.ca: {e}")))?;
    Ok(settings
        .follow
        .peers
        .iter()
        .map(|peer| {
            Arc::new(crate::follow::Follower::new(
                peer.clone(),
                store.clone(),
                checker.clone(),
                client.clone(),
                settings.max_body_bytes,
            ))
        })
        .collect())
}

/// The most documents committed in one transaction by `import`.
const IMPORT_BATCH: usize = 256;

fn run_import(args: Import) -> Result<i32, Failure> {
    let settings = settings(trust_overrides(&args.trust), &args.common)?;
    let checker = checker(&settings)?;
    if !args.source.is_dir() {
        return Err(Failure::new(
            EXIT_USAGE,
            format!("{}: not a directory", args.source.display()),
        ));
    }
    let found = layout::find_documents(&args.source)
        .map_err(|e| Failure::new(EXIT_RUNTIME, format!("{}: {e}", args.source.display())))?;
    let store = crate::store::open(&settings.store, &settings.data_dir)?;
    let (mut imported, mut skipped) = (0usize, 0usize);
    let mut batch = Vec::new();
    let flush = |batch: &mut Vec<(crate::entry::Entry, Vec<u8>)>| -> Result<(), Failure> {
        if !batch.is_empty() {
            for result in store.put_many(std::mem::take(batch), Order::Any)? {
                result?;
            }
        }
        Ok(())
    };
    for file in &found {
        let name = file.path.display().to_string();
        let outcome = std::fs::read(&file.path)
            .map_err(|e| e.to_string())
            .and_then(|bytes| checker.check(&bytes, &name).map_err(|r| r.to_string()))
            .and_then(|accepted| match &file.key {
                Some(key) if *key != accepted.entry.key => Err(format!(
                    "filed as {key} but the document's key is {}",
                    accepted.entry.key
                )),
                None => Err(format!(
                    "not in the <identifier>/<email>/<created>.xml layout (its key is {})",
                    accepted.entry.key
                )),
                Some(_) => Ok(accepted),
            });
        match outcome {
            Ok(accepted) => {
                batch.push((accepted.entry, accepted.document));
                imported += 1;
                if batch.len() >= IMPORT_BATCH {
                    flush(&mut batch)?;
                }
            }
            Err(reason) => {
                skipped += 1;
                eprintln!("skipped {name}: {reason}");
            }
        }
    }
    flush(&mut batch)?;
    store.close()?;
    println!(
        "imported {imported} documents from {}, skipped {skipped}",
        args.source.display()
    );
    Ok(if skipped > 0 { EXIT_INVALID } else { EXIT_OK })
}

fn run_export(args: Export) -> Result<i32, Failure> {
    let settings = settings(Overrides::default(), &args.common)?;
    let store = crate::store::open(&settings.store, &settings.data_dir)?;
    let keys = store.keys()?;
    let mut written = 0usize;
    for key in &keys {
        let Some(document) = store.document(key)? else {
            continue;
        };
        layout::write_document(&args.target, key, &document).map_err(|e| {
            Failure::new(
                EXIT_RUNTIME,
                format!("{}: {e}", layout::path_of(&args.target, key).display()),
            )
        })?;
        written += 1;
    }
    store.close()?;
    println!(
        "exported {written} documents to {}",
        export_root(&args.target).display()
    );
    Ok(EXIT_OK)
}

fn export_root(target: &Path) -> PathBuf {
    target.join(layout::METADATA_DIR)
}

fn run_check(args: Check) -> Result<i32, Failure> {
    let settings = settings(trust_overrides(&args.trust), &args.common)?;
    let checker = checker(&settings)?;
    let mut bad = 0usize;
    let store: Arc<dyn Store> = match &settings.store {
        crate::store::Backend::Sqlite => {
            let store = SqliteStore::open(&settings.data_dir)?;
            for problem in store.integrity_check()? {
                bad += 1;
                eprintln!("database: {problem}");
            }
            Arc::new(store)
        }
        backend => crate::store::open(backend, &settings.data_dir)?,
    };
    let keys = store.keys()?;
    for key in &keys {
        let verdict = match store.document(key)? {
            None => Err("the document is missing".to_string()),
            Some(document) => checker
                .check(&document, &key.to_string())
                .map_err(|r| r.to_string())
                .and_then(|accepted| {
                    if accepted.entry.key == *key {
                        Ok(())
                    } else {
                        Err(format!("the document's key is {}", accepted.entry.key))
                    }
                }),
        };
        if let Err(reason) = verdict {
            bad += 1;
            eprintln!("{key}: {reason}");
        }
    }
    store.close()?;
    println!("checked {} entries: {bad} problems", keys.len());
    Ok(if bad > 0 { EXIT_INVALID } else { EXIT_OK })
}

/// `migrate --from sqlite:DIR --to postgres:URL`.
#[derive(Debug, Args)]
pub struct Migrate {
    /// The store to read: sqlite:DIR (a data directory), postgres:URL, or postgres: (the
    /// configured PostgreSQL store: store.url or rdbms.*, e.g. MARKETPLACE_STORE_URL)
    #[arg(long, value_name = "STORE")]
    pub from: String,
    /// The store to write: postgres:URL (a postgres:// URL or key=value string), postgres:
    /// (the configured PostgreSQL store, which keeps its password out of the command line) or
    /// sqlite:DIR
    #[arg(long, value_name = "STORE")]
    pub to: String,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub common: Common,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: Trust,
}

/// A store named on the command line: `sqlite:DIR`, `postgres:URL`, or
/// `postgres:` alone for the PostgreSQL store of the configuration
/// (`configured`: `store.url` or `rdbms.*`, from the file or the
/// environment), which keeps a password out of the command line.
fn store_argument(
    option: &str,
    value: &str,
    configured: &crate::store::Backend,
) -> Result<(crate::store::Backend, PathBuf), Failure> {
    use crate::store::{postgres::DEFAULT_POOL_SIZE, Backend};
    match value.split_once(':') {
        Some(("postgres", "")) => match configured {
            Backend::Postgres { .. } => Ok((configured.clone(), PathBuf::new())),
            Backend::Sqlite => Err(Failure::new(
                EXIT_USAGE,
                format!(
                    "{option}: 'postgres:' alone names the configured PostgreSQL store, \
                     but the configuration has no store.type=postgres"
                ),
            )),
        },
        Some(("sqlite", dir)) if !dir.is_empty() => {
            let path = PathBuf::from(dir);
            // The database file names its directory too.
            let dir = match path.file_name() {
                Some(name) if name == crate::store::sqlite::DATABASE_FILE => {
                    path.parent().map(Path::to_path_buf).unwrap_or(path)
                }
                _ => path,
            };
            Ok((Backend::Sqlite, dir))
        }
        Some(("postgres", url)) if !url.is_empty() => Ok((
            Backend::Postgres {
                url: url.to_string(),
                pool_size: DEFAULT_POOL_SIZE,
            },
            PathBuf::new(),
        )),
        _ => Err(Failure::new(
            EXIT_USAGE,
            format!(
                "{option}: expected sqlite:DIR, postgres:URL or postgres:, not '{}'",
                crate::store::postgres::redact(value)
            ),
        )),
    }
}

fn run_migrate(args: Migrate) -> Result<i32, Failure> {
    let settings = settings(trust_overrides(&args.trust), &args.common)?;
    let checker = checker(&settings)?;
    let (from_backend, from_dir) = store_argument("--from", &args.from, &settings.store)?;
    let (to_backend, to_dir) = store_argument("--to", &args.to, &settings.store)?;
    if from_backend == crate::store::Backend::Sqlite
        && !from_dir.join(crate::store::sqlite::DATABASE_FILE).is_file()
    {
        return Err(Failure::new(
            EXIT_USAGE,
            format!(
                "--from: {}: no {} there",
                from_dir.display(),
                crate::store::sqlite::DATABASE_FILE
            ),
        ));
    }
    let from = crate::store::open(&from_backend, &from_dir)?;
    let to = crate::store::open(&to_backend, &to_dir)?;
    let moved = crate::store::migrate::migrate(from.as_ref(), to.as_ref(), |key, document| {
        checker
            .check(document, &key.to_string())
            .map(|accepted| accepted.entry)
            .map_err(|refusal| refusal.to_string())
    })?;
    for (key, reason) in &moved.skipped {
        eprintln!("skipped {key}: {reason}");
    }
    to.close()?;
    from.close()?;
    println!(
        "migrated {} entries ({} written, {} already there, verified), skipped {}",
        moved.written + moved.unchanged,
        moved.written,
        moved.unchanged,
        moved.skipped.len()
    );
    Ok(if moved.skipped.is_empty() {
        EXIT_OK
    } else {
        EXIT_INVALID
    })
}
