//! Configuration: the legacy `marketplace.cfg` (Java properties, the keys
//! and search path of marketplace.md §5.6), environment overrides, then
//! command-line flags over both.
//!
//! - The file is the one given with `--config`, else the first readable of
//!   `./marketplace.cfg`, `$HOME/marketplace.cfg`,
//!   `/etc/stratuslab/marketplace.cfg`; with none, the defaults apply.
//! - Every key of the legacy server is accepted and validated as it was
//!   (booleans `true`/`false`, ports 1–65535, e-mails, URLs, absolute
//!   paths; "required" keys may not be empty). A few keys of our own
//!   (`server.*`, `trust.*`, `upload.*`, `sync.*`, `sparql.*`,
//!   `follow.*`, `mail.timeout`) configure what the legacy server did not have. An unknown key is an error naming the key
//!   and its line.
//! - Each key can be overridden by an environment variable: `MARKETPLACE_`
//!   and the key in upper case with `.` as `_` (`MARKETPLACE_DATA_DIR`).
//! - A bad value stops start-up with a message naming where it came from
//!   (the legacy server started in an "error mode" instead).

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::document::TrustSources;

/// The default address to listen on: the legacy Jetty's, behind nginx.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9204";
/// The default second mount point (besides `/`).
pub const DEFAULT_PREFIX: &str = "/marketplace";
/// The default largest upload body.
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1024 * 1024;
/// The prefix of the environment overrides.
pub const ENV_PREFIX: &str = "MARKETPLACE_";
/// Where the configuration file is looked for, after `./` and `$HOME/`.
pub const SYSTEM_CONFIG: &str = "/etc/stratuslab/marketplace.cfg";

/// A configuration error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file and line, environment variable or option at fault.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for ConfigError {}

/// How a key's value is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Any,
    Boolean,
    Port,
    Email,
    Url,
    Urls,
    AbsolutePath,
    PositiveInteger,
    StoreType,
    FileStoreType,
    ReplicationType,
    SocketAddress,
    Prefix,
    Paths,
    Seconds,
    PeerUrls,
}

/// Every accepted key: name, check, whether an empty value is an error.
const KEYS: &[(&str, Kind, bool)] = &[
    // The legacy keys (§5.6).
    ("data.dir", Kind::AbsolutePath, true),
    ("pending.dir", Kind::AbsolutePath, true),
    ("store.type", Kind::StoreType, true),
    ("filestore.type", Kind::FileStoreType, true),
    ("couchbase.bucket", Kind::Any, false),
    ("couchbase.password", Kind::Any, false),
    ("couchbase.marketplaceid", Kind::Any, false),
    ("couchbase.uris", Kind::Urls, false),
    ("replication.enabled", Kind::Boolean, false),
    ("replication.type", Kind::ReplicationType, false),
    ("git.uri", Kind::Any, false),
    ("git.user", Kind::Any, false),
    ("git.password", Kind::Any, false),
    ("git.key", Kind::Any, false),
    ("git.key.passphrase", Kind::Any, false),
    ("git.known.hosts", Kind::Any, false),
    ("validate.email", Kind::Boolean, true),
    ("admin.email", Kind::Email, true),
    ("mail.host", Kind::Any, true),
    ("mail.port", Kind::Port, false),
    ("mail.user", Kind::Any, true),
    ("mail.password", Kind::Any, false),
    ("mail.ssl", Kind::Boolean, false),
    ("mail.debug", Kind::Boolean, false),
    ("endorser.reminder", Kind::Boolean, false),
    ("marketplace.endpoint", Kind::Url, false),
    ("marketplace.type", Kind::Any, false),
    ("metadata.max.bytes", Kind::PositiveInteger, true),
    ("whitelist.enabled", Kind::Boolean, false),
    ("whitelist.location", Kind::Any, false),
    ("whitelist.truststore", Kind::Any, false),
    ("whitelist.crl", Kind::Any, false),
    ("whitelist.password", Kind::Any, false),
    ("style.path", Kind::Any, true),
    ("js.path", Kind::Any, true),
    ("img.path", Kind::Any, true),
    ("rdbms.dbname", Kind::Any, false),
    ("rdbms.host", Kind::Any, false),
    ("rdbms.port", Kind::Port, false),
    ("rdbms.dbuser", Kind::Any, false),
    ("rdbms.dbpass", Kind::Any, false),
    ("master.url", Kind::Url, true),
    ("support.email", Kind::Email, true),
    ("support.url", Kind::Url, true),
    // stratus-marketplace's own keys.
    ("server.listen", Kind::SocketAddress, true),
    ("server.prefix", Kind::Prefix, false),
    ("server.tls.cert", Kind::AbsolutePath, false),
    ("server.tls.key", Kind::AbsolutePath, false),
    ("server.request.timeout", Kind::Seconds, true),
    ("server.max.connections", Kind::PositiveInteger, true),
    ("store.url", Kind::Any, true),
    ("store.pool.size", Kind::PositiveInteger, true),
    ("trust.ca", Kind::Paths, false),
    ("trust.dir", Kind::Paths, false),
    ("trust.crl", Kind::Paths, false),
    ("upload.require.endorsement", Kind::Boolean, false),
    ("sync.enabled", Kind::Boolean, false),
    ("upload.pending.hours", Kind::PositiveInteger, true),
    ("mail.timeout", Kind::Seconds, true),
    ("sparql.enabled", Kind::Boolean, false),
    ("sparql.timeout", Kind::Seconds, true),
    ("sparql.max.results", Kind::PositiveInteger, true),
    ("follow.peers", Kind::PeerUrls, false),
    ("follow.interval", Kind::Seconds, true),
    ("follow.backoff.max", Kind::Seconds, true),
    ("follow.ca", Kind::AbsolutePath, false),
];

/// What the command line gives, over the file and the environment.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--config FILE`.
    pub config: Option<PathBuf>,
    /// `--listen ADDR`.
    pub listen: Option<String>,
    /// `--data DIR`.
    pub data: Option<PathBuf>,
    /// `--prefix PATH`.
    pub prefix: Option<String>,
    /// `--tls-cert FILE`.
    pub tls_cert: Option<PathBuf>,
    /// `--tls-key FILE`.
    pub tls_key: Option<PathBuf>,
    /// `--ca FILE` (repeatable).
    pub ca: Vec<PathBuf>,
    /// `--trust-dir DIR` (repeatable).
    pub trust_dir: Vec<PathBuf>,
    /// `--crl FILE` (repeatable).
    pub crl: Vec<PathBuf>,
    /// `--max-body-bytes N`.
    pub max_body_bytes: Option<u64>,
    /// `--require-endorsement`.
    pub require_endorsement: bool,
    /// `--sparql`.
    pub sparql: bool,
    /// `--follow URL` (repeatable).
    pub follow: Vec<String>,
}

/// How to reach the SMTP server (marketplace.md §5.6, §6.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// `mail.host`.
    pub host: String,
    /// `mail.port`.
    pub port: u16,
    /// `mail.user` (authentication only with a password too).
    pub user: Option<String>,
    /// `mail.password`.
    pub password: Option<String>,
    /// `mail.ssl=true`: SMTPS (TLS from the first byte); else STARTTLS
    /// when the server offers it, required when credentials are sent.
    pub ssl: bool,
    /// `admin.email`: the sender of every mail, the recipient of abuse
    /// reports.
    pub admin: String,
    /// `mail.timeout`: the longest a mail may take to send.
    pub timeout: Duration,
}

/// The endorser whitelist (§6.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WhitelistSettings {
    /// `whitelist.location`: one RFC 2253 DN per line.
    pub location: PathBuf,
    /// `whitelist.truststore`: a directory of hashed CA files, a PEM
    /// bundle, or a PKCS#12 store.
    pub truststore: PathBuf,
    /// `whitelist.crl`: a CRL file, a directory of CRLs, or `dir/*.ext`.
    pub crl: Option<PathBuf>,
    /// `whitelist.password`: the PKCS#12 store's password.
    pub password: Option<String>,
}

/// The SPARQL endpoint (§2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SparqlSettings {
    /// `--sparql` or `sparql.enabled=true`.
    pub enabled: bool,
    /// `sparql.timeout`: the longest one query may run.
    pub timeout: Duration,
    /// `sparql.max.results`: the most rows one query may return.
    pub max_results: usize,
}

/// The effective settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The configuration file read, if any.
    pub file: Option<PathBuf>,
    /// The address to listen on.
    pub listen: SocketAddr,
    /// The data directory (database, lock, `.sync`).
    pub data_dir: PathBuf,
    /// Where the entries live: SQLite in the data directory, or
    /// PostgreSQL (`store.type=postgres`).
    pub store: crate::store::Backend,
    /// The second mount point (`/marketplace`), or `None` for `/` only.
    pub prefix: Option<String>,
    /// `marketplace.type=replica`: uploads are refused (403).
    pub replica: bool,
    /// The largest request body accepted.
    pub max_body_bytes: u64,
    /// Refuse documents without an endorsement e-mail or time.
    pub require_endorsement: bool,
    /// Trust anchors and CRLs for uploads.
    pub trust: TrustSources,
    /// TLS certificate chain and key (PEM), when the server speaks HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Whether `POST /sync` is served (from loopback only).
    pub sync_enabled: bool,
    /// The longest a request (headers and body) may take.
    pub request_timeout: Duration,
    /// The most connections served at once.
    pub max_connections: usize,
    /// E-mail confirmation of uploads (`validate.email=true`).
    pub validate_email: bool,
    /// The SMTP settings, when mail is sent (confirmation or reminders).
    pub mail: Option<MailSettings>,
    /// How long an upload awaits confirmation.
    pub pending_for: Duration,
    /// The endorser whitelist, when enabled.
    pub whitelist: Option<WhitelistSettings>,
    /// Reminder and expiry-warning mails (`endorser.reminder=true`).
    pub reminders: bool,
    /// `marketplace.endpoint`: the public URL in reminder mails, without a
    /// trailing `/`.
    pub endpoint: String,
    /// The SPARQL endpoint.
    pub sparql: SparqlSettings,
    /// The Marketplaces followed.
    pub follow: crate::follow::FollowSettings,
    /// Warnings about accepted keys this server ignores.
    pub warnings: Vec<String>,
}

/// The raw values, each with where it came from.
#[derive(Debug, Default)]
struct Values(BTreeMap<&'static str, (String, String)>);

impl Values {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|(v, _)| v.as_str())
    }

    fn origin(&self, key: &str) -> String {
        self.0
            .get(key)
            .map(|(_, o)| o.clone())
            .unwrap_or_else(|| key.to_string())
    }
}

/// Find and read the configuration, apply the environment (`env` lists
/// its variables) and the command line.
pub fn load(
    overrides: &Overrides,
    env: &[(String, String)],
    cwd: &Path,
    home: Option<&Path>,
) -> Result<Settings, ConfigError> {
    let file = match &overrides.config {
        Some(path) => Some(path.clone()),
        None => search_path(cwd, home).into_iter().find(|p| p.is_file()),
    };
    let mut values = Values::default();
    if let Some(path) = &file {
        read_file(path, &mut values)?;
    }
    read_env(env, &mut values)?;
    settings(&values, overrides, file)
}

/// The legacy search path.
pub fn search_path(cwd: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let mut paths = vec![cwd.join("marketplace.cfg")];
    if let Some(home) = home {
        paths.push(home.join("marketplace.cfg"));
    }
    paths.push(PathBuf::from(SYSTEM_CONFIG));
    paths
}

fn read_file(path: &Path, values: &mut Values) -> Result<(), ConfigError> {
    let origin = |line: Option<usize>| match line {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    let bytes = std::fs::read(path).map_err(|e| ConfigError {
        origin: origin(None),
        message: e.to_string(),
    })?;
    if bytes.len() > 1024 * 1024 {
        return Err(ConfigError {
            origin: origin(None),
            message: "larger than 1 MiB".into(),
        });
    }
    let lines =
        java_properties::PropertiesIter::new_with_encoding(bytes.as_slice(), encoding_rs::UTF_8);
    for line in lines {
        let line = line.map_err(|e| ConfigError {
            origin: origin(e.line_number()),
            message: e.to_string(),
        })?;
        let number = line.line_number();
        if let java_properties::LineContent::KVPair(key, value) = line.consume_content() {
            set(values, &key, value, origin(Some(number)))?;
        }
    }
    Ok(())
}

fn read_env(env: &[(String, String)], values: &mut Values) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let key = rest.to_ascii_lowercase().replace('_', ".");
        set(
            values,
            &key,
            value.clone(),
            format!("environment variable {name}"),
        )?;
    }
    Ok(())
}

fn set(values: &mut Values, key: &str, value: String, origin: String) -> Result<(), ConfigError> {
    let Some(&(name, kind, required)) = KEYS.iter().find(|(name, ..)| *name == key) else {
        return Err(ConfigError {
            origin,
            message: format!("unknown key '{key}'"),
        });
    };
    let value = value.trim().to_string();
    if value.is_empty() {
        if required {
            return Err(ConfigError {
                origin,
                message: format!("'{name}' is required and may not be empty"),
            });
        }
    } else if matches!(kind, Kind::PeerUrls) {
        // Its own message, which never shows a URL's user info.
        peer_urls(&value).map_err(|message| ConfigError {
            origin: origin.clone(),
            message: format!("'{name}': {message}"),
        })?;
    } else {
        check(kind, &value).map_err(|expected| ConfigError {
            origin: origin.clone(),
            message: format!("'{name}': invalid value '{value}': expected {expected}"),
        })?;
    }
    values.0.insert(name, (value, origin));
    Ok(())
}

fn check(kind: Kind, value: &str) -> Result<(), &'static str> {
    let ok = match kind {
        Kind::Any => true,
        Kind::Boolean => value == "true" || value == "false",
        Kind::Port => parse_port(value).is_some(),
        Kind::Email => is_email(value),
        Kind::Url => is_url(value),
        Kind::Urls => value.split_whitespace().all(is_url),
        Kind::AbsolutePath => value.starts_with('/'),
        Kind::PositiveInteger => value.parse::<u64>().is_ok_and(|n| n > 0),
        Kind::StoreType => {
            if value == "mysql" {
                return Err("memory, native or postgres (the MySQL store was removed)");
            }
            value == "memory" || value == "native" || value == "postgres"
        }
        Kind::FileStoreType => value == "file" || value == "couchbase",
        Kind::ReplicationType => value == "public" || value == "private",
        Kind::SocketAddress => value.parse::<SocketAddr>().is_ok(),
        Kind::Prefix => value == "/" || (value.starts_with('/') && !value.ends_with('/')),
        Kind::Paths => true,
        Kind::Seconds => value.parse::<u64>().is_ok_and(|n| n > 0),
        Kind::PeerUrls => peer_urls(value).is_ok(),
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        Kind::Any | Kind::Paths => "any value",
        Kind::Boolean => "true or false",
        Kind::Port => "a port number from 1 to 65535",
        Kind::Email => "an e-mail address",
        Kind::Url | Kind::Urls => "a URL (http, https, ftp or file)",
        Kind::AbsolutePath => "an absolute path",
        Kind::PositiveInteger | Kind::Seconds => "a positive integer",
        Kind::StoreType => "memory, native or postgres",
        Kind::FileStoreType => "file or couchbase",
        Kind::ReplicationType => "public or private",
        Kind::SocketAddress => "an address and port such as 127.0.0.1:9204 or [::1]:9204",
        Kind::Prefix => "a path such as /marketplace (no trailing /), or / for none",
        Kind::PeerUrls => "http:// or https:// URLs of Marketplaces, separated by spaces or commas",
    })
}

/// The peers of `follow.peers` or `--follow`: URLs separated by white
/// space or commas, each normalised ([`crate::follow::peer_base`]).
fn peer_urls(value: &str) -> Result<Vec<String>, String> {
    value
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .map(|u| {
            crate::follow::peer_base(u).map_err(|e| format!("'{}': {e}", without_user_info(u)))
        })
        .collect()
}

/// `url` with what comes before an `@` of its host part cut out, for
/// messages (it may be a password).
fn without_user_info(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => format!("{scheme}://...@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// A port: decimal digits (leading zeros allowed), 1 to 65535.
fn parse_port(value: &str) -> Option<u16> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trimmed = value.trim_start_matches('0');
    if trimmed.len() > 5 {
        return None;
    }
    trimmed
        .parse::<u32>()
        .ok()
        .filter(|p| (1..=65535).contains(p))
        .map(|p| p as u16)
}

/// An address as javax.mail accepted it: one `@`, something on both sides,
/// no white space or angle brackets.
fn is_email(value: &str) -> bool {
    let mut parts = value.split('@');
    let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let allowed = |c: char| !c.is_whitespace() && !"<>()[],;:\\\"".contains(c);
    !local.is_empty() && !domain.is_empty() && value.chars().all(allowed)
}

/// A URL as `java.net.URL` took it: a known protocol, `:`, the rest.
fn is_url(value: &str) -> bool {
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "ftp" | "file" | "jar"
    ) && !rest.is_empty()
        && !value.chars().any(char::is_whitespace)
}

fn settings(
    values: &Values,
    overrides: &Overrides,
    file: Option<PathBuf>,
) -> Result<Settings, ConfigError> {
    let option_error = |option: &str, message: String| ConfigError {
        origin: option.to_string(),
        message,
    };
    let mut warnings = Vec::new();
    for (key, what) in [("replication.enabled", "Git replication")] {
        if values.get(key) == Some("true") {
            warnings.push(format!(
                "{}: '{key}=true' is accepted but {what} is not available in this version (follow other Marketplaces with serve --follow URL instead)",
                values.origin(key)
            ));
        }
    }
    if values.get("filestore.type") == Some("couchbase") {
        warnings.push(format!(
            "{}: 'filestore.type=couchbase' is accepted but no Couchbase copy is written",
            values.origin("filestore.type")
        ));
    }
    let listen_text = overrides
        .listen
        .clone()
        .or_else(|| values.get("server.listen").map(str::to_string))
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen = listen_text.parse::<SocketAddr>().map_err(|_| {
        option_error(
            "--listen",
            format!("invalid value '{listen_text}': expected an address and port such as 127.0.0.1:9204"),
        )
    })?;
    let data_dir = match (&overrides.data, values.get("data.dir")) {
        (Some(dir), _) => dir.clone(),
        (None, Some(dir)) => PathBuf::from(dir),
        (None, None) => default_data_dir(),
    };
    let prefix_text = overrides
        .prefix
        .clone()
        .or_else(|| values.get("server.prefix").map(str::to_string))
        .unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    if check(Kind::Prefix, &prefix_text).is_err() && !prefix_text.is_empty() {
        return Err(option_error(
            "--prefix",
            format!("invalid value '{prefix_text}': expected a path such as /marketplace, or /"),
        ));
    }
    let prefix = match prefix_text.as_str() {
        "" | "/" => None,
        other => Some(other.to_string()),
    };
    let paths = |option: &[PathBuf], key: &str| -> Vec<PathBuf> {
        if !option.is_empty() {
            return option.to_vec();
        }
        values
            .get(key)
            .map(|v| {
                v.split(|c: char| c == ',' || c.is_whitespace())
                    .filter(|p| !p.is_empty())
                    .map(PathBuf::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let trust = TrustSources {
        ca_files: paths(&overrides.ca, "trust.ca"),
        trust_dirs: paths(&overrides.trust_dir, "trust.dir"),
        crl_files: paths(&overrides.crl, "trust.crl"),
    };
    if !trust.has_anchors() && !trust.crl_files.is_empty() {
        return Err(option_error(
            "--crl",
            "CRLs need trust anchors: give --ca or --trust-dir (trust.ca, trust.dir)".into(),
        ));
    }
    let tls_cert = overrides
        .tls_cert
        .clone()
        .or_else(|| values.get("server.tls.cert").map(PathBuf::from));
    let tls_key = overrides
        .tls_key
        .clone()
        .or_else(|| values.get("server.tls.key").map(PathBuf::from));
    let tls = match (tls_cert, tls_key) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(option_error(
                "--tls-cert",
                "--tls-cert and --tls-key go together".into(),
            ))
        }
    };
    let max_body_bytes = overrides
        .max_body_bytes
        .or_else(|| {
            values
                .get("metadata.max.bytes")
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(DEFAULT_MAX_BODY_BYTES);
    if max_body_bytes == 0 {
        return Err(option_error(
            "--max-body-bytes",
            "invalid value '0': expected a positive number of bytes".into(),
        ));
    }
    let flag = |key: &str, default: bool| values.get(key).map_or(default, |v| v == "true");
    let validate_email = flag("validate.email", false);
    let reminders = flag("endorser.reminder", false);
    let mail = if validate_email || reminders {
        let why = if validate_email {
            "validate.email=true"
        } else {
            "endorser.reminder=true"
        };
        Some(mail_settings(values, why)?)
    } else {
        None
    };
    let whitelist = if flag("whitelist.enabled", false) {
        Some(whitelist_settings(values, &mut warnings)?)
    } else {
        None
    };
    let number = |key: &str, default: u64| {
        values
            .get(key)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(default)
    };
    let peers = if overrides.follow.is_empty() {
        peer_urls(values.get("follow.peers").unwrap_or("")).map_err(|message| ConfigError {
            origin: values.origin("follow.peers"),
            message,
        })?
    } else {
        peer_urls(&overrides.follow.join(" "))
            .map_err(|message| option_error("--follow", message))?
    };
    let follow = crate::follow::FollowSettings {
        peers,
        interval: Duration::from_secs(number("follow.interval", 2)),
        max_backoff: Duration::from_secs(number("follow.backoff.max", 60)),
        ca: values.get("follow.ca").map(PathBuf::from),
    };
    let endpoint = values
        .get("marketplace.endpoint")
        .unwrap_or("http://marketplace.stratuslab.eu")
        .trim_end_matches('/')
        .to_string();
    Ok(Settings {
        validate_email,
        mail,
        pending_for: Duration::from_secs(number("upload.pending.hours", 48).saturating_mul(3600)),
        whitelist,
        reminders,
        endpoint,
        follow,
        sparql: SparqlSettings {
            enabled: overrides.sparql || flag("sparql.enabled", false),
            timeout: Duration::from_secs(number("sparql.timeout", 10)),
            max_results: usize::try_from(number("sparql.max.results", 10_000))
                .unwrap_or(usize::MAX),
        },
        store: store_backend(values)?,
        file,
        listen,
        data_dir,
        prefix,
        replica: values
            .get("marketplace.type")
            .is_some_and(|t| t.eq_ignore_ascii_case("replica")),
        max_body_bytes,
        require_endorsement: overrides.require_endorsement
            || flag("upload.require.endorsement", false),
        trust,
        tls,
        sync_enabled: flag("sync.enabled", true),
        request_timeout: Duration::from_secs(
            values
                .get("server.request.timeout")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30),
        ),
        max_connections: values
            .get("server.max.connections")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1024),
        warnings,
    })
}

/// The SMTP settings, which `why` (the key that sends mail) requires.
fn mail_settings(values: &Values, why: &str) -> Result<MailSettings, ConfigError> {
    let required = |key: &str| {
        values
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ConfigError {
                origin: values.origin(key),
                message: format!("'{key}' is required with {why} (the confirmation and reminder mails are sent through it)"),
            })
    };
    let host = required("mail.host")?;
    let port = parse_port(&required("mail.port")?).expect("checked when read");
    let admin = required("admin.email")?;
    let optional = |key: &str| {
        values
            .get(key)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Ok(MailSettings {
        host,
        port,
        user: optional("mail.user"),
        password: optional("mail.password"),
        ssl: values.get("mail.ssl") == Some("true"),
        admin,
        timeout: Duration::from_secs(
            values
                .get("mail.timeout")
                .and_then(|v| v.parse().ok())
                .unwrap_or(10),
        ),
    })
}

/// The whitelist settings, with the legacy defaults.
fn whitelist_settings(
    values: &Values,
    warnings: &mut Vec<String>,
) -> Result<WhitelistSettings, ConfigError> {
    let path = |key: &str, default: &str| {
        PathBuf::from(values.get(key).filter(|v| !v.is_empty()).unwrap_or(default))
    };
    let crl = values
        .get("whitelist.crl")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            let default = PathBuf::from("/etc/stratuslab/marketplace.crl");
            default.exists().then_some(default)
        });
    if values.get("validate.email") != Some("true") {
        warnings.push(format!(
            "{}: 'whitelist.enabled=true' has no effect without validate.email=true (every upload is committed at once)",
            values.origin("whitelist.enabled")
        ));
    }
    Ok(WhitelistSettings {
        location: path(
            "whitelist.location",
            "/etc/stratuslab/marketplace.whitelist",
        ),
        truststore: path(
            "whitelist.truststore",
            "/etc/stratuslab/marketplace.truststore",
        ),
        crl,
        password: values
            .get("whitelist.password")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
    })
}

/// The store backend: `store.type=postgres` takes `store.url`, else a
/// connection string made of the legacy `rdbms.*` keys.
fn store_backend(values: &Values) -> Result<crate::store::Backend, ConfigError> {
    use crate::store::Backend;
    if values.get("store.type") != Some("postgres") {
        return Ok(Backend::Sqlite);
    }
    let pool_size = values
        .get("store.pool.size")
        .and_then(|v| v.parse::<u32>().ok())
        .unwrap_or(crate::store::postgres::DEFAULT_POOL_SIZE);
    if let Some(url) = values.get("store.url") {
        return Ok(Backend::Postgres {
            url: url.to_string(),
            pool_size,
        });
    }
    let Some(dbname) = values.get("rdbms.dbname").filter(|v| !v.is_empty()) else {
        return Err(ConfigError {
            origin: values.origin("store.type"),
            message: "'store.type=postgres' needs 'store.url' (or 'rdbms.dbname' and the \
                      other rdbms.* keys)"
                .into(),
        });
    };
    let mut parts = vec![format!("dbname={}", quote_connection_value(dbname))];
    for (key, name) in [
        ("rdbms.host", "host"),
        ("rdbms.port", "port"),
        ("rdbms.dbuser", "user"),
        ("rdbms.dbpass", "password"),
    ] {
        if let Some(value) = values.get(key).filter(|v| !v.is_empty()) {
            let value = match parse_port(value) {
                Some(port) if key == "rdbms.port" => port.to_string(),
                _ => value.to_string(),
            };
            parts.push(format!("{name}={}", quote_connection_value(&value)));
        }
    }
    Ok(Backend::Postgres {
        url: parts.join(" "),
        pool_size,
    })
}

/// A value of a `key=value` connection string: single-quoted, with `\`
/// and `'` escaped.
fn quote_connection_value(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The data directory when none is configured: `$XDG_DATA_HOME/stratus-marketplace`,
/// else `$HOME/.local/share/stratus-marketplace`, else `./marketplace-data`.
pub fn default_data_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir).join("stratus-marketplace");
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(home).join(".local/share/stratus-marketplace");
    }
    PathBuf::from("marketplace-data")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str, env: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("marketplace.cfg");
        std::fs::write(&path, text).unwrap();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        load(&Overrides::default(), &env, dir.path(), None)
    }

    #[test]
    fn the_legacy_parameter_tests() {
        // ParameterTest (marketplace.md §7.3).
        for good in ["1", "10", "07", "65535"] {
            assert!(load_text(&format!("mail.port={good}\nrdbms.port={good}"), &[]).is_ok());
        }
        for bad in ["0", "-1", "0xG", "65536"] {
            assert!(
                load_text(&format!("mail.port={bad}"), &[]).is_err(),
                "{bad}"
            );
            assert!(
                load_text(&format!("rdbms.port={bad}"), &[]).is_err(),
                "{bad}"
            );
        }
        for good in ["admin@example.org", "admin.list@example.com"] {
            assert!(load_text(&format!("admin.email={good}\nsupport.email={good}"), &[]).is_ok());
        }
        for bad in ["admin", "admin@list@example.com"] {
            assert!(load_text(&format!("admin.email={bad}"), &[]).is_err());
            assert!(load_text(&format!("support.email={bad}"), &[]).is_err());
        }
        assert!(load_text("store.type=memory\nstore.type=native", &[]).is_ok());
        assert!(load_text("store.type=invalid", &[]).is_err());
        assert!(load_text("data.dir=/tmp", &[]).is_ok());
        assert!(load_text("data.dir=tmp", &[]).is_err());
    }

    #[test]
    fn unknown_keys_name_the_key_and_the_line() {
        let error = load_text("# comment\ndata.dir=/tmp\ndata.dri=/tmp\n", &[]).unwrap_err();
        assert!(error.origin.ends_with("marketplace.cfg:3"), "{error}");
        assert_eq!(error.message, "unknown key 'data.dri'");
    }

    #[test]
    fn required_keys_may_be_absent_but_not_empty() {
        assert!(load_text("", &[]).is_ok());
        let error = load_text("admin.email=\n", &[]).unwrap_err();
        assert!(error.message.contains("required"), "{error}");
        assert!(load_text("mail.port=\n", &[]).is_ok());
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let settings = load_text(
            "data.dir=/from/file\nmarketplace.type=Replica\n",
            &[("MARKETPLACE_DATA_DIR", "/from/env"), ("PATH", "/bin")],
        )
        .unwrap();
        assert_eq!(settings.data_dir, PathBuf::from("/from/env"));
        assert!(settings.replica);
        let error = load_text("", &[("MARKETPLACE_NO_SUCH_KEY", "1")]).unwrap_err();
        assert_eq!(error.origin, "environment variable MARKETPLACE_NO_SUCH_KEY");
    }

    #[test]
    fn email_confirmation_needs_the_mail_settings() {
        let error = load_text("validate.email=true", &[]).unwrap_err();
        assert!(error.message.contains("'mail.host' is required"), "{error}");
        let error = load_text(
            "validate.email=true\nmail.host=localhost\nmail.port=25",
            &[],
        )
        .unwrap_err();
        assert!(error.message.contains("'admin.email'"), "{error}");
        let settings = load_text(
            "validate.email=true\nmail.host=localhost\nmail.port=0025\nadmin.email=a@b.org",
            &[],
        )
        .unwrap();
        let mail = settings.mail.unwrap();
        assert_eq!((mail.port, mail.ssl, mail.user), (25, false, None));
        assert_eq!(settings.pending_for, Duration::from_secs(48 * 3600));
        assert!(load_text("validate.email=false", &[])
            .unwrap()
            .mail
            .is_none());
    }
}
