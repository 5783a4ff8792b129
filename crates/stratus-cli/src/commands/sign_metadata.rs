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
use crate::signing::{self, CredentialArgs};
use clap::Parser;
use std::path::{Path, PathBuf};
use stratus_core::config::UserConfig;
use stratus_core::document::input;
use stratus_core::signature::credentials::Credentials;
use stratus_core::Error;

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
        ~/.globus/usercert.p12. A password that is needed and not given is asked for on the terminal. \
        The key signature_profile of the user configuration (legacy-sha1 or rsa-sha256) chooses the \
        profile when --legacy-sha1 is not given.\n\n{EXIT_CODES_HELP}")
)]
pub struct SignMetadata {
    /// The metadata documents to sign, each in place (`-` or none: standard input to standard output)
    #[arg(value_name = "METADATA-FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    #[allow(missing_docs)]
    pub credentials: CredentialArgs,
    /// Signed metadata file (default: the input file, the original moved to *.orig)
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Email address if not in the certificate
    #[arg(long, value_name = "EMAIL")]
    pub email: Option<String>,
    /// Sign with the legacy profile (RSA-SHA1, SHA-1 digest, C14N with comments) for old verifiers
    /// such as a legacy Marketplace (also: signature_profile = legacy-sha1 in the user configuration)
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
    let credentials = signing::load_credentials(&args.credentials, &config)?;
    let legacy = signing::legacy_profile(args.legacy_sha1, &config)?;
    signing::check_key(&credentials, legacy)?;
    signing::warn_if_expired(&credentials, &args.verbosity);
    let email = signing::setting(args.email.clone(), None, config.get("email"))?;
    if let [path] = files.as_slice() {
        sign_file(path, &credentials, &args, legacy, email.as_deref())?;
        return Ok(0);
    }
    // Several files: a failure does not stop the others; each is reported
    // with its name, and the exit code is the highest.
    let mut exit = 0;
    for path in &files {
        if let Err(error) = sign_file(path, &credentials, &args, legacy, email.as_deref()) {
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
    legacy: bool,
    email: Option<&str>,
) -> Result<(), CliError> {
    let from_stdin = path.as_os_str() == input::STDIN_NAME;
    let bytes = input::read_document(path)?;
    let name = escaped_name(path);
    let text = stratus_core::document::xml::decode_text(&bytes, &name)?;
    let signed = signing::sign(&text, &name, credentials, legacy, email)?;
    match (&args.output, from_stdin) {
        (Some(output), _) => write_output(Some(output), signed.as_bytes())?,
        (None, true) => write_output(None, signed.as_bytes())?,
        (None, false) => replace_keeping_original(path, signed.as_bytes())?,
    }
    args.verbosity
        .debug(format!("Metadata file successfully signed: {name}"));
    Ok(())
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
