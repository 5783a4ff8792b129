//! Signing, shared by the commands that sign (`stratus-sign-metadata`,
//! `stratus-deprecate-metadata`, `stratus-upload-image`): the credential
//! options and where else credentials come from, the password prompt, the
//! signature profile, and the checks on the key.
//!
//! Credentials, first found wins: the options, the environment
//! (`STRATUSLAB_P12_CERTIFICATE`, `STRATUSLAB_P12_PASSWORD`,
//! `STRATUSLAB_PEM_CERTIFICATE`, `STRATUSLAB_PEM_KEY`,
//! `STRATUSLAB_PEM_PASSWORD`), the user configuration (`p12_certificate`,
//! `p12_password`, `pem_certificate`, `pem_key`), then
//! `~/.globus/usercert.p12`. The profile is RSA-SHA256 unless
//! `--legacy-sha1` is given or the user configuration says
//! `signature_profile = legacy-sha1`, for authors who publish to a legacy
//! Marketplace (which verifies RSA-SHA1 only).

use crate::common::{escaped_name, CliError, Verbosity};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use stratus_core::config::UserConfig;
use stratus_core::signature::credentials::{self, Credentials};
use stratus_core::signature::xmldsig::profile::SignatureMethod;
use stratus_core::signature::xmldsig::sign::{Profile, Signer};
use stratus_core::{clock, Error};

/// The smallest key the modern profile signs with.
const MIN_MODERN_KEY_BITS: usize = 2048;

/// The user configuration key that chooses the signature profile.
pub const PROFILE_CONFIG_KEY: &str = "signature_profile";

/// The credential options.
#[derive(Debug, Clone, Default, Args)]
pub struct CredentialArgs {
    /// PKCS12 (P12) certificate file [default: ~/.globus/usercert.p12]
    #[arg(long, value_name = "FILE")]
    pub p12_cert: Option<PathBuf>,
    /// PKCS12 (P12) password
    #[arg(long, value_name = "PASSWORD")]
    pub p12_password: Option<String>,
    /// PEM certificate (chain) file, used with --pem-key instead of a P12 file
    #[arg(long, value_name = "FILE")]
    pub pem_cert: Option<PathBuf>,
    /// PEM private key file (unencrypted, PKCS#8 encrypted with PBES2, PKCS#12 PBE or PBES1, or legacy Proc-Type encrypted)
    #[arg(long, value_name = "FILE")]
    pub pem_key: Option<PathBuf>,
    /// Password of an encrypted PEM key
    #[arg(long, value_name = "PASSWORD")]
    pub pem_password: Option<String>,
}

/// The first of: the option, the environment variable, the configuration.
/// A variable that is not UTF-8 is an error, not a value silently passed
/// over for the next source.
pub fn setting(
    option: Option<String>,
    variable: Option<&str>,
    config: Option<&str>,
) -> Result<Option<String>, CliError> {
    if let Some(value) = option.filter(|v| !v.is_empty()) {
        return Ok(Some(value));
    }
    if let Some(variable) = variable {
        match std::env::var(variable) {
            Ok(value) if !value.is_empty() => return Ok(Some(value)),
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(CliError::Usage(format!(
                    "{variable}: the value is not valid UTF-8"
                )))
            }
            _ => {}
        }
    }
    Ok(config.map(str::to_string))
}

/// [`setting`] for a file name, which may be any bytes (not only UTF-8)
/// from the option or the environment.
fn path_setting(option: Option<&Path>, variable: &str, config: Option<&str>) -> Option<PathBuf> {
    option
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .or_else(|| {
            std::env::var_os(variable)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| config.map(PathBuf::from))
}

/// Load the signer's credentials (see the module documentation).
pub fn load_credentials(
    args: &CredentialArgs,
    config: &UserConfig,
) -> Result<Credentials, CliError> {
    let credential = |e| CliError::Core(Error::Credential(e));
    let pem_cert = path_setting(
        args.pem_cert.as_deref(),
        "STRATUSLAB_PEM_CERTIFICATE",
        config.get("pem_certificate"),
    );
    let pem_key = path_setting(
        args.pem_key.as_deref(),
        "STRATUSLAB_PEM_KEY",
        config.get("pem_key"),
    );
    let use_pem = args.p12_cert.is_none() && (pem_cert.is_some() || pem_key.is_some());
    if use_pem {
        let (Some(cert), Some(key)) = (pem_cert, pem_key) else {
            return Err(CliError::Usage(
                "Missing credentials. Please provide both --pem-cert and --pem-key".into(),
            ));
        };
        // Read once: the key may be a pipe, which cannot be read twice.
        let key = credentials::KeyFile::read(&key).map_err(credential)?;
        let mut password = setting(
            args.pem_password.clone(),
            Some("STRATUSLAB_PEM_PASSWORD"),
            None,
        )?;
        if password.is_none() && key.needs_password() {
            password = prompt(&format!(
                "PEM key '{}' password: ",
                escaped_name(key.path())
            ))?;
        }
        return credentials::load_pem_key(&cert, &key, password.as_deref()).map_err(credential);
    }
    let default_p12 = std::env::var_os("HOME")
        .map(|home| PathBuf::from(home).join(".globus").join("usercert.p12"));
    let p12 = path_setting(
        args.p12_cert.as_deref(),
        "STRATUSLAB_P12_CERTIFICATE",
        config.get("p12_certificate"),
    )
    .or(default_p12)
    .ok_or_else(|| {
        CliError::Usage("Missing credentials. Please provide --p12-cert/--p12-password".into())
    })?;
    let password = match setting(
        args.p12_password.clone(),
        Some("STRATUSLAB_P12_PASSWORD"),
        config.get("p12_password"),
    )? {
        Some(password) => password,
        None if p12.is_file() => prompt(&format!(
            "PKCS12 (P12) cert '{}' password: ",
            escaped_name(&p12)
        ))?
        .unwrap_or_default(),
        None => String::new(),
    };
    credentials::load_pkcs12(&p12, &password).map_err(credential)
}

/// Ask for a password on the terminal; `None` when there is no terminal.
fn prompt(question: &str) -> Result<Option<String>, CliError> {
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Ok(None);
    }
    rpassword::prompt_password(question)
        .map(Some)
        .map_err(|e| CliError::Core(Error::io("the terminal", e)))
}

/// Whether to sign with the legacy RSA-SHA1 profile: `--legacy-sha1`, or
/// `signature_profile` in the user configuration (`legacy-sha1`, also
/// spelled `rsa-sha1` or `legacy`; `rsa-sha256`, `modern` or `default`
/// for the default).
pub fn legacy_profile(flag: bool, config: &UserConfig) -> Result<bool, CliError> {
    if flag {
        return Ok(true);
    }
    match config.get(PROFILE_CONFIG_KEY).map(|v| v.trim().to_ascii_lowercase()) {
        None => Ok(false),
        Some(value) => match value.as_str() {
            "legacy-sha1" | "rsa-sha1" | "legacy" => Ok(true),
            "rsa-sha256" | "modern" | "default" => Ok(false),
            _ => Err(CliError::Usage(format!(
                "{PROFILE_CONFIG_KEY} in the user configuration: invalid value '{value}': expected legacy-sha1 or rsa-sha256"
            ))),
        },
    }
}

/// Keys under 2048 bits sign only with the legacy profile.
pub fn check_key(credentials: &Credentials, legacy: bool) -> Result<(), CliError> {
    let bits = credentials.key.rsa_bits();
    if bits < MIN_MODERN_KEY_BITS && !legacy {
        return Err(CliError::Usage(format!(
            "the signing key has {bits} bits; at least {MIN_MODERN_KEY_BITS} are needed (--legacy-sha1 signs with smaller legacy keys)"
        )));
    }
    Ok(())
}

/// Warn when the signing certificate is not valid now.
pub fn warn_if_expired(credentials: &Credentials, verbosity: &Verbosity) {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(credentials.leaf()) else {
        return;
    };
    let now = clock::now();
    let validity = cert.validity();
    if now > validity.not_after.timestamp() {
        verbosity.warn(format!(
            "the signing certificate expired on {}",
            clock::format_utc(validity.not_after.timestamp())
        ));
    } else if now < validity.not_before.timestamp() {
        verbosity.warn(format!(
            "the signing certificate is not valid before {}",
            clock::format_utc(validity.not_before.timestamp())
        ));
    }
}

/// Sign the document `text` (named `name` in errors) now.
pub fn sign(
    text: &str,
    name: &str,
    credentials: &Credentials,
    legacy: bool,
    email: Option<&str>,
) -> Result<String, CliError> {
    let key = &credentials.key;
    let sign = |method: SignatureMethod, bytes: &[u8]| {
        method.sign_with(key, bytes).map_err(|e| e.to_string())
    };
    let signer = Signer {
        chain: &credentials.chain,
        sign: &sign,
        profile: if legacy {
            Profile::legacy()
        } else {
            Profile::modern()
        },
        email,
        now: clock::now(),
    };
    signer
        .sign_document(text, name)
        .map_err(|e| CliError::Core(Error::Sign(e)))
}

/// The e-mails the signer's certificate carries (subjectAltName, subject).
pub fn certificate_emails(credentials: &Credentials) -> Vec<String> {
    x509_parser::parse_x509_certificate(credentials.leaf())
        .ok()
        .and_then(|(_, cert)| stratus_core::signature::dn::certificate_emails(&cert).ok())
        .unwrap_or_default()
}
