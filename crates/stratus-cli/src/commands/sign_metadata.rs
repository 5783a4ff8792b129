//! `stratus-sign-metadata`: sign a metadata document with an X.509
//! certificate (PKCS#12 or PEM), filling the endorsement from the
//! certificate as the legacy signer did.
//!
//! With no file (or `-`) it reads stdin and writes the signed document to
//! stdout; with a file it signs in place and keeps the original as
//! `<file>.orig`, unless `--output` names another file.

use crate::common::{
    escaped_message, escaped_name, write_output, CliError, Verbosity, EXIT_CODES_HELP,
};
use clap::Parser;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use stratus_core::config::UserConfig;
use stratus_core::document::input;
use stratus_core::signature::credentials::{self, Credentials};
use stratus_core::signature::xmldsig::profile::SignatureMethod;
use stratus_core::signature::xmldsig::sign::{Profile, Signer};
use stratus_core::{clock, Error};

/// The smallest key the modern profile signs with.
const MIN_MODERN_KEY_BITS: usize = 2048;

/// Sign the given metadata description of a machine or disk image.
///
/// The metadata-file argument is the file containing the metadata to sign
/// (`-` or none: standard input, signed document on standard output). The
/// endorsement is regenerated from the certificate: e-mail (subjectAltName,
/// else emailAddress, else --email), subject, issuer and the current time.
#[derive(Debug, Parser)]
#[command(
    name = "stratus-sign-metadata",
    version,
    infer_long_args = true,
    after_help = EXIT_CODES_HELP,
    after_long_help = format!("Credentials, first found wins: the options, then the environment \
        (STRATUSLAB_P12_CERTIFICATE, STRATUSLAB_P12_PASSWORD, STRATUSLAB_PEM_CERTIFICATE, \
        STRATUSLAB_PEM_KEY, STRATUSLAB_PEM_PASSWORD), then the keys p12_certificate, p12_password, \
        pem_certificate, pem_key and email of the user configuration file, then \
        ~/.globus/usercert.p12. A password that is needed and not given is asked for on the terminal.\n\n{EXIT_CODES_HELP}")
)]
pub struct SignMetadata {
    /// The metadata documents to sign, each in place (`-` or none: standard input to standard output)
    #[arg(value_name = "METADATA-FILE")]
    pub files: Vec<PathBuf>,
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
    /// Signed metadata file (default: the input file, the original moved to *.orig)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Email address if not in the certificate
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Sign with the legacy profile (RSA-SHA1, SHA-1 digest, C14N with comments) for old verifiers
    #[arg(long)]
    pub legacy_sha1: bool,
    /// User configuration file [default: ~/.stratuslab/stratuslab-user.cfg]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Section to load in the user configuration file (also: STRATUSLAB_USER_CONFIG_SECTION)
    #[arg(short = 'S', long = "user-config-section", value_name = "NAME")]
    pub section: Option<String>,

    #[command(flatten)]
    #[allow(missing_docs)]
    pub verbosity: Verbosity,
}

/// Run `stratus-sign-metadata`.
pub fn run(args: SignMetadata) -> Result<i32, CliError> {
    let config = UserConfig::load(args.config.as_deref(), args.section.as_deref())
        .map_err(|e| CliError::Core(Error::Config(e)))?;
    let files = if args.files.is_empty() {
        vec![PathBuf::from(input::STDIN_NAME)]
    } else {
        args.files.clone()
    };
    if files.len() > 1 && args.output.is_some() {
        return Err(CliError::Usage(
            "--output takes one metadata file; several files are signed in place".into(),
        ));
    }
    for path in &files {
        if path.as_os_str() != input::STDIN_NAME && !path.is_file() {
            return Err(CliError::Usage(format!(
                "Metadata file doesn't exist or is not a file: {}",
                escaped_name(path)
            )));
        }
    }
    let credentials = load_credentials(&args, &config)?;
    check_key(&credentials, &args)?;
    warn_if_expired(&credentials, &args.verbosity);
    let email = setting(args.email.clone(), None, config.get("email"))?;
    if let [path] = files.as_slice() {
        sign_file(path, &credentials, &args, email.as_deref())?;
        return Ok(0);
    }
    // Several files: a failure does not stop the others; each is reported
    // with its name, and the exit code is the highest.
    let mut exit = 0;
    for path in &files {
        if let Err(error) = sign_file(path, &credentials, &args, email.as_deref()) {
            eprintln!(
                "stratus-sign-metadata: error: {}: {}",
                escaped_name(path),
                escaped_message(&error.to_string())
            );
            exit = exit.max(error.exit_code());
        }
    }
    Ok(exit)
}

/// Sign one document: stdin to stdout, to `--output`, or in place.
fn sign_file(
    path: &Path,
    credentials: &Credentials,
    args: &SignMetadata,
    email: Option<&str>,
) -> Result<(), CliError> {
    let from_stdin = path.as_os_str() == input::STDIN_NAME;
    let bytes = input::read_document(path)?;
    let name = escaped_name(path);
    let text = stratus_core::document::xml::decode_text(&bytes, &name)?;
    let signed = sign(&text, &name, credentials, args, email)?;
    match (&args.output, from_stdin) {
        (Some(output), _) => write_output(Some(output), signed.as_bytes())?,
        (None, true) => write_output(None, signed.as_bytes())?,
        (None, false) => replace_keeping_original(path, signed.as_bytes())?,
    }
    args.verbosity
        .debug(format!("Metadata file successfully signed: {name}"));
    Ok(())
}

fn sign(
    text: &str,
    name: &str,
    credentials: &Credentials,
    args: &SignMetadata,
    email: Option<&str>,
) -> Result<String, CliError> {
    let key = &credentials.key;
    let sign = |method: SignatureMethod, bytes: &[u8]| {
        method.sign_with(key, bytes).map_err(|e| e.to_string())
    };
    let signer = Signer {
        chain: &credentials.chain,
        sign: &sign,
        profile: if args.legacy_sha1 {
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

/// The first of: the option, the environment variable, the configuration.
/// A variable that is not UTF-8 is an error, not a value silently passed
/// over for the next source.
fn setting(
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

fn load_credentials(args: &SignMetadata, config: &UserConfig) -> Result<Credentials, CliError> {
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

/// Keys under 2048 bits sign only with the legacy profile.
fn check_key(credentials: &Credentials, args: &SignMetadata) -> Result<(), CliError> {
    let bits = credentials.key.rsa_bits();
    if bits < MIN_MODERN_KEY_BITS && !args.legacy_sha1 {
        return Err(CliError::Usage(format!(
            "the signing key has {bits} bits; at least {MIN_MODERN_KEY_BITS} are needed (--legacy-sha1 signs with smaller legacy keys)"
        )));
    }
    Ok(())
}

fn warn_if_expired(credentials: &Credentials, verbosity: &Verbosity) {
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

/// Sign in place: the original is kept as `<file>.orig` (a hard link, or a
/// copy where links are not possible), then the signed document replaces
/// `<file>` atomically with the original's mode. A failure at any point
/// leaves `<file>` as it was.
fn replace_keeping_original(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let mut backup = path.as_os_str().to_owned();
    backup.push(".orig");
    let backup = PathBuf::from(backup);
    let io = |p: &Path, e| CliError::Core(Error::io(p, e));
    match std::fs::remove_file(&backup) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&backup, e)),
    }
    if std::fs::hard_link(path, &backup).is_err() {
        std::fs::copy(path, &backup).map_err(|e| io(&backup, e))?;
    }
    write_output(Some(path), bytes)
}
