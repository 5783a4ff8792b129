//! The options of the commands that talk to a Marketplace or fetch images
//! (how to connect: [`NetArgs`]; the user configuration: [`ConfigArgs`];
//! the site policy and trust: [`PolicyArgs`]), and what they print for a
//! policy decision.

use crate::common::{CliError, TrustArgs, Verbosity};
use clap::Args;
use std::path::{Path, PathBuf};
use std::time::Duration;
use stratus_core::config::UserConfig;
use stratus_core::signature::trust::TrustOptions;
use stratus_core::site::endpoint::{Endpoint, ENDPOINT_CONFIG_KEY};
use stratus_core::site::http::{self, Client, HttpOptions, Proxies};
use stratus_core::site::marketplace::Marketplace;
use stratus_core::site::policy::{Allowances, Policy, DEFAULT_POLICY_FILE};
use stratus_core::site::{Resolution, SiteError};
use stratus_core::Error;

/// The exit-code table of the commands of the site side.
pub const SITE_EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success
  1    invalid document (XML, schema, constraint or RDF rule; no signature)
  2    usage error (bad option or value, missing argument)
  3    signature does not verify, endorser disagrees with certificate
  4    signer not trusted (with --ca, --trust-dir or a [trust] policy)
  5    refused by the site policy (lists, expired, deprecated)
  6    the image does not match its metadata (size or checksum)
  7    network, TLS or server error (no location reachable, HTTP error)
  255  other error (local file or disk, unusable key or certificate,
       qemu-img or QEMU missing or failing)

Environment:
  STRATUSLAB_MARKETPLACE_ENDPOINT  the Marketplace (else marketplace_endpoint
                                   in the user configuration)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY  proxies, as curl reads them
  SSL_CERT_FILE, SSL_CERT_DIR      the system's CA certificates";

/// How to reach the Marketplace and the image servers.
#[derive(Debug, Clone, Default, Args)]
pub struct NetArgs {
    /// Marketplace endpoint (hostname or URL) [default: STRATUSLAB_MARKETPLACE_ENDPOINT, else
    /// marketplace_endpoint of the user configuration, else https://marketplace.stratuslab.eu]
    #[arg(long = "marketplace-endpoint", value_name = "URL")]
    pub endpoint: Option<String>,
    /// Verify HTTPS servers against the CA certificates of FILE (PEM) instead of the system's
    #[arg(long = "ca-bundle", value_name = "FILE")]
    pub ca_bundle: Option<PathBuf>,
    /// Do not verify HTTPS servers' certificates (anyone on the path can then answer)
    #[arg(long)]
    pub insecure: bool,
    /// Seconds a connection may take [default: 30]
    #[arg(long = "connect-timeout", value_name = "SECONDS")]
    pub connect_timeout: Option<f64>,
    /// Seconds a server may stay silent before it counts as stalled [default: 60]
    #[arg(long = "read-timeout", value_name = "SECONDS")]
    pub read_timeout: Option<f64>,
}

impl NetArgs {
    /// The HTTP client; `--insecure` is announced on stderr, whatever `-q`.
    pub fn client(&self) -> Result<Client, CliError> {
        let seconds = |option: &str, value: Option<f64>, default: Duration| match value {
            None => Ok(default),
            Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
            Some(s) => Err(CliError::Usage(format!(
                "{option}: invalid value '{s}': expected a number of seconds above 0"
            ))),
        };
        let options = HttpOptions {
            ca_bundle: self.ca_bundle.clone(),
            insecure: self.insecure,
            connect_timeout: seconds(
                "--connect-timeout",
                self.connect_timeout,
                http::DEFAULT_CONNECT_TIMEOUT,
            )?,
            read_timeout: seconds(
                "--read-timeout",
                self.read_timeout,
                http::DEFAULT_READ_TIMEOUT,
            )?,
            overall_timeout: None,
            proxies: Proxies::from_env(),
        };
        if self.insecure {
            eprintln!(
                "  [WARNING] --insecure: HTTPS certificates are NOT verified; anyone on the network path can answer in the servers' name"
            );
        }
        Ok(Client::new(options)?)
    }

    /// The Marketplace: the endpoint from the option, the environment or
    /// the configuration, and the client.
    pub fn marketplace(&self, config: &UserConfig) -> Result<Marketplace, CliError> {
        let endpoint = Endpoint::choose(self.endpoint.as_deref(), config.get(ENDPOINT_CONFIG_KEY))
            .map_err(site_error)?;
        Ok(Marketplace::new(endpoint, self.client()?))
    }
}

/// The user configuration options.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigArgs {
    /// User configuration file [default: ~/.stratuslab/stratuslab-user.cfg]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Section to load in the user configuration file (also: STRATUSLAB_USER_CONFIG_SECTION)
    #[arg(short = 'S', long = "user-config-section", value_name = "NAME")]
    pub section: Option<String>,
}

impl ConfigArgs {
    /// The user configuration.
    pub fn load(&self) -> Result<UserConfig, CliError> {
        UserConfig::load(self.config.as_deref(), self.section.as_deref())
            .map_err(|e| CliError::Core(Error::Config(e)))
    }
}

/// `-c` of the legacy system administrator commands, which never read it.
#[derive(Debug, Clone, Default, Args)]
pub struct SysadminConfigArgs {
    /// Accepted for compatibility and ignored, as by the legacy command (the Marketplace endpoint
    /// may come from ~/.stratuslab/stratuslab-user.cfg)
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl SysadminConfigArgs {
    /// The default user configuration, when there is one.
    pub fn load(&self) -> Result<UserConfig, CliError> {
        UserConfig::load(None, None).map_err(|e| CliError::Core(Error::Config(e)))
    }
}

/// The site policy and the trust in signers.
#[derive(Debug, Clone, Default, Args)]
pub struct PolicyArgs {
    /// Policy configuration file [default: /etc/stratuslab/policy.cfg]
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Accept entries whose validity (dcterms:valid) has passed
    #[arg(long)]
    pub allow_expired: bool,
    /// Accept deprecated entries
    #[arg(long)]
    pub allow_deprecated: bool,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub trust: TrustArgs,
}

impl PolicyArgs {
    /// The policy (its warnings printed), the trust options (the policy's
    /// `[trust]` section with the options added) and the allowances. With
    /// `required`, the default policy file must exist (the legacy
    /// `stratus-policy-image`); else a missing default file is the empty
    /// policy.
    pub fn load(
        &self,
        required: bool,
        verbosity: &Verbosity,
    ) -> Result<(Policy, TrustOptions, Allowances), CliError> {
        let path = self
            .policy
            .clone()
            .unwrap_or_else(|| PathBuf::from(DEFAULT_POLICY_FILE));
        let policy = if self.policy.is_none() && !required && !path.exists() {
            Policy::empty()
        } else if !path.exists() {
            return Err(CliError::Core(Error::Site(SiteError::PolicyFile {
                path,
                line: 0,
                message: "Can't find policy configuration file".into(),
            })));
        } else {
            Policy::load(&path)?
        };
        for warning in &policy.warnings {
            verbosity.warn(warning);
        }
        let trust = merged_trust(&self.trust, &policy, &path)?.load()?;
        if !policy.whitelist_endorsers.is_empty() && !trust.is_enabled() {
            verbosity.warn(
                "the endorser whitelist is checked without trust anchors: anyone can make a certificate that carries a whitelisted e-mail (give --ca or --trust-dir, or [trust] in the policy file)",
            );
        }
        let allow = Allowances {
            expired: self.allow_expired,
            deprecated: self.allow_deprecated,
        };
        Ok((policy, trust, allow))
    }
}

/// The trust options with the policy's `[trust]` section added.
fn merged_trust(args: &TrustArgs, policy: &Policy, path: &Path) -> Result<TrustArgs, CliError> {
    let mut merged = args.clone();
    merged.ca.extend(policy.trust.ca.iter().cloned());
    merged
        .trust_dir
        .extend(policy.trust.trust_dirs.iter().cloned());
    merged.crl.extend(policy.trust.crls.iter().cloned());
    merged.allow_weak_keys |= policy.trust.allow_weak_keys;
    if merged.crl_mode.is_none() {
        if let Some(mode) = &policy.trust.crl_mode {
            use clap::ValueEnum;
            merged.crl_mode = Some(crate::common::CrlModeArg::from_str(mode, true).map_err(|_| {
                CliError::Core(Error::Site(SiteError::PolicyFile {
                    path: path.to_path_buf(),
                    line: 0,
                    message: format!("[trust] crl-mode: invalid value '{mode}': expected if-present or require"),
                }))
            })?);
        }
    }
    Ok(merged)
}

/// A site error as a command error.
pub fn site_error(error: SiteError) -> CliError {
    CliError::from(Error::Site(error))
}

/// The refusals of a resolution on stderr (the legacy policy messages,
/// each after the entry it concerns).
pub fn print_refusals(resolution: &Resolution) {
    if resolution.candidates.is_empty() {
        eprintln!("no metadata entry found for {}", resolution.subject);
    }
    for candidate in &resolution.candidates {
        let name = candidate_name(candidate);
        for check in candidate.refusals() {
            eprintln!("{name}: {}", clean(&check.message));
        }
    }
}

/// A candidate as `<id>/<email>/<created>`, else where it came from.
pub fn candidate_name(candidate: &stratus_core::site::Candidate) -> String {
    match candidate.key() {
        Some((id, email, created)) => clean(&format!("{id}/{email}/{created}")),
        None => clean(&candidate.origin),
    }
}

/// Text from a document or a server, safe to print on one line: control
/// characters (newlines included) escaped, so that no value can forge an
/// output line or drive the terminal.
pub fn clean(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:04X}}}", u32::from(c)))
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_escapes_what_could_forge_a_line() {
        assert_eq!(clean("a\nb\\c"), "a\\nb\\\\c");
        assert_eq!(clean("\u{1b}[2J"), "\\u{001B}[2J");
        assert_eq!(clean("Genève"), "Genève");
    }
}
